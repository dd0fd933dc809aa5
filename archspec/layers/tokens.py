"""The vision-transformer pieces Keras lacks (Dosovitskiy et al. 2021), as archspec layers:
ClassToken, PositionEmbedding and SelectToken (archspec/keras_backend/transformer_layers.py).

``SelectToken: {index: 0}`` takes the class token out for the head in one readable row; the
alternative, ``Cropping1D`` then ``Flatten``, would have to write the sequence's length
(196 at 224x224 with 16x16 patches) into the spec, wrong as soon as the input changes.
"""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.arithmetic import fmt_shape, product
from archspec.layers.equations import Equation, Line, mul
from archspec.layers.families import ATTENTION
from archspec.layers.keras_builders import archspec_layer
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, Window, register_kinds

TOKENS = (196, 768)


def _width(kind: str, shape: Shape) -> int:
    if shape[-1] is None:
        raise LayerError(f"{kind} needs a known token width; the input is {fmt_shape(shape)}",
                         "give the last axis a size")
    return shape[-1]


def _class_token_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    _width("ClassToken", ins[0])
    return (None if ins[0][0] is None else ins[0][0] + 1, ins[0][1])


def _class_token_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    lines: list[Line] = [Equation("params", "D", str(ins[0][-1]), ("params",), "one learned token")]
    if ins[0][0] is not None:
        lines.append(Equation("N'", "N + 1", f"{ins[0][0]} + 1", ("shape", (0,)), "the token comes first"))
    return lines


def _table(args: Args, ins: Sequence[Shape]) -> Shape:
    if None in ins[0]:
        raise LayerError(f"PositionEmbedding needs known sizes (one learned vector per position); the input is "
                         f"{fmt_shape(ins[0])}", "give the input a fixed size")
    return ins[0]


def _table_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [Equation("params", "N*D", mul(*ins[0]), ("params",), "a learned table of the input's shape, added")]


def _select(args: Args, ins: Sequence[Shape]) -> Shape:
    length, index = ins[0][0], args["index"]
    if length is not None and not -length <= index < length:
        raise LayerError(f"index {index} is outside the {length} tokens of {fmt_shape(ins[0])}",
                         f"use 0 to {length - 1}, or -1 for the last", "index")
    return ins[0][1:]


def _select_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [f"token {args['index']} of {ins[0][0] if ins[0][0] is not None else '?'}: {fmt_shape(ins[0])} -> "
            f"{fmt_shape(out)}"]


def _token_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(ins[0][-1])


def _table_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(product(ins[0]))


def _shifted_by_one(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
    """Token i + 1 comes from input token i: one position of padding before the first."""
    return Window((1,), (1,), (1.0,))


register_kinds(
    LayerKind("ClassToken", ATTENTION, "Prepends one learned token to a sequence of tokens (archspec layer; ViT's "
              "class token): [N, D] -> [N + 1, D], D params.",
              (A.initializer("token_initializer", "zeros"),), _class_token_shape, archspec_layer("ClassToken"),
              _token_params, rank=2, explain=_class_token_explain, window=_shifted_by_one,
              field_rule=FieldRule.WINDOW,
              example=((TOKENS,), {})),
    LayerKind("PositionEmbedding", ATTENTION, "Adds a learned vector to each position (archspec layer; ViT's "
              "position embedding): a table of the input's shape, N*D params.",
              (A.initializer("embeddings_initializer", "random_normal"),), _table,
              archspec_layer("PositionEmbedding"), _table_params, rank=2,
              explain=_table_explain, example=(((197, 768),), {})),
    LayerKind("SelectToken", ATTENTION, "Takes one token of a sequence (archspec layer), such as the class token "
              "for the head: [N, D] -> [D].",
              (Arg("index", {"type": "integer"}, "an integer", "Which token: 0 is the first, -1 the last.", 0),),
              _select, archspec_layer("SelectToken"), rank=2, explain=_select_explain, example=(((197, 768),), {})),
)
