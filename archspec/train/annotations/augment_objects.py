"""Augmentation for object tasks: the pixels and the boxes, masks and keypoints move together.

The ``augment:`` list is written with Keras's layer names and arguments, and read here (in
NumPy, per image, after the letterbox) because Keras's layers move pixels but not boxes:

- ``RandomFlip`` (mode horizontal, vertical or horizontal_and_vertical; each axis half the time).
  A horizontal flip swaps keypoints whose names differ by left/right; vertical flips are refused
  for keypoints (their names have no up/down pairs).
- ``RandomZoom`` (height_factor, width_factor as Keras: positive zooms out, negative zooms in,
  which crops; width_factor null keeps the aspect) and ``RandomTranslation`` (fractions of the
  side). Uncovered pixels are letterbox grey, never reflected (a reflection would copy objects
  without their boxes).
- ``RandomBrightness`` and ``RandomContrast`` (pixel values only; factor as Keras).

An object whose box keeps less than 2 pixels of width or height inside the input is dropped;
keypoints that leave it become absent (v = 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from archspec.errors import Location, SpecError, SpecErrors
from archspec.train.annotations.letterbox import PAD_VALUE
from archspec.train.annotations.records import ImageObjects
from archspec.train.augment import parse_entry

Locator = Callable[[tuple], "Location | None"]
_ARGUMENTS = {"RandomFlip": {"mode"}, "RandomZoom": {"height_factor", "width_factor"},
              "RandomTranslation": {"height_factor", "width_factor"}, "RandomBrightness": {"factor"},
              "RandomContrast": {"factor"}}
MIN_SIDE = 2.0


def _range(value: Any, name: str) -> tuple[float, float]:
    """Keras's factor forms: f means (-f, f); (lower, upper) as written."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return -abs(float(value)), abs(float(value))
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value) \
            and value[0] <= value[1]:
        return float(value[0]), float(value[1])
    raise SpecError(f"{name} is {value!r}", "write a number f (for -f..f) or [lower, upper]")


