"""Sequence layers: Embedding, and the recurrent SimpleRNN, LSTM and GRU.

A recurrent layer reads a sequence [T, C] one step at a time. At each step every gate
multiplies the step's input by its kernel (C x U) and the previous state by its recurrent
kernel (U x U); those products are what the MACs count (gates*U*(C + U) per step, times T
steps), not the bias adds and not the element-wise gate products. The layers read their
initial states from extra inputs (``inputs: [x, enc:state_h, enc:state_c]``), which the Keras
builder passes as ``initial_state=``. ConvLSTM (``conv_recurrent``) and the Bidirectional and
TimeDistributed wrappers (``wrappers``) reuse these rules.
"""
from __future__ import annotations

from typing import Any, Sequence

from archspec.layers import args as A
from archspec.layers.equations import Equation, Line, Product, factor
from archspec.layers.families import RECURRENT
from archspec.layers.keras_builders import keras_layer
from archspec.layers.registry import Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, register_kinds
from archspec.layers.arithmetic import fmt_shape

SEQUENCE = (100, 16)  # what the records' examples take: 100 steps of 16 features
MACS_CONVENTION = ("per step, each gate's kernel and recurrent kernel products, gates*U*(C + U) "
                   "multiply-accumulates; bias adds and element-wise gate products not counted")


# ---------------------------------------------------------------- arguments
def recurrent_args(activation_default: str = "tanh", gated: bool = True) -> tuple[Arg, ...]:
    """The arguments every Keras recurrent layer takes (LSTM's and GRU's gates: ``gated``)."""
    gate = (A.choice("recurrent_activation", A.ACTIVATIONS, "Activation of the gates.", "sigmoid"),) if gated else ()
    return (Arg("activation", {"enum": A.ACTIVATIONS + [None]}, "the name of a Keras activation or null",
                "Activation of the candidate state and output; null = linear.", activation_default),) + gate + (
        A.use_bias(), A.initializer("kernel_initializer", "glorot_uniform"),
        A.initializer("recurrent_initializer", "orthogonal"), A.initializer("bias_initializer", "zeros"),
        A.regularizer("kernel_regularizer"), A.regularizer("recurrent_regularizer"), A.regularizer("bias_regularizer"),
        A.number("dropout", "Fraction of the inputs dropped while training.", 0.0, minimum=0, maximum=1,
                 exclusive_max=True),
        A.number("recurrent_dropout", "Fraction of the recurrent state dropped while training.", 0.0, minimum=0,
                 maximum=1, exclusive_max=True),
        A.seed(),
        A.boolean("return_sequences", "Output every step's state [T, U], not only the last one [U].", False),
        A.boolean("return_state", "Also output the final state(s), as extra outputs (layer:state...).", False),
        A.boolean("go_backwards", "Read the sequence from its last step to its first.", False))


# ---------------------------------------------------------------- shapes
def sequence_of(kind: str, ins: Sequence[Shape], rank: int = 2) -> Shape:
    """The sequence input, once its rank is checked ([T, C] for rank 2)."""
    shape = ins[0]
    if len(shape) != rank:
        layout = "[T, C] (a sequence of vectors)" if rank == 2 else f"[T, {rank - 2} spatial axes, C]"
        raise LayerError(f"{kind} expects a {rank}-D input {layout} but receives {len(shape)}-D {fmt_shape(shape)}",
                         "use Reshape to [T, C], TimeDistributed (e.g. of Flatten) per step, or ConvLSTM2D for "
                         "a sequence of images" if rank == 2 else "give each step the layer's spatial rank")
    if shape[-1] is None:
        raise LayerError(f"{kind} needs a known number of features; the input is {fmt_shape(shape)}",
                         "give the last axis a size")
    return shape


def check_states(kind: str, ins: Sequence[Shape], states: Sequence[tuple[str, Shape]]) -> None:
    """Extra inputs are the initial states: none, or one of each state's shape, in order."""
    given = ins[1:]
    if not given:
        return
    names = ", ".join(name for name, _ in states)
    if len(given) != len(states):
        raise LayerError(f"{kind} takes its sequence and then {len(states)} initial state(s) ({names}) but receives "
                         f"{len(given)} state input(s)", f"list the sequence first, then {names}")
    for (name, want), got in zip(states, given):
        if tuple(got) != tuple(want):
            raise LayerError(f"{kind}'s initial {name} must be {fmt_shape(want)} but receives {fmt_shape(got)}",
                             "the states come from a layer with the same units (return_state: true)")


def steps_output(args: Args, steps: Any, frame: Shape) -> Shape:
    """[T, ...frame] with return_sequences, else the last step's frame."""
    return (steps,) + tuple(frame) if args["return_sequences"] else tuple(frame)


# ---------------------------------------------------------------- SimpleRNN, LSTM, GRU
def _weights(gates: int, args: Args, c_in: int) -> Product:
    """g*U*(C + U): each gate's kernel (C x U) and recurrent kernel (U x U)."""
    units = args["units"]
    return Product((factor("g", gates), factor("U", units), factor("(C + U)", c_in + units, f"({c_in} + {units})")))


def _bias(gates: int, args: Args) -> tuple[int, str, str]:
    """The bias weights, and how params prints them: GRU's reset_after keeps two (input and recurrent)."""
    if not args["use_bias"]:
        return 0, "", ""
    units = args["units"]
    if args.get("reset_after"):
        return 2 * gates * units, " + 2*g*U", f" + 2*{gates}*{units}"
    return gates * units, " + g*U", f" + {gates}*{units}"


