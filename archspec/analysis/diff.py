"""``archspec diff``: two networks compared layer by layer (shapes, params, MACs) and in total.

Layers are matched by name first (the same full name in both files), then, among the layers
left over, by position: ``difflib`` aligns the two sequences of layer types, so an inserted
or removed layer shows as added or removed and the rest stay paired.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Optional, Sequence

from archspec.analysis.passes import Report
from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.layers.arithmetic import fmt_shape


@dataclass(frozen=True)
class Pair:
    """One row: a layer of A and/or B; ``how`` says how they were matched."""

    a: Optional[LayerInfo]
    b: Optional[LayerInfo]
    how: str  # "name", "position", "added", "removed"

    @property
    def status(self) -> str:
        if self.a is None:
            return "added"
        if self.b is None:
            return "removed"
        same = (self.a.node.kind == self.b.node.kind and self.a.out_shape == self.b.out_shape
                and self.a.params == self.b.params and self.a.macs == self.b.macs)
        return "same" if same else "changed"


def match(a: Analysis, b: Analysis) -> list[Pair]:
    """Pairs in B's order (removed layers where they stood in A)."""
    names_b = {i.node.name: i for i in b.layers}
    by_name = [Pair(i, names_b[i.node.name], "name") for i in a.layers if i.node.name in names_b]
    matched = {p.a.node.name for p in by_name}  # type: ignore[union-attr]
    gaps_a, gaps_b = _gaps(a.layers, matched), _gaps(b.layers, matched)
    positional: list[Pair] = []
    for gap in list(gaps_a) + [g for g in gaps_b if g not in gaps_a]:
        positional += _align(gaps_a.get(gap, []), gaps_b.get(gap, []))
    return _in_order(a, b, by_name + positional)


def _gaps(layers: Sequence[LayerInfo], matched: set[str]) -> dict[Optional[str], list[LayerInfo]]:
    """Unmatched layers grouped by the name-matched layer just before them (None: at the start)."""
    gaps: dict[Optional[str], list[LayerInfo]] = {}
    anchor: Optional[str] = None
    for info in layers:
        if info.node.name in matched:
            anchor = info.node.name
        else:
            gaps.setdefault(anchor, []).append(info)
    return gaps


