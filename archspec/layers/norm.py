"""Normalization: batch, layer, group and instance normalization."""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import keras_kwargs, keras_layer
from archspec.layers.axes import EXAMPLE_SHAPES, axis_symbols
from archspec.layers.equations import Equation, Line, Product, factor
from archspec.layers.families import NORM
from archspec.layers.registry import Arg, Args, LayerError, LayerKind, Params, Shape, register_kinds
from archspec.layers.arithmetic import canonicalize_axis, fmt_shape

_AXIS = Arg("axis", {"type": "integer"}, "an integer axis (-1 = channels)", "The axis normalised over.", -1)
_AXES = Arg("axis", {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            "an integer axis (-1 = channels) or a list of axes", "The axis or axes normalised over, as in Keras "
            "(positive axes count the batch axis as 0); gamma and beta have the sizes of those axes.", -1)


def _normalised(kind: str, args: Args, shape: Shape) -> Product:
    """The sizes of the normalised axes as named factors (``C`` for channels, ``H``...): one
    scale and one offset per position of them. As in Keras, a positive axis counts the batch axis.

    >>> _normalised("BN", {"axis": 3}, (8, 6, 16)).numbers, _normalised("LN", {"axis": 1}, (8, 6, 16)).symbols
    ('16', 'H')

    A list of axes (LayerNormalization) gives one factor per axis, in axis order, as Keras's
    gamma and beta have the sizes of those axes:

    >>> _normalised("LayerNormalization", {"axis": [-1, 1]}, (8, 6, 16)).numbers
    '8*16'
    """
    given = args.get("axis", -1)
    axes = given if isinstance(given, list) else [given]
    indices = [_axis_index(kind, axis, shape) for axis in axes]
    for index in set(indices):
        same = [axis for axis, i in zip(axes, indices) if i == index]
        if len(same) > 1:
            raise LayerError(f"axis {given} names axis {index + 1} of {fmt_shape(shape)} {len(same)} times "
                             f"({', '.join(map(str, same))}; positive axes count the batch axis as 0)",
                             "list each axis once", "axis")
    return Product(tuple(factor("C" if i == len(shape) - 1 else axis_symbols(len(shape) - 1)[i], shape[i])
                         for i in sorted(indices)))


def _axis_index(kind: str, axis: int, shape: Shape) -> int:
    """Where a Keras axis (the batch axis counted as 0) falls in ``shape``, whose size must be known."""
    try:
        index = canonicalize_axis(axis, len(shape))
    except ValueError:
        raise LayerError(f"axis {axis} is out of range for input {fmt_shape(shape)} (with the batch axis: "
                         f"{len(shape) + 1} axes)", f"use -1 (channels) or an axis from 1 to {len(shape)}; 0 is the "
                         "batch axis", "axis") from None
    if shape[index] is None:
        raise LayerError(f"{kind} needs a known size on axis {axis}", "give that axis a fixed size", "axis")
    return index


def _dim(kind: str, args: Args, shape: Shape) -> int:
    """How many positions the normalised axes hold: the number of scales (and offsets)."""
    return _normalised(kind, args, shape).value


def _scale_center(args: Args) -> int:
    return int(bool(args.get("center", True))) + int(bool(args.get("scale", True)))


def _same_checked(kind: str):
    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        dim = _dim(kind, args, ins[0])
        groups = args.get("groups", 1)
        if kind == "GroupNormalization" and groups == 0:  # the schema's minimum is -1, which means one per channel
            raise LayerError("groups must be -1 (one group per channel) or a positive number; received: 0",
                             "choose groups that divide the number of channels, or -1", "groups")
        if kind == "GroupNormalization" and groups != -1 and (dim < groups or dim % groups):
            raise LayerError(f"{dim} channels cannot be split into {groups} groups",
                             "choose groups that divide the number of channels", "groups")
        return ins[0]
    return shape


def _affine_params(kind: str):
    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        return Params(_scale_center(args) * _dim(kind, args, ins[0]))
    return params


def _bn_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    dim = _dim("BatchNormalization", args, ins[0])
    return Params(_scale_center(args) * dim, 2 * dim)


def _learned_words(args: Args) -> str:
    return " and ".join(w for w, on in (("beta", args.get("center", True)), ("gamma", args.get("scale", True))) if on)


def _affine_explain(kind: str):
    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        sizes, affine = _normalised(kind, args, ins[0]), _scale_center(args)
        return [Equation("params", f"{affine}*{sizes.symbols}", f"{affine}*{sizes.numbers}", ("params",),
                         _learned_words(args) or "no learned weights")]
    return explain


def _bn_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    sizes, affine = _normalised("BatchNormalization", args, ins[0]), _scale_center(args)
    return [Equation("trainable", f"{affine}*{sizes.symbols}", f"{affine}*{sizes.numbers}", ("trainable",),
                     _learned_words(args) or "none"),
            Equation("non-trainable", f"2*{sizes.symbols}", f"2*{sizes.numbers}", ("non_trainable",),
                     "moving mean and moving variance"),
            Equation("params", "trainable + non-trainable", f"{affine * sizes.value} + {2 * sizes.value}", ("params",))]


def _instance_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    import keras

    return [keras.layers.GroupNormalization(groups=-1, name=name, **keras_kwargs(kind, args))]


_EPS = A.number("epsilon", "Added to the variance for numerical stability.", 1e-3, minimum=0)
_CENTER = A.boolean("center", "Learn an offset (beta).", True)
_SCALE = A.boolean("scale", "Learn a scale (gamma).", True)
_AFFINE_INIT = (A.initializer("beta_initializer", "zeros"), A.initializer("gamma_initializer", "ones"))

register_kinds(
    LayerKind("BatchNormalization", NORM, "Normalises each channel over the batch; keeps moving statistics "
              "(4C weights, 2C of them non-trainable).",
              (_AXIS, A.number("momentum", "Momentum of the moving averages.", 0.99, 0, 1), _EPS, _CENTER, _SCALE)
              + _AFFINE_INIT + (A.initializer("moving_mean_initializer", "zeros"),
                                A.initializer("moving_variance_initializer", "ones")),
              _same_checked("BatchNormalization"), keras_layer(), _bn_params, explain=_bn_explain,
              example=((EXAMPLE_SHAPES[2],), {})),
    LayerKind("LayerNormalization", NORM, "Normalises each sample over its last axis (or the axes given).",
              (_AXES, _EPS, _CENTER, _SCALE) + _AFFINE_INIT,
              _same_checked("LayerNormalization"), keras_layer(), _affine_params("LayerNormalization"),
              explain=_affine_explain("LayerNormalization"), example=((EXAMPLE_SHAPES[1],), {})),
    LayerKind("GroupNormalization", NORM, "Normalises each sample over groups of channels.",
              (A.integer("groups", "Number of channel groups (-1 = one per channel).", 32, minimum=-1),
               _AXIS, _EPS, _CENTER, _SCALE) + _AFFINE_INIT,
              _same_checked("GroupNormalization"), keras_layer(), _affine_params("GroupNormalization"),
              explain=_affine_explain("GroupNormalization"), example=((EXAMPLE_SHAPES[2],), {"groups": 4})),
    LayerKind("InstanceNormalization", NORM, "Normalises each channel of each sample over its positions "
              "(archspec extension; compiled to GroupNormalization with one group per channel).",
              (_EPS, _CENTER, _SCALE) + _AFFINE_INIT,
              _same_checked("InstanceNormalization"), _instance_build, _affine_params("InstanceNormalization"),
              keras_class="GroupNormalization", explain=_affine_explain("InstanceNormalization"),
              example=((EXAMPLE_SHAPES[2],), {})),
)
