"""Convolutions: Conv1D/2D/3D, their transposes, depthwise, separable, unshared and tiled."""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import archspec_layer, keras_layer, with_padding
from archspec.layers.common import (channels, check_positive_output, expect_rank, explicit_pads, keras_padding,
                                    padded, tuples, window)
from archspec.layers.registry import Args, LayerError, LayerKind, Params, Shape, Window, register_kinds
from archspec.layers.arithmetic import conv_length, product, transpose_length

ROLE = {1: "sequences [T, C]", 2: "images [H, W, C]", 3: "volumes [D, H, W, C]"}


# ---------------------------------------------------------------- shared rules
def _spatial_out(kind: str, args: Args, shape: Shape, n: int, dilation: bool = True) -> tuple:
    """Output spatial sizes of a convolution, with explicit/full/mode padding applied first."""
    expect_rank(kind, shape, n)
    kernels, strides = tuples(args, n, "kernel_size", "strides")
    dilations = tuples(args, n, "dilation_rate")[0] if dilation else (1,) * n
    spatial = shape[:-1]
    pads = explicit_pads(args, spatial, kernels, strides, dilations)
    mode = keras_padding(args, pads)
    out = tuple(conv_length(s, k, st, mode, d) for s, k, st, d in
                zip(padded(spatial, pads), kernels, strides, dilations))
    check_positive_output(kind, out, spatial, kernels, strides, pads, dilations)
    return out


