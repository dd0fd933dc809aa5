"""Renderers of an analysis: a terminal table, Markdown, and JSON (a documented contract)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

from archspec.analysis.shape_pass import DTYPE_BYTES, Analysis, LayerInfo, activation_bytes, param_bytes
from archspec.layers.registry import Params
from archspec.layers.arithmetic import fmt_shape

MACS_CONVENTION = ("MACs: multiply-accumulates of conv, dense, locally-connected and fixed-kernel layers per "
                   "sample; bias adds, normalisation, activations and pooling not counted; FLOPs = 2 x MACs")


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    depth: int
    shape: str
    params: Params
    macs: int
    is_block: bool = False
    extra: tuple = ()


Column = tuple[str, Callable[[Analysis, LayerInfo], str]]


def rows(analysis: Analysis, max_depth: Optional[int] = None, columns: tuple[Column, ...] = ()) -> list[Row]:
    """Table rows: inputs, then layers in order with a subtotal row opening each block."""
    graph = analysis.graph
    out = [Row(name, "Input", 0, fmt_shape(shape), Params(), 0, extra=tuple("" for _ in columns))
           for name, shape in graph.inputs.items()]
    open_scopes: tuple[str, ...] = ()
    for info in analysis.layers:
        scope = info.node.scope
        common = 0
        while common < min(len(scope), len(open_scopes)) and scope[common] == open_scopes[common]:
            common += 1
        for depth in range(common, len(scope)):
            path = scope[: depth + 1]
            if max_depth is None or depth < max_depth:
                out.append(_block_row(analysis, path, depth, len(columns)))
        open_scopes = scope
        depth = len(scope)
        if max_depth is None or depth < max_depth:
            out.append(Row(info.node.local_name, info.node.kind, depth, fmt_shape(info.out_shape), info.params,
                           info.macs, extra=tuple(render(analysis, info) for _, render in columns)))
    return out


def _block_row(analysis: Analysis, path: tuple[str, ...], depth: int, n_extra: int) -> Row:
    members = [i for i in analysis.layers if i.node.scope[: len(path)] == path]
    params = Params()
    for m in members:
        params = params + m.params
    block = analysis.graph.blocks[path]
    return Row(path[-1], block.block, depth, fmt_shape(members[-1].out_shape), params,
               sum(m.macs for m in members), True, tuple("" for _ in range(n_extra)))


def human(n: float, unit: str = "") -> str:
    """Short human form: 1.2K, 3.4M, 15.47G.

    >>> human(15470264320), human(61706), human(999)
    ('15.47G', '61.71K', '999')
    """
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.2f}{suffix}{unit}"
    return f"{int(n)}{unit}"


def human_bytes(n: int) -> str:
    """
    >>> human_bytes(246824)
    '241.04 KiB'
    """
    for factor, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n / factor:.2f} {suffix}"
    return f"{n} B"


def totals_lines(analysis: Analysis, batch: int = 1, dtype: str = "float32") -> list[str]:
    p = analysis.params
    act = activation_bytes(analysis, batch, dtype)
    return [
        f"Total params: {p.total:,} ({human_bytes(param_bytes(analysis, dtype))} as {dtype})",
        f"Trainable params: {p.trainable:,}",
        f"Non-trainable params: {p.non_trainable:,}",
        f"Total MACs: {analysis.macs:,} ({human(analysis.macs)}); FLOPs: {2 * analysis.macs:,}",
        # The memory pass, when it ran, words activations more precisely (inference peak, training).
        *analysis.extra.get("summary_lines", [f"Activations: {human_bytes(act)} for batch {batch} ({dtype}, "
                                              "forward pass, all layer outputs)"]),
        f"({MACS_CONVENTION})",
    ]


def table(analysis: Analysis, max_depth: Optional[int] = None, columns: tuple[Column, ...] = (),
          batch: int = 1, dtype: str = "float32") -> str:
    body = rows(analysis, max_depth, columns)
    headers = ["Layer (type)", "Output shape", "Params", "MACs"] + [c[0] for c in columns]
    cells = [[("  " * r.depth) + f"{r.name} ({r.type})", r.shape, f"{r.params.total:,}", human(r.macs) if r.macs
              else "-", *r.extra] for r in body]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "─" * (sum(widths) + 3 * (len(widths) - 1))

    def fmt(values: list[str]) -> str:  # name and shape left-aligned, numbers right-aligned
        return "   ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    title = f'Model: "{analysis.graph.name}"'
    return "\n".join([title, line, fmt(headers), line] + [fmt(c) for c in cells] + [line]
                     + totals_lines(analysis, batch, dtype))


def markdown(analysis: Analysis, max_depth: Optional[int] = None, columns: tuple[Column, ...] = (),
             batch: int = 1, dtype: str = "float32") -> str:
    headers = ["Layer", "Type", "Output shape", "Params", "MACs"] + [c[0] for c in columns]
    lines = [f"### {analysis.graph.name}", "", "| " + " | ".join(headers) + " |",
             "|" + "|".join(["---", "---", "---", "---:", "---:"] + ["---:"] * len(columns)) + "|"]
    for r in rows(analysis, max_depth, columns):
        name = ("&nbsp;&nbsp;" * r.depth) + (f"**{r.name}**" if r.is_block else f"`{r.name}`")
        lines.append("| " + " | ".join([name, r.type, f"`{r.shape}`", f"{r.params.total:,}",
                                        f"{r.macs:,}" if r.macs else "-", *r.extra]) + " |")
    lines += [""] + [f"- {t}" for t in totals_lines(analysis, batch, dtype)]
    return "\n".join(lines)


def to_json_dict(analysis: Analysis, batch: int = 1, dtype: str = "float32") -> dict[str, Any]:
    """The ``summary --format json`` contract; shapes are lists without the batch axis."""
    graph = analysis.graph
    p = analysis.params
    layer_fields = analysis.extra.get("layer_fields", {})
    size = DTYPE_BYTES[dtype]
    layers = []
    for info in analysis.layers:
        entry: dict[str, Any] = {
            "name": info.node.name, "type": info.node.kind, "inputs": list(info.node.inputs),
            "output_shape": list(info.out_shape), "params": info.params.total,
            "trainable_params": info.params.trainable, "non_trainable_params": info.params.non_trainable,
            "macs": info.macs, "activation_bytes": info.activations * batch * size,
            "line": info.node.loc.line, "block": "/".join(info.node.scope) or None,
        }
        if info.node.name in layer_fields:
            entry.update(layer_fields[info.node.name])
        layers.append(entry)
    return {
        "name": graph.name, "file": graph.file,
        "inputs": {k: list(v) for k, v in graph.inputs.items()},
        "outputs": list(graph.outputs),
        "output_shapes": [list(s) for s in analysis.output_shapes()],
        "total_params": p.total, "trainable_params": p.trainable, "non_trainable_params": p.non_trainable,
        "total_macs": analysis.macs, "total_flops": 2 * analysis.macs, "macs_convention": MACS_CONVENTION,
        "dtype": dtype, "batch_size": batch,
        "param_bytes": param_bytes(analysis, dtype), "activation_bytes": activation_bytes(analysis, batch, dtype),
        **{k: v for k, v in analysis.extra.items() if k not in ("layer_fields", "summary_lines")},
        "layers": layers,
    }


def to_json(analysis: Analysis, batch: int = 1, dtype: str = "float32") -> str:
    return json.dumps(to_json_dict(analysis, batch, dtype), indent=2)
