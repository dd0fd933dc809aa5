"""What modern CNNs add: every Keras activation, GLU, Normalization, Identity, LayerScale,
StochasticDepth and Inception-ResNet's scaled residual sum (CustomScaleLayer).

LayerScale, StochasticDepth, CustomScaleLayer and GLU compile to archspec's own Keras layers
(``keras_backend/regularisation_layers.py``), which do what the ``keras.applications`` layers of
the same names do, with the same arguments and weights.
"""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.arithmetic import canonicalize_axis, fmt_shape, product
from archspec.layers.axes import EXAMPLE_SHAPES
from archspec.layers.equations import Equation, Line, mul, num
from archspec.layers.families import ACTIVATION, CORE, MERGE, NORM, REGULARIZATION
from archspec.layers.keras_builders import archspec_layer, keras_kwargs, keras_layer
from archspec.layers.merge import broadcast
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, register_kinds

IMAGE = EXAMPLE_SHAPES[2]


def _same(args: Args, ins: Sequence[Shape]) -> Shape:
    return ins[0]


def _axis_index(kind: str, axis: int, shape: Shape) -> int:
    """The index into ``shape`` of a Keras axis (the batch axis counted as 0).

    >>> _axis_index("GLU", -1, (8, 6)), _axis_index("GLU", 1, (8, 6))
    (1, 0)
    """
    try:
        return canonicalize_axis(axis, len(shape))
    except ValueError:
        raise LayerError(f"{kind}: axis {axis} is out of range for input {fmt_shape(shape)} (with the batch axis: "
                         f"{len(shape) + 1} axes)", f"use -1 (channels) or an axis from 1 to {len(shape)}; 0 is "
                         "the batch axis", "axis") from None


