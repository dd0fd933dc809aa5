"""MultiHeadAttention, and what the attention kinds share (plain_attention.py has Attention and
AdditiveAttention, the layers without projections).

Inputs are Keras's call order, ``[query, value]`` or ``[query, value, key]`` (the key is the
value when not given); one input is self-attention (query = value = key). Every output
position sees every position of its inputs, so the receptive field is the whole input.

MACs follow one convention, stated in each explanation: the projections count as dense layers
(input features x outputs per position), the scores ``Q K^T`` as ``Tq*Tk*key_dim`` and the
weighted sum ``A V`` as ``Tq*Tk*value_dim`` per head; softmax, scaling and bias adds are not
counted. ``return_attention_scores`` makes the scores a second output, ``layer:attention_scores``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from archspec.layers import args as A
from archspec.layers.arithmetic import fmt_shape
from archspec.layers.equations import Equation, Line, mul
from archspec.layers.families import ATTENTION
from archspec.layers.keras_builders import keras_kwargs
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, register_kinds

SCORES = "attention_scores"
CROSS_ATTENTION = ((10, 32), (16, 48))


def query_value_key(ins: Sequence[Shape]) -> tuple[Shape, Shape, Shape]:
    """The query, value and key shapes of Keras's call order (one input: self-attention).

    >>> query_value_key([(4, 8)]), query_value_key([(4, 8), (6, 3)])[2]
    (((4, 8), (4, 8), (4, 8)), (6, 3))
    """
    query, value = ins[0], ins[1] if len(ins) > 1 else ins[0]
    return tuple(query), tuple(value), tuple(ins[2]) if len(ins) > 2 else tuple(value)


def known_features(kind: str, shape: Shape, what: str) -> int:
    if shape[-1] is None:
        raise LayerError(f"{kind} needs a known number of features in its {what}; it is {fmt_shape(shape)}",
                         "give the last axis a size")
    return shape[-1]


def same_rank(kind: str, q: Shape, v: Shape, k: Shape) -> None:
    if not len(q) == len(v) == len(k) or len(q) < 2:
        raise LayerError(f"{kind} needs query, value and key of one rank, each with positions and features "
                         f"([T, C] or more axes); received {fmt_shape(q)}, {fmt_shape(v)}, {fmt_shape(k)}",
                         "Reshape the inputs to [positions, features] first")


def agree(kind: str, what: str, a: Sequence, b: Sequence, fix: str) -> None:
    if any(x is not None and y is not None and x != y for x, y in zip(a, b)):
        raise LayerError(f"{kind} needs {what}; received {fmt_shape(a)} and {fmt_shape(b)}", fix)


# ---------------------------------------------------------------- MultiHeadAttention
@dataclass(frozen=True)
class Heads:
    """One MultiHeadAttention applied: sizes its rules share (shapes without the batch axis)."""

    query: Shape
    value: Shape
    key: Shape
    heads: int
    key_dim: int
    value_dim: int
    out_features: tuple[int, ...]   # output_shape, or the query's features
    axes: tuple[int, ...]            # attention axes, indices into the shapes

    @property
    def outer(self) -> int:
        """Positions of the query's axes attention does not run over (each attends on its own)."""
        return math.prod(self.query[i] for i in range(len(self.query) - 1) if i not in self.axes)

    @property
    def t_query(self) -> int:
        return math.prod(self.query[i] for i in self.axes)

    @property
    def t_key(self) -> int:
        return math.prod(self.key[i] for i in self.axes)


def attention_axes(args: Args, rank: int) -> tuple[int, ...]:
    """Indices (into shapes without the batch axis) of the axes attention runs over: Keras's
    ``attention_axes`` (the batch axis counted as 0; -2 is the last before the features), or
    every axis but the features.

    >>> attention_axes({"attention_axes": None}, 3), attention_axes({"attention_axes": [2]}, 3)
    ((0, 1), (1,))
    >>> attention_axes({"attention_axes": -2}, 3)
    (1,)
    """
    given = args.get("attention_axes")
    if given is None:
        return tuple(range(rank - 1))
    axes = [given] if isinstance(given, int) else list(given)
    # Keras counts a positive axis with the batch axis, a negative one from the projected
    # (heads, features) pair, so -2 is the last axis before the features.
    resolved = [a - 1 if a > 0 else rank + a for a in axes]
    if any(not 0 <= a < rank - 1 for a in resolved) or len(set(resolved)) < len(resolved):
        raise LayerError(f"attention_axes {given} must name distinct axes from 1 to {rank - 1} (or -{rank} to -2) "
                         f"of inputs with {rank} axes besides the batch; the features (the last) cannot be one",
                         "use null (every axis but the features) or positions' axes", "attention_axes")
    return tuple(sorted(resolved))


