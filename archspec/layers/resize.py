"""Layers that change spatial size without weights: ZeroPadding, Cropping, UpSampling."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import keras_layer
from archspec.layers.axes import EXAMPLE_SHAPES, axis_symbols, axis_words
from archspec.layers.equations import Line, per_axis
from archspec.layers.families import RESIZE
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Shape, Window, register_kinds
from archspec.layers.arithmetic import as_tuple

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


def _border(n: int, arg: str, sign: int) -> LayerKind:
    """ZeroPadding (sign +1) and Cropping (sign -1): add or remove rows/columns at the borders."""
    name = f"{'ZeroPadding' if sign > 0 else 'Cropping'}{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        sides = side_pairs(args[arg], n)
        out = tuple(None if s is None else s + sign * (b + a) for s, (b, a) in zip(ins[0][:-1], sides))
        for i, size in enumerate(out):
            if size is not None and size <= 0:
                raise LayerError(f"cropping {sum(sides[i])} from {axis_words(n)[i]} {ins[0][i]} leaves {size}",
                                 "crop less", arg)
        return out + (ins[0][-1],)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        return Window((1,) * n, (1,) * n, tuple(sign * float(b) for b, _ in side_pairs(args[arg], n)))

    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        op, sym = ("+", "P") if sign > 0 else ("-", "C")
        return _per_axis_sizes(ins[0], lambda a, i: f"{a} {op} {sym}_before {op} {sym}_after",
                               lambda size, i: f"{size} {op} {side_pairs(args[arg], n)[i][0]} {op} "
                                               f"{side_pairs(args[arg], n)[i][1]}")

    doc = (f"Adds rows/columns of zeros around {n}-D feature maps." if sign > 0 else
           f"Removes rows/columns at the borders of {n}-D feature maps.")
    what = "Zeros added on each side." if sign > 0 else "Amount removed on each side."
    return LayerKind(name, RESIZE, doc, (_sides_arg(arg, n, what, 1),), shape, keras_layer(), window=win,
                     rank=n + 1, explain=explain, field_rule=FieldRule.WINDOW, example=((EXAMPLE_SHAPES[n],), {}))


def _per_axis_sizes(shape: Shape, general: Callable[[str, int], str], numbers: Callable[[int, int], str]) -> list[Line]:
    """The output size of every spatial axis whose input size is known: ``H' = H + ...``."""
    n, names = len(shape) - 1, axis_symbols(len(shape) - 1)
    known = [i for i, size in enumerate(shape[:-1]) if size is not None]
    unknown: list[Line] = [f"{names[i]}' unknown" for i in range(n) if i not in known]
    return unknown + per_axis([f"{names[i]}'" for i in known], [general(names[i], i) for i in known],
                              [numbers(shape[i], i) for i in known], "shape", axes=known)


def _upsampling(n: int) -> LayerKind:
    name = f"UpSampling{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        sizes = as_tuple(args["size"], n)
        return tuple(None if s is None else s * f for s, f in zip(ins[0][:-1], sizes)) + (ins[0][-1],)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        return Window((1,) * n, tuple(1 / f for f in as_tuple(args["size"], n)), (0.0,) * n)

    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        return _per_axis_sizes(ins[0], lambda a, i: f"{a}*f", lambda size, i: f"{size}*{as_tuple(args['size'], n)[i]}")

    extra = (A.choice("interpolation", ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"],
                      "How new pixels are filled.", "nearest"),) if n == 2 else ()
    size = A.integer("size", "Repeat factor.", 2) if n == 1 else A.ints("size", n, "Repeat factor per axis.", 2)
    return LayerKind(name, RESIZE, f"Repeats rows/columns of {n}-D feature maps (nearest-neighbour upsampling).",
                     (size,) + extra, shape, keras_layer(), window=win, rank=n + 1, explain=explain,
                     field_rule=FieldRule.UPSAMPLE, example=((EXAMPLE_SHAPES[n],), {}))


register_kinds(*[_border(n, "padding", +1) for n in (1, 2, 3)], *[_border(n, "cropping", -1) for n in (1, 2, 3)],
         *[_upsampling(n) for n in (1, 2, 3)])
