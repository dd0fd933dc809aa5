"""Dense, reshaping, activation and dropout layers."""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import keras_layer
from archspec.layers.registry import Arg, Args, LayerError, LayerKind, Params, Shape, register_kinds
from archspec.layers.arithmetic import fmt_shape, product



# ---------------------------------------------------------------- Dense, Flatten, Reshape, Permute
def _dense_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    if ins[0][-1] is None:
        raise LayerError(f"Dense needs a known last axis; the input is {fmt_shape(ins[0])}",
                         "give the input a fixed size")
    return ins[0][:-1] + (args["units"],)


def _dense_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(ins[0][-1] * args["units"] + (args["units"] if args["use_bias"] else 0))


def _dense_macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    return ins[0][-1] * args["units"] * (product(ins[0][:-1]) or 1)


def _flatten(args: Args, ins: Sequence[Shape]) -> Shape:
    return (product(ins[0]),)


def _reshape(args: Args, ins: Sequence[Shape]) -> Shape:
    target = list(args["target_shape"])
    if target.count(-1) > 1:
        raise LayerError("target_shape may contain -1 at most once", "give every other size", "target_shape")
    total = product(ins[0])
    known = product([d for d in target if d != -1])
    if total is None:
        return tuple(None if d == -1 else d for d in target)
    if -1 in target:
        if total % known:
            raise LayerError(f"cannot reshape {fmt_shape(ins[0])} ({total} values) to {target}: {total} is not "
                             f"divisible by {known}", "change target_shape", "target_shape")
        target[target.index(-1)] = total // known
    elif known != total:
        raise LayerError(f"cannot reshape {fmt_shape(ins[0])} ({total} values) to {target} ({known} values)",
                         "the product of target_shape must equal the input's size", "target_shape")
    return tuple(target)


def _permute(args: Args, ins: Sequence[Shape]) -> Shape:
    dims = args["dims"]
    if sorted(dims) != list(range(1, len(ins[0]) + 1)):
        raise LayerError(f"dims {dims} must be a permutation of 1..{len(ins[0])} for input {fmt_shape(ins[0])}",
                         "list every axis once, counting from 1 (the batch axis is 0)", "dims")
    return tuple(ins[0][d - 1] for d in dims)


# ---------------------------------------------------------------- activations and dropout
def _same(args: Args, ins: Sequence[Shape]) -> Shape:
    return ins[0]


def _prelu_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    shared = args.get("shared_axes") or []
    if any(d is None for i, d in enumerate(ins[0], 1) if i not in shared):
        raise LayerError("PReLU needs known sizes on the axes it does not share", "set shared_axes")
    return Params(product([d for i, d in enumerate(ins[0], 1) if i not in shared]))


def _check_shared(args: Args) -> list[LayerError]:
    shared = args.get("shared_axes") or []
    return [LayerError("shared_axes count from 1 (axis 0 is the batch)", "use 1, 2, ...", "shared_axes")] \
        if any(a < 1 for a in shared) else []


_RATE = Arg("rate", {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, "a number >= 0 and < 1",
            "Fraction of the inputs to drop while training.", None, True)

register_kinds(
    LayerKind("Dense", "core", "Fully connected layer on the last axis (keras.layers.Dense).",
              (A.integer("units", "Number of outputs.", required=True), A.activation(), A.use_bias())
              + A.weight_args(), _dense_shape, keras_layer(), _dense_params, _dense_macs),
    LayerKind("Flatten", "reshape", "Flattens everything but the batch axis into one vector.", (),
              _flatten, keras_layer()),
    LayerKind("Reshape", "reshape", "Reshapes to target_shape (without the batch axis; one -1 allowed).",
              (Arg("target_shape", {"type": "array", "items": {"type": "integer", "minimum": -1}, "minItems": 1},
                   "a list of positive integers (one may be -1)", "The new shape without the batch axis.",
                   None, True),), _reshape, keras_layer()),
    LayerKind("Permute", "reshape", "Permutes axes; dims count from 1 (keras.layers.Permute).",
              (Arg("dims", {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                   "a list of axis numbers from 1", "The new order of the axes.", None, True),),
              _permute, keras_layer()),
    LayerKind("Dropout", "regularization", "Randomly zeroes inputs while training (keras.layers.Dropout).",
              (_RATE, Arg("noise_shape", {"type": ["array", "null"], "items": {"type": ["integer", "null"]}},
                          "a list of sizes (null for the batch/any) or null",
                          "Shape of the binary mask, to drop whole slices.", None), A.seed()),
              _same, keras_layer()),
    *[LayerKind(f"SpatialDropout{n}D", "regularization",
                f"Drops whole channels of {n}-D feature maps while training.", (_RATE, A.seed()),
                lambda args, ins: ins[0], keras_layer(), rank=n + 1) for n in (1, 2, 3)],
    LayerKind("Activation", "activation", "Applies an activation function (keras.layers.Activation).",
              (Arg("activation", {"enum": A.ACTIVATIONS}, "the name of a Keras activation",
                   "Name of the activation.", None, True),), _same, keras_layer()),
    LayerKind("ReLU", "activation", "Rectified linear unit with optional cap, slope and threshold.",
              (A.number("max_value", "Upper cap (ReLU6: 6); null = none.", None, minimum=0, nullable=True),
               A.number("negative_slope", "Slope below the threshold.", 0.0, minimum=0),
               A.number("threshold", "Values below it are damped.", 0.0)), _same, keras_layer()),
    LayerKind("LeakyReLU", "activation", "Leaky ReLU: x if x > 0 else negative_slope * x.",
              (A.number("negative_slope", "Slope for x < 0.", 0.3, minimum=0),), _same, keras_layer()),
    LayerKind("ELU", "activation", "Exponential linear unit.", (A.number("alpha", "Scale for x < 0.", 1.0),),
              _same, keras_layer()),
    LayerKind("PReLU", "activation", "Leaky ReLU with a learned slope per position and channel.",
              (A.initializer("alpha_initializer", "zeros"), A.regularizer("alpha_regularizer"),
               Arg("shared_axes", {"type": ["array", "null"], "items": {"type": "integer"}},
                   "a list of axis numbers from 1, or null",
                   "Axes that share one slope (e.g. [1, 2] = one slope per channel).", None)),
              _same, keras_layer(), _prelu_params, check=_check_shared),
    LayerKind("Softmax", "activation", "Softmax along an axis.", (Arg("axis", {"type": "integer"}, "an integer",
                                                                      "Axis to normalise.", -1),),
              _same, keras_layer()),
    LayerKind("Rescaling", "preprocessing", "Multiplies by scale and adds offset (e.g. 1/255).",
              (Arg("scale", {"type": "number"}, "a number", "Multiplier.", None, True),
               A.number("offset", "Added after scaling.", 0.0)), _same, keras_layer()),
)
