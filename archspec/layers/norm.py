"""Normalization: batch, layer, group and instance normalization."""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import keras_kwargs, keras_layer
from archspec.layers.registry import Arg, Args, LayerError, LayerKind, Params, Shape, register_kinds
from archspec.layers.arithmetic import fmt_shape

_AXIS = Arg("axis", {"type": "integer"}, "an integer axis (-1 = channels)", "The axis normalised over.", -1)


def _dim(kind: str, args: Args, shape: Shape) -> int:
    """Size of the normalised axis. As in Keras, a positive axis counts the batch axis (0).

    >>> _dim("BatchNormalization", {"axis": 3}, (8, 8, 16)), _dim("BatchNormalization", {"axis": -1}, (8, 8, 16))
    (16, 16)
    """
    axis = args.get("axis", -1)
    if axis == 0 or not -len(shape) <= axis <= len(shape):
        raise LayerError(f"axis {axis} is out of range for input {fmt_shape(shape)} (with the batch axis: "
                         f"{len(shape) + 1} axes)", f"use -1 (channels) or an axis from 1 to {len(shape)}; 0 is the "
                         "batch axis", "axis")
    axis = axis - 1 if axis > 0 else axis
    if shape[axis] is None:
        raise LayerError(f"{kind} needs a known size on axis {axis}", "give that axis a fixed size", "axis")
    return shape[axis]


def _scale_center(args: Args) -> int:
    return int(bool(args.get("center", True))) + int(bool(args.get("scale", True)))


def _same_checked(kind: str):
    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        dim = _dim(kind, args, ins[0])
        groups = args.get("groups", 1)
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


def _instance_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    import keras

    return [keras.layers.GroupNormalization(groups=-1, name=name, **keras_kwargs(kind, args))]


_EPS = A.number("epsilon", "Added to the variance for numerical stability.", 1e-3, minimum=0)
_CENTER = A.boolean("center", "Learn an offset (beta).", True)
_SCALE = A.boolean("scale", "Learn a scale (gamma).", True)
_AFFINE_INIT = (A.initializer("beta_initializer", "zeros"), A.initializer("gamma_initializer", "ones"))

register_kinds(
    LayerKind("BatchNormalization", "norm", "Normalises each channel over the batch; keeps moving statistics "
              "(4C weights, 2C of them non-trainable).",
              (_AXIS, A.number("momentum", "Momentum of the moving averages.", 0.99, 0, 1), _EPS, _CENTER, _SCALE)
              + _AFFINE_INIT + (A.initializer("moving_mean_initializer", "zeros"),
                                A.initializer("moving_variance_initializer", "ones")),
              _same_checked("BatchNormalization"), keras_layer(), _bn_params),
    LayerKind("LayerNormalization", "norm", "Normalises each sample over its last axis.",
              (_AXIS, _EPS, _CENTER, _SCALE) + _AFFINE_INIT,
              _same_checked("LayerNormalization"), keras_layer(), _affine_params("LayerNormalization")),
    LayerKind("GroupNormalization", "norm", "Normalises each sample over groups of channels.",
              (A.integer("groups", "Number of channel groups (-1 = one per channel).", 32, minimum=-1),
               _AXIS, _EPS, _CENTER, _SCALE) + _AFFINE_INIT,
              _same_checked("GroupNormalization"), keras_layer(), _affine_params("GroupNormalization")),
    LayerKind("InstanceNormalization", "norm", "Normalises each channel of each sample over its positions "
              "(archspec extension; compiled to GroupNormalization with one group per channel).",
              (_EPS, _CENTER, _SCALE) + _AFFINE_INIT,
              _same_checked("InstanceNormalization"), _instance_build, _affine_params("InstanceNormalization"),
              keras_class="GroupNormalization"),
)
