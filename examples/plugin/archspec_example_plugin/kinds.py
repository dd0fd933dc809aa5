"""The plugin's layer kinds, as archspec records (pure Python: no Keras here).

archspec imports this module through the entry point ``archspec.layers: example``; the
``register_kinds`` call at the bottom adds the kinds to every surface (layers, schema,
validate, summary, explain, graph, build).
"""
from __future__ import annotations

import math
from typing import Sequence

from archspec.plugin_api import (Arg, Args, Equation, Family, FieldRule, LayerKind, Line, Product, Shape, Window,
                                 args, as_tuple, channels, check_positive_output, explicit_pads, factor, family,
                                 fmt_shape, kernel_factors, macs_line, padded, plugin_layer, product, register_families,
                                 register_kinds, window, window_length, window_lines)

KERAS_LAYERS = "archspec_example_plugin.keras_layers"


def binomial_row(size: int) -> list[int]:
    """Row ``size - 1`` of Pascal's triangle: the 1-D blur before normalising.

    >>> binomial_row(1), binomial_row(3), binomial_row(5)
    ([1], [1, 2, 1], [1, 4, 6, 4, 1])
    """
    return [math.comb(size - 1, i) for i in range(size)]


# ---------------------------------------------------------------- BlurPool2D
def _geometry(given: Args) -> tuple[tuple[int, int], tuple[int, ...], Args]:
    """Kernel, strides, and the arguments as archspec's padding helpers read them: 'same'
    pads floor((K-1)/2) before and ceil((K-1)/2) after on each axis, as Zhang's code does."""
    k = given["filter_size"]
    strides = as_tuple(given["strides"], 2)
    padding = [[(k - 1) // 2, k // 2]] * 2 if given["padding"] == "same" else "valid"
    return (k, k), strides, {"padding": padding, "padding_mode": given["padding_mode"]}


def _blur_shape(given: Args, ins: Sequence[Shape]) -> Shape:
    c = channels("BlurPool2D", ins[0])
    kernels, strides, pad_args = _geometry(given)
    pads = explicit_pads(pad_args, ins[0][:-1], kernels, strides, (1, 1))
    out = tuple(window_length(s, k, st) for s, k, st in zip(padded(ins[0][:-1], pads), kernels, strides))
    check_positive_output("BlurPool2D", out, ins[0][:-1], kernels, strides, pads)
    return out + (c,)


def _taps(given: Args, ins: Sequence[Shape]) -> Product:
    """Multiply-accumulates per output position: the K*K blur of each channel on its own."""
    return Product(kernel_factors(_geometry(given)[0]) + (factor("C", ins[0][-1]),))


def _blur_macs(given: Args, ins: Sequence[Shape], out: Shape) -> int:
    return _taps(given, ins).value * (product(out[:-1]) or 0)


def _blur_window(given: Args, ins: Sequence[Shape], out: Shape) -> Window:
    kernels, strides, pad_args = _geometry(given)
    return window(pad_args, ins[0][:-1], kernels, strides, (1, 1))


def _blur_explain(given: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    kernels, strides, pad_args = _geometry(given)
    row = binomial_row(kernels[0])
    return window_lines(pad_args, ins[0], kernels, strides, (1, 1)) + [
        f"blur kernel: outer product of {row} / {sum(row)} with itself, the same for every channel",
        Equation("params", "0", "0", ("params",), "the kernel is a constant, not a weight"),
        macs_line(_taps(given, ins), out)]


BLUR_POOL_2D = LayerKind(
    "BlurPool2D", family("fixed"),
    "Anti-aliased downsampling (Zhang 2019, 'Making Convolutional Networks Shift-Invariant Again'): each channel "
    "is blurred with a fixed binomial filter, then subsampled by the stride. Replaces a strided pooling or "
    "convolution's stride (MaxPool(stride 2) -> MaxPool(stride 1) + BlurPool2D). 0 parameters.",
    (Arg("filter_size", {"type": "integer", "minimum": 1, "maximum": 7}, "an integer from 1 to 7",
         "Side of the binomial blur: 1 (no blur), 2 ([1, 1]), 3 ([1, 2, 1], the paper's Tri-3), 4, 5 "
         "([1, 4, 6, 4, 1], Bin-5), up to 7.", 3),
     args.ints("strides", 2, "Step of the subsampling.", 2),
     args.choice("padding", ["same", "valid"], "same: pad floor((K-1)/2) before and ceil((K-1)/2) after "
                 "(output = ceil(input/stride)), as the paper's code; valid: no padding.", "same"),
     args.choice("padding_mode", ["reflect", "symmetric", "zeros"], "What fills the padding: the image "
                 "mirrored without (reflect, the paper's choice) or with (symmetric) its edge pixel, or zeros.",
                 "reflect")),
    _blur_shape, plugin_layer(KERAS_LAYERS, "BlurPool2D"), macs=_blur_macs, window=_blur_window, rank=3,
    explain=_blur_explain, field_rule=FieldRule.WINDOW, example=(((32, 32, 16),), {}))


# ---------------------------------------------------------------- AddCoords2D
COORDS = Family("coords", "Coordinate channels", "#e3f1d6", "coordinate channels")


def _coords_added(given: Args) -> int:
    return 3 if given["with_r"] else 2


def _coords_shape(given: Args, ins: Sequence[Shape]) -> Shape:
    return ins[0][:-1] + (channels("AddCoords2D", ins[0]) + _coords_added(given),)


def _coords_explain(given: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    added = _coords_added(given)
    r = " + r = sqrt(i^2 + j^2)" if given["with_r"] else ""
    return [f"appends i (the row, -1 at the top to 1 at the bottom) and j (the column, -1 to 1){r}",
            Equation("C'", f"C + {added}", f"{ins[0][-1]} + {added}", note=f"{fmt_shape(ins[0])} -> "
                     f"{fmt_shape(out)}; no weights")]


ADD_COORDS_2D = LayerKind(
    "AddCoords2D", COORDS,
    "CoordConv's coordinate channels (Liu et al. 2018, 'An intriguing failing of convolutional neural networks "
    "and the CoordConv solution'): appends each position's row and column, scaled to [-1, 1], so the next "
    "convolution can see where it is. 0 parameters.",
    (args.boolean("with_r", "Also append the distance from the centre, sqrt(i^2 + j^2).", False),),
    _coords_shape, plugin_layer(KERAS_LAYERS, "AddCoords2D"), rank=3, explain=_coords_explain,
    example=(((32, 32, 16),), {}))

register_families(COORDS)
register_kinds(BLUR_POOL_2D, ADD_COORDS_2D)
