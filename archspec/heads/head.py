"""A spec's ``head:`` checked against the analysed model: its levels, strides and anchors.

Each level is a model output of shape (H, W, channels) whose stride is input size / grid size,
exactly, a power of 2, increasing from level to level (finest first). The channels of a cell:

- with anchors (YOLOv2-v5): A x (5 + C [+ M]): per anchor the box (4), objectness (1), the
  classes (C), and for instance segmentation M mask coefficients;
- anchor-free (YOLOv8/FCOS): 4 + C [+ M]: the box's four distances and the classes.

Pure Python: ``validate`` and ``summary`` run it without TensorFlow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from archspec.analysis.shape_pass import Analysis
from archspec.errors import SpecError, Stage, at_stage, did_you_mean, shown
from archspec.spec.expressions import ExpressionError, evaluate, is_expression
from archspec.spec.load import Document

Anchor = tuple[float, float]


@dataclass(frozen=True)
class Level:
    """One pyramid level: a grid of cells, each predicting one box per anchor (or one, anchor-free)."""

    name: str
    stride: int
    grid: tuple[int, int]          # (rows, columns)
    channels: int
    anchors: tuple[Anchor, ...] = ()

    @property
    def cells(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def boxes(self) -> int:
        """Boxes this level predicts per image (before any threshold or NMS)."""
        return self.cells * max(1, len(self.anchors))


@dataclass(frozen=True)
class Head:
    """The ``head:`` section resolved against the model's shapes."""

    type: str
    classes: int
    input_size: tuple[int, int]    # (height, width) of the model input
    levels: tuple[Level, ...]
    prototypes: Optional[str] = None
    coefficients: int = 0          # M: mask coefficients per box (instance segmentation)
    prototype_grid: Optional[tuple[int, int]] = None  # (h, w) of the prototype maps
    # How training assigns objects to levels (train.detection): anchor-free heads by the longer
    # side (level_sizes, None: the default bounds), anchored ones by the anchors' size ratio.
    level_sizes: Optional[tuple[float, ...]] = None
    anchor_ratio: float = 4.0

    @property
    def object_sides(self) -> list[tuple[float, float]]:
        """(lower, upper] of the longer side (input pixels) of the objects each anchor-free level trains.

        >>> example_head(anchors=False).object_sides
        [(0.0, 32.0), (32.0, inf)]
        """
        return level_bounds([level.stride for level in self.levels], self.level_sizes)

    @property
    def prototype_stride(self) -> Optional[int]:
        """Input size / prototype map size (4 in YOLACT and Ultralytics' -seg heads)."""
        return self.input_size[0] // self.prototype_grid[0] if self.prototype_grid else None

    @property
    def anchor_free(self) -> bool:
        return not self.levels[0].anchors

    @property
    def per_box(self) -> int:
        """Channels of one box's prediction: 4 box + [1 objectness] + C classes + M coefficients.

        >>> example_head().per_box, example_head(anchors=False).per_box
        (8, 7)
        """
        return 4 + (0 if self.anchor_free else 1) + self.classes + self.coefficients

    @property
    def boxes_per_image(self) -> int:
        """
        >>> example_head().boxes_per_image
        240
        """
        return sum(level.boxes for level in self.levels)

    def as_json(self) -> dict[str, Any]:
        """The head as ``summary --format json`` shows it; :func:`head_from_json` reads it back.

        Anchor-free levels also give ``object_sides``: the (lower, upper] longer side of the objects
        they train (upper null: unbounded); instance heads the prototype maps' ``prototype_grid``."""
        levels = [{"name": lv.name, "stride": lv.stride, "grid": list(lv.grid), "cells": lv.cells,
                   "channels": lv.channels, "anchors": [list(a) for a in lv.anchors], "boxes": lv.boxes}
                  for lv in self.levels]
        if self.anchor_free:
            for level, (low, high) in zip(levels, self.object_sides):
                level["object_sides"] = [low, None if math.isinf(high) else high]
        out = {"type": self.type, "classes": self.classes, "input_size": list(self.input_size),
               "anchor_free": self.anchor_free, "prototypes": self.prototypes, "coefficients": self.coefficients,
               "boxes_per_image": self.boxes_per_image, "levels": levels}
        if self.prototype_grid:
            out.update(prototype_grid=list(self.prototype_grid), prototype_stride=self.prototype_stride)
        if self.anchor_free:
            out["level_sizes"] = None if self.level_sizes is None else list(self.level_sizes)
        else:
            out["anchor_ratio"] = self.anchor_ratio
        return out


