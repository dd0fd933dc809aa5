"""Wrappers: Bidirectional (a recurrent layer read both ways) and TimeDistributed (any layer
applied to every step). Their ``layer`` argument holds one layer entry written as in a spec,
``{LSTM: {units: 32}}``; every rule of the wrapper is derived from the wrapped kind's record.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from archspec.layers import args as A
from archspec.layers.equations import Equation, Line
from archspec.layers.families import RECURRENT
from archspec.layers.keras_builders import keras_kwargs, keras_layer
from archspec.layers.recurrent import SEQUENCE, CalledWithStates, check_states
from archspec.layers.registry import (KINDS, Arg, Args, FieldRule, LayerError, LayerKind, Params, Shape, Window,
                                      register_kinds)
from archspec.layers.arithmetic import fmt_shape

ENTRY_SCHEMA = {"oneOf": [{"type": "string"},
                          {"type": "object", "minProperties": 1, "maxProperties": 1,
                           "additionalProperties": {"type": ["object", "null"]}}]}


def layer_arg(doc: str) -> Arg:
    return Arg("layer", ENTRY_SCHEMA, "one layer entry: a kind's name, or {Kind: {arguments}}", doc,
               None, True, False, True)


def entry_parts(value: Any) -> tuple[str, dict]:
    """The kind's name and given arguments of an entry: ``LSTM`` or ``{LSTM: {units: 8}}``.

    >>> entry_parts("Flatten"), entry_parts({"LSTM": {"units": 8}}), entry_parts({"ReLU": None})
    (('Flatten', {}), ('LSTM', {'units': 8}), ('ReLU', {}))
    """
    if isinstance(value, str):
        return value, {}
    (name, given), = value.items()
    return name, dict(given or {})


def inner(args: Args) -> tuple[LayerKind, dict]:
    """The wrapped kind and its arguments with defaults filled (validation checked them)."""
    name, given = entry_parts(args["layer"])
    kind = KINDS[name]
    return kind, kind.with_defaults(given)


def _inner_rules(args: Args, ins: Sequence[Shape]) -> tuple[LayerKind, dict, Shape]:
    """The wrapped kind, its arguments and its output on ``ins``; its errors blame ``layer``."""
    kind, inner_args = inner(args)
    try:
        return kind, inner_args, kind.output_shape(inner_args, ins)
    except LayerError as exc:
        raise LayerError(f"the wrapped {kind.name}: {exc.message}", exc.hint, "layer") from None


def _unkeyed(lines: list[Line], keep: tuple[str, ...] = (), shift: int = 0) -> list[Line]:
    """The wrapped kind's explanation, its equations keyed to this layer's numbers only where they
    are the same (``keep``; per-axis shapes moved ``shift`` axes on), the others left unkeyed."""
    out: list[Line] = []
    for line in lines:
        if isinstance(line, Equation) and line.key:
            if line.key[0] == "shape" and "shape" in keep:
                line = replace(line, key=("shape", tuple(a + shift for a in line.key[1])))
            elif line.key[0] not in keep:
                line = replace(line, key=(), lhs=f"{line.lhs} per step" if line.key[0] == "macs" else line.lhs)
        out.append(line)
    return out


def _wrapped_keras_layer(built: Any) -> Any:
    """The Keras layer a builder made (a recurrent layer comes inside its states caller)."""
    return built.layer if isinstance(built, CalledWithStates) else built


# ---------------------------------------------------------------- Bidirectional
MERGE_MODES = ["concat", "sum", "mul", "ave", None]


def _directions(args: Args, ins: Sequence[Shape]) -> tuple[LayerKind, dict, Shape]:
    """The wrapped kind, its arguments and one direction's output (on the sequence alone)."""
    return _inner_rules(args, ins[:1])


def _states(kind: LayerKind, inner_args: dict, ins: Sequence[Shape], out: Shape) -> list[tuple[str, Shape]]:
    """Each direction's final states, forward first (the order Keras returns and takes them)."""
    states = kind.extra_outputs({**inner_args, "return_state": True}, ins[:1], out)
    return [(f"{way}_{name}", shape) for way in ("forward", "backward") for name, shape in states]