def _align(xs: list[LayerInfo], ys: list[LayerInfo]) -> list[Pair]:
    """Pair the layers of one gap by position: equal types in order, and one-for-one swaps."""
    out: list[Pair] = []
    matcher = SequenceMatcher(None, [i.node.kind for i in xs], [i.node.kind for i in ys], autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        one_for_one = op == "equal" or (op == "replace" and a1 - a0 == b1 - b0)
        if one_for_one:
            out += [Pair(x, y, "position") for x, y in zip(xs[a0:a1], ys[b0:b1])]
        else:
            out += [Pair(x, None, "removed") for x in xs[a0:a1]] + [Pair(None, y, "added") for y in ys[b0:b1]]
    return out


def _in_order(a: Analysis, b: Analysis, pairs: list[Pair]) -> list[Pair]:
    """Rows in B's order; a removed layer follows the row of the A layer just before it."""
    by_b = {p.b.node.name: p for p in pairs if p.b is not None}
    partner = {p.a.node.name: p.b.node.name for p in pairs if p.a is not None and p.b is not None}
    removed = {p.a.node.name: p for p in pairs if p.b is None and p.a is not None}
    after: dict[Optional[str], list[Pair]] = {}
    anchor: Optional[str] = None
    for info in a.layers:
        name = info.node.name
        if name in removed:
            after.setdefault(anchor, []).append(removed[name])
        elif name in partner:
            anchor = partner[name]
    ordered = list(after.get(None, []))
    for info in b.layers:
        ordered.append(by_b[info.node.name])
        ordered += after.get(info.node.name, [])
    return ordered


def _delta(x: int, y: int) -> str:
    """
    >>> _delta(456, 608), _delta(10, 10), _delta(100, 0)
    ('+152', '0', '-100')
    """
    return f"{y - x:+,}" if y != x else "0"


def _change(x: int, y: int) -> str:
    """
    >>> _change(61706, 62000)
    '61,706 -> 62,000 (+294, +0.48%)'
    """
    pct = f", {100 * (y - x) / x:+.2f}%" if x else ""
    return f"{x:,} -> {y:,} ({_delta(x, y)}{pct})" if x != y else f"{x:,} (unchanged)"


def totals(ra: Report, rb: Report) -> dict[str, dict[str, int]]:
    """Totals of both networks and their deltas (MACs: of the layers whose MACs are known)."""
    a, b = ra.analysis, rb.analysis
    rows = {"params": (a.params.total, b.params.total),
            "trainable_params": (a.params.trainable, b.params.trainable),
            "non_trainable_params": (a.params.non_trainable, b.params.non_trainable),
            "macs": (a.macs, b.macs),
            "activation_bytes": (ra.memory.training_bytes, rb.memory.training_bytes),
            "layers": (len(a.layers), len(b.layers))}
    return {k: {"a": x, "b": y, "delta": y - x} for k, (x, y) in rows.items()}


def _macs_delta(p: Pair) -> Optional[int]:
    """B's MACs minus A's for one row; None when either side's MACs are unknown."""
    x, y = (p.a.macs if p.a else 0), (p.b.macs if p.b else 0)
    return None if x is None or y is None else y - x


def to_dict(ra: Report, rb: Report, pairs: Sequence[Pair]) -> dict[str, Any]:
    """The ``diff --format json`` contract; ``macs_unknown`` (only when some are) names the
    layers of each side whose MACs are unknown and so not in the MACs totals."""
    a, b = ra.analysis, rb.analysis

    def side(info: Optional[LayerInfo]) -> Optional[dict[str, Any]]:
        if info is None:
            return None
        return {"name": info.node.name, "type": info.node.kind, "output_shape": list(info.out_shape),
                "params": info.params.total, "macs": info.macs, "line": info.node.loc.line}

    layers = [{"status": p.status, "matched_by": p.how, "a": side(p.a), "b": side(p.b),
               "params_delta": (p.b.params.total if p.b else 0) - (p.a.params.total if p.a else 0),
               "macs_delta": _macs_delta(p)} for p in pairs]
    unknown = {"macs_unknown": {"a": list(a.macs_unknown), "b": list(b.macs_unknown)}} \
        if a.macs_unknown or b.macs_unknown else {}
    return {"a": a.graph.file, "b": b.graph.file,
            "output_shapes": {"a": [list(s) for s in a.output_shapes()], "b": [list(s) for s in b.output_shapes()]},
            "totals": totals(ra, rb), **unknown, "layers": layers}


def _cells(p: Pair) -> list[str]:
    name = p.b.node.name if p.b else p.a.node.name  # type: ignore[union-attr]
    if p.a and p.b and p.a.node.name != p.b.node.name:
        name = f"{p.a.node.name} -> {p.b.node.name}"
    kind = p.b.node.kind if p.b else p.a.node.kind  # type: ignore[union-attr]
    if p.a and p.b and p.a.node.kind != p.b.node.kind:
        kind = f"{p.a.node.kind} -> {p.b.node.kind}"
    if p.a is None or p.b is None:
        info = p.a or p.b
        sign = -1 if p.b is None else 1
        macs = info.macs  # type: ignore[union-attr]
        return [name, kind, p.status, fmt_shape(info.out_shape), _signed(sign * info.params.total),  # type: ignore
                "?" if macs is None else _signed(sign * macs)]
    shape = fmt_shape(p.a.out_shape) if p.a.out_shape == p.b.out_shape else \
        f"{fmt_shape(p.a.out_shape)} -> {fmt_shape(p.b.out_shape)}"
    params = _cell(p.a.params.total, p.b.params.total)
    return [name, kind, p.status, shape, params, _cell(p.a.macs, p.b.macs)]


def _signed(value: int) -> str:
    """
    >>> _signed(32), _signed(0), _signed(-10164)
    ('+32', '0', '-10,164')
    """
    return f"{value:+,}" if value else "0"


def _cell(x: Optional[int], y: Optional[int]) -> str:
    """
    >>> _cell(5, 5), _cell(5, 7), _cell(None, 7)
    ('5', '5 -> 7 (+2)', '? -> 7')
    """
    if x is None or y is None:
        return "?" if x == y else f"{'?' if x is None else f'{x:,}'} -> {'?' if y is None else f'{y:,}'}"
    return f"{x:,}" if x == y else f"{x:,} -> {y:,} ({_delta(x, y)})"


def table(ra: Report, rb: Report, pairs: Sequence[Pair], show_all: bool = False) -> str:
    """A text table of the rows that differ (all rows with ``show_all``), then the totals."""
    a, b = ra.analysis, rb.analysis
    shown = [p for p in pairs if show_all or p.status != "same"]
    headers = ["Layer", "Type", "Change", "Output shape", "Params", "MACs"]
    cells = [_cells(p) for p in shown]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]

    def fmt(values: list[str]) -> str:
        return "   ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

    line = "─" * (sum(widths) + 3 * (len(widths) - 1))
    title = f"--- {a.graph.file} ({a.graph.name})\n+++ {b.graph.file} ({b.graph.name})"
    body = [fmt(c) for c in cells] if cells else ["(no layer differs)"]
    same = sum(1 for p in pairs if p.status == "same")
    t = totals(ra, rb)
    memory = f"batch {ra.batch_size}, {ra.dtype}"
    foot = [f"Params: {_change(t['params']['a'], t['params']['b'])}",
            f"Trainable params: {_change(t['trainable_params']['a'], t['trainable_params']['b'])}",
            f"MACs: {_change(t['macs']['a'], t['macs']['b'])}" + _unknown_note(a, b),
            f"Activations (bytes, {memory}): {_change(t['activation_bytes']['a'], t['activation_bytes']['b'])}",
            f"Layers: {_change(t['layers']['a'], t['layers']['b'])}; {same} identical"
            + ("" if show_all else " (not shown; --all shows them)")]
    outs_a, outs_b = a.output_shapes(), b.output_shapes()
    if outs_a != outs_b:
        foot.append("Output shapes: " + ", ".join(fmt_shape(s) for s in outs_a) + " -> "
                    + ", ".join(fmt_shape(s) for s in outs_b))
    return "\n".join([title, line, fmt(headers), line] + body + [line] + foot)


def _unknown_note(a: Analysis, b: Analysis) -> str:
    """How many layers the MACs totals leave out, when some sizes are unknown."""
    if not (a.macs_unknown or b.macs_unknown):
        return ""
    return f"; not counted, sizes unknown: {len(a.macs_unknown)} layer(s) of A, {len(b.macs_unknown)} of B"


def diff(a: Report, b: Report, fmt: str = "table", show_all: bool = False) -> str:
    pairs = match(a.analysis, b.analysis)
    if fmt == "json":
        return json.dumps(to_dict(a, b, pairs), indent=2)
    return table(a, b, pairs, show_all)
