"""Dense, reshaping, activation and dropout layers."""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import keras_layer
from archspec.layers.axes import EXAMPLE_SHAPES
from archspec.layers.equations import Equation, Line, Product, factor, mul
from archspec.layers.families import ACTIVATION, CORE, PREPROCESSING, REGULARIZATION, RESHAPE
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, register_kinds
from archspec.layers.arithmetic import fmt_shape, product

IMAGE = EXAMPLE_SHAPES[2]


# ---------------------------------------------------------------- Dense, Flatten, Reshape, Permute
def _dense_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    if ins[0][-1] is None:
        raise LayerError(f"Dense needs a known last axis; the input is {fmt_shape(ins[0])}",
                         "give the input a fixed size")
    return ins[0][:-1] + (args["units"],)


def _dense_weights(args: Args, ins: Sequence[Shape]) -> Product:
    return Product((factor("C_in", ins[0][-1]), factor("U", args["units"])))


def _dense_bias(args: Args) -> int:
    return args["units"] if args["use_bias"] else 0


def _dense_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(_dense_weights(args, ins).value + _dense_bias(args))


def _dense_macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    return _dense_weights(args, ins).value * (product(ins[0][:-1]) or 0)


def _dense_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    w, bias = _dense_weights(args, ins), _dense_bias(args)
    lines: list[Line] = [Equation("params", w.symbols + (" + U" if bias else ""),
                                  w.numbers + (f" + {bias}" if bias else ""), ("params",))]
    lead = ins[0][:-1]
    if not lead:
        return lines + [Equation("MACs", w.symbols, w.numbers, ("macs",))]
    if None in lead:
        return lines + ["MACs: C_in*U per position; the number of positions is unknown, so not counted (summary "
                        "shows ?)"]
    return lines + [Equation("MACs", f"{w.symbols}*positions", mul(w.numbers, *lead), ("macs",),
                             "applied at every position of the leading axes")]


def _flatten(args: Args, ins: Sequence[Shape]) -> Shape:
    return (product(ins[0]),)


def _flatten_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    if None in ins[0]:
        return ["N unknown: the input has an unknown size"]
    return [Equation("N", "product of the input's sizes", mul(*ins[0]), ("shape", (0,)))]


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


def _reshape_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    if None in ins[0]:
        return [f"{fmt_shape(ins[0])} -> {fmt_shape(out)} (unknown sizes stay unknown)"]
    return [Equation("values", "product of the input's sizes", mul(*ins[0]), ("values",),
                     f"rearranged as {fmt_shape(out)}")]


def _permute(args: Args, ins: Sequence[Shape]) -> Shape:
    dims = args["dims"]
    if sorted(dims) != list(range(1, len(ins[0]) + 1)):
        raise LayerError(f"dims {dims} must be a permutation of 1..{len(ins[0])} for input {fmt_shape(ins[0])}",
                         "list every axis once, counting from 1 (the batch axis is 0)", "dims")
    return tuple(ins[0][d - 1] for d in dims)


def _permute_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [f"axes reordered as dims {args['dims']} (counting from 1 after the batch axis): "
            f"{fmt_shape(ins[0])} -> {fmt_shape(out)}"]


# ---------------------------------------------------------------- activations and dropout
def _same(args: Args, ins: Sequence[Shape]) -> Shape:
    return ins[0]


def _slopes(args: Args, shape: Shape) -> list[int]:
    """The sizes of the axes PReLU does not share: one slope per position of them."""
    shared = args.get("shared_axes") or []
    kept = [d for i, d in enumerate(shape, 1) if i not in shared]
    if None in kept:
        raise LayerError("PReLU needs known sizes on the axes it does not share", "set shared_axes")
    return kept


def _prelu_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(product(_slopes(args, ins[0])))


def _prelu_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [Equation("params", "one slope per unshared position", mul(*_slopes(args, ins[0])), ("params",))]


def _check_shared(args: Args) -> list[LayerError]:
    shared = args.get("shared_axes") or []
    return [LayerError("shared_axes count from 1 (axis 0 is the batch)", "use 1, 2, ...", "shared_axes")] \
        if any(a < 1 for a in shared) else []


_RATE = Arg("rate", {"type": "number", "minimum": 0, "exclusiveMaximum": 1}, "a number >= 0 and < 1",
            "Fraction of the inputs to drop while training.", None, True)