def heads(args: Args, ins: Sequence[Shape]) -> Heads:
    q, v, k = query_value_key(ins)
    same_rank("MultiHeadAttention", q, v, k)
    agree("MultiHeadAttention", "value and key with the same positions", v[:-1], k[:-1],
           "give the key the value's positions (only the features may differ)")
    for shape, what in ((q, "query"), (v, "value"), (k, "key")):
        known_features("MultiHeadAttention", shape, what)
    axes = attention_axes(args, len(q))
    outer = [i for i in range(len(q) - 1) if i not in axes]
    agree("MultiHeadAttention", "query and key equal on the axes attention does not run over",
           [q[i] for i in outer], [k[i] for i in outer], "set attention_axes, or make those axes agree")
    given = args.get("output_shape")
    out = (q[-1],) if not given else (given,) if isinstance(given, int) else tuple(given)
    return Heads(q, v, k, args["num_heads"], args["key_dim"], args.get("value_dim") or args["key_dim"], out, axes)


def _mha_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    h = heads(args, ins)
    if args.get("return_attention_scores"):
        _scores_shape(args, ins, h.query)
    return h.query[:-1] + h.out_features


def _scores_shape(args: Args, ins: Sequence[Shape], out: Shape) -> tuple[tuple[str, Shape], ...]:
    """Keras 3.15 gives the scores the symbolic shape (heads, Tq, Tq) whatever the key: right
    only for sequences ([T, C]) whose key is as long as the query, so only those are allowed."""
    if not args.get("return_attention_scores"):
        return ()
    h = heads(args, ins)
    if len(h.query) != 2 or h.query[0] != h.key[0]:
        raise LayerError(f"return_attention_scores needs a query and key of one length on sequences ([T, C]); "
                         f"with {fmt_shape(h.query)} and {fmt_shape(h.key)} Keras 3.15 reports the scores' shape "
                         "wrongly (as heads x Tq x Tq)", "drop return_attention_scores, or use self-attention on a "
                         "sequence", "return_attention_scores")
    return ((SCORES, (h.heads, h.query[0], h.key[0])),)


def _projections(h: Heads, use_bias: bool, gate: bool) -> list[tuple[str, int, int, int]]:
    """(name, input features, outputs per position, positions) of each dense projection."""
    nq, nk = math.prod(h.query[:-1]), math.prod(h.key[:-1])
    parts = [("query", h.query[-1], h.heads * h.key_dim, nq), ("key", h.key[-1], h.heads * h.key_dim, nk),
             ("value", h.value[-1], h.heads * h.value_dim, nk)]
    if gate:
        parts.append(("gate", h.query[-1], h.heads * h.value_dim, nq))
    return parts + [("output", h.heads * h.value_dim, math.prod(h.out_features), nq)]


def _mha_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    bias = int(args.get("use_bias", True))
    parts = _projections(heads(args, ins), bias, args.get("use_gate", False))
    return Params(sum(c_in * n + bias * n for _, c_in, n, _ in parts))


def _mha_products(h: Heads) -> tuple[int, int]:
    """MACs of the scores Q K^T and of the weighted sum A V, every head together."""
    pairs = h.outer * h.heads * h.t_query * h.t_key
    return pairs * h.key_dim, pairs * h.value_dim


def _mha_macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    h = heads(args, ins)
    dense = sum(c_in * n * positions for _, c_in, n, positions in _projections(h, False, args.get("use_gate")))
    return dense + sum(_mha_products(h))


