"""Receptive field, effective stride and effective padding of every layer, per spatial axis.

The conventions are those of google-research/receptive_field (Araujo et al., "Computing
receptive fields of convolutional neural networks", Distill 2019), computed forwards from the
inputs instead of backwards from one output:

* ``size`` (r): how many input positions (padding included) one output position sees;
* ``stride`` (j): how far apart, in input positions, two neighbouring outputs' fields start;
* ``padding`` (P): how far the first output's field starts before input position 0, so the
  field of output ``o`` covers input positions ``[-P + o*j, -P + o*j + r - 1]``.

A layer with window ``k`` (dilated extent), stride ``s`` and ``p`` positions of padding before
position 0 maps (r, j, P) to ``(r + (k-1)*j, j*s, P + p*j)``. ``padding='same'`` pads as
TensorFlow does (the odd pixel after); when the input size is unknown and that padding
depends on it, P is unknown (``None``), as in the reference library. Merges keep, per axis,
the input with the largest field and note when the inputs' fields are misaligned (different
effective strides or different centres ``(r-1)/2 - P``). Global pooling, Flatten and other
layers that mix every position "cover the whole input": their field is the union of every
position of their input, ``r + (n-1)*j`` on an axis of ``n`` positions.

Which of these a layer does is its kind's declared ``FieldRule`` (``LayerKind.field_rule``),
with the kind's ``window`` rule giving k, s and p; nothing here looks at a kind's name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Mapping, Optional, Sequence

from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.layers.axes import axis_words
from archspec.layers.registry import FieldRule, Window
from archspec.layers.arithmetic import same_pads

Num = float  # ints where exact; fractions appear only after upsampling


@dataclass(frozen=True)
class Field:
    """Receptive-field state of one tensor, one value per spatial axis."""

    size: tuple[Optional[Num], ...]
    stride: tuple[Num, ...]
    padding: tuple[Optional[Num], ...]
    whole: bool = False        # a global layer: the union of its input's positions
    approx: bool = False       # passed an upsampling layer: centres are not on one lattice
    note: str = ""             # why the paths into a merge are misaligned, if they are

    @property
    def rank(self) -> int:
        return len(self.size)


@dataclass(frozen=True)
class Step:
    """What one layer does to the field along each axis: window, stride and padding before."""

    kernel: tuple[int, ...]
    stride: tuple[Num, ...]
    pad: tuple[Optional[Num], ...]
    rule: FieldRule   # the kind's rule, a reshape resolved to pointwise, whole or new


def origin(rank: int) -> Field:
    """The field of a model input: every position sees itself.

    >>> origin(2)
    Field(size=(1, 1), stride=(1, 1), padding=(0, 0), whole=False, approx=False, note='')
    """
    return Field((1,) * rank, (1,) * rank, (0,) * rank)


# ---------------------------------------------------------------- arithmetic of one axis
def grow(size: Optional[Num], kernel: int, jump: Num) -> Optional[Num]:
    """Receptive field after a window of extent ``kernel``: r + (k-1)*j.

    >>> grow(5, 2, 1), grow(3, 3, 2), grow(None, 3, 1) is None
    (6, 7, True)
    """
    return None if size is None else _tidy(size + (kernel - 1) * jump)


def shift(padding: Optional[Num], pad: Optional[Num], jump: Num) -> Optional[Num]:
    """Effective padding after a layer that pads ``pad`` before position 0: P + p*j.

    >>> shift(1, 1, 2), shift(None, 1, 1) is None, shift(3, None, 1) is None
    (3, True, True)
    """
    return None if padding is None or pad is None else _tidy(padding + pad * jump)


def upsample_grow(size: Optional[Num], kernel: int, factor: int, jump: Num) -> Optional[Num]:
    """Field after upsampling by ``factor`` with a window ``kernel`` on the fine grid.

    An output position depends on at most ceil(k/f) input positions (nearest upsampling:
    one; a 3x3 transposed convolution with stride 2: two), so r' = r + (ceil(k/f) - 1)*j.

    >>> upsample_grow(10, 1, 2, 4), upsample_grow(10, 3, 2, 4), upsample_grow(10, 4, 2, 4)
    (10, 14, 14)
    """
    return None if size is None else _tidy(size + (math.ceil(kernel / factor) - 1) * jump)


def same_before(size: Optional[int], kernel: int, stride: int) -> Optional[int]:
    """Padding TensorFlow puts before position 0 for ``padding='same'``; None when it
    depends on an unknown input size (as google-research/receptive_field reports it).

    >>> same_before(224, 7, 2), same_before(None, 3, 1), same_before(None, 1, 2)
    (2, 1, 0)
    >>> same_before(None, 3, 2) is None, same_before(None, 4, 2)
    (True, 1)
    """
    if size is not None:
        return same_pads(size, kernel, stride)[0]
    options = {max(kernel - (rest or stride), 0) // 2 for rest in range(stride)}
    return options.pop() if len(options) == 1 else None


def centre(size: Optional[Num], padding: Optional[Num]) -> Optional[Num]:
    """Where the first output's field is centred, in input positions: (r-1)/2 - P.

    >>> centre(7, 3), centre(6, 2)
    (0, 0.5)
    """
    return None if size is None or padding is None else _tidy((size - 1) / 2 - padding)


def _tidy(value: Num) -> Num:
    return int(value) if float(value).is_integer() else value


def _num(value: Optional[Num]) -> Optional[Num]:
    return None if value is None else _tidy(round(value, 6))


# ---------------------------------------------------------------- one layer
def layer_step(info: LayerInfo) -> Step:
    """How ``info``'s layer maps the field of its (first) input, axis by axis, by the rule
    its kind declares."""
    ins, out = info.in_shapes, info.out_shape
    in_axes = ins[0][:-1] if len(ins[0]) > 1 else ()
    rule = info.kind.field_rule
    if rule is FieldRule.RESHAPE:
        rule = reshaped(in_axes, out[:-1] if len(out) > 1 else ())
    if rule in (FieldRule.WINDOW, FieldRule.UPSAMPLE) and info.window is not None:
        return _window_step(info, info.window, in_axes, rule)
    if rule is FieldRule.POINTWISE:
        return Step((1,) * len(in_axes), (1,) * len(in_axes), (0,) * len(in_axes), rule)
    if rule is FieldRule.WHOLE:
        return Step(tuple(n or 0 for n in in_axes), tuple(n or 0 for n in in_axes), (0,) * len(in_axes), rule)
    return Step((), (), (), rule)  # merge, permute, new: the pass combines fields or reorders them


def reshaped(in_axes: Sequence[Optional[int]], out_axes: Sequence[Optional[int]]) -> FieldRule:
    """What a reshape does to the field: nothing while the spatial axes stay; from a vector it
    makes new axes; otherwise its outputs mix the whole input.

    >>> reshaped((8, 8), (8, 8)), reshaped((), (4, 4)), reshaped((8, 8), ())
    (<FieldRule.POINTWISE: 'pointwise'>, <FieldRule.NEW: 'new'>, <FieldRule.WHOLE: 'whole'>)
    """
    if not in_axes:
        return FieldRule.NEW if out_axes else FieldRule.POINTWISE
    return FieldRule.POINTWISE if tuple(in_axes) == tuple(out_axes) else FieldRule.WHOLE


def _window_step(info: LayerInfo, window: Window, in_axes: Sequence[Optional[int]], rule: FieldRule) -> Step:
    if rule is FieldRule.UPSAMPLE:
        return Step(tuple(window.kernel), tuple(window.stride), tuple(window.pad), rule)
    pads: list[Optional[Num]] = list(window.pad)
    args = info.node.args
    if args.get("padding") == "same":
        for i, size in enumerate(in_axes):
            if size is None:
                pads[i] = same_before(None, window.kernel[i], int(window.stride[i]))
    return Step(tuple(window.kernel), tuple(window.stride), tuple(pads), rule)


def apply(field: Field, step: Step, in_axes: Sequence[Optional[int]] = (), out_rank: int = 0) -> Field:
    """The field after one layer; ``in_axes`` are the input's spatial sizes ("whole" layers),
    ``out_rank`` the output's number of spatial axes (axes made from a vector)."""
    if step.rule in (FieldRule.POINTWISE, FieldRule.MERGE, FieldRule.PERMUTE):
        return field
    if step.rule is FieldRule.NEW and field.whole and field.rank == out_rank:
        return field  # a pooled vector laid out again (squeeze-excite's Reshape): still the whole input
    if step.rule is FieldRule.NEW:  # unknown: the vector had already mixed every position
        return Field((None,) * out_rank, (1,) * out_rank, (None,) * out_rank, True, field.approx)
    if step.rule is FieldRule.WHOLE and field.whole:
        return field  # every position already sees the whole input: there is no more to see
    if step.rule is FieldRule.WHOLE:
        size = tuple(None if n is None else grow(r, n, j) for r, n, j in zip(field.size, in_axes, field.stride))
        stride = tuple(_tidy(j * (n or 1)) for j, n in zip(field.stride, in_axes))
        return Field(size, stride, field.padding, True, field.approx)
    if step.rule is FieldRule.UPSAMPLE:
        factors = [max(1, round(1 / s)) for s in step.stride]
        size = tuple(upsample_grow(r, k, f, j) for r, k, f, j in zip(field.size, step.kernel, factors, field.stride))
        stride = tuple(_tidy(j / f) for j, f in zip(field.stride, factors))
        return Field(size, stride, field.padding, field.whole, True)
    size = tuple(grow(r, k, j) for r, k, j in zip(field.size, step.kernel, field.stride))
    padding = tuple(shift(p, q, j) for p, q, j in zip(field.padding, step.pad, field.stride))
    stride = tuple(_tidy(j * s) for j, s in zip(field.stride, step.stride))
    return Field(size, stride, padding, field.whole, field.approx)


