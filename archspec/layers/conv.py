"""Convolutions: Conv1D/2D/3D, depthwise, separable, unshared and tiled (transposes: conv_transpose),
and the rules they share with the transposed convolutions."""
from __future__ import annotations

from typing import Callable, Sequence

from archspec.layers import args as A
from archspec.layers.keras_builders import archspec_layer, keras_layer, with_padding
from archspec.layers.axes import EXAMPLE_SHAPES
from archspec.layers.common import (channels, check_padding_mode, check_positive_output, explicit_pads,
                                    keras_padding, padded, tuples, window)
from archspec.layers.equations import Equation, Line, Product, factor
from archspec.layers.families import CONV
from archspec.layers.registry import (Args, Caveat, FieldRule, LayerError, LayerKind, Params, Shape, Window,
                                      register_kinds)
from archspec.layers.window_equations import UNKNOWN_MACS, kernel_factors, macs_line, output_factors, window_lines
from archspec.layers.arithmetic import product, window_length

ROLE = {1: "sequences [T, C]", 2: "images [H, W, C]", 3: "volumes [D, H, W, C]"}


# ---------------------------------------------------------------- shared rules
def geometry(args: Args, n: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Kernel, strides and dilations per axis (no dilation for kinds without dilation_rate)."""
    kernels, strides = tuples(args, n, "kernel_size", "strides")
    return kernels, strides, tuples(args, n, "dilation_rate")[0] if "dilation_rate" in args else (1,) * n


def _spatial_out(kind: str, args: Args, shape: Shape, n: int) -> tuple:
    """Output spatial sizes of a convolution, with explicit/full/mode padding applied first."""
    kernels, strides, dilations = geometry(args, n)
    spatial = shape[:-1]
    pads = explicit_pads(args, spatial, kernels, strides, dilations)
    mode = keras_padding(args, pads)
    out = tuple(window_length(s, k, st, mode, d) for s, k, st, d in
                zip(padded(spatial, pads), kernels, strides, dilations))
    check_positive_output(kind, out, spatial, kernels, strides, pads, dilations)
    return out


def _conv_window(n: int):
    def rule(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        return window(args, ins[0][:-1], *geometry(args, n))
    return rule


def _kernel(args: Args, n: int) -> tuple:
    return kernel_factors(tuples(args, n, "kernel_size")[0])


def full_kernel(args: Args, ins: Sequence[Shape], n: int) -> Product:
    """K*C_in*C_out: a kernel connecting every input channel to every output channel."""
    return Product(_kernel(args, n) + (factor("C_in", ins[0][-1]), factor("C_out", args["filters"])))


def bias_term(args: Args, symbol: str, value: int, shown: str | None = None) -> tuple[int, str, str]:
    """The bias's weights and how a params equation prints them: (32, ' + C_out', ' + 32'), or none."""
    if not args.get("use_bias", True):
        return 0, "", ""
    return value, f" + {symbol}", f" + {shown or value}"


def _explained(n: int, weight_lines: Callable[[Args, Sequence[Shape], Shape], list[Line]]):
    """An explain rule: the output size per axis, then the kind's params and MACs equations."""
    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        return window_lines(args, ins[0], *geometry(args, n)) + weight_lines(args, ins, out)
    return explain


def check_strides_dilation(args: Args) -> list[LayerError]:
    errors = []
    strides, dilation = args.get("strides", 1), args.get("dilation_rate", 1)
    if max(strides if isinstance(strides, list) else [strides]) > 1 and \
            max(dilation if isinstance(dilation, list) else [dilation]) > 1:
        errors.append(LayerError(f"strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it; "
                                 f"received strides={strides}, dilation_rate={dilation})",
                                 "use strides: 1 with the dilation, or a separate pooling layer", "strides"))
    return errors + check_padding_mode(args)


def _check_groups(args: Args) -> list[LayerError]:
    errors = check_strides_dilation(args)
    if args["filters"] % args.get("groups", 1):
        errors.append(LayerError(f"filters ({args['filters']}) must be divisible by groups ({args['groups']})",
                                 "change filters or groups", "groups"))
    return errors


# Keras builds the settings these caveats name (here and in conv_transpose), and oneDNN runs
# them, but TensorFlow's own kernels refuse them.
UNLESS_ONEDNN = ("so the first step fails unless oneDNN replaces that kernel (on by default in TensorFlow's "
                 "Linux x86 builds, off with TF_ENABLE_ONEDNN_OPTS=0)")


def _unequal_strides_caveat(args: Args, ins: Sequence[Shape]) -> list[Caveat]:
    """TensorFlow's depthwise kernel takes equal row and column strides only; Keras goes around it
    (a stride-1 convolution, then subsampling) only when some dilation is > 1 as well."""
    strides, dilations = tuples(args, 1, "strides", "dilation_rate")
    if len(set(strides)) == 1 or max(dilations) > 1:
        return []
    return [Caveat(f"Keras builds it, but TensorFlow's own depthwise kernel runs only equal strides on rows and "
                   f"columns (received strides={list(strides)}), {UNLESS_ONEDNN}",
                   f"use equal strides, or strides: 1 followed by a pooling with strides {list(strides)}", "strides")]


def _padded_build(class_name: str, n: int, own: bool = False):
    """Builder: our padding layer (if any), then the Keras (or archspec) convolution."""
    base = archspec_layer(class_name) if own else keras_layer(class_name)

    return with_padding(base, lambda args: geometry(args, n))


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

    def weights(args: Args, ins: Sequence[Shape]) -> Product:
        c_in, groups = ins[0][-1], args["groups"]
        per_group = factor("C_in", c_in) if groups == 1 else factor("(C_in/g)", c_in // groups, f"({c_in}/{groups})")
        return Product(_kernel(args, n) + (per_group, factor("C_out", args["filters"])))

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        return Params(weights(args, ins).value + bias_term(args, "C_out", args["filters"])[0])

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return weights(args, ins).value * (product(out[:-1]) or 0)

    def weight_lines(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        w, (_, b_sym, b_val) = weights(args, ins), bias_term(args, "C_out", args["filters"])
        return [Equation("params", w.symbols + b_sym, w.numbers + b_val, ("params",)), macs_line(w, out)]

    modes = ["valid", "same", "causal"] if n == 1 else ["valid", "same"]
    return LayerKind(
        name, CONV, f"{n}-D convolution over {ROLE[n]} (keras.layers.{name}).",
        (A.integer("filters", "Number of output channels.", required=True),) + _common(n, modes) + (
            A.ints("dilation_rate", n, "Spacing between kernel taps (atrous convolution).", 1),
            A.integer("groups", "Split input channels into this many groups (grouped convolution).", 1),
            A.activation(), A.use_bias()) + A.weight_args(),
        shape, _padded_build(name, n), params, macs, _conv_window(n), _check_groups, rank=n + 1,
        explain=_explained(n, weight_lines), field_rule=FieldRule.WINDOW,
        example=((EXAMPLE_SHAPES[n],), {"filters": 32, "kernel_size": 3}))


# ---------------------------------------------------------------- depthwise / separable
def _depthwise(n: int) -> LayerKind:
    name = f"DepthwiseConv{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        c = channels(name, ins[0])
        return _spatial_out(name, args, ins[0], n) + (c * args["depth_multiplier"],)

    def weights(args: Args, ins: Sequence[Shape]) -> Product:
        return Product(_kernel(args, n) + (factor("C_in", ins[0][-1]), factor("M", args["depth_multiplier"])))

    def bias(args: Args, ins: Sequence[Shape]) -> tuple[int, str, str]:
        c_in, m = ins[0][-1], args["depth_multiplier"]
        return bias_term(args, "C_in*M", c_in * m, f"{c_in}*{m}")

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        return Params(weights(args, ins).value + bias(args, ins)[0])

    def taps(args: Args, out: Shape) -> Product:  # per output position: one tap of each output channel
        return Product(_kernel(args, n) + (factor("C_out", out[-1]),))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return taps(args, out).value * (product(out[:-1]) or 0)

    def weight_lines(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        w, (_, b_sym, b_val) = weights(args, ins), bias(args, ins)
        return [Equation("params", w.symbols + b_sym, w.numbers + b_val, ("params",),
                         "one filter per input channel, M = depth_multiplier"),
                macs_line(taps(args, out), out)]

    return LayerKind(
        name, CONV, f"{n}-D depthwise convolution: one filter per input channel (keras.layers.{name}).",
        (A.ints("kernel_size", n, "Size of the convolution window.", required=True),
         A.ints("strides", n, "Step of the window.", 1), A.padding_arg(n, ["valid", "same"]),
         A.with_keras(A.padding_mode(), False),
         A.integer("depth_multiplier", "Output channels per input channel.", 1),
         A.ints("dilation_rate", n, "Spacing between kernel taps.", 1),
         A.activation(), A.use_bias()) + A.weight_args("depthwise"),
        shape, _padded_build(name, n), params, macs, _conv_window(n), rank=n + 1,  # Keras takes strides and dilation
        explain=_explained(n, weight_lines), field_rule=FieldRule.WINDOW, caveats=_unequal_strides_caveat,
        example=((EXAMPLE_SHAPES[n],), {"kernel_size": 3}))


def _separable(n: int) -> LayerKind:
    name = f"SeparableConv{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels(name, ins[0])
        return _spatial_out(name, args, ins[0], n) + (args["filters"],)

    def stages(args: Args, ins: Sequence[Shape]) -> tuple[Product, Product]:
        """The depthwise weights, then the 1x1 (pointwise) ones."""
        mid = (factor("C_in", ins[0][-1]), factor("M", args["depth_multiplier"]))
        return Product(_kernel(args, n) + mid), Product(mid + (factor("C_out", args["filters"]),))

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        depthwise, pointwise = stages(args, ins)
        return Params(depthwise.value + pointwise.value + bias_term(args, "C_out", args["filters"])[0])

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        depthwise, pointwise = stages(args, ins)
        return (depthwise.value + pointwise.value) * (product(out[:-1]) or 0)

    def weight_lines(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        (dw, pw), (_, b_sym, b_val) = stages(args, ins), bias_term(args, "C_out", args["filters"])
        lines: list[Line] = [Equation("params", f"{dw.symbols} + {pw.symbols}{b_sym}",
                                      f"{dw.numbers} + {pw.numbers}{b_val}", ("params",),
                                      "depthwise, then a 1x1 convolution")]
        if None in out:
            return lines + [UNKNOWN_MACS]
        positions = Product(output_factors(out))
        return lines + [Equation("MACs", f"({dw.symbols} + {pw.symbols})*{positions.symbols}",
                                 f"({dw.numbers} + {pw.numbers})*{positions.numbers}", ("macs",))]

    return LayerKind(
        name, CONV, f"{n}-D depthwise-separable convolution: depthwise then 1x1 (keras.layers.{name}).",
        (A.integer("filters", "Number of output channels.", required=True),
         A.ints("kernel_size", n, "Size of the depthwise window.", required=True),
         A.ints("strides", n, "Step of the window.", 1), A.padding_arg(n, ["valid", "same"]),
         A.with_keras(A.padding_mode(), False),
         A.integer("depth_multiplier", "Depthwise output channels per input channel.", 1),
         A.ints("dilation_rate", n, "Spacing between kernel taps.", 1),
         A.activation(), A.use_bias(), A.initializer("depthwise_initializer", "glorot_uniform"),
         A.initializer("pointwise_initializer", "glorot_uniform"), A.initializer("bias_initializer", "zeros")),
        shape, _padded_build(name, n), params, macs, _conv_window(n), rank=n + 1,  # Keras takes strides and dilation
        explain=_explained(n, weight_lines), field_rule=FieldRule.WINDOW, caveats=_unequal_strides_caveat,
        example=((EXAMPLE_SHAPES[n],), {"filters": 32, "kernel_size": 3}))


# ---------------------------------------------------------------- unshared and tiled (archspec layers)
def _locally_connected(n: int) -> LayerKind:
    name = f"LocallyConnected{n}D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels(name, ins[0])
        out = _spatial_out(name, args, ins[0], n)
        if None in out:
            raise LayerError(f"{name} needs known spatial sizes (one kernel per output position)",
                             "give the input a fixed size")
        return out + (args["filters"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        kernel = full_kernel(args, ins, n).value + bias_term(args, "C_out", args["filters"])[0]
        return Params(product(out[:-1]) * kernel)

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return full_kernel(args, ins, n).value * product(out[:-1])

    def weight_lines(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        w, (_, b_sym, b_val), positions = full_kernel(args, ins, n), bias_term(args, "C_out", args["filters"]), \
            Product(output_factors(out))
        return [Equation("params", f"{positions.symbols}*({w.symbols}{b_sym})", f"{positions.numbers}*({w.numbers}"
                         f"{b_val})", ("params",), "a separate kernel and bias at every output position"),
                macs_line(w, out)]

    return LayerKind(
        name, CONV, f"{n}-D unshared convolution: a separate kernel and bias at every output position "
        "(Keras 2's layer; an archspec layer in Keras 3).",
        (A.integer("filters", "Number of output channels.", required=True),) + _common(n, ["valid"]) + (
            A.activation(), A.use_bias()) + A.weight_args(),
        shape, _padded_build(name, n, own=True), params, macs, _conv_window(n), check_strides_dilation,
        rank=n + 1, explain=_explained(n, weight_lines), field_rule=FieldRule.WINDOW,
        example=((EXAMPLE_SHAPES[n],), {"filters": 8, "kernel_size": 3}))


def _tiled() -> LayerKind:
    name = "TiledConv2D"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels(name, ins[0])
        return _spatial_out(name, args, ins[0], 2) + (args["filters"],)

    def tiles(args: Args) -> Product:
        return Product(tuple(factor(f"t_{a}", t) for a, t in zip("hw", tuples(args, 2, "tiles")[0])))

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        kernel = full_kernel(args, ins, 2).value + bias_term(args, "C_out", args["filters"])[0]
        return Params(tiles(args).value * kernel)

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return full_kernel(args, ins, 2).value * (product(out[:-1]) or 0)

    def weight_lines(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        w, (_, b_sym, b_val), t = full_kernel(args, ins, 2), bias_term(args, "C_out", args["filters"]), tiles(args)
        return [Equation("params", f"{t.symbols}*({w.symbols}{b_sym})", f"{t.numbers}*({w.numbers}{b_val})",
                         ("params",), "t_h x t_w kernels cycled over the output positions"), macs_line(w, out)]

    return LayerKind(
        name, CONV, "Tiled convolution: tiles x tiles kernels (and biases) cycled over output positions "
        "(Goodfellow et al., Deep Learning, 9.5); an archspec layer.",
        (A.integer("filters", "Number of output channels.", required=True),
         A.ints("kernel_size", 2, "Size of the convolution window.", required=True),
         A.ints("tiles", 2, "How many kernels cycle along each axis (1 = ordinary convolution).", 2),
         A.ints("strides", 2, "Step of the window.", 1), A.padding_arg(2, ["valid", "same"]),
         A.with_keras(A.padding_mode(), False), A.activation(), A.use_bias()) + A.weight_args(),
        shape, _padded_build(name, 2, own=True), params, macs, _conv_window(2), check_strides_dilation, rank=3,
        explain=_explained(2, weight_lines), field_rule=FieldRule.WINDOW,
        example=((EXAMPLE_SHAPES[2],), {"filters": 8, "kernel_size": 3}))


register_kinds(*[_conv(n) for n in (1, 2, 3)],
         _depthwise(1), _depthwise(2), _separable(1), _separable(2),
         _locally_connected(1), _locally_connected(2), _tiled())