def _mha_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    h, bias = heads(args, ins), bool(args.get("use_bias", True))
    parts = _projections(h, bias, args.get("use_gate", False))
    terms = [f"{c_in}*{n}" + (f" + {n}" if bias else "") for _, c_in, n, _ in parts]
    lines: list[Line] = [f"{h.heads} heads, key_dim {h.key_dim}, value_dim {h.value_dim}; projections "
                         + ", ".join(f"{name} {c_in} -> {n}" for name, c_in, n, _ in parts),
                         Equation("params", "sum of C_in*C_out (+ C_out bias) per projection", " + ".join(terms),
                                  ("params",))]
    dense = " + ".join(mul(c_in, n, positions) for _, c_in, n, positions in parts)
    qk, av = _mha_products(h)
    pairs = mul(*[x for x in (h.outer, h.heads, h.t_query, h.t_key) if x != 1] or [1])
    lines.append(Equation("MACs", "projections (C_in*C_out per position) + heads*Tq*Tk*key_dim (Q K^T) + "
                          "heads*Tq*Tk*value_dim (A V)", f"{dense} + {pairs}*{h.key_dim} + {pairs}*{h.value_dim}",
                          ("macs",), f"Q K^T {qk:,}, A V {av:,}; softmax, scaling and bias adds not counted"))
    return lines


def _mha_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    import keras

    layer = keras.layers.MultiHeadAttention(name=name, **keras_kwargs(kind, args))
    call = call_flags(args)

    def apply(tensors: list) -> object:
        query, value = tensors[0], tensors[1] if len(tensors) > 1 else tensors[0]
        keys = {"key": tensors[2]} if len(tensors) > 2 else {}
        return layer(query, value, **keys, **call)

    return [apply]


def call_flags(args: Args) -> dict[str, bool]:
    """The call arguments a spec sets (Keras records them with the call, not the layer)."""
    return {flag: True for flag in ("return_attention_scores", "use_causal_mask") if args.get(flag)}


SCORES_ARG = A.with_keras(A.boolean("return_attention_scores", "Also return the attention scores (after "
                                     "softmax), as the output 'layer:attention_scores'.", False), False)
CAUSAL_ARG = A.with_keras(A.boolean("use_causal_mask", "Let position i attend only to positions up to i "
                                     "(decoder self-attention).", False), False)
DROPOUT = A.number("dropout", "Fraction of the attention scores dropped while training.", 0.0, 0, 1, True)
_INTS = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "array", "items": {"type": "integer", "minimum": 1},
                                                       "minItems": 1}, {"type": "null"}]}
MULTI_HEAD = LayerKind(
    "MultiHeadAttention", ATTENTION, "Multi-head scaled dot-product attention (keras.layers.MultiHeadAttention): "
    "inputs [query, value] or [query, value, key]; one input is self-attention.",
    (A.integer("num_heads", "Number of attention heads.", required=True),
     A.integer("key_dim", "Size of each head's query and key.", required=True),
     Arg("value_dim", {"type": ["integer", "null"], "minimum": 1}, "a positive integer or null",
         "Size of each head's value (null: key_dim).", None),
     DROPOUT, A.use_bias(),
     Arg("output_shape", _INTS, "a positive integer, a list of them, or null",
         "The output's feature sizes (null: the query's features).", None),
     Arg("attention_axes", {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"},
                                                            "minItems": 1}, {"type": "null"}]},
         "an axis, a list of axes, or null", "Axes attention runs over, the batch axis counted as 0 (null: every "
         "axis but the batch and the features).", None),
     A.boolean("use_gate", "Gate the heads' output with a sigmoid projection of the query.", False),
     A.seed()) + A.weight_args() + (SCORES_ARG, CAUSAL_ARG),
    _mha_shape, _mha_build, _mha_params, _mha_macs, inputs=(1, 3), explain=_mha_explain,
    field_rule=FieldRule.WHOLE, extra_outputs=_scores_shape,
    example=(CROSS_ATTENTION, {"num_heads": 4, "key_dim": 8}))


register_kinds(MULTI_HEAD)

__all__ = ["query_value_key", "known_features", "same_rank", "agree", "call_flags", "attention_axes", "heads",
           "Heads", "SCORES", "SCORES_ARG", "CAUSAL_ARG", "DROPOUT", "MULTI_HEAD"]