def permute(field: Field, dims: Sequence[int]) -> Field:
    """Reorder the axes for ``Permute`` when only spatial axes move; otherwise whole.

    >>> permute(Field((3, 5), (1, 2), (1, 2)), [2, 1, 3]).size
    (5, 3)
    """
    n = field.rank
    order = [d - 1 for d in dims[:-1]]
    if dims[-1] != n + 1 or sorted(order) != list(range(n)):
        return Field((None,) * n, field.stride, (None,) * n, True, field.approx)
    return Field(tuple(field.size[i] for i in order), tuple(field.stride[i] for i in order),
                 tuple(field.padding[i] for i in order), field.whole, field.approx)


# ---------------------------------------------------------------- merges
def merge(fields: Sequence[Field], names: Sequence[str]) -> Field:
    """Largest field over the inputs, per axis (size and padding of that input, stride of the
    largest input on a lattice); a note when the lattices of the inputs that are not whole
    disagree. One whole input makes the merge whole (squeeze-and-excite's Multiply sees the
    whole input through its pooled path), of unknown size when that input's size is unknown.

    >>> a, b = Field((7,), (2,), (3,)), Field((3,), (2,), (1,))
    >>> merge([a, b], ["a", "b"]).size, merge([a, b], ["a", "b"]).note
    ((7,), '')
    >>> merge([a, Field((3,), (1,), (1,))], ["a", "c"]).note
    "misaligned paths: effective stride 2 ('a') vs 1 ('c') along the length"
    >>> merge([a, Field((29,), (28,), (3,), whole=True)], ["a", "se"])
    Field(size=(29,), stride=(2,), padding=(3,), whole=True, approx=False, note='')
    >>> merge([a, Field((None,), (1,), (None,), whole=True)], ["a", "se"]).size
    (None,)
    """
    ranks = {f.rank for f in fields}
    if len(ranks) > 1:
        best = max(fields, key=lambda f: f.rank)
        return Field(best.size, best.stride, best.padding, best.whole, best.approx,
                     "inputs have different numbers of spatial axes")
    lattice = [f for f in fields if not f.whole] or list(fields)
    size, stride, padding = [], [], []
    for axis in range(fields[0].rank):
        biggest = max(fields, key=lambda f: _size_order(f.size[axis]))
        grid = max(lattice, key=lambda f: _size_order(f.size[axis]))
        size.append(biggest.size[axis])
        stride.append(grid.stride[axis])
        padding.append(biggest.padding[axis])
    note = misalignment(fields, names)
    return Field(tuple(size), tuple(stride), tuple(padding), any(f.whole for f in fields),
                 any(f.approx for f in fields), note)


