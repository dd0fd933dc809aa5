"""Argument definitions shared by the layer families: schema, words and default together."""
from __future__ import annotations

from typing import Any

from archspec.layers.registry import Arg

# Every activation keras.activations.get knows by name (Keras 3.15), but two: "glu" halves an
# axis, which no layer's shape rule with an `activation:` argument does (Keras's own Dense and
# Conv report the unhalved shape), so it is a value of the Activation layer only; "threshold"
# needs two arguments a name cannot give (Keras fails when it is called).
ACTIVATIONS = [
    "linear", "relu", "relu6", "leaky_relu", "elu", "celu", "selu", "gelu", "silu", "swish", "mish",
    "sigmoid", "hard_sigmoid", "sparse_sigmoid", "log_sigmoid", "hard_silu", "hard_swish", "tanh", "hard_tanh",
    "tanh_shrink", "hard_shrink", "soft_shrink", "softmax", "log_softmax", "sparsemax", "softplus", "sparse_plus",
    "squareplus", "softsign", "exponential",
]
SHAPE_CHANGING_ACTIVATIONS = ["glu"]
INITIALIZERS = [
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "zeros", "ones", "random_uniform", "random_normal", "truncated_normal", "orthogonal",
    "variance_scaling",
]
_POS_INT = {"type": "integer", "minimum": 1}
_NONNEG_INT = {"type": "integer", "minimum": 0}


def ints(name: str, n: int, doc: str, default: Any = None, required: bool = False,
         minimum: int = 1, nullable: bool = False) -> Arg:
    """An integer that stands for ``n`` equal integers, or a list of ``n`` integers."""
    item = {"type": "integer", "minimum": minimum}
    schema: dict = {"oneOf": [item, {"type": "array", "items": item, "minItems": n, "maxItems": n}]}
    one, many = ("a positive integer", "positive integers") if minimum == 1 else \
        (f"an integer >= {minimum}", f"integers >= {minimum}")
    expects = f"{one} or a list of {n} {many}" if n > 1 else one
    if nullable:
        schema["oneOf"].append({"type": "null"})
        expects += " or null"
    return Arg(name, schema, expects, doc, default, required)


def integer(name: str, doc: str, default: Any = None, required: bool = False, minimum: int = 1) -> Arg:
    word = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    return Arg(name, {"type": "integer", "minimum": minimum}, word, doc, default, required)


def number(name: str, doc: str, default: Any = None, minimum: float | None = None,
           maximum: float | None = None, exclusive_max: bool = False, nullable: bool = False) -> Arg:
    schema: dict = {"type": ["number", "null"] if nullable else "number"}
    words = ["a number"]
    if minimum is not None:
        schema["minimum"] = minimum
        words.append(f">= {minimum}")
    if maximum is not None:
        schema["exclusiveMaximum" if exclusive_max else "maximum"] = maximum
        words.append(f"{'<' if exclusive_max else '<='} {maximum}")
    return Arg(name, schema, " ".join(words), doc, default)


def boolean(name: str, doc: str, default: bool) -> Arg:
    return Arg(name, {"type": "boolean"}, "true or false", doc, default)


def choice(name: str, options: list, doc: str, default: Any = None, required: bool = False) -> Arg:
    shown = ", ".join("null" if o is None else str(o) for o in options)
    return Arg(name, {"enum": list(options)}, f"one of {shown}", doc, default, required)


def activation(default: Any = None) -> Arg:
    return Arg("activation", {"enum": ACTIVATIONS + [None]}, "the name of a Keras activation (relu, sigmoid, "
               "softmax, tanh, gelu, ...; glu only as an Activation layer) or null",
               "Activation applied to the output (keras.activations); null = linear.", default)


def use_bias(default: bool = True) -> Arg:
    return boolean("use_bias", "Whether the layer adds a learned bias.", default)


def initializer(name: str, default: str) -> Arg:
    return choice(name, INITIALIZERS, f"Keras initializer for {name.split('_')[0]} weights.", default)


def regularizer(name: str) -> Arg:
    schema = {"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": False,
                                           "properties": {"l1": {"type": "number", "minimum": 0},
                                                          "l2": {"type": "number", "minimum": 0}}}]}
    return Arg(name, schema, "null or a mapping {l1: x, l2: y}",
               f"Weight penalty on the {name.split('_')[0]} (keras.regularizers.L1L2).", None)


def weight_args(kernel: str = "kernel", kernel_init: str = "glorot_uniform") -> tuple[Arg, ...]:
    return (initializer(f"{kernel}_initializer", kernel_init), initializer("bias_initializer", "zeros"),
            regularizer(f"{kernel}_regularizer"), regularizer("bias_regularizer"))


def padding_arg(n: int, modes: list[str], extended: bool = True, default: str = "valid",
                doc: str | None = None) -> Arg:
    """Keras's padding words, plus (when ``extended``) explicit sizes and ``full``."""
    options: list[dict] = [{"enum": modes + (["full"] if extended else [])}]
    expects = "one of " + ", ".join(modes + (["full"] if extended else []))
    if extended:
        pair = {"type": "array", "items": _NONNEG_INT, "minItems": 2, "maxItems": 2}
        options += [_NONNEG_INT,
                    {"type": "array", "items": {"oneOf": [_NONNEG_INT, pair]}, "minItems": n, "maxItems": n}]
        items = "one item, an integer" if n == 1 else f"{n} items, each an integer"
        expects += f", an integer >= 0 (the same pad on every side), or a list of {items} or a [before, after] pair"
    words = {"valid": "'valid' (none)", "same": "'same' (output = ceil(input/stride))",
             "causal": "'causal' (pads the start only)"}
    generated = ("Padding: " + ", ".join(words[m] for m in modes) + ", as in Keras"
           + ("; archspec extensions: an explicit size per side or per axis, or 'full' (d*(K-1) on each "
              "side), compiled to a padding layer followed by 'valid'." if extended else "."))
    return Arg("padding", {"oneOf": options}, expects, doc or generated, default)


def padding_mode() -> Arg:
    return choice("padding_mode", ["zeros", "reflect", "symmetric"],
                  "What fills explicit padding (archspec extension): zeros (ZeroPadding layer) or the "
                  "image mirrored, 'reflect' without and 'symmetric' with the edge pixel.", "zeros")


def seed() -> Arg:
    return Arg("seed", {"type": ["integer", "null"]}, "an integer or null",
               "Seed of the layer's random generator.", None)


def with_keras(arg: Arg, keras: bool) -> Arg:
    return Arg(arg.name, arg.schema, arg.expects, arg.doc, arg.default, arg.required, keras)
