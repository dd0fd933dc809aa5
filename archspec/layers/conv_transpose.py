"""Transposed convolutions (learned upsampling): Conv1DTranspose, Conv2DTranspose, Conv3DTranspose."""
from __future__ import annotations

from typing import Sequence

from archspec.layers import args as A
from archspec.layers.axes import EXAMPLE_SHAPES, axis_symbols
from archspec.layers.common import channels, check_positive_output, tuples
from archspec.layers.conv import UNLESS_ONEDNN, bias_term, check_strides_dilation, full_kernel, geometry
from archspec.layers.equations import Equation, Line, factor, per_axis
from archspec.layers.families import CONV
from archspec.layers.keras_builders import keras_layer
from archspec.layers.registry import (Args, Caveat, FieldRule, LayerError, LayerKind, Params, Shape, Window,
                                      register_kinds)
from archspec.layers.arithmetic import dilated, product, transpose_length


def _transpose(n: int) -> LayerKind:
    name = f"Conv{n}DTranspose"

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels(name, ins[0])
        kernels, strides, dilations = geometry(args, n)
        ops = _output_paddings(args, n)
        for o, s, d in zip(ops, strides, dilations):
            if o is not None and o >= max(s, d):
                raise LayerError(f"output_padding ({o}) must be smaller than the stride ({s}) or dilation ({d})",
                                 "lower output_padding", "output_padding")
        out = tuple(transpose_length(size, k, s, args["padding"], o, d) for size, k, s, o, d in
                    zip(ins[0][:-1], kernels, strides, ops, dilations))
        check_positive_output(name, out, ins[0][:-1], kernels, strides, None)
        return out + (args["filters"],)

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        return Params(full_kernel(args, ins, n).value + bias_term(args, "C_out", args["filters"])[0])

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        # Counted on the input grid: every input position scatters a K^n x C_out patch.
        return full_kernel(args, ins, n).value * (product(ins[0][:-1]) or 0)

    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        w, (_, b_sym, b_val) = full_kernel(args, ins, n), bias_term(args, "C_out", args["filters"])
        lines = _transpose_size_lines(args, ins[0], n)
        lines.append(Equation("params", w.symbols + b_sym, w.numbers + b_val, ("params",)))
        if None in ins[0]:
            return lines + ["MACs: unknown input size, not counted (summary shows ?)"]
        total = w.times(*(factor(a, size) for a, size in zip(axis_symbols(n), ins[0][:-1])))
        return lines + [Equation("MACs", total.symbols, total.numbers, ("macs",),
                                 "counted on the input grid: each input position scatters a kernel")]

    def win(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
        kernels, strides = tuples(args, n, "kernel_size", "strides")
        return Window(kernels, tuple(1 / s for s in strides), (0.0,) * n)

    return LayerKind(
        name, CONV, f"{n}-D transposed convolution (learned upsampling, keras.layers.{name}).",
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
        shape, keras_layer(name), params, macs, win, check_strides_dilation, rank=n + 1, explain=explain,
        field_rule=FieldRule.UPSAMPLE, caveats=_dilated_transpose_caveat,
        example=((EXAMPLE_SHAPES[n],), {"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"}))


def _output_paddings(args: Args, n: int) -> tuple:
    op = args.get("output_padding")
    return (None,) * n if op is None else tuples(args, n, "output_padding")[0]


def _transpose_size_lines(args: Args, in_shape: Shape, n: int) -> list[Line]:
    """A transposed convolution's output size per axis (Keras's rule, see ``transpose_length``)."""
    names, sizes = axis_symbols(n), in_shape[:-1]
    kernels, strides, dilations = geometry(args, n)
    ops = _output_paddings(args, n)
    known = [i for i, size in enumerate(sizes) if size is not None]
    lines: list[Line] = [f"{names[i]}' unknown: the input's {names[i]} is unknown" for i in range(n) if i not in known]
    rules = [_transpose_rule(names[i], sizes[i], dilated(kernels[i], dilations[i]), strides[i], ops[i],
                             args["padding"]) for i in known]
    notes = {note for _, _, note in rules}
    if len(notes) == 1:
        return lines + per_axis([f"{names[i]}'" for i in known], [g for g, _, _ in rules], [t for _, t, _ in rules],
                                "shape", notes.pop(), axes=known)
    return lines + [Equation(f"{names[i]}'", g, t, ("shape", (i,)), note) for i, (g, t, note) in zip(known, rules)]


def _transpose_rule(axis: str, size: int, k: int, s: int, op: int | None, padding: str) -> tuple[str, str, str]:
    """(general form, numbers, note) of a transposed convolution's output size on one axis.

    >>> _transpose_rule("H", 7, 3, 2, None, "valid")
    ('H*S + max(K - S, 0)', '7*2 + max(3 - 2, 0)', '')
    """
    if op is None and padding == "valid":
        return f"{axis}*S + max(K - S, 0)", f"{size}*{s} + max({k} - {s}, 0)", ""
    if op is None:
        return f"{axis}*S", f"{size}*{s}", "'same'"
    pad = k // 2 if padding == "same" else 0
    return (f"({axis} - 1)*S + K - 2P + output_padding", f"({size} - 1)*{s} + {k} - 2*{pad} + {op}",
            "P = floor(K/2) for 'same', 0 for 'valid'")


def _dilated_transpose_caveat(args: Args, ins: Sequence[Shape]) -> list[Caveat]:
    if max(tuples(args, 1, "dilation_rate")[0]) == 1:
        return []
    return [Caveat(f"Keras builds it, but TensorFlow's own CPU kernels do not run transposed convolutions with "
                   f"dilation_rate > 1 (received dilation_rate={args['dilation_rate']}), {UNLESS_ONEDNN}",
                   "use dilation_rate: 1 (the strides upsample), or UpSampling followed by a dilated convolution",
                   "dilation_rate")]


register_kinds(*[_transpose(n) for n in (1, 2, 3)])
