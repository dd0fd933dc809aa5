"""FixedConv2D: classic hand-made kernels (Sobel, Scharr, Laplacian...) as frozen convolutions."""
from __future__ import annotations

from typing import Any, Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import padding_layers
from archspec.layers.axes import EXAMPLE_SHAPES
from archspec.layers.common import (channels, check_padding_mode, check_positive_output, explicit_pads,
                                    keras_padding, padded, window)
from archspec.layers.equations import Equation, Line, Product, factor
from archspec.layers.families import FIXED
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, Window, register_kinds
from archspec.layers.window_equations import kernel_factors, macs_line, window_lines
from archspec.layers.arithmetic import as_tuple, product, window_length

Matrix = list[list[float]]
NAMED_KERNELS: dict[str, Matrix] = {
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "scharr_x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "scharr_y": [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
    "vertical": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    "horizontal": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}
_MATRIX = {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 1, "items": {"type": "number"}}}
_ONE = {"oneOf": [{"enum": sorted(NAMED_KERNELS)}, _MATRIX]}


def kernels_of(args: Args) -> list[Matrix]:
    """The kernels as matrices, flipped (rotated 180 degrees) for a true convolution.

    >>> kernels_of({"kernel": "sobel_x", "flip": True})[0][0]
    [1, 0, -1]
    """
    given = args["kernel"]
    if isinstance(given, str):
        items = [given]
    elif given and isinstance(given[0], list) and given[0] and not isinstance(given[0][0], list):
        items = [given]  # one literal matrix
    else:
        items = list(given)  # a list of names and/or matrices
    matrices = [NAMED_KERNELS[k] if isinstance(k, str) else k for k in items]
    if args.get("flip"):
        matrices = [[row[::-1] for row in m[::-1]] for m in matrices]
    return matrices


def _check(args: Args) -> list[LayerError]:
    try:
        matrices = kernels_of(args)
    except KeyError as exc:
        return [LayerError(f"unknown kernel {exc}", f"use one of {', '.join(sorted(NAMED_KERNELS))}", "kernel")]
    sizes = {(len(m), len(m[0])) for m in matrices}
    if any(len({len(row) for row in m}) != 1 for m in matrices):
        return [LayerError("every row of a kernel matrix needs the same length", "fix the matrix", "kernel")]
    if len(sizes) > 1:
        return [LayerError(f"all kernels need the same size; received {sorted(sizes)}", "use kernels of one size",
                           "kernel")]
    return check_padding_mode(args)


def _geometry(args: Args, shape: Shape) -> tuple:
    m = kernels_of(args)[0]
    kernels, strides = (len(m), len(m[0])), as_tuple(args["strides"], 2)
    return kernels, strides, explicit_pads(args, shape[:-1], kernels, strides, (1, 1))


def _shape(args: Args, ins: Sequence[Shape]) -> Shape:
    c = channels("FixedConv2D", ins[0])
    kernels, strides, pads = _geometry(args, ins[0])
    mode = keras_padding(args, pads)
    out = tuple(window_length(s, k, st, mode) for s, k, st in zip(padded(ins[0][:-1], pads), kernels, strides))
    check_positive_output("FixedConv2D", out, ins[0][:-1], kernels, strides, pads)
    count = len(kernels_of(args))
    return out + ((c * count) if args["combine"] == "depthwise" else count,)


def _weights(args: Args, ins: Sequence[Shape]) -> Product:
    """Every kernel repeated for every input channel (frozen)."""
    return Product(kernel_factors(_geometry(args, ins[0])[0]) + (factor("C_in", ins[0][-1]),
                                                                  factor("k", len(kernels_of(args)))))


def _taps(args: Args, ins: Sequence[Shape], out: Shape) -> Product:
    """Multiply-accumulates per output position: each output map sums one input channel
    (depthwise) or all of them (sum)."""
    taps = kernel_factors(_geometry(args, ins[0])[0])
    if args["combine"] == "depthwise":
        return Product(taps + (factor("C_out", out[-1]),))
    return Product(taps + (factor("C_in", ins[0][-1]), factor("k", len(kernels_of(args)))))


def _params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(0, _weights(args, ins).value)


def _macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    return _taps(args, ins, out).value * (product(out[:-1]) or 0)


def _explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    kernels, strides, _ = _geometry(args, ins[0])
    w = _weights(args, ins)
    return window_lines(args, ins[0], kernels, strides, (1, 1)) + [
        Equation("params", w.symbols, w.numbers, ("params",), "frozen: non-trainable; k = number of kernels"),
        macs_line(_taps(args, ins, out), out)]


def _window(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
    kernels, strides, _ = _geometry(args, ins[0])
    return window(args, ins[0][:-1], kernels, strides, (1, 1))


def weights(args: Args, in_channels: int) -> Any:
    """The frozen kernel array in Keras's layout for the chosen ``combine``."""
    import numpy as np

    stack = np.stack([np.asarray(m, dtype="float32") for m in kernels_of(args)], axis=-1)  # (kh, kw, k)
    return np.repeat(stack[:, :, None, :], in_channels, axis=2)  # (kh, kw, C, k): depthwise and ordinary alike


def _build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    import keras

    kernels, strides, pads = _geometry(args, ins[0])
    common = dict(kernel_size=kernels, strides=strides, padding=keras_padding(args, pads), use_bias=False,
                  trainable=False, name=name)
    count = len(kernels_of(args))
    value = weights(args, ins[0][-1])
    if args["combine"] == "depthwise":
        layer = keras.layers.DepthwiseConv2D(depth_multiplier=count,
                                             depthwise_initializer=keras.initializers.Constant(0.0), **common)
    else:
        layer = keras.layers.Conv2D(filters=count, kernel_initializer=keras.initializers.Constant(0.0), **common)
    layer.build((None,) + padded(ins[0][:-1], pads) + (ins[0][-1],))
    layer.set_weights([value])
    return padding_layers(pads, args.get("padding_mode", "zeros"), name) + [layer]


register_kinds(LayerKind(
    "FixedConv2D", FIXED, "A frozen, hand-made kernel such as Sobel or a Laplacian, applied as a convolution "
    "(archspec extension; compiled to DepthwiseConv2D or Conv2D with non-trainable weights).",
    (Arg("kernel", {"oneOf": [_ONE, {"type": "array", "minItems": 1, "items": _ONE}]},
         f"one of {', '.join(sorted(NAMED_KERNELS))}, a matrix of numbers, or a list of those",
         "The kernel(s): a name, a literal matrix, or a list of them (one output map each).", None, True),
     A.boolean("flip", "Rotate the kernel by 180 degrees: a true convolution instead of Keras's "
               "cross-correlation.", False),
     A.choice("combine", ["depthwise", "sum"], "depthwise: each input channel filtered on its own (C x k "
              "outputs); sum: filtered channels added up (k outputs), like Conv2D.", "depthwise"),
     A.ints("strides", 2, "Step of the window.", 1), A.padding_arg(2, ["valid", "same"]), A.padding_mode()),
    _shape, _build, _params, _macs, _window, _check, rank=3, explain=_explain, field_rule=FieldRule.WINDOW,
    example=((EXAMPLE_SHAPES[2],), {"kernel": "sobel_x"})))
