"""Pooling: max, average, min and L^p pooling over windows, and global pooling."""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import archspec_layer, keras_layer, with_padding
from archspec.layers.axes import EXAMPLE_SHAPES, SIDES, axis_symbols, axis_words
from archspec.layers.common import (Pads, check_padding_mode, check_positive_output, explicit_pads,
                                    keras_padding, padded, window)
from archspec.layers.equations import Line
from archspec.layers.families import POOLING
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Shape, Window, register_kinds
from archspec.layers.window_equations import window_lines
from archspec.layers.arithmetic import as_tuple, fmt_shape, product, window_length

_KINDS = {"Max": "the maximum", "Average": "the mean", "Min": "the minimum", "LP": "the L^p norm"}
# What padding_mode 'zeros' puts in explicit padding (a size, or 'full'): a value that never
# decides a maximum or minimum, and zeros for the mean and the norm.
_FILL = {"Max": float("-inf"), "Min": float("inf"), "Average": 0.0, "LP": 0.0}
# The convention each pooling follows, in the words `archspec layers` and `explain` show.
PADDING_CONVENTION = {
    "Max": "explicit padding (a size or 'full') holds -inf, so padding never wins the maximum (as PyTorch's "
           "MaxPool pads); Keras's 'same' ignores padded positions too",
    "Min": "explicit padding (a size or 'full') holds +inf, so padding never wins the minimum; Keras's 'same' "
           "ignores padded positions too",
    "Average": "explicit padding (a size or 'full') holds zeros that count in the mean: every window divides by "
               "its full size, as PyTorch's count_include_pad=True; Keras's 'same' instead leaves padded positions "
               "out of the mean",
    "LP": "explicit padding (a size or 'full') holds zeros, which add nothing to the p-norm; so does Keras's 'same'",
}


def _padding_args(op: str, n: int) -> tuple[Arg, Arg]:
    """The padding arguments, their docs stating what padded positions hold for this pooling."""
    padding, mode = A.padding_arg(n, ["valid", "same"]), A.with_keras(A.padding_mode(), False)
    mode_doc = (f"What fills explicit padding (archspec extension): 'zeros' (the default) is the fill of the "
                f"padding argument; 'reflect' and 'symmetric' mirror the input (without and with the edge "
                f"value), and the mirrored values take part in {_KINDS[op]} as real data.")
    return replace(padding, doc=f"{padding.doc} Here {PADDING_CONVENTION[op]}."), replace(mode, doc=mode_doc)


def _check_padding_only_windows(kind: str, args: Args, pools: Sequence[int], pads: Pads) -> None:
    """A window of nothing but padding has no maximum or minimum: refuse a pad as wide as the pool."""
    if pads is None or args.get("padding_mode", "zeros") != "zeros":
        return
    for axis, (pair, pool) in enumerate(zip(pads, pools)):
        for side, pad in zip(SIDES.get(axis_symbols(len(pools))[axis], ("before", "after")), pair):
            if pad >= pool:
                raise LayerError(
                    f"padding of {pad} at the {side} of the {axis_words(len(pools))[axis]} is not smaller than the "
                    f"pool size {pool}: a window would hold padding only, and {_KINDS[kind]} of padding alone is "
                    "undefined", f"pad at most {pool - 1} on each side (PyTorch allows at most pool_size/2)",
                    "padding")


def _padding_note(op: str, args: Args) -> list[Line]:
    """What padded positions hold, when the layer pads."""
    if args.get("padding", "valid") == "valid":
        return []
    if args.get("padding_mode", "zeros") != "zeros":
        return [f"padding mirrors the input ({args['padding_mode']}): the mirrored values take part in "
                f"{_KINDS[op]} as real data"]
    return [f"padding: {PADDING_CONVENTION[op]}"]


def _sizes(args: Args, n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    pools = as_tuple(args["pool_size"], n)
    strides = pools if args.get("strides") is None else as_tuple(args["strides"], n)
    return pools, strides


def _pool(op: str, n: int) -> LayerKind:
    name = f"{op}Pooling{n}D"
    own = op in ("Min", "LP")

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        pools, strides = _sizes(args, n)
        spatial = ins[0][:-1]
        pads = explicit_pads(args, spatial, pools, strides, (1,) * n)
        if op in ("Max", "Min"):
            _check_padding_only_windows(op, args, pools, pads)
        mode = keras_padding(args, pads)
        out = tuple(window_length(s, k, st, mode) for s, k, st in zip(padded(spatial, pads), pools, strides))
        check_positive_output(name, out, spatial, pools, strides, pads)
        return out + (ins[0][-1],)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        pools, strides = _sizes(args, n)
        return window(args, ins[0][:-1], pools, strides, (1,) * n)

    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        pools, strides = _sizes(args, n)
        return window_lines(args, ins[0], pools, strides, (1,) * n) + _padding_note(op, args)

    build = with_padding(archspec_layer(name) if own else keras_layer(name),
                         lambda args: (*_sizes(args, n), (1,) * n), _FILL[op])

    extra = (A.number("p", "Order of the norm: 1 = sum, 2 = L2 pooling.", 2.0, minimum=1),) if op == "LP" else ()
    return LayerKind(
        name, POOLING, f"{n}-D pooling: {_KINDS[op]} over each window"
        + ("" if not own else " (an archspec layer)") + ".",
        extra + (A.ints("pool_size", n, "Size of the pooling window.", 2),
                 A.ints("strides", n, "Step of the window; null = pool_size.", None, nullable=True),
                 *_padding_args(op, n)),
        shape, build, window=win, check=check_padding_mode, rank=n + 1, explain=explain,
        field_rule=FieldRule.WINDOW, example=((EXAMPLE_SHAPES[n],), {"pool_size": 2}))


def _global(op: str, n: int) -> LayerKind:
    name = f"Global{op}Pooling{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        return (1,) * n + (ins[0][-1],) if args["keepdims"] else (ins[0][-1],)

    return LayerKind(
        name, POOLING, f"{_KINDS[op].capitalize()} over all {n}-D positions, one value per channel.",
        (A.boolean("keepdims", "Keep the spatial axes with size 1.", False),),
        shape, keras_layer(name), rank=n + 1, explain=_global_explain, field_rule=FieldRule.WHOLE,
        example=((EXAMPLE_SHAPES[n],), {}))


def _global_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return [f"one value per channel over all {product(ins[0][:-1]) or '?'} positions: "
            f"{fmt_shape(ins[0])} -> {fmt_shape(out)}"]


register_kinds(*[_pool(op, n) for op in ("Max", "Average") for n in (1, 2, 3)],
         *[_pool(op, n) for op in ("Min", "LP") for n in (1, 2, 3)],
         *[_global(op, n) for op in ("Max", "Average") for n in (1, 2, 3)])