def head_from_json(data: Mapping[str, Any]) -> Head:
    """
    >>> head_from_json(example_head().as_json()) == example_head()
    True
    """
    levels = tuple(Level(lv["name"], int(lv["stride"]), (int(lv["grid"][0]), int(lv["grid"][1])),
                         int(lv["channels"]), tuple((float(w), float(h)) for w, h in lv["anchors"]))
                   for lv in data["levels"])
    grid, sizes = data.get("prototype_grid"), data.get("level_sizes")
    return Head(data["type"], int(data["classes"]), (int(data["input_size"][0]), int(data["input_size"][1])),
                levels, data.get("prototypes"), int(data.get("coefficients", 0)),
                (int(grid[0]), int(grid[1])) if grid else None,
                tuple(float(v) for v in sizes) if sizes is not None else None, float(data.get("anchor_ratio", 4.0)))


# Anchor-free heads' default level bound: 4 x the level's stride (32 and 64 px at strides 8/16/32,
# where YOLOv5's COCO anchors pass from one level to the next); see train/detection/points.py.
SIZE_FACTOR = 4
RADIUS = 1.5  # FCOS's centre sampling: an object's points within this many strides of its centre


def level_bounds(strides: Sequence[int], level_sizes: Optional[Sequence[float]] = None) -> list[tuple[float, float]]:
    """(lower, upper] of the longer side each level takes, finest first: ``level_sizes`` (one fewer
    than the levels) or SIZE_FACTOR x each stride but the last's.

    >>> level_bounds([8, 16, 32])
    [(0.0, 32.0), (32.0, 64.0), (64.0, inf)]
    >>> level_bounds([8, 16], [20])
    [(0.0, 20.0), (20.0, inf)]
    """
    inner = [float(s) for s in level_sizes] if level_sizes is not None else \
        [float(SIZE_FACTOR * s) for s in strides[:-1]]
    edges = [0.0, *inner, math.inf]
    return list(zip(edges[:-1], edges[1:]))


def example_head(anchors: bool = True) -> Head:
    """A 64x64 input, 3 classes, levels at strides 8 and 16 (for doctests and tests)."""
    a8, a16 = ((10.0, 13.0), (16.0, 30.0), (33.0, 23.0)), ((30.0, 61.0), (62.0, 45.0), (59.0, 119.0))
    per = 8 if anchors else 7
    return Head("detection", 3, (64, 64), (
        Level("p3", 8, (8, 8), per * (3 if anchors else 1), a8 if anchors else ()),
        Level("p4", 16, (4, 4), per * (3 if anchors else 1), a16 if anchors else ())))


def is_power_of_two(n: int) -> bool:
    """
    >>> [n for n in range(1, 20) if is_power_of_two(n)]
    [1, 2, 4, 8, 16]
    """
    return n > 0 and n & (n - 1) == 0


def check_head(doc: Document, analysis: Analysis) -> tuple[Optional[Head], list[SpecError]]:
    """The spec's head resolved, or the errors that stop it, each at the line of its value.

    A spec without ``head:`` has no head and no errors."""
    data = doc.data.get("head") if isinstance(doc.data, dict) else None
    if not isinstance(data, dict):
        return None, []
    checker = _Checker(doc, analysis, data)
    head = checker.head()
    return (head if not checker.errors else None), at_stage(checker.errors, Stage.SHAPES)


