"""The receptive-field lines of ``archspec explain``: how the field, the effective stride
(jump j) and the effective padding change at one layer, numbers substituted."""
from __future__ import annotations

from fractions import Fraction
from typing import Callable, Sequence

from archspec.analysis.receptive import Field, Step, layer_step
from archspec.analysis.shape_pass import LayerInfo
from archspec.layers.axes import axis_symbols
from archspec.layers.equations import Line, num, per_axis
from archspec.layers.registry import FieldRule


def field_lines(info: LayerInfo, inputs: Sequence[Field], out: Field) -> list[Line]:
    """How the receptive field, effective stride and effective padding change here."""
    if not out.rank:
        return []
    step = layer_step(info)
    names = axis_symbols(out.rank)
    src = inputs[0]
    label = (lambda sym: [f"{sym}({a})" for a in names]) if out.rank > 1 else (lambda sym: [sym])
    if step.rule is FieldRule.WINDOW and None not in src.size:
        return _window(step, src, label, "K_eff" if info.window is not None and info.window.dilated else "K")
    if step.rule is FieldRule.UPSAMPLE and None not in src.size:
        factors = [max(1, round(1 / s)) for s in step.stride]
        return per_axis(label("RF"), "RF_in + (ceil(K/f) - 1)*j_in",
                        [f"{_exact(r)} + (ceil({k}/{f}) - 1)*{_exact(j)}"
                         for r, k, f, j in zip(src.size, step.kernel, factors, src.stride)], "rf",
                        "an output position depends on at most ceil(K/f) input positions") + \
            per_axis(label("j"), "j_in / f", [f"{_exact(j)} / {f}" for j, f in zip(src.stride, factors)], "jump")
    if step.rule is FieldRule.WHOLE and None not in out.size and len(inputs) == 1 and not src.whole:
        sizes = info.in_shapes[0][:-1]
        return per_axis(label("RF"), "RF_in + (n - 1)*j_in",
                        [f"{_exact(r)} + ({n} - 1)*{_exact(j)}" for r, n, j in zip(src.size, sizes, src.stride)], "rf",
                        "the whole input: the union of all n positions")
    # Every input's size known: squeeze-and-excite multiplies by a field made from a vector
    # (pooled, reshaped to 1x1), whose size is unknown.
    if step.rule is FieldRule.MERGE and all(f.rank == out.rank and None not in f.size for f in inputs):
        lines = per_axis(label("RF"), "max over the inputs",
                         [f"max({', '.join(_exact(f.size[i]) for f in inputs)})" for i in range(out.rank)], "rf")
        return lines + ([f"note: {out.note}"] if out.note else [])
    shown = ", ".join(f"{a} {num(r) if r is not None else '?'}" for a, r in zip(names, out.size))
    if out.whole:
        return [f"RF: the whole input ({shown})"]
    return [f"RF unchanged ({shown}): the layer works position by position" if step.rule is FieldRule.POINTWISE
            else f"RF: {shown}"]


def _window(step: Step, src: Field, label: Callable[[str], list[str]], k_sym: str) -> list[Line]:
    lines = per_axis(label("RF"), f"RF_in + ({k_sym} - 1)*j_in",
                     [f"{_exact(r)} + ({k} - 1)*{_exact(j)}"
                      for r, k, j in zip(src.size, step.kernel, src.stride)], "rf")
    lines += per_axis(label("j"), "j_in*S",
                      [f"{_exact(j)}*{_exact(s)}" for j, s in zip(src.stride, step.stride)], "jump")
    if None in src.padding or None in step.pad:
        return lines + ["P_eff unknown: 'same' padding here depends on an unknown input size"]
    return lines + per_axis(label("P_eff"), "P_in + P*j_in",
                            [f"{_exact(p)} + {_exact(q)}*{_exact(j)}"
                             for p, q, j in zip(src.padding, step.pad, src.stride)],
                            "eff_pad")


def _exact(value: object) -> str:
    """A field number as a formula writes it. A resize makes strides that are ratios (13/7);
    decimals would round them, so such a ratio is written as the fraction itself and the
    printed arithmetic gives the analysis's number exactly.

    >>> _exact(3), _exact(0.5), _exact(13 / 7), _exact(26 / 7 + 1)
    ('3', '0.5', '(13/7)', '(33/7)')
    """
    if isinstance(value, float) and not value.is_integer() and float(f"{value:g}") != value:
        ratio = Fraction(value).limit_denominator(10**6)
        if abs(float(ratio) - value) <= 1e-12 * abs(value):
            return f"({ratio.numerator}/{ratio.denominator})"
    return num(value)
