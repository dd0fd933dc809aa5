"""ConvLSTM1D/2D/3D: an LSTM whose four gates are convolutions (Shi et al. 2015).

Each step's frame [*spatial, C] goes through a convolution with the layer's kernel, strides,
padding and dilation, to 4*F channels; the previous state [*spatial', F] through a recurrent
convolution with the same kernel, stride 1 and 'same' padding (Keras's ConvLSTMCell). The MACs
are both convolutions' at every output position, at each of the T steps.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from archspec.layers import args as A
from archspec.layers.axes import EXAMPLE_SHAPES, axis_symbols
from archspec.layers.common import check_positive_output, tuples
from archspec.layers.equations import Equation, Line, Product, factor
from archspec.layers.families import RECURRENT
from archspec.layers.keras_builders import keras_layer
from archspec.layers.recurrent import check_states, recurrent_args, sequence_of, steps_output, with_initial_state
from archspec.layers.registry import Args, FieldRule, LayerError, LayerKind, Params, Shape, register_kinds
from archspec.layers.window_equations import kernel_factors, window_lines
from archspec.layers.arithmetic import product, window_length

GATES = 4
STATES = ("state_h", "state_c")


def geometry(args: Args, n: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Kernel, strides and dilations per axis of the input convolution."""
    kernels, strides, dilations = tuples(args, n, "kernel_size", "strides", "dilation_rate")
    return kernels, strides, dilations


def frame_output(name: str, args: Args, frame: Shape, n: int) -> Shape:
    """One step's output [*spatial', F]: the input convolution's output size per axis."""
    kernels, strides, dilations = geometry(args, n)
    spatial = frame[:-1]
    out = tuple(window_length(s, k, st, args["padding"], d) for s, k, st, d in zip(spatial, kernels, strides, dilations))
    check_positive_output(name, out, spatial, kernels, strides, None, dilations)
    return out + (args["filters"],)


def _weights(args: Args, n: int, c_in: int) -> Product:
    """K*(C_in + F)*4F: the input kernel (K*C_in x 4F) and the recurrent kernel (K*F x 4F)."""
    filters = args["filters"]
    return Product(kernel_factors(tuples(args, n, "kernel_size")[0])
                   + (factor("(C_in + F)", c_in + filters, f"({c_in} + {filters})"),
                      factor("4F", GATES * filters, f"4*{filters}")))


def _check(args: Args) -> list[LayerError]:
    strides, dilations = (max(v if isinstance(v, list) else [v]) for v in (args["strides"], args["dilation_rate"]))
    if strides > 1 and dilations > 1:
        return [LayerError(f"strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it; received "
                           f"strides={args['strides']}, dilation_rate={args['dilation_rate']})",
                           "use strides: 1 with the dilation", "strides")]
    return []


def _offset_keys(lines: list[Line], steps: bool) -> list[Line]:
    """The frame's equations, keyed to the output's axes (after T with return_sequences); the
    'same' padding amounts are the input convolution's, not a window of the field pass."""
    shifted: list[Line] = []
    for line in lines:
        if isinstance(line, Equation) and line.key and line.key[0] == "shape":
            line = replace(line, key=("shape", tuple(a + steps for a in line.key[1])))
        elif isinstance(line, Equation) and line.key:
            line = replace(line, key=())
        shifted.append(line)
    return shifted


def _conv_lstm(n: int) -> LayerKind:
    name = f"ConvLSTM{n}D"

    def state_shapes(args: Args, ins: Sequence[Shape]) -> tuple[tuple[str, Shape], ...]:
        frame = frame_output(name, args, ins[0][1:], n)
        return tuple((state, frame) for state in STATES)

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        seq = sequence_of(name, ins, n + 2)
        check_states(name, ins, state_shapes(args, ins))
        return steps_output(args, seq[0], frame_output(name, args, seq[1:], n))

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        return Params(_weights(args, n, ins[0][-1]).value + (GATES * args["filters"] if args["use_bias"] else 0))

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        frame = frame_output(name, args, ins[0][1:], n)
        return _weights(args, n, ins[0][-1]).value * product(frame[:-1]) * ins[0][0]

    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        w, filters = _weights(args, n, ins[0][-1]), args["filters"]
        bias = (" + 4F", f" + 4*{filters}") if args["use_bias"] else ("", "")
        lines = _offset_keys(window_lines(args, ins[0][1:], *geometry(args, n)), args["return_sequences"])
        lines.append(Equation("params", w.symbols + bias[0], w.numbers + bias[1], ("params",),
                              "4 gates, each an input kernel K*C_in x F and a recurrent kernel K*F x F"))
        frame = frame_output(name, args, ins[0][1:], n)
        if None in frame or ins[0][0] is None:
            return lines + ["MACs: unknown output size or number of steps, not counted (summary shows ?)"]
        positions = Product(tuple(factor(f"{a}'", s) for a, s in zip(axis_symbols(n), frame[:-1])))
        total = Product((factor("T", ins[0][0]),) + w.factors + positions.factors)
        return lines + [Equation("MACs", total.symbols, total.numbers, ("macs",),
                                 "per step, the input and the recurrent ('same', stride 1) convolutions at every "
                                 "output position")]

    def extra_outputs(args: Args, ins: Sequence[Shape], out: Shape) -> tuple[tuple[str, Shape], ...]:
        return state_shapes(args, ins) if args["return_state"] else ()

    return LayerKind(
        name, RECURRENT, f"Convolutional LSTM over a sequence of {n}-D frames [T, {'..., ' if n > 1 else ''}C] "
        f"(Shi et al. 2015; keras.layers.{name}): the gates are convolutions.",
        (A.integer("filters", "Number of output channels (the state's channels).", required=True),
         A.ints("kernel_size", n, "Size of the convolution window (input and recurrent).", required=True),
         A.ints("strides", n, "Step of the input convolution's window.", 1),
         A.choice("padding", ["valid", "same"], "Padding of the input convolution ('same': output = "
                  "ceil(input/stride)); the recurrent one is always 'same'.", "valid"),
         A.ints("dilation_rate", n, "Spacing between the input kernel's taps.", 1))
        + recurrent_args() + (A.boolean("unit_forget_bias", "Start the forget gate's bias at 1.", True),),
        shape, with_initial_state(keras_layer()), params, macs, check=_check, rank=None, explain=explain,
        field_rule=FieldRule.WHOLE, inputs=(1, 1 + len(STATES)),
        example=(((10,) + EXAMPLE_SHAPES[n][:-1] + (4,),), {"filters": 8, "kernel_size": 3}),
        extra_outputs=extra_outputs)


register_kinds(*[_conv_lstm(n) for n in (1, 2, 3)])