def _weights_note(gates: int, args: Args) -> str:
    gate_words = f"{gates} gates, each" if gates > 1 else "one"
    bias = "; reset_after: an input and a recurrent bias" if args.get("reset_after") and args["use_bias"] else ""
    return f"g = {gate_words} a kernel C x U and a recurrent kernel U x U{bias}"


def _rnn(name: str, gates: int, states: tuple[str, ...], doc: str, extra: tuple[Arg, ...] = ()) -> LayerKind:
    def state_shapes(args: Args) -> tuple[tuple[str, Shape], ...]:
        return tuple((state, (args["units"],)) for state in states)

    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        steps, _ = sequence_of(name, ins)
        check_states(name, ins, state_shapes(args))
        return steps_output(args, steps, (args["units"],))

    def params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
        return Params(_weights(gates, args, ins[0][-1]).value + _bias(gates, args)[0])

    def macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
        return _weights(gates, args, ins[0][-1]).value * ins[0][0]

    def explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
        w, (_, b_sym, b_val) = _weights(gates, args, ins[0][-1]), _bias(gates, args)
        lines: list[Line] = [Equation("params", w.symbols + b_sym, w.numbers + b_val, ("params",),
                                      _weights_note(gates, args))]
        steps = ins[0][0]
        if steps is None:
            return lines + ["MACs: g*U*(C + U) per step; the number of steps T is unknown, so not counted "
                            "(summary shows ?)"]
        return lines + [Equation("MACs", f"T*{w.symbols}", f"{steps}*{w.numbers}", ("macs",), MACS_CONVENTION)]

    def extra_outputs(args: Args, ins: Sequence[Shape], out: Shape) -> tuple[tuple[str, Shape], ...]:
        return state_shapes(args) if args["return_state"] else ()

    return LayerKind(
        name, RECURRENT, doc,
        (A.integer("units", "Size of the state (and of each step's output).", required=True),)
        + recurrent_args(gated=gates > 1) + extra,
        shape, with_initial_state(keras_layer()), params, macs, explain=explain, field_rule=FieldRule.WHOLE,
        inputs=(1, 1 + len(states)), example=((SEQUENCE,), {"units": 32}), extra_outputs=extra_outputs)


def with_initial_state(base: Any) -> Any:
    """A recurrent builder: the Keras layer, called on the sequence with the extra inputs (if
    any) as ``initial_state=``. The model builder hands a kind with several inputs their list."""

    def build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
        layer = base(kind, args, name, ins)[0]
        return [CalledWithStates(layer)]

    return build


class CalledWithStates:
    """Calls a recurrent Keras layer on [sequence, state, ...]: the states as initial_state."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def __call__(self, inputs: Any) -> Any:
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return self.layer(tensors[0], initial_state=tensors[1:] or None)


# ---------------------------------------------------------------- Embedding
def _embedding_table(args: Args) -> Product:
    return Product((factor("V", args["input_dim"]), factor("D", args["output_dim"])))


def _embedding_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    table = _embedding_table(args)
    return [Equation("params", table.symbols, table.numbers, ("params",), "one vector of D values per id"),
            "MACs: none counted (a table lookup per id)"]


EMBEDDING_INITIALIZERS = ["uniform"] + A.INITIALIZERS
register_kinds(
    LayerKind("Embedding", RECURRENT, "Maps integer ids in [0, input_dim) to learned vectors (keras.layers.Embedding); "
              "the input holds ids, the output appends an axis of output_dim.",
              (A.integer("input_dim", "Number of distinct ids (vocabulary size); ids are 0..input_dim-1.",
                         required=True),
               A.integer("output_dim", "Size of each id's vector.", required=True),
               A.choice("embeddings_initializer", EMBEDDING_INITIALIZERS, "Keras initializer for the table.",
                        "uniform"),
               A.regularizer("embeddings_regularizer"),
               A.boolean("mask_zero", "Id 0 is padding: later layers (RNNs) skip those steps.", False)),
              lambda args, ins: tuple(ins[0]) + (args["output_dim"],), keras_layer(),
              lambda args, ins, out: Params(_embedding_table(args).value), explain=_embedding_explain,
              example=(((100,),), {"input_dim": 10000, "output_dim": 64})),
    _rnn("SimpleRNN", 1, ("state",), "Fully connected recurrent layer: h_t = activation(x_t W + h_(t-1) R + b) "
         "(keras.layers.SimpleRNN)."),
    _rnn("LSTM", 4, ("state_h", "state_c"), "Long short-term memory (Hochreiter & Schmidhuber 1997; "
         "keras.layers.LSTM): input, forget, cell and output gates.",
         (A.boolean("unit_forget_bias", "Start the forget gate's bias at 1 (Jozefowicz et al. 2015).", True),)),
    _rnn("GRU", 3, ("state",), "Gated recurrent unit (Cho et al. 2014; keras.layers.GRU): update, reset and "
         "candidate gates.",
         (A.boolean("reset_after", "Apply the reset gate after the recurrent product (Keras 3's default, "
                    "CuDNN-compatible: two biases per gate).", True),)),
)

__all__ = ["recurrent_args", "sequence_of", "check_states", "steps_output", "with_initial_state",
           "CalledWithStates", "MACS_CONVENTION"]