class _Checker:
    """Collects every problem of one head rather than stopping at the first."""

    def __init__(self, doc: Document, analysis: Analysis, data: Mapping[str, Any]) -> None:
        self.doc, self.analysis, self.data = doc, analysis, data
        self.errors: list[SpecError] = []
        self.prototype_size: Optional[tuple[int, int]] = None

    def error(self, path: tuple, message: str, hint: str) -> None:
        self.errors.append(SpecError(message, hint, self.doc.loc(("head", *path))))

    def head(self) -> Optional[Head]:
        input_size = self.input_size()
        classes = self.classes()
        if classes is None:
            return None
        anchors: Sequence[Any] = self.data.get("anchors") or ()
        names: Sequence[str] = self.data["levels"]
        if anchors and len(anchors) != len(names):
            self.error(("anchors",), f"head.anchors gives {len(anchors)} level(s) of anchors but head.levels "
                       f"names {len(names)}", "give one list of [width, height] anchors per level, in the "
                       "order of head.levels")
            return None
        coefficients = self.prototype_channels(input_size)
        levels = [self.level(i, name, input_size, classes, anchors[i] if anchors else (), coefficients)
                  for i, name in enumerate(names)]
        if input_size is None or any(level is None for level in levels):
            return None
        self.check_strides(levels)  # type: ignore[arg-type]
        sizes, ratio = self.assignment(len(levels), bool(anchors))
        return Head(self.data["type"], classes, input_size, tuple(levels),  # type: ignore[arg-type]
                    self.data.get("prototypes"), coefficients or 0, self.prototype_size, sizes, ratio)

    def assignment(self, count: int, anchored: bool) -> tuple[Optional[tuple[float, ...]], float]:
        """train.detection's level_sizes (anchor-free) and anchor_ratio (anchors), as training reads them;
        level_sizes of the wrong length or order is refused here, at its line."""
        train = self.doc.data.get("train") if isinstance(self.doc.data, dict) else None
        settings = train.get("detection") if isinstance(train, dict) else None
        settings = settings if isinstance(settings, dict) else {}
        ratio = settings.get("anchor_ratio", 4.0)
        ratio = float(ratio) if isinstance(ratio, (int, float)) and not isinstance(ratio, bool) else 4.0
        sizes = settings.get("level_sizes")
        if anchored or not isinstance(sizes, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in sizes):
            return None, ratio
        if len(sizes) != count - 1 or list(sizes) != sorted(set(sizes)):
            self.errors.append(SpecError(
                f"train.detection.level_sizes {list(sizes)} for {count} levels",
                f"give {count - 1} increasing sizes: the longer side (input pixels) where each level but the last "
                "hands objects to the next", self.doc.loc(("train", "detection", "level_sizes"))))
            return None, ratio
        return tuple(float(v) for v in sizes), ratio

    def classes(self) -> Optional[int]:
        """head.classes: a number, or a reference to the spec's vars (``$classes``), so that one
        ``--set vars.classes=N`` sizes both the head and the layers whose channels it counts."""
        value = self.data["classes"]
        if is_expression(value):
            try:
                value = evaluate(value, spec_vars(self.doc.data.get("vars") or {}))
            except ExpressionError as exc:
                self.error(("classes",), f"head.classes {shown(value)}: {exc.message}",
                           exc.hint or "name a var, e.g. classes: $classes")
                return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.error(("classes",), f"head.classes must be a positive integer; received {shown(value)}",
                       "give the number of object classes")
            return None
        return value

    def input_size(self) -> Optional[tuple[int, int]]:
        inputs = list(self.analysis.graph.inputs.values())
        shape = inputs[0] if len(inputs) == 1 else None
        if shape is None or len(shape) != 3 or shape[0] is None or shape[1] is None:
            self.error(("type",), f"a {self.data['type']} head needs one image input of known size "
                       f"(height, width, channels); this model's input is "
                       f"{', '.join(str(tuple(s)) for s in inputs)}", "give the input as [H, W, C] with sizes")
            return None
        return int(shape[0]), int(shape[1])

    def output_shape(self, path: tuple, name: str, what: str) -> Optional[tuple]:
        outputs = list(self.analysis.graph.outputs)
        if name not in outputs:
            hint = did_you_mean(name, outputs) or f"name one of the model's outputs ({', '.join(outputs)}), or " \
                                                  f"add '{name}' to outputs:"
            self.error(path, f"{what} '{name}' is not an output of the model", hint)
            return None
        shape = tuple(self.analysis.shapes[name])
        if len(shape) != 3:
            self.error(path, f"{what} '{name}' has shape {shape}, not (height, width, channels)",
                       "end the level with a Conv2D whose filters are the channels of its cells")
            return None
        return shape

    def prototype_channels(self, input_size: Optional[tuple[int, int]]) -> Optional[int]:
        name = self.data.get("prototypes")
        segmenting = self.data["type"] == "instance_segmentation"
        if segmenting and name is None:
            self.error(("type",), "an instance_segmentation head needs its prototype masks",
                       "add head.prototypes: the output of shape (H/4, W/4, M) holding M prototype masks")
        elif name is not None and not segmenting:
            self.error(("prototypes",), "head.prototypes is only for type: instance_segmentation",
                       "remove head.prototypes, or set head.type: instance_segmentation")
        elif name is not None:
            shape = self.output_shape(("prototypes",), name, "prototypes")
            if shape is None or shape[-1] is None or not self.prototype_grid(name, input_size, shape[:2]):
                return None
            self.prototype_size = (int(shape[0]), int(shape[1]))
            return int(shape[-1])
        return 0

    def prototype_grid(self, name: str, input_size: Optional[tuple[int, int]], grid: tuple) -> bool:
        """The prototype maps cover the input at one power-of-2 stride (masks are cropped to boxes
        in their pixels, and upsampled to the input by it)."""
        if input_size is None:
            return False
        ratios = {input_size[k] / grid[k] if grid[k] else 0.0 for k in (0, 1)}
        stride = next(iter(ratios))
        if len(ratios) == 1 and stride == int(stride) and is_power_of_two(int(stride)):
            return True
        shown = "x".join("?" if g is None else str(g) for g in grid)
        self.error(("prototypes",), f"prototypes '{name}': a {shown} map on a {input_size[0]}x{input_size[1]} "
                   "input; input size / map size is not one power-of-2 stride",
                   f"make the prototype maps the input's size divided by a power of 2 (YOLACT and Ultralytics "
                   f"use 4: {input_size[0] // 4}x{input_size[1] // 4})")
        return False

    def level(self, i: int, name: str, input_size: Optional[tuple[int, int]], classes: int,
              anchors: Sequence[Sequence[float]], coefficients: Optional[int]) -> Optional[Level]:
        shape = self.output_shape(("levels", i), name, "level")
        if shape is None or input_size is None or coefficients is None:
            return None
        rows, cols, channels = shape
        stride = self.stride(i, name, input_size, (rows, cols))
        per_box = 4 + (1 if anchors else 0) + classes + coefficients
        want = per_box * max(1, len(anchors))
        if channels != want:
            self.error(("levels", i), f"level '{name}' has {channels} channels but the head needs {want}: "
                       f"{_channel_formula(len(anchors), classes, coefficients)}",
                       f"give the level's last Conv2D filters: {want}")
            return None
        if stride is None:
            return None
        return Level(name, stride, (int(rows), int(cols)), int(channels),
                     tuple((float(w), float(h)) for w, h in anchors))

    def stride(self, i: int, name: str, input_size: tuple[int, int], grid: tuple) -> Optional[int]:
        if grid[0] is None or grid[1] is None:
            self.error(("levels", i), f"level '{name}' has a grid of unknown size", "give the model a fixed input")
            return None
        strides = {input_size[k] / grid[k] for k in (0, 1)}
        stride = next(iter(strides))
        if len(strides) != 1 or stride != int(stride) or not is_power_of_two(int(stride)):
            fit = "x".join(str(g * _nearest_power_of_two(s / g)) for s, g in zip(input_size, grid))
            self.error(("levels", i), f"level '{name}': grid {grid[0]}x{grid[1]} on a "
                       f"{input_size[0]}x{input_size[1]} input; input size / grid size is "
                       f"{_ratio(input_size, grid)}, not one power-of-2 stride",
                       f"make input size / grid size one power of 2 on both axes (e.g. input {fit} for "
                       f"this grid)")
            return None
        return int(stride)

    def check_strides(self, levels: Sequence[Level]) -> None:
        for i in range(1, len(levels)):
            if levels[i].stride <= levels[i - 1].stride:
                self.error(("levels", i), f"level '{levels[i].name}' has stride {levels[i].stride}, not more than "
                           f"the {levels[i - 1].stride} of '{levels[i - 1].name}' before it",
                           "list head.levels finest first (smallest stride first)")


