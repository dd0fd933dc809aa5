"""Keras's small one-tensor layers: noise and dropout variants, activity regularization, unit
and RMS normalization, RepeatVector and Masking.

Left out of keras.layers, with the reason: Lambda (runs code from the file), the text, lookup,
hashing, category and spectrogram layers (strings, vocabularies or audio, not a tensor of
numbers of a known layout), Discretization (its bins are learned by adapt), Pipeline and
Wrapper (containers), InputLayer (the spec's input); AdaptiveMaxPooling1D/2D/3D not yet.
"""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.arithmetic import canonicalize_axis, fmt_shape, product
from archspec.layers.axes import EXAMPLE_SHAPES
from archspec.layers.equations import Equation, Line, mul
from archspec.layers.families import CORE, NORM, REGULARIZATION, RESHAPE
from archspec.layers.keras_builders import keras_layer
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, register_kinds

IMAGE = EXAMPLE_SHAPES[2]
_RATE = Arg("rate", {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, "a number >= 0 and < 1",
            "Fraction of the inputs dropped (the noise's strength) while training.", None, True)
_AXES = Arg("axis", {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            "an integer axis or a list of axes", "The axes normalised over (positive axes count the batch axis "
            "as 0).", -1)


def _same(args: Args, ins: Sequence[Shape]) -> Shape:
    return ins[0]


def _axes(kind: str, args: Args, shape: Shape) -> list[int]:
    """Indices into ``shape`` of the normalised axes, each once, their sizes known.

    >>> _axes("UnitNormalization", {"axis": [1, -1]}, (4, 5, 3))
    [0, 2]
    """
    given = args["axis"]
    axes = given if isinstance(given, list) else [given]
    try:
        indices = [canonicalize_axis(axis, len(shape)) for axis in axes]
    except ValueError:
        raise LayerError(f"axis {given} is out of range for input {fmt_shape(shape)}", "use -1 (channels) or an "
                         f"axis from 1 to {len(shape)}; 0 is the batch axis", "axis") from None
    if len(set(indices)) < len(indices):
        raise LayerError(f"axis {given} names one axis twice", "list each axis once", "axis")
    trailing = list(range(len(shape) - len(indices), len(shape)))
    if kind == "RMSNormalization" and (sorted(indices) != trailing or sorted(axes) != axes or
                                       len({axis > 0 for axis in axes}) > 1):
        # Keras sorts the axes as written and multiplies the input by a scale of their sizes,
        # which broadcasts against the last axes only
        raise LayerError(f"Keras's RMSNormalization scales the last axes, in order; axis {given} is not that",
                         "use -1, or the last axes written in increasing order with one sign ([-2, -1])", "axis")
    if kind == "RMSNormalization" and any(shape[i] is None for i in indices):
        raise LayerError("RMSNormalization keeps a scale per position of its axes, one of which has an unknown "
                         "size", "give that axis a fixed size", "axis")
    return sorted(indices)


def _normalised_shape(kind: str):
    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        _axes(kind, args, ins[0])
        return ins[0]
    return shape


def _rms_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(product([ins[0][i] for i in _axes("RMSNormalization", args, ins[0])]))


def _rms_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    sizes = [ins[0][i] for i in _axes("RMSNormalization", args, ins[0])]
    return [Equation("params", "positions of the normalised axes", mul(*sizes), ("params",),
                     "scale: one per position, no offset")]


def _repeat(args: Args, ins: Sequence[Shape]) -> Shape:
    return (args["n"], ins[0][0])


def _repeat_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [f"the vector {fmt_shape(ins[0])} repeated n = {args['n']} times: {fmt_shape(out)}"]


register_kinds(
    LayerKind("GaussianNoise", REGULARIZATION, "Adds zero-mean Gaussian noise while training "
              "(keras.layers.GaussianNoise); identity at inference.",
              (Arg("stddev", {"type": "number", "minimum": 0}, "a number >= 0", "Standard deviation of the noise.",
                   None, True), A.seed()), _same,
              keras_layer(), example=((IMAGE,), {"stddev": 0.1})),
    LayerKind("GaussianDropout", REGULARIZATION, "Multiplies by Gaussian noise of mean 1 while training "
              "(keras.layers.GaussianDropout).", (_RATE, A.seed()), _same, keras_layer(),
              example=((IMAGE,), {"rate": 0.2})),
    LayerKind("AlphaDropout", REGULARIZATION, "Dropout that keeps the mean and variance of SELU activations "
              "(keras.layers.AlphaDropout).",
              (_RATE, Arg("noise_shape", {"type": ["array", "null"], "items": {"type": ["integer", "null"]}},
                          "a list of sizes (null for the batch/any) or null", "Shape of the dropout mask.", None),
               A.seed()), _same, keras_layer(), example=((IMAGE,), {"rate": 0.1})),
    LayerKind("ActivityRegularization", REGULARIZATION, "Adds an L1/L2 penalty on its input to the loss "
              "(keras.layers.ActivityRegularization); the values pass unchanged.",
              (A.number("l1", "L1 factor.", 0.0, minimum=0), A.number("l2", "L2 factor.", 0.0, minimum=0)), _same,
              keras_layer(), example=((IMAGE,), {"l2": 0.01})),
    LayerKind("UnitNormalization", NORM, "Scales each sample to unit L2 norm over the axes "
              "(keras.layers.UnitNormalization); no weights.", (_AXES,), _normalised_shape("UnitNormalization"),
              keras_layer(), example=((IMAGE,), {})),
    LayerKind("RMSNormalization", NORM, "Divides by the root mean square over the axes and multiplies by a "
              "learned scale (keras.layers.RMSNormalization).",
              (_AXES, A.number("epsilon", "Added to the mean square for numerical stability.", 1e-6, minimum=0)),
              _normalised_shape("RMSNormalization"), keras_layer(), _rms_params, explain=_rms_explain,
              example=((IMAGE,), {})),
    LayerKind("RepeatVector", RESHAPE, "Repeats a vector n times: [F] -> [n, F] (keras.layers.RepeatVector).",
              (A.integer("n", "Number of repetitions.", required=True),), _repeat, keras_layer(), rank=1,
              explain=_repeat_explain, field_rule=FieldRule.RESHAPE, example=(((16,),), {"n": 4})),
    LayerKind("Masking", CORE, "Marks the time steps whose values all equal mask_value as masked for the layers "
              "after it (keras.layers.Masking); the values pass unchanged.",
              (A.number("mask_value", "The value of a masked step.", 0.0),), _same, keras_layer(),
              example=((EXAMPLE_SHAPES[1],), {})),
)
