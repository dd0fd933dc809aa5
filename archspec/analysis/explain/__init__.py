"""``archspec explain``: the arithmetic behind every row of the summary, numbers substituted.

Each rule is written the way lecture notes work their examples,
``H' = floor((H - K + 2P) / S) + 1 = floor((32 - 5 + 2*0) / 1) + 1 = 28``, and the value at the
end is obtained by evaluating the substituted text itself (exactly, with fractions), so the
printed arithmetic is the arithmetic that gives the number. The formulas are written here
independently of the layer rules; the tests check that every value equals the analysis.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from archspec.analysis.explain.arith import AXES, Equation, Line, evaluate, num, per_axis
from archspec.analysis.explain.layers import shape_lines
from archspec.analysis.receptive import Field, Step, layer_step, receptive_fields
from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.layers.arithmetic import as_tuple, fmt_shape


# ---------------------------------------------------------------- receptive field
def rf_lines(info: LayerInfo, inputs: Sequence[Field], out: Field) -> list[Line]:
    """How the receptive field, effective stride (jump j) and effective padding change here."""
    if not out.rank:
        return []
    step = layer_step(info)
    names = AXES.get(out.rank, tuple(f"X{i + 1}" for i in range(out.rank)))
    src = inputs[0]
    label = (lambda sym: [f"{sym}({a})" for a in names]) if out.rank > 1 else (lambda sym: [sym])
    if step.rule == "window" and None not in src.size:
        dilated = any(d != 1 for d in as_tuple(info.node.args.get("dilation_rate", 1), out.rank))
        return _window_rf(step, src, label, "K_eff" if dilated else "K")
    if step.rule == "upsample" and None not in src.size:
        factors = [max(1, round(1 / s)) for s in step.stride]
        return per_axis(label("RF"), "RF_in + (ceil(K/f) - 1)*j_in",
                        [f"{num(r)} + (ceil({k}/{f}) - 1)*{num(j)}"
                         for r, k, f, j in zip(src.size, step.kernel, factors, src.stride)], "rf",
                        "an output position depends on at most ceil(K/f) input positions") + \
            per_axis(label("j"), "j_in / f", [f"{num(j)} / {f}" for j, f in zip(src.stride, factors)], "jump")
    if step.rule == "whole" and None not in out.size:
        sizes = info.in_shapes[0][:-1]
        return per_axis(label("RF"), "RF_in + (n - 1)*j_in",
                        [f"{num(r)} + ({n} - 1)*{num(j)}" for r, n, j in zip(src.size, sizes, src.stride)], "rf",
                        "the whole input: the union of all n positions")
    if step.rule == "merge" and None not in out.size and all(f.rank == out.rank for f in inputs):
        lines = per_axis(label("RF"), "max over the inputs",
                         [f"max({', '.join(num(f.size[i]) for f in inputs)})" for i in range(out.rank)], "rf")
        return lines + ([f"note: {out.note}"] if out.note else [])
    shown = ", ".join(f"{a} {num(r) if r is not None else '?'}" for a, r in zip(names, out.size))
    if out.whole:
        return [f"RF: the whole input ({shown})"]
    return [f"RF unchanged ({shown}): the layer works position by position" if step.rule == "identity"
            else f"RF: {shown}"]


def _window_rf(step: Step, src: Field, label: Callable[[str], list[str]], k_sym: str) -> list[Line]:
    lines = per_axis(label("RF"), f"RF_in + ({k_sym} - 1)*j_in",
                     [f"{num(r)} + ({k} - 1)*{num(j)}" for r, k, j in zip(src.size, step.kernel, src.stride)], "rf")
    lines += per_axis(label("j"), "j_in*S", [f"{num(j)}*{num(s)}" for j, s in zip(src.stride, step.stride)], "jump")
    if None in src.padding or None in step.pad:
        return lines + ["P_eff unknown: 'same' padding here depends on an unknown input size"]
    return lines + per_axis(label("P_eff"), "P_in + P*j_in",
                            [f"{num(p)} + {num(q)}*{num(j)}" for p, q, j in zip(src.padding, step.pad, src.stride)],
                            "eff_pad")


# ---------------------------------------------------------------- the whole explanation
def yaml_text(value: object) -> str:
    """A value as a spec writes it.

    >>> yaml_text(["sobel_x", [1, 2]]), yaml_text(False), yaml_text(None)
    ('[sobel_x, [1, 2]]', 'false', 'null')
    """
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def given_args(info: LayerInfo) -> str:
    """The arguments that differ from their defaults, as ``key=value``.

    Layer-side options that change no number (activation, initializers) are left out.
    """
    skip = ("activation", "name", "seed")
    defaults = {a.name: a.default for a in info.kind.args}
    shown = [f"{k}={yaml_text(v)}" for k, v in info.node.args.items()
             if v != defaults.get(k) and k not in skip and not k.endswith(("_initializer", "_regularizer"))]
    return ", ".join(shown)


def header(info: LayerInfo) -> str:
    """``name (Kind: args), file:line: input -> output``."""
    ins = ", ".join(fmt_shape(s) for s in info.in_shapes)
    args = given_args(info)
    kind = f"{info.node.kind}: {args}" if args else info.node.kind
    return f"{info.node.name} ({kind}), {info.node.loc}: {ins} -> {fmt_shape(info.out_shape)}"


def explain_layer(info: LayerInfo, fields: dict[str, Field]) -> list[Line]:
    """Every equation of one layer: shape, params, MACs, then the receptive field."""
    inputs = [fields[i] for i in info.node.inputs]
    return shape_lines(info) + rf_lines(info, inputs, fields[info.node.name])


def explain(analysis: Analysis, names: Optional[Sequence[str]] = None) -> list[tuple[LayerInfo, list[Line]]]:
    """(layer, lines) for the chosen layers (all when ``names`` is empty), in graph order."""
    fields = receptive_fields(analysis)
    wanted = set(names) if names else None
    return [(info, explain_layer(info, fields)) for info in analysis.layers
            if wanted is None or info.node.name in wanted]


def render(explained: Sequence[tuple[LayerInfo, list[Line]]]) -> str:
    """Plain text: a header per layer, one indented line per equation or note."""
    blocks = []
    for info, lines in explained:
        body = [f"  {line.render() if isinstance(line, Equation) else line}" for line in lines]
        blocks.append("\n".join([header(info)] + body))
    return "\n\n".join(blocks) + "\n"

__all__ = ["Equation", "evaluate", "explain", "explain_layer", "render"]