def spec_vars(given: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's vars with their expressions evaluated in order, as lowering evaluates them
    (lowering has already reported any that fail, so they evaluate here).

    >>> spec_vars({"classes": 3, "per_cell": "${3 * (5 + classes)}"})
    {'classes': 3, 'per_cell': 24}
    """
    env: dict[str, Any] = {}
    for name, value in given.items():
        env[name] = evaluate(value, env) if is_expression(value) else value
    return env


def _nearest_power_of_two(x: float) -> int:
    """
    >>> _nearest_power_of_two(7.5), _nearest_power_of_two(15), _nearest_power_of_two(0.3)
    (8, 16, 1)
    """
    return 2 ** max(0, round(math.log2(x)))


def _ratio(size: tuple[int, int], grid: tuple[int, int]) -> str:
    """
    >>> _ratio((64, 64), (7, 7)), _ratio((64, 32), (8, 8))
    ('64/7 x 64/7', '8 x 4')
    """
    parts = [str(s // g) if s % g == 0 else f"{s}/{g}" for s, g in zip(size, grid)]
    return " x ".join(parts)


def _channel_formula(anchors: int, classes: int, coefficients: int) -> str:
    """
    >>> _channel_formula(3, 2, 0), _channel_formula(0, 2, 32)
    ('3 anchors x (5 + 2 classes)', '4 + 2 classes + 32 mask coefficients')
    """
    masks = f" + {coefficients} mask coefficients" if coefficients else ""
    if anchors:
        return f"{anchors} anchors x (5 + {classes} classes{masks})"
    return f"4 + {classes} classes{masks}"
