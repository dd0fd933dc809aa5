"""Layers that change spatial size without weights: ZeroPadding, Cropping, UpSampling."""
from __future__ import annotations

from typing import Any, Sequence

from archspec.layers import args as A
from archspec.layers.build import keras_layer
from archspec.layers.common import AXES, check_positive_output, expect_rank
from archspec.layers.registry import Arg, Args, LayerError, LayerKind, Shape, Window, register
from archspec.layers.shapes import as_tuple

_NONNEG = {"type": "integer", "minimum": 0}
_PAIR = {"type": "array", "items": _NONNEG, "minItems": 2, "maxItems": 2}


def side_pairs(value: Any, n: int) -> list[tuple[int, int]]:
    """Keras's padding/cropping forms as (before, after) per spatial axis.

    >>> side_pairs(1, 2), side_pairs([1, 2], 2), side_pairs([[0, 1], [2, 3]], 2), side_pairs([1, 2], 1)
    ([(1, 1), (1, 1)], [(1, 1), (2, 2)], [(0, 1), (2, 3)], [(1, 2)])
    """
    if isinstance(value, int):
        return [(value, value)] * n
    if n == 1:
        return [tuple(value)]  # type: ignore[list-item]
    return [tuple(v) if isinstance(v, list) else (v, v) for v in value]  # type: ignore[misc]


def _sides_arg(name: str, n: int, doc: str, default: Any) -> Arg:
    if n == 1:
        schema = {"oneOf": [_NONNEG, _PAIR]}
        expects = "an integer >= 0 or a [before, after] pair"
    else:
        schema = {"oneOf": [_NONNEG, {"type": "array", "items": {"oneOf": [_NONNEG, _PAIR]},
                                      "minItems": n, "maxItems": n}]}
        expects = f"an integer >= 0 or a list of {n} items, each an integer or a [before, after] pair"
    return Arg(name, schema, expects, doc, default)


def _padding(n: int) -> LayerKind:
    name = f"ZeroPadding{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        expect_rank(name, ins[0], n)
        pads = side_pairs(args["padding"], n)
        return tuple(None if s is None else s + b + a for s, (b, a) in zip(ins[0][:-1], pads)) + (ins[0][-1],)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        return Window((1,) * n, (1,) * n, tuple(float(b) for b, _ in side_pairs(args["padding"], n)))

    return LayerKind(name, "resize", f"Adds rows/columns of zeros around {n}-D feature maps.",
                     (_sides_arg("padding", n, "Zeros added on each side.", 1),), shape,
                     keras_layer(), window=win, rank=n + 1)


def _cropping(n: int) -> LayerKind:
    name = f"Cropping{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        expect_rank(name, ins[0], n)
        crops = side_pairs(args["cropping"], n)
        out = tuple(None if s is None else s - b - a for s, (b, a) in zip(ins[0][:-1], crops))
        for i, size in enumerate(out):
            if size is not None and size <= 0:
                raise LayerError(f"cropping {crops[i][0] + crops[i][1]} from {AXES[n][i]} {ins[0][i]} leaves {size}",
                                 "crop less", "cropping")
        return out + (ins[0][-1],)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        return Window((1,) * n, (1,) * n, tuple(-float(b) for b, _ in side_pairs(args["cropping"], n)))

    return LayerKind(name, "resize", f"Removes rows/columns at the borders of {n}-D feature maps.",
                     (_sides_arg("cropping", n, "Amount removed on each side.", 1),), shape,
                     keras_layer(), window=win, rank=n + 1)


def _upsampling(n: int) -> LayerKind:
    name = f"UpSampling{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        expect_rank(name, ins[0], n)
        sizes = as_tuple(args["size"], n)
        return tuple(None if s is None else s * f for s, f in zip(ins[0][:-1], sizes)) + (ins[0][-1],)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        return Window((1,) * n, tuple(1 / f for f in as_tuple(args["size"], n)), (0.0,) * n)

    extra = (A.choice("interpolation", ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"],
                      "How new pixels are filled.", "nearest"),) if n == 2 else ()
    size = A.integer("size", "Repeat factor.", 2) if n == 1 else A.ints("size", n, "Repeat factor per axis.", 2)
    return LayerKind(name, "resize", f"Repeats rows/columns of {n}-D feature maps (nearest-neighbour upsampling).",
                     (size,) + extra, shape, keras_layer(), window=win, rank=n + 1)


register(*[f(n) for f in (_padding, _cropping, _upsampling) for n in (1, 2, 3)])
__all__ = ["side_pairs", "check_positive_output"]