def _bidirectional_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    kind, inner_args, out = _directions(args, ins)
    check_states("Bidirectional", ins, _states(kind, inner_args, ins, out))
    if args["merge_mode"] == "concat":
        return out[:-1] + (2 * out[-1],)
    return out


def _bidirectional_extra(args: Args, ins: Sequence[Shape], merged: Shape) -> tuple[tuple[str, Shape], ...]:
    kind, inner_args, out = _directions(args, ins)
    backward = (("backward", out),) if args["merge_mode"] is None else ()
    return backward + (tuple(_states(kind, inner_args, ins, out)) if inner_args["return_state"] else ())


def _bidirectional_params(args: Args, ins: Sequence[Shape], merged: Shape) -> Params:
    kind, inner_args, out = _directions(args, ins)
    one = kind.params(inner_args, ins[:1], out)
    return one + one


def _bidirectional_macs(args: Args, ins: Sequence[Shape], merged: Shape) -> int:
    kind, inner_args, out = _directions(args, ins)
    return 2 * kind.macs(inner_args, ins[:1], out)


def _bidirectional_explain(args: Args, ins: Sequence[Shape], merged: Shape) -> list[Line]:
    kind, inner_args, out = _directions(args, ins)
    one, macs = kind.params(inner_args, ins[:1], out), kind.macs(inner_args, ins[:1], out)
    lines: list[Line] = [f"each direction: {kind.name} {fmt_shape(ins[0])} -> {fmt_shape(out)}"]
    lines += [f"  {line.render() if isinstance(line, Equation) else line}"
              for line in kind.explain(inner_args, ins[:1], out)]
    lines.append(Equation("params", "2*params(one direction)", f"2*{one.total}", ("params",),
                          "a forward and a backward copy, with weights of their own"))
    if None not in ins[0]:
        lines.append(Equation("MACs", "2*MACs(one direction)", f"2*{macs}", ("macs",)))
    mode = args["merge_mode"]
    if mode == "concat":
        lines.append(Equation(f"{'U' if len(out) <= 2 else 'F'}'", "2*U", f"2*{out[-1]}", ("shape", (len(out) - 1,)),
                              "the two directions concatenated"))
    else:
        lines.append(f"merge_mode {mode}: " + ("two outputs, forward then backward (layer:backward)" if mode is None
                                               else f"the directions combined element-wise, {fmt_shape(merged)}"))
    return lines


def _check_bidirectional(args: Args) -> list[LayerError]:
    kind, inner_args = inner(args)
    if "go_backwards" not in kind.arg_map:
        return [LayerError(f"Bidirectional wraps a recurrent layer (SimpleRNN, LSTM, GRU, ConvLSTM...), not "
                           f"{kind.name}", "wrap e.g. {LSTM: {units: 32}}", "layer")]
    return []


def _bidirectional_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    import keras

    wrapped, inner_args = inner(args)
    rnn = keras_layer()(wrapped, inner_args, name, ins[:1])[0]
    return [CalledWithStates(keras.layers.Bidirectional(rnn, name=name, **keras_kwargs(kind, args)))]


# ---------------------------------------------------------------- TimeDistributed
def _frames(ins: Sequence[Shape]) -> tuple[Any, Shape]:
    if len(ins[0]) < 2:
        raise LayerError(f"TimeDistributed needs steps and a frame [T, ...] but receives {fmt_shape(ins[0])}",
                         "give the input a time axis first")
    return ins[0][0], ins[0][1:]


def _time_distributed_shape(args: Args, ins: Sequence[Shape]) -> Shape:
    steps, frame = _frames(ins)
    return (steps,) + tuple(_inner_rules(args, [frame])[2])


def _per_step(args: Args, ins: Sequence[Shape]) -> tuple[LayerKind, dict, Shape, Shape]:
    steps, frame = _frames(ins)
    kind, inner_args, out = _inner_rules(args, [frame])
    return kind, inner_args, frame, out


def _time_distributed_params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    kind, inner_args, frame, step_out = _per_step(args, ins)
    return kind.params(inner_args, [frame], step_out)


def _time_distributed_macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    kind, inner_args, frame, step_out = _per_step(args, ins)
    return ins[0][0] * kind.macs(inner_args, [frame], step_out)