register_kinds(
    LayerKind("Dense", CORE, "Fully connected layer on the last axis (keras.layers.Dense).",
              (A.integer("units", "Number of outputs.", required=True), A.activation(), A.use_bias())
              + A.weight_args(), _dense_shape, keras_layer(), _dense_params, _dense_macs, explain=_dense_explain,
              example=(((128,),), {"units": 10})),
    LayerKind("Flatten", RESHAPE, "Flattens everything but the batch axis into one vector.", (),
              _flatten, keras_layer(), explain=_flatten_explain, field_rule=FieldRule.RESHAPE,
              example=((IMAGE,), {})),
    LayerKind("Reshape", RESHAPE, "Reshapes to target_shape (without the batch axis; one -1 allowed).",
              (Arg("target_shape", {"type": "array", "items": {"type": "integer", "minimum": -1}, "minItems": 1},
                   "a list of positive integers (one may be -1)", "The new shape without the batch axis.",
                   None, True),), _reshape, keras_layer(), explain=_reshape_explain, field_rule=FieldRule.RESHAPE,
              example=((IMAGE,), {"target_shape": [-1, IMAGE[-1]]})),
    LayerKind("Permute", RESHAPE, "Permutes axes; dims count from 1 (keras.layers.Permute).",
              (Arg("dims", {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
                   "a list of axis numbers from 1", "The new order of the axes.", None, True),),
              _permute, keras_layer(), explain=_permute_explain, field_rule=FieldRule.PERMUTE,
              example=((IMAGE,), {"dims": [2, 1, 3]})),
    LayerKind("Dropout", REGULARIZATION, "Randomly zeroes inputs while training (keras.layers.Dropout).",
              (_RATE, Arg("noise_shape", {"type": ["array", "null"], "items": {"type": ["integer", "null"]}},
                          "a list of sizes (null for the batch/any) or null",
                          "Shape of the binary mask, to drop whole slices.", None), A.seed()),
              _same, keras_layer(), example=((IMAGE,), {"rate": 0.5})),
    *[LayerKind(f"SpatialDropout{n}D", REGULARIZATION,
                f"Drops whole channels of {n}-D feature maps while training.", (_RATE, A.seed()),
                _same, keras_layer(), rank=n + 1, example=((EXAMPLE_SHAPES[n],), {"rate": 0.2})) for n in (1, 2, 3)],
    LayerKind("ReLU", ACTIVATION, "Rectified linear unit with optional cap, slope and threshold.",
              (A.number("max_value", "Upper cap (ReLU6: 6); null = none.", None, minimum=0, nullable=True),
               A.number("negative_slope", "Slope below the threshold.", 0.0, minimum=0),
               A.number("threshold", "Values below it are damped.", 0.0)), _same, keras_layer(),
              example=((IMAGE,), {"max_value": 6.0})),
    LayerKind("LeakyReLU", ACTIVATION, "Leaky ReLU: x if x > 0 else negative_slope * x.",
              (A.number("negative_slope", "Slope for x < 0.", 0.3, minimum=0),), _same, keras_layer(),
              example=((IMAGE,), {})),
    LayerKind("ELU", ACTIVATION, "Exponential linear unit.", (A.number("alpha", "Scale for x < 0.", 1.0),),
              _same, keras_layer(), example=((IMAGE,), {})),
    LayerKind("PReLU", ACTIVATION, "Leaky ReLU with a learned slope per position and channel.",
              (A.initializer("alpha_initializer", "zeros"), A.regularizer("alpha_regularizer"),
               Arg("shared_axes", {"type": ["array", "null"], "items": {"type": "integer"}},
                   "a list of axis numbers from 1, or null",
                   "Axes that share one slope (e.g. [1, 2] = one slope per channel).", None)),
              _same, keras_layer(), _prelu_params, check=_check_shared, explain=_prelu_explain,
              example=((IMAGE,), {"shared_axes": [1, 2]})),
    LayerKind("Softmax", ACTIVATION, "Softmax along an axis.", (Arg("axis", {"type": "integer"}, "an integer",
                                                                      "Axis to normalise.", -1),),
              _same, keras_layer(), example=(((10,),), {})),
    LayerKind("Rescaling", PREPROCESSING, "Multiplies by scale and adds offset (e.g. 1/255).",
              (Arg("scale", {"type": "number"}, "a number", "Multiplier.", None, True),
               A.number("offset", "Added after scaling.", 0.0)), _same, keras_layer(),
              example=((IMAGE,), {"scale": 2.0, "offset": -1.0})),
)