def _size_order(size: Optional[Num]) -> float:
    """An unknown size is only ever a whole field's (made from a vector): at least any known one."""
    return math.inf if size is None else size


def misalignment(fields: Sequence[Field], names: Sequence[str]) -> str:
    """Why the inputs of a merge see the input on different lattices ('' if they do not); axes
    are named as shapes are written (height, width), without the batch axis."""
    pairs = [(f, n) for f, n in zip(fields, names) if not f.whole]
    problems = []
    words = axis_words(fields[0].rank if fields else 0)
    for axis in range(len(words)):
        strides = {f.stride[axis] for f, _ in pairs}
        if len(strides) > 1:
            shown = " vs ".join(f"{_num(f.stride[axis])} ('{n}')" for f, n in pairs)
            problems.append(f"effective stride {shown} along the {words[axis]}")
            continue
        if any(f.approx for f, _ in pairs):
            continue
        centres = [(centre(f.size[axis], f.padding[axis]), n) for f, n in pairs]
        known = {c for c, _ in centres if c is not None}
        if len(known) > 1:
            shown = " vs ".join(f"{_num(c)} ('{n}')" for c, n in centres)
            problems.append(f"field centres {shown} along the {words[axis]}")
    return "misaligned paths: " + "; ".join(problems) if problems else ""