def _conv_window(n: int, dilation: bool = True):
    def rule(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        kernels, strides = tuples(args, n, "kernel_size", "strides")
        dilations = tuples(args, n, "dilation_rate")[0] if dilation else (1,) * n
        return window(args, ins[0][:-1], kernels, strides, dilations)
    return rule


def _check_strides_dilation(args: Args) -> list[LayerError]:
    errors = []
    strides, dilation = args.get("strides", 1), args.get("dilation_rate", 1)
    if max(strides if isinstance(strides, list) else [strides]) > 1 and \
            max(dilation if isinstance(dilation, list) else [dilation]) > 1:
        errors.append(LayerError(f"strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it; "
                                 f"received strides={strides}, dilation_rate={dilation})",
                                 "use strides: 1 with the dilation, or a separate pooling layer", "strides"))
    if args.get("padding") == "causal" and args.get("padding_mode", "zeros") != "zeros":
        errors.append(LayerError("padding_mode applies to explicit, full or same padding, not causal",
                                 "remove padding_mode", "padding_mode"))
    return errors


def _check_groups(args: Args) -> list[LayerError]:
    errors = _check_strides_dilation(args)
    if args["filters"] % args.get("groups", 1):
        errors.append(LayerError(f"filters ({args['filters']}) must be divisible by groups ({args['groups']})",
                                 "change filters or groups", "groups"))
    return errors


def _padded_build(class_name: str, n: int, own: bool = False):
    """Builder: our padding layer (if any), then the Keras (or archspec) convolution."""
    base = archspec_layer(class_name) if own else keras_layer(class_name)

    def geometry(args: Args) -> tuple:
        kernels, strides = tuples(args, n, "kernel_size", "strides")
        return kernels, strides, tuples(args, n, "dilation_rate")[0] if "dilation_rate" in args else (1,) * n

    return with_padding(base, geometry)


def _common(n: int, padding_modes: list[str]) -> tuple[A.Arg, ...]:
    return (A.ints("kernel_size", n, "Size of the convolution window.", required=True),
            A.ints("strides", n, "Step of the window.", 1),
            A.padding_arg(n, padding_modes), A.with_keras(A.padding_mode(), False))


# ---------------------------------------------------------------- Conv1D/2D/3D
def _conv(n: int) -> LayerKind:
    name = f"Conv{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        c = channels(name, ins[0])
        if c % args["groups"]:
            raise LayerError(f"input channels ({c}) must be divisible by groups ({args['groups']})",
                             "change groups or the previous layer's channels", "groups")
        return _spatial_out(name, args, ins[0], n) + (args["filters"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        k = product(tuples(args, n, "kernel_size")[0])
        return Params(k * ins[0][-1] // args["groups"] * args["filters"] + (args["filters"] if args["use_bias"] else 0))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        k = product(tuples(args, n, "kernel_size")[0])
        return k * ins[0][-1] // args["groups"] * args["filters"] * (product(out[:-1]) or 0)

    modes = ["valid", "same", "causal"] if n == 1 else ["valid", "same"]
    return LayerKind(
        name, "conv", f"{n}-D convolution over {ROLE[n]} (keras.layers.{name}).",
        (A.integer("filters", "Number of output channels.", required=True),) + _common(n, modes) + (
            A.ints("dilation_rate", n, "Spacing between kernel taps (atrous convolution).", 1),
            A.integer("groups", "Split input channels into this many groups (grouped convolution).", 1),
            A.activation(), A.use_bias()) + A.weight_args(),
        shape, _padded_build(name, n), params, macs, _conv_window(n), _check_groups, rank=n + 1)


# ---------------------------------------------------------------- transposed
def _transpose(n: int) -> LayerKind:
    name = f"Conv{n}DTranspose"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        expect_rank(name, ins[0], n)
        channels(name, ins[0])
        kernels, strides, dilations = tuples(args, n, "kernel_size", "strides", "dilation_rate")
        op = args.get("output_padding")
        ops = (None,) * n if op is None else tuples(args, n, "output_padding")[0]
        for o, s, d in zip(ops, strides, dilations):
            if o is not None and o >= max(s, d):
                raise LayerError(f"output_padding ({o}) must be smaller than the stride ({s}) or dilation ({d})",
                                 "lower output_padding", "output_padding")
        out = tuple(transpose_length(size, k, s, args["padding"], o, d) for size, k, s, o, d in
                    zip(ins[0][:-1], kernels, strides, ops, dilations))
        check_positive_output(name, out, ins[0][:-1], kernels, strides, None)
        return out + (args["filters"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        k = product(tuples(args, n, "kernel_size")[0])
        return Params(k * ins[0][-1] * args["filters"] + (args["filters"] if args["use_bias"] else 0))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        # Counted on the input grid: every input position scatters a K^n x C_out patch.
        k = product(tuples(args, n, "kernel_size")[0])
        return k * ins[0][-1] * args["filters"] * (product(ins[0][:-1]) or 0)

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        kernels, strides = tuples(args, n, "kernel_size", "strides")
        return Window(kernels, tuple(1 / s for s in strides), (0.0,) * n)

    return LayerKind(
        name, "conv", f"{n}-D transposed convolution (learned upsampling, keras.layers.{name}).",
        (A.integer("filters", "Number of output channels.", required=True),
         A.ints("kernel_size", n, "Size of the convolution window.", required=True),
         A.ints("strides", n, "Upsampling factor.", 1),
         A.padding_arg(n, ["valid", "same"], extended=False,
                       doc="Padding: 'valid' (output = input*stride + max(K - stride, 0)) or 'same' (output = "
                           "input*stride), as in Keras."),
         A.ints("output_padding", n, "Extra size added to one side of the output; must be < strides.",
                None, minimum=0, nullable=True),
         A.ints("dilation_rate", n, "Spacing between kernel taps.", 1),
         A.activation(), A.use_bias()) + A.weight_args(),
        shape, keras_layer(name), params, macs, win, _check_strides_dilation, rank=n + 1)


# ---------------------------------------------------------------- depthwise / separable
def _depthwise(n: int) -> LayerKind:
    name = f"DepthwiseConv{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        c = channels(name, ins[0])
        return _spatial_out(name, args, ins[0], n) + (c * args["depth_multiplier"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        k = product(tuples(args, n, "kernel_size")[0])
        c = ins[0][-1] * args["depth_multiplier"]
        return Params(k * c + (c if args["use_bias"] else 0))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return product(tuples(args, n, "kernel_size")[0]) * out[-1] * (product(out[:-1]) or 0)

    return LayerKind(
        name, "conv", f"{n}-D depthwise convolution: one filter per input channel (keras.layers.{name}).",
        (A.ints("kernel_size", n, "Size of the convolution window.", required=True),
         A.ints("strides", n, "Step of the window.", 1), A.padding_arg(n, ["valid", "same"]),
         A.with_keras(A.padding_mode(), False),
         A.integer("depth_multiplier", "Output channels per input channel.", 1),
         A.ints("dilation_rate", n, "Spacing between kernel taps.", 1),
         A.activation(), A.use_bias()) + A.weight_args("depthwise"),
        shape, _padded_build(name, n), params, macs, _conv_window(n), _check_strides_dilation, rank=n + 1)


def _separable(n: int) -> LayerKind:
    name = f"SeparableConv{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels(name, ins[0])
        return _spatial_out(name, args, ins[0], n) + (args["filters"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        k = product(tuples(args, n, "kernel_size")[0])
        mid = ins[0][-1] * args["depth_multiplier"]
        return Params(k * mid + mid * args["filters"] + (args["filters"] if args["use_bias"] else 0))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        k = product(tuples(args, n, "kernel_size")[0])
        mid = ins[0][-1] * args["depth_multiplier"]
        return (k * mid + mid * args["filters"]) * (product(out[:-1]) or 0)

    return LayerKind(
        name, "conv", f"{n}-D depthwise-separable convolution: depthwise then 1x1 (keras.layers.{name}).",
        (A.integer("filters", "Number of output channels.", required=True),
         A.ints("kernel_size", n, "Size of the depthwise window.", required=True),
         A.ints("strides", n, "Step of the window.", 1), A.padding_arg(n, ["valid", "same"]),
         A.with_keras(A.padding_mode(), False),
         A.integer("depth_multiplier", "Depthwise output channels per input channel.", 1),
         A.ints("dilation_rate", n, "Spacing between kernel taps.", 1),
         A.activation(), A.use_bias(), A.initializer("depthwise_initializer", "glorot_uniform"),
         A.initializer("pointwise_initializer", "glorot_uniform"), A.initializer("bias_initializer", "zeros")),
        shape, _padded_build(name, n), params, macs, _conv_window(n), _check_strides_dilation, rank=n + 1)


# ---------------------------------------------------------------- unshared and tiled (archspec layers)
def _locally_connected(n: int) -> LayerKind:
    name = f"LocallyConnected{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels(name, ins[0])
        out = _spatial_out(name, args, ins[0], n, dilation=False)
        if None in out:
            raise LayerError(f"{name} needs known spatial sizes (one kernel per output position)",
                             "give the input a fixed size")
        return out + (args["filters"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        k = product(tuples(args, n, "kernel_size")[0])
        positions = product(out[:-1])
        return Params(positions * (k * ins[0][-1] * args["filters"] + (args["filters"] if args["use_bias"] else 0)))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return product(tuples(args, n, "kernel_size")[0]) * ins[0][-1] * args["filters"] * product(out[:-1])

    return LayerKind(
        name, "conv", f"{n}-D unshared convolution: a separate kernel and bias at every output position "
        "(Keras 2's layer; an archspec layer in Keras 3).",
        (A.integer("filters", "Number of output channels.", required=True),) + _common(n, ["valid"]) + (
            A.activation(), A.use_bias()) + A.weight_args(),
        shape, _padded_build(name, n, own=True), params, macs, _conv_window(n, dilation=False),
        _check_strides_dilation, rank=n + 1)


def _tiled() -> LayerKind:
    name = "TiledConv2D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels(name, ins[0])
        return _spatial_out(name, args, ins[0], 2, dilation=False) + (args["filters"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        k = product(tuples(args, 2, "kernel_size")[0])
        t = product(tuples(args, 2, "tiles")[0])
        return Params(t * (k * ins[0][-1] * args["filters"] + (args["filters"] if args["use_bias"] else 0)))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return product(tuples(args, 2, "kernel_size")[0]) * ins[0][-1] * args["filters"] * (product(out[:-1]) or 0)

    return LayerKind(
        name, "conv", "Tiled convolution: tiles x tiles kernels (and biases) cycled over output positions "
        "(Goodfellow et al., Deep Learning, 9.5); an archspec layer.",
        (A.integer("filters", "Number of output channels.", required=True),
         A.ints("kernel_size", 2, "Size of the convolution window.", required=True),
         A.ints("tiles", 2, "How many kernels cycle along each axis (1 = ordinary convolution).", 2),
         A.ints("strides", 2, "Step of the window.", 1), A.padding_arg(2, ["valid", "same"]),
         A.with_keras(A.padding_mode(), False), A.activation(), A.use_bias()) + A.weight_args(),
        shape, _padded_build(name, 2, own=True), params, macs, _conv_window(2, dilation=False),
        _check_strides_dilation, rank=3)


register_kinds(*[_conv(n) for n in (1, 2, 3)], *[_transpose(n) for n in (1, 2, 3)],
         _depthwise(1), _depthwise(2), _separable(1), _separable(2),
         _locally_connected(1), _locally_connected(2), _tiled())

