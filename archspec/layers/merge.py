"""Merge layers: element-wise Add, Subtract, Multiply, Average, Maximum, Minimum, and Concatenate."""
from __future__ import annotations

from typing import Sequence

from archspec.layers.keras_builders import keras_layer
from archspec.layers.axes import EXAMPLE_SHAPES
from archspec.layers.equations import Equation, Line, num
from archspec.layers.families import MERGE
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Shape, register_kinds
from archspec.layers.arithmetic import canonicalize_axis, fmt_shape


def broadcast(a: Shape, b: Shape) -> Shape:
    """Keras's element-wise merge shape: equal sizes, or 1 broadcast, None unknown.

    >>> broadcast((8, 8, 16), (8, 8, 16))
    (8, 8, 16)
    >>> broadcast((8, 8, 16), (1, 1, 16))
    (8, 8, 16)
    >>> broadcast((8, None, 16), (8, 8, 16))
    (8, None, 16)
    """
    if len(a) < len(b):
        a, b = b, a
    out = list(a[: len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ValueError
        else:
            out.append(i)
    return tuple(out)


def _elementwise(name: str):
    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        out = ins[0]
        for other in ins[1:]:
            try:
                out = broadcast(out, other)
            except ValueError:
                shapes = ", ".join(fmt_shape(s) for s in ins)
                raise LayerError(f"{name} needs inputs of the same shape, but receives {shapes}",
                                 "make the branches agree (a 1x1 Conv2D with strides on the shortcut "
                                 "fixes channels and size)") from None
        return out
    return shape


def _elementwise_explain(name: str):
    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        return [f"element-wise {name} of {', '.join(fmt_shape(s) for s in ins)}: the shapes agree (a size of 1 "
                f"broadcasts), so the output is {fmt_shape(out)}"]
    return explain


def concat_axis(args: Args, rank: int) -> int:
    """The index (into shapes without the batch axis) of the axis Concatenate joins along.

    >>> concat_axis({"axis": -1}, 3), concat_axis({"axis": 1}, 3)
    (2, 0)
    """
    try:
        return canonicalize_axis(args["axis"], rank)
    except ValueError:
        raise LayerError(f"axis {args['axis']} is out of range for inputs of rank {rank}",
                         "use -1 (channels) or an axis from 1; 0 is the batch axis", "axis") from None


def _concatenate(args: Args, ins: Sequence[Shape]) -> Shape:
    rank = len(ins[0])
    axis = args["axis"]
    ax = concat_axis(args, rank)
    shapes = ", ".join(fmt_shape(s) for s in ins)
    if any(len(s) != rank for s in ins):
        raise LayerError(f"Concatenate needs inputs of the same rank, but receives {shapes}",
                         "Flatten or Reshape the inputs first")
    for i in range(rank):
        sizes = {s[i] for s in ins} - {None}
        if i != ax and len(sizes) > 1:
            raise LayerError(f"Concatenate on axis {axis} needs equal sizes on the other axes, but receives {shapes}",
                             "crop, pad or resize the branches to match (e.g. Cropping2D on the skip connection)")
    parts = [s[ax] for s in ins]
    return tuple(None if None in parts else sum(parts) if i == ax else next((s[i] for s in ins if s[i] is not None),
                                                                             None) for i in range(rank))


def _concatenate_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    ax = concat_axis(args, len(out))
    parts = [s[ax] for s in ins]
    sym = "C" if ax == len(out) - 1 else f"axis {args['axis']}"
    if None in parts:
        return [f"concatenation of {', '.join(fmt_shape(s) for s in ins)} on {sym}: unknown size"]
    return [Equation(f"{sym}'", " + ".join(f"{sym}_{i + 1}" for i in range(len(parts))),
                     " + ".join(num(p) for p in parts), ("shape", (ax,)), "the other axes must agree")]


_WORDS = {"Add": "the sum", "Subtract": "the difference of two", "Multiply": "the product", "Average": "the mean",
          "Maximum": "the maximum", "Minimum": "the minimum"}
register_kinds(
    *[LayerKind(op, MERGE, f"Element-wise {_WORDS[op]} of its inputs (keras.layers.{op}).", (),
                _elementwise(op), keras_layer(), inputs=(2, 2) if op == "Subtract" else (2, None),
                explain=_elementwise_explain(op), field_rule=FieldRule.MERGE,
                example=((EXAMPLE_SHAPES[2], EXAMPLE_SHAPES[2]), {})) for op in _WORDS],
    LayerKind("Concatenate", MERGE, "Joins its inputs along an axis (channels by default).",
              (Arg("axis", {"type": "integer"}, "an integer axis", "Axis to join along (-1 = channels).", -1),),
              _concatenate, keras_layer(), inputs=(2, None), explain=_concatenate_explain, field_rule=FieldRule.MERGE,
              example=((EXAMPLE_SHAPES[2], EXAMPLE_SHAPES[2][:-1] + (8,)), {})),
)