def _time_distributed_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    kind, inner_args, frame, step_out = _per_step(args, ins)
    lines: list[Line] = [f"the same {kind.name} (one set of weights) on each of the T steps, "
                         f"{fmt_shape(frame)} -> {fmt_shape(step_out)}:"]
    lines += _unkeyed(kind.explain(inner_args, [frame], step_out), ("shape", "params", "trainable", "non_trainable"),
                      shift=1)
    step_macs = kind.macs(inner_args, [frame], step_out) if kind.counts_macs else 0
    if step_macs and ins[0][0] is not None and None not in step_out:
        lines.append(Equation("MACs", "T*(MACs per step)", f"{ins[0][0]}*{step_macs}", ("macs",)))
    return lines


def _time_distributed_window(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
    """Pointwise along the steps; along the frame's axes the wrapped kind's window, nothing
    (pointwise kinds), or the whole frame (global layers, reshapes: every position of it)."""
    kind, inner_args, frame, step_out = _per_step(args, ins)
    axes = frame[:-1]
    if kind.window is not None:
        w = kind.window(inner_args, [frame], step_out)
        return Window((1,) + tuple(w.kernel), (1,) + tuple(w.stride), (0,) + tuple(w.pad), w.dilated)
    if kind.field_rule is FieldRule.POINTWISE:
        return Window((1,) * (len(axes) + 1), (1,) * (len(axes) + 1), (0,) * (len(axes) + 1))
    whole = tuple(n or 1 for n in axes)
    return Window((1,) + whole, (1,) + whole, (0,) * (len(axes) + 1))


def _check_time_distributed(args: Args) -> list[LayerError]:
    kind, inner_args = inner(args)
    if kind.inputs[0] > 1:
        return [LayerError(f"TimeDistributed wraps a layer with one input, not {kind.name}",
                           "apply the merge to the whole sequences instead", "layer")]
    if inner_args.get("return_state"):
        return [LayerError(f"TimeDistributed returns one tensor, but the wrapped {kind.name} returns several",
                           "remove return_state from the wrapped layer", "layer")]
    return []


def _time_distributed_build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    import keras

    wrapped, inner_args = inner(args)
    built = wrapped.build(wrapped, inner_args, name, [ins[0][1:]])
    return [keras.layers.TimeDistributed(_wrapped_keras_layer(b), name=_wrapped_keras_layer(b).name)
            for b in built]


register_kinds(
    LayerKind("Bidirectional", RECURRENT, "A recurrent layer run forwards and backwards over the sequence, with "
              "weights of its own each way, the two outputs merged (keras.layers.Bidirectional).",
              (layer_arg("The recurrent layer to run both ways, e.g. {LSTM: {units: 32, return_sequences: true}}."),
               A.choice("merge_mode", MERGE_MODES, "How the two directions' outputs combine: concat, sum, mul, ave, "
                        "or null for two outputs (forward, then layer:backward).", "concat")),
              _bidirectional_shape, _bidirectional_build, _bidirectional_params, _bidirectional_macs,
              check=_check_bidirectional, explain=_bidirectional_explain, field_rule=FieldRule.WHOLE, inputs=(1, 5),
              example=((SEQUENCE,), {"layer": {"LSTM": {"units": 32}}}), extra_outputs=_bidirectional_extra),
    LayerKind("TimeDistributed", RECURRENT, "Applies one layer (one set of weights) to every step of a sequence "
              "[T, ...] (keras.layers.TimeDistributed): params of one step, T times its MACs.",
              (layer_arg("The layer applied to each step, e.g. {Dense: {units: 10}} or {Conv2D: {filters: 8, "
                         "kernel_size: 3}}."),),
              _time_distributed_shape, _time_distributed_build, _time_distributed_params, _time_distributed_macs,
              window=_time_distributed_window, check=_check_time_distributed, explain=_time_distributed_explain,
              field_rule=FieldRule.WINDOW, example=(((10, 32, 32, 3),), {"layer": {"Conv2D": {"filters": 8,
                                                                                               "kernel_size": 3}}})),
)

__all__ = ["ENTRY_SCHEMA", "layer_arg", "entry_parts", "inner"]
