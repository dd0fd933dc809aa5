"""Pooling: max, average, min and L^p pooling over windows, and global pooling."""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import archspec_layer, keras_layer, with_padding
from archspec.layers.common import (check_positive_output, expect_rank, explicit_pads, keras_padding, padded,
                                    window)
from archspec.layers.registry import Args, LayerKind, Shape, Window, register_kinds
from archspec.layers.arithmetic import as_tuple, pool_length

_KINDS = {"Max": "the maximum", "Average": "the mean", "Min": "the minimum", "LP": "the L^p norm"}


def _sizes(args: Args, n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    pools = as_tuple(args["pool_size"], n)
    strides = pools if args.get("strides") is None else as_tuple(args["strides"], n)
    return pools, strides


def _pool(op: str, n: int) -> LayerKind:
    name = f"{op}Pooling{n}D"
    own = op in ("Min", "LP")

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        expect_rank(name, ins[0], n)
        pools, strides = _sizes(args, n)
        spatial = ins[0][:-1]
        pads = explicit_pads(args, spatial, pools, strides, (1,) * n)
        mode = keras_padding(args, pads)
        out = tuple(pool_length(s, k, st, mode) for s, k, st in zip(padded(spatial, pads), pools, strides))
        check_positive_output(name, out, spatial, pools, strides, pads)
        return out + (ins[0][-1],)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        pools, strides = _sizes(args, n)
        return window(args, ins[0][:-1], pools, strides, (1,) * n)

    build = with_padding(archspec_layer(name) if own else keras_layer(name),
                         lambda args: (*_sizes(args, n), (1,) * n))

    extra = (A.number("p", "Order of the norm: 1 = sum, 2 = L2 pooling.", 2.0, minimum=1),) if op == "LP" else ()
    return LayerKind(
        name, "pooling", f"{n}-D pooling: {_KINDS[op]} over each window"
        + ("" if not own else " (an archspec layer)") + ".",
        extra + (A.ints("pool_size", n, "Size of the pooling window.", 2),
                 A.ints("strides", n, "Step of the window; null = pool_size.", None, nullable=True),
                 A.padding_arg(n, ["valid", "same"]), A.with_keras(A.padding_mode(), False)),
        shape, build, window=win, rank=n + 1)


def _global(op: str, n: int) -> LayerKind:
    name = f"Global{op}Pooling{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        expect_rank(name, ins[0], n)
        return (1,) * n + (ins[0][-1],) if args["keepdims"] else (ins[0][-1],)

    return LayerKind(
        name, "pooling", f"{_KINDS[op].capitalize()} over all {n}-D positions, one value per channel.",
        (A.boolean("keepdims", "Keep the spatial axes with size 1.", False),),
        shape, keras_layer(name), rank=n + 1)


register_kinds(*[_pool(op, n) for op in ("Max", "Average") for n in (1, 2, 3)],
         *[_pool(op, n) for op in ("Min", "LP") for n in (1, 2)],
         *[_global(op, n) for op in ("Max", "Average") for n in (1, 2, 3)])
