"""Attention without projections: Attention (dot-product, Luong-style) and AdditiveAttention
(Bahdanau-style), keras.layers.Attention and keras.layers.AdditiveAttention.

Inputs and the MAC convention are those of ``attention.py``: the scores cost ``Tq*Tk*d``
(a dot product, or additive scores weighted by a learned scale), the weighted sum ``A V``
``Tq*Tk*d_v``; softmax, tanh and scaling are not counted. Axes before the last two act as
batch axes (each attends on its own).
"""
from __future__ import annotations

import math
from typing import Sequence

from archspec.layers import args as A
from archspec.layers.attention import (CAUSAL_ARG, DROPOUT, SCORES, SCORES_ARG, agree, call_flags, known_features,
                                       query_value_key, same_rank)
from archspec.layers.equations import Equation, Line, mul
from archspec.layers.families import ATTENTION
from archspec.layers.keras_builders import keras_kwargs
from archspec.layers.registry import Arg, Args, FieldRule, LayerKind, Params, Shape, register_kinds


def _qvk(kind: str, ins: Sequence[Shape]) -> tuple[Shape, Shape, Shape]:
    q, v, k = query_value_key(ins)
    same_rank(kind, q, v, k)
    agree(kind, "query and key with the same features", q[-1:], k[-1:], "project them to one size (Dense)")
    agree(kind, "value and key of one length", v[-2:-1], k[-2:-1], "give the key the value's positions")
    agree(kind, "equal leading (batch-like) axes", q[:-2], k[:-2], "make the axes before the positions agree")
    agree(kind, "equal leading (batch-like) axes", v[:-2], k[:-2], "make the axes before the positions agree")
    return q, v, k


def _luong_shape(kind: str):
    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        q, v, _ = _qvk(kind, ins)
        return q[:-1] + v[-1:]
    return shape


def _luong_scores(kind: str):
    def scores(args: Args, ins: Sequence[Shape], out: Shape) -> tuple[tuple[str, Shape], ...]:
        q, _, k = _qvk(kind, ins)
        return ((SCORES, q[:-1] + k[-2:-1]),) if args.get("return_attention_scores") else ()
    return scores


def _scored(kind: str, args: Args) -> bool:
    """Whether the scores cost Tq*Tk*d MACs: a dot product, or additive scores weighted by the scale."""
    return args.get("score_mode", "dot") == "dot" if kind == "Attention" else bool(args.get("use_scale", True))


def _luong_products(kind: str, args: Args, ins: Sequence[Shape]) -> tuple[str, int, int]:
    """(pairs as a product, scores' MACs, weighted sum's MACs)."""
    q, v, k = _qvk(kind, ins)
    sizes = [n for n in (math.prod(q[:-2]), q[-2], k[-2]) if n != 1] or [1]
    pairs = math.prod(sizes)
    return mul(*sizes), pairs * q[-1] if _scored(kind, args) else 0, pairs * v[-1]


def _luong_macs(kind: str):
    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        _, scores, weighted = _luong_products(kind, args, ins)
        return scores + weighted
    return macs


def _luong_params(kind: str):
    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        if kind == "AdditiveAttention":
            return Params(known_features(kind, ins[0], "query") if args.get("use_scale", True) else 0)
        return Params(int(bool(args.get("use_scale"))) + int(args.get("score_mode") == "concat"))
    return params


def _luong_explain(kind: str):
    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        q, v, _ = _qvk(kind, ins)
        pairs, scores, weighted = _luong_products(kind, args, ins)
        n = _luong_params(kind)(args, ins, out).total
        words = {"AdditiveAttention": "the scale (one per feature)" if n else "no weights",
                 "Attention": "scalars: " + (" and ".join(w for w, on in (("scale", args.get("use_scale")), (
                     "concat_score_weight", args.get("score_mode") == "concat")) if on) or "none")}[kind]
        how = (f"{pairs}*{q[-1]} + {pairs}*{v[-1]}" if scores else f"{pairs}*{v[-1]}")
        general = "Tq*Tk*d (scores) + Tq*Tk*d_v (A V)" if scores else "Tq*Tk*d_v (A V; the scores are sums)"
        return [Equation("params", words, str(n), ("params",)),
                Equation("MACs", general, how, ("macs",), "softmax, tanh and scaling not counted")]
    return explain


def _luong_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    import keras

    layer = getattr(keras.layers, kind.name)(name=name, **keras_kwargs(kind, args))
    call = call_flags(args)

    def apply(tensors: list) -> object:
        return layer(tensors if len(tensors) > 1 else [tensors[0], tensors[0]], **call)

    return [apply]


def _luong(name: str, doc: str, own: tuple[Arg, ...]) -> LayerKind:
    return LayerKind(name, ATTENTION, doc, own + (DROPOUT, A.seed(), SCORES_ARG, CAUSAL_ARG),
                     _luong_shape(name), _luong_build, _luong_params(name), _luong_macs(name), inputs=(1, 3),
                     explain=_luong_explain(name), field_rule=FieldRule.WHOLE, extra_outputs=_luong_scores(name),
                     example=(((10, 32), (16, 32)), {}))


register_kinds(
    _luong("Attention", "Dot-product (Luong-style) attention without projections (keras.layers.Attention): "
           "inputs [query, value] or [query, value, key].",
           (A.boolean("use_scale", "Learn a scalar that scales the scores.", False),
            A.choice("score_mode", ["dot", "concat"], "Scores as the dot product of query and key, or the "
                     "sum of tanh(query + key).", "dot"))),
    _luong("AdditiveAttention", "Additive (Bahdanau-style) attention (keras.layers.AdditiveAttention): scores "
           "sum(scale * tanh(query + key)); inputs [query, value] or [query, value, key].",
           (A.boolean("use_scale", "Learn a scale per feature.", True),)),
)

