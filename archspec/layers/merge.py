"""Merge layers: element-wise Add, Subtract, Multiply, Average, Maximum, Minimum, and Concatenate."""
from __future__ import annotations

from typing import Sequence

from archspec.layers.keras_builders import keras_layer
from archspec.layers.registry import Arg, Args, LayerError, LayerKind, Shape, register_kinds
from archspec.layers.arithmetic import fmt_shape


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


def _concatenate(args: Args, ins: Sequence[Shape]) -> Shape:
    rank = len(ins[0])
    axis = args["axis"]
    if not -rank <= axis < rank + 1 or axis == 0:
        raise LayerError(f"axis {axis} is out of range for inputs of rank {rank}",
                         "use -1 (channels) or an axis from 1; 0 is the batch axis", "axis")
    ax = axis - 1 if axis > 0 else rank + axis
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


_WORDS = {"Add": "the sum", "Subtract": "the difference of two", "Multiply": "the product", "Average": "the mean",
          "Maximum": "the maximum", "Minimum": "the minimum"}
register_kinds(
    *[LayerKind(op, "merge", f"Element-wise {_WORDS[op]} of its inputs (keras.layers.{op}).", (),
                _elementwise(op), keras_layer(), inputs=(2, 2) if op == "Subtract" else (2, None))
      for op in _WORDS],
    LayerKind("Concatenate", "merge", "Joins its inputs along an axis (channels by default).",
              (Arg("axis", {"type": "integer"}, "an integer axis", "Axis to join along (-1 = channels).", -1),),
              _concatenate, keras_layer(), inputs=(2, None)),
)