# ---------------------------------------------------------------- activations
def _halved(args: Args, ins: Sequence[Shape], axis: int) -> Shape:
    """The input with ``axis`` halved, as ``glu`` splits it into a value and a gate.

    >>> _halved({}, [(8, 6)], -1), _halved({}, [(8, None)], -1)
    ((8, 3), (8, None))
    """
    shape = ins[0]
    index = _axis_index("glu", axis, shape)
    size = shape[index]
    if size is not None and size % 2:
        raise LayerError(f"glu splits axis {axis} into two halves, but it has {size} positions (odd) in "
                         f"{fmt_shape(shape)}", "give that axis an even size", "axis")
    return shape[:index] + (None if size is None else size // 2,) + shape[index + 1:]


def _halved_explain(axis_of):
    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        index = _axis_index("glu", axis_of(args), ins[0])
        if ins[0][index] is None:
            return ["glu halves an axis of unknown size: unknown"]
        return [Equation("C'", "C/2", f"{ins[0][index]}/2", ("shape", (index,)),
                         "glu: the first half times the sigmoid of the second")]
    return explain


def _activation_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    return _halved(args, ins, -1) if args["activation"] in A.SHAPE_CHANGING_ACTIVATIONS else ins[0]


def _activation_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    if args["activation"] in A.SHAPE_CHANGING_ACTIVATIONS:
        return _halved_explain(lambda a: -1)(args, ins, out)
    return [f"{args['activation']} of every value: shape unchanged, {fmt_shape(out)}"]


def _activation_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    if args["activation"] in A.SHAPE_CHANGING_ACTIVATIONS:  # Keras's Activation reports the unhalved shape
        from archspec.keras_backend.custom_layers import GLU

        return [GLU(axis=-1, name=name)]
    return keras_layer()(kind, args, name, ins)


# ---------------------------------------------------------------- Normalization
def _kept_axes(args: Args, shape: Shape) -> list[int]:
    """The axes Normalization keeps one mean and variance per position of (indices into
    ``shape``, sorted); the others are reduced.

    >>> _kept_axes({"axis": -1}, (4, 4, 3)), _kept_axes({"axis": None}, (4, 3))
    ([2], [])
    >>> _kept_axes({"axis": [1, -1]}, (4, 5, 3))
    [0, 2]
    """
    given = args.get("axis", -1)
    axes = [] if given is None else given if isinstance(given, list) else [given]
    indices = sorted({_axis_index("Normalization", axis, shape) for axis in axes})
    if len(indices) < len(axes):
        raise LayerError(f"axis {given} names one axis twice", "list each axis once", "axis")
    unknown = [i + 1 for i in indices if shape[i] is None]
    if unknown:
        raise LayerError(f"Normalization keeps a mean per position of axis {unknown[0]}, whose size is unknown",
                         "give that axis a fixed size, or leave it out of axis", "axis")
    return indices


def _normalization_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    kept = [ins[0][i] for i in _kept_axes(args, ins[0])]
    mean = args.get("mean")
    if isinstance(mean, list):
        if not kept:
            raise LayerError("a list of means needs an axis to lie along, but axis is null (one mean for all)",
                             "give one number, or an axis", "mean")
        if len(mean) not in (1, kept[-1]):
            raise LayerError(f"{len(mean)} means for an axis of {kept[-1]} positions", f"give {kept[-1]} values "
                             "(one per position of the last kept axis) or one", "mean")
    return ins[0]


def _check_mean_variance(args: Args) -> list[LayerError]:
    mean, variance = args.get("mean"), args.get("variance")
    if (mean is None) != (variance is None):
        missing = "variance" if variance is None else "mean"
        return [LayerError("mean and variance are given together or not at all", f"give {missing} too", missing)]
    if isinstance(mean, list) != isinstance(variance, list) or \
            (isinstance(mean, list) and len(mean) != len(variance)):
        return [LayerError("mean and variance must have the same shape", "give as many variances as means",
                           "variance")]
    return []


def _stat_positions(args: Args, shape: Shape) -> int:
    return product([shape[i] for i in _kept_axes(args, shape)]) or 1


def _normalization_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    if args.get("mean") is not None:
        return Params()  # given: constants of the computation, not weights
    return Params(0, 2 * _stat_positions(args, ins[0]) + 1)


def _normalization_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    if args.get("mean") is not None:
        return ["mean and variance given: constants, no weights (params = 0)"]
    kept = [ins[0][i] for i in _kept_axes(args, ins[0])]
    sizes = mul(*kept) if kept else "1"
    return [Equation("params", "2*(positions of the kept axes) + 1", f"2*{sizes} + 1", ("params",),
                     "all non-trainable: mean and variance (set by adapt), and the count of samples adapted")]


# ---------------------------------------------------------------- LayerScale, CustomScaleLayer
def _projection_dim(args: Args, shape: Shape) -> int:
    channels, given = shape[-1], args.get("projection_dim")
    if channels is None:
        raise LayerError("LayerScale needs a known last axis", "give the input a fixed number of channels")
    if given is not None and given != channels:
        raise LayerError(f"projection_dim {given} differs from the input's {channels} channels", f"use "
                         f"projection_dim: {channels}, or leave it out (null: the input's channels)", "projection_dim")
    return channels


def _layer_scale_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    _projection_dim(args, ins[0])
    return ins[0]


def _layer_scale_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(_projection_dim(args, ins[0]))


def _layer_scale_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [Equation("params", "C", num(_projection_dim(args, ins[0])), ("params",),
                     f"gamma: one scale per channel, initialised to {num(args['init_values'])}")]


def _layer_scale_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    from archspec.keras_backend.custom_layers import LayerScale

    return [LayerScale(name=name, **keras_kwargs(kind, args, projection_dim=_projection_dim(args, ins[0])))]


def _scaled_sum_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    try:
        return broadcast(ins[0], ins[1])
    except ValueError:
        raise LayerError(f"CustomScaleLayer adds its inputs, but receives {fmt_shape(ins[0])} and "
                         f"{fmt_shape(ins[1])}", "make the residual branch's output match the shortcut") from None


def _scaled_sum_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [f"x + {num(args['scale'])}*residual, element-wise: {fmt_shape(out)}"]


_NORMALIZATION_VALUES = {"oneOf": [{"type": "null"}, {"type": "number"},
                                   {"type": "array", "items": {"type": "number"}, "minItems": 1}]}


def _stat(name: str, doc: str) -> Arg:
    return Arg(name, _NORMALIZATION_VALUES, "a number, a list of numbers, or null", doc, None)


def _required_number(name: str, doc: str) -> Arg:
    """A number Keras's constructor has no default for."""
    return Arg(name, {"type": "number"}, "a number", doc, None, True)


_ACTIVATION_NAMES = A.ACTIVATIONS + A.SHAPE_CHANGING_ACTIVATIONS

register_kinds(
    LayerKind("Activation", ACTIVATION, "Applies an activation function by name (keras.layers.Activation); "
              "glu halves the last axis.",
              (Arg("activation", {"enum": _ACTIVATION_NAMES}, "the name of a Keras activation (threshold needs "
                   "arguments a name cannot give: ReLU {threshold: t} is threshold(x, t, 0))",
                   "Name of the activation (every name keras.activations.get takes but threshold, which needs "
                   "arguments).", None, True),), _activation_shape, _activation_build,
              explain=_activation_explain, example=((IMAGE,), {"activation": "gelu"})),
    LayerKind("GLU", ACTIVATION, "Gated linear unit: splits an axis into halves a, b and gives a*sigmoid(b) "
              "(archspec layer; keras.activations.glu).",
              (Arg("axis", {"type": "integer"}, "an integer axis (-1 = channels)", "The axis split in two.", -1),),
              lambda args, ins: _halved(args, ins, args["axis"]), archspec_layer("GLU"),
              explain=_halved_explain(lambda a: a["axis"]), example=((IMAGE,), {})),
    LayerKind("Normalization", NORM, "Subtracts a mean and divides by the square root of a variance per "
              "position of the kept axes (keras.layers.Normalization); without mean and variance they are "
              "non-trainable weights set by adapt, with them constants.",
              (Arg("axis", {"oneOf": [{"type": "null"}, {"type": "integer"},
                                      {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
                   "an integer axis, a list of axes, or null", "The axes kept: one mean and variance per "
                   "position of them (positive axes count the batch axis as 0; null: one for all values).", -1),
               _stat("mean", "The mean to subtract (null: a weight set by adapt)."),
               _stat("variance", "The variance to divide by the square root of (given with mean)."),
               A.boolean("invert", "Apply the inverse: x*sqrt(variance) + mean.", False)),
              _normalization_shape, keras_layer(), _normalization_params, check=_check_mean_variance,
              explain=_normalization_explain, example=((IMAGE,), {})),
    LayerKind("Identity", CORE, "Returns its input unchanged (keras.layers.Identity).", (), _same, keras_layer(),
              example=((IMAGE,), {})),
    LayerKind("LayerScale", NORM, "Multiplies each channel by a learned scale gamma (CaiT, ConvNeXt; archspec "
              "layer with the weights of keras.applications.convnext.LayerScale).",
              (_required_number("init_values", "Initial value of every scale (ConvNeXt: 1e-6)."),
               Arg("projection_dim", {"type": ["integer", "null"], "minimum": 1}, "a positive integer or null",
                   "Number of channels scaled (null: the input's channels, which it must equal).", None)),
              _layer_scale_shape, _layer_scale_build, _layer_scale_params, explain=_layer_scale_explain,
              example=((IMAGE,), {"init_values": 1e-6})),
    LayerKind("StochasticDepth", REGULARIZATION, "Drops a sample's whole branch with probability drop_path_rate "
              "while training, scaling kept ones by 1/(1 - rate); identity at inference (archspec layer, as "
              "keras.applications.convnext.StochasticDepth).",
              (Arg("drop_path_rate", {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                   "a number >= 0 and < 1", "Probability of dropping the branch.", None, True), A.seed()),
              _same, archspec_layer("StochasticDepth"), example=((IMAGE,), {"drop_path_rate": 0.1})),
    LayerKind("CustomScaleLayer", MERGE, "Inception-ResNet's residual sum: inputs [x, residual] give "
              "x + residual*scale (archspec layer, as keras.applications.inception_resnet_v2's).",
              (_required_number("scale", "Factor of the residual branch."),),
              _scaled_sum_shape, archspec_layer("CustomScaleLayer"), inputs=(2, 2), explain=_scaled_sum_explain,
              field_rule=FieldRule.MERGE, example=((IMAGE, IMAGE), {"scale": 0.17})),
)