@dataclass(frozen=True)
class ObjectAugment:
    """The augmentation of one object data set; ``apply`` draws from the rng it is given."""

    flip_x: bool = False
    flip_y: bool = False
    zoom_y: tuple[float, float] | None = None
    zoom_x: tuple[float, float] | None = None  # None with zoom_y: the same draw (aspect kept)
    shift_y: tuple[float, float] = (0.0, 0.0)
    shift_x: tuple[float, float] = (0.0, 0.0)
    brightness: tuple[float, float] | None = None
    contrast: tuple[float, float] | None = None
    names: tuple[str, ...] = field(default=())

    @staticmethod
    def from_entries(entries: Sequence[Any], keypoints: bool = False, locate: Locator = lambda path: None
                     ) -> "ObjectAugment":
        """The ``augment:`` entries (Keras names); what cannot move objects is a SpecError at its line."""
        settings: dict[str, Any] = {}
        errors = []
        for i, entry in enumerate(entries):
            name, args = parse_entry(entry)
            try:
                settings.update(_setting(name, args, keypoints))
            except SpecError as exc:
                errors.append(SpecError(f"augment: {name}: {exc.message}", exc.hint,
                                        locate(("train", "data", "augment", i))))
        if errors:
            raise SpecErrors(errors)
        return ObjectAugment(**settings, names=tuple(parse_entry(e)[0] for e in entries))

    def __bool__(self) -> bool:
        return bool(self.names)

    def apply(self, image: np.ndarray, objects: ImageObjects, rng: np.random.Generator,
              flip_pairs: Sequence[int] = ()) -> tuple[np.ndarray, ImageObjects]:
        """Augment a letterboxed image and its objects; ``flip_pairs[k]`` is keypoint k's mirror."""
        height, width = image.shape[:2]
        flip_x = self.flip_x and rng.random() < 0.5
        flip_y = self.flip_y and rng.random() < 0.5
        zoom_y = rng.uniform(*self.zoom_y) if self.zoom_y else 0.0
        zoom_x = rng.uniform(*self.zoom_x) if self.zoom_x else zoom_y
        scale_x, scale_y = 1.0 / (1.0 + zoom_x), 1.0 / (1.0 + zoom_y)
        # u = a * x + b per axis: scale about the centre, flip, then shift by a fraction of the side.
        a_x, a_y = scale_x * (-1 if flip_x else 1), scale_y * (-1 if flip_y else 1)
        b_x = width / 2 * (1 - a_x) + rng.uniform(*self.shift_x) * width
        b_y = height / 2 * (1 - a_y) + rng.uniform(*self.shift_y) * height
        moved = (a_x, b_x, a_y, b_y)
        if moved != (1.0, 0.0, 1.0, 0.0):
            image = np.stack([_warp(image[..., c], moved, PAD_VALUE, "bilinear") for c in range(image.shape[-1])], -1)
            objects = _move_objects(objects, moved, (height, width), flip_pairs if flip_x else ())
        return self._pixels(image, rng), objects

    def _pixels(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.brightness:
            image = image + np.float32(rng.uniform(*self.brightness))
        if self.contrast:
            mean = image.mean(axis=(0, 1), keepdims=True)
            image = (image - mean) * np.float32(1.0 + rng.uniform(*self.contrast)) + mean
        return np.clip(image, 0.0, 1.0).astype(np.float32)


def _setting(name: str, args: dict[str, Any], keypoints: bool) -> dict[str, Any]:
    if name not in _ARGUMENTS:
        raise SpecError("does not move boxes, masks and keypoints with the image",
                        f"use {', '.join(_ARGUMENTS)} for object tasks")
    unknown = sorted(set(args) - _ARGUMENTS[name] - {"seed"})
    if unknown:
        raise SpecError(f"argument {unknown[0]!r} is not read for object tasks",
                        f"use {', '.join(sorted(_ARGUMENTS[name]))} (uncovered pixels are grey, never reflected)")
    if name == "RandomFlip":
        mode = args.get("mode", "horizontal_and_vertical")
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise SpecError(f"mode {mode!r}", "use horizontal, vertical or horizontal_and_vertical")
        if keypoints and "vertical" in mode:
            raise SpecError("a vertical flip would turn keypoint names upside down",
                            "use mode: horizontal (left/right keypoints are swapped)")
        return {"flip_x": "horizontal" in mode, "flip_y": "vertical" in mode}
    if name in ("RandomBrightness", "RandomContrast"):
        low, high = _range(args.get("factor", 0.0), "factor")
        return {name[6:].lower(): (low, high)}
    if "height_factor" not in args:
        raise SpecError("needs height_factor", "e.g. {height_factor: 0.1, width_factor: 0.1}")
    height = _range(args["height_factor"], "height_factor")
    width = None if args.get("width_factor") is None else _range(args["width_factor"], "width_factor")
    if name == "RandomZoom":
        if min(height + (width or (0, 0))) <= -1:
            raise SpecError("a zoom factor of -1 or less leaves no image", "keep factors above -1")
        return {"zoom_y": height, "zoom_x": width}
    return {"shift_y": height, "shift_x": width if width is not None else (0.0, 0.0)}


def _warp(plane: np.ndarray, moved: tuple[float, float, float, float], fill: float, resample: str) -> np.ndarray:
    """One (H, W) plane moved by u = a x + b per axis (PIL samples the inverse map)."""
    from PIL import Image

    a_x, b_x, a_y, b_y = moved
    out = Image.fromarray(np.ascontiguousarray(plane, np.float32)).transform(
        (plane.shape[1], plane.shape[0]), Image.AFFINE, data=(1 / a_x, 0, -b_x / a_x, 0, 1 / a_y, -b_y / a_y),
        resample=Image.BILINEAR if resample == "bilinear" else Image.NEAREST, fillcolor=fill)
    return np.asarray(out, np.float32)


def _move_objects(objects: ImageObjects, moved: tuple[float, float, float, float], size: tuple[int, int],
                  flip_pairs: Sequence[int]) -> ImageObjects:
    a_x, b_x, a_y, b_y = moved
    height, width = size
    x = objects.boxes[:, [0, 2]] * a_x + b_x
    y = objects.boxes[:, [1, 3]] * a_y + b_y
    boxes = np.stack([x.min(1), y.min(1), x.max(1), y.max(1)], axis=1)
    boxes = np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
    keep = (boxes[:, 2] - boxes[:, 0] >= MIN_SIDE) & (boxes[:, 3] - boxes[:, 1] >= MIN_SIDE)
    masks = objects.masks
    if masks is not None:
        masks = np.stack([_warp(m, moved, 0.0, "nearest") for m in masks]).astype(np.uint8) \
            if len(masks) else masks
        keep &= masks.any(axis=(1, 2))
    keypoints = objects.keypoints
    if keypoints is not None:
        keypoints = _move_keypoints(keypoints, moved, size, flip_pairs)
    moved_objects = replace(objects, boxes=boxes, masks=masks, keypoints=keypoints,
                            crowd_boxes=None, crowd_classes=None, crowd_masks=None)  # crowds: ground truth only
    return moved_objects.select(keep)


def _move_keypoints(keypoints: np.ndarray, moved: tuple[float, float, float, float], size: tuple[int, int],
                    flip_pairs: Sequence[int]) -> np.ndarray:
    a_x, b_x, a_y, b_y = moved
    out = keypoints.copy()
    out[..., 0] = keypoints[..., 0] * a_x + b_x
    out[..., 1] = keypoints[..., 1] * a_y + b_y
    inside = (out[..., 0] >= 0) & (out[..., 0] < size[1]) & (out[..., 1] >= 0) & (out[..., 1] < size[0])
    out[~(inside & (keypoints[..., 2] > 0))] = 0.0
    if len(flip_pairs):
        out = out[:, list(flip_pairs)]
    return out


def flip_pairs(names: Sequence[str]) -> tuple[int, ...]:
    """Each keypoint's mirror image under a horizontal flip: names differing by left/right swap.

    >>> flip_pairs(("nose", "left_eye", "right_eye", "top", "bottom_left", "bottom_right"))
    (0, 2, 1, 3, 5, 4)
    """
    index = {name: k for k, name in enumerate(names)}
    swapped = {"left": "right", "right": "left"}

    def mirror(name: str) -> str:
        return "_".join(swapped.get(part, part) for part in name.split("_"))

    return tuple(index.get(mirror(name), k) for k, name in enumerate(names))