# ---------------------------------------------------------------- the pass
def receptive_fields(analysis: Analysis) -> dict[str, Field]:
    """The field of every graph input and layer output, in topological order."""
    fields: dict[str, Field] = {name: origin(max(len(shape) - 1, 0)) for name, shape in analysis.graph.inputs.items()}
    for info in analysis.layers:
        fields[info.node.name] = layer_field(info, [fields[i] for i in info.node.inputs])
        fields.update((tensor, fields[info.node.name]) for tensor, _ in info.outputs[1:])  # a layer's other outputs
    return fields


def layer_field(info: LayerInfo, inputs: Sequence[Field]) -> Field:
    """The field of one layer's output, given its inputs' fields."""
    step = layer_step(info)
    if step.rule is FieldRule.MERGE:
        return merge(inputs, info.node.inputs)
    if step.rule is FieldRule.PERMUTE:
        return _without_note(permute(inputs[0], info.node.args["dims"]))
    if step.rule is FieldRule.WHOLE and len(inputs) > 1:
        return _whole_of_each(info, inputs)
    in_axes = info.in_shapes[0][:-1] if len(info.in_shapes[0]) > 1 else ()
    out_rank = max(len(info.out_shape) - 1, 0)
    return _without_note(apply(inputs[0], step, in_axes, out_rank))


def _whole_of_each(info: LayerInfo, inputs: Sequence[Field]) -> Field:
    """A layer that sees every position of several inputs (attention's query, value and key):
    the largest of their whole fields. Inputs of another rank than the first (an RNN's
    initial states, vectors) bring no spatial axes of their own."""
    rank = len(info.in_shapes[0])
    wholes = [(apply(field, Step((), (), (), FieldRule.WHOLE), shape[:-1]), name)
              for field, shape, name in zip(inputs, info.in_shapes, info.node.inputs) if len(shape) == rank]
    return _without_note(merge([f for f, _ in wholes], [n for _, n in wholes]))


def _without_note(field: Field) -> Field:
    """A note belongs to its merge, not to the layers after it (a field without one is kept as is)."""
    return replace(field, note="") if field.note else field


__all__ = ["Field", "Step", "origin", "grow", "shift", "same_before", "centre", "layer_step", "apply", "merge",
           "receptive_fields", "layer_field", "reshaped"]
