"""Renderers of a report: a terminal table, Markdown, and JSON (a documented contract).

``depth`` means the same here as in ``archspec graph``: how many levels of nesting are shown.
0 shows the top-level rows only, each block collapsed to one row; N expands blocks N levels
deep; None shows everything. A block's row shows its output (the shape, receptive field and
activations of its last layer) and the totals of its layers; footnotes and the peak name the
rows that are visible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from archspec.analysis import json_text
from archspec.analysis.passes import MergeNote, Report
from archspec.analysis.receptive import Field
from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.layers.arithmetic import fmt_shape
from archspec.layers.catalog import macs_convention
from archspec.layers.registry import Params, Shape

MEMORY_CONVENTION = ("Memory: activations are batch x product(shape) x dtype bytes; training keeps the inputs and "
                     "every layer output for the backward pass; inference (peak) frees each tensor after its last "
                     "consumer and reports the largest working set")
NAMES_SHOWN = 5  # layers named in a footnote before "and N more"


@dataclass(frozen=True)
class Row:
    """One row of the table: a graph input, a layer, or a block (its layers' totals)."""

    name: str                 # as written in its scope (a block member's local name)
    type: str
    depth: int
    shape: Shape
    params: Params
    macs: Optional[int]       # None: unknown; for a block, the known part
    macs_partial: bool        # a block some of whose layers' MACs are unknown
    output: str               # the tensor the row shows: the layer, a block's last layer, the input
    is_block: bool = False
    is_input: bool = False
    noted: bool = False       # a misaligned-paths footnote refers to this row


def shown_name(name: str, scope: tuple[str, ...], depth: Optional[int]) -> str:
    """The visible row that shows a layer: the layer itself, or the collapsed block holding it.

    >>> shown_name("a/b/conv", ("a", "b"), None), shown_name("a/b/conv", ("a", "b"), 0)
    ('a/b/conv', 'a')
    >>> shown_name("a/b/conv", ("a", "b"), 1), shown_name("a/b/conv", ("a", "b"), 2)
    ('a/b', 'a/b/conv')
    """
    if depth is None or len(scope) <= depth:
        return name
    return "/".join(scope[: depth + 1])


def _owner(analysis: Analysis, depth: Optional[int]) -> Callable[[str], str]:
    """A function from a tensor's name to the name of the visible row that shows it."""
    def owner(name: str) -> str:
        if name in analysis.graph.inputs or not name:
            return name
        return shown_name(name, analysis.graph.node(name).scope, depth)
    return owner


def rows(report: Report, depth: Optional[int] = None) -> list[Row]:
    """Table rows: inputs, then layers in order with a row opening each block."""
    analysis = report.analysis
    owner = _owner(analysis, depth)
    noted = {owner(note.layer) for note in report.notes}
    totals = block_totals(analysis)
    out = [Row(name, "Input", 0, shape, Params(), 0, False, name, is_input=True)
           for name, shape in analysis.graph.inputs.items()]
    open_scopes: tuple[str, ...] = ()
    for info in analysis.layers:
        scope = info.node.scope
        common = 0
        while common < min(len(scope), len(open_scopes)) and scope[common] == open_scopes[common]:
            common += 1
        for level in range(common, len(scope)):
            if depth is None or level <= depth:
                out.append(_block_row(analysis, totals[scope[: level + 1]], level, noted))
        open_scopes = scope
        if depth is None or len(scope) <= depth:
            in_shared = bool(scope) and bool(analysis.graph.blocks[scope].shares)  # its block row names the owner
            out.append(Row(info.node.local_name, _type_cell(info.node.kind, "" if in_shared else info.node.shares,
                                                            in_shared), len(scope),
                           info.out_shape, info.params, info.macs, False, info.node.name,
                           noted=info.node.name in noted))
            out += [Row(f"{info.node.local_name}{tensor[len(info.node.name):]}", f"output {index}", len(scope), shape,
                        Params(), 0, False, tensor) for index, (tensor, shape) in enumerate(info.outputs[1:], 1)]
    return out


def _type_cell(kind: str, shares: Optional[str], in_shared: bool = False) -> str:
    """A row's type, with the layer (or block instance) whose weights it applies again.

    >>> _type_cell("Conv2D", None), _type_cell("Conv2D", "conv_a"), _type_cell("Dense", "", True)
    ('Conv2D', 'Conv2D, shares conv_a', 'Dense, shared')
    """
    return f"{kind}, shares {shares}" if shares else f"{kind}, shared" if in_shared else kind


@dataclass
class BlockTotals:
    """What a block instance's row shows of its layers: their sums, and the last one's output."""

    path: tuple[str, ...]
    last: LayerInfo
    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0             # of the layers whose MACs are known
    macs_partial: bool = False


def block_totals(analysis: Analysis) -> dict[tuple[str, ...], BlockTotals]:
    r"""Every block instance's totals, in one pass over the layers (each layer adds to the blocks
    around it), so that the rows of many blocks cost no more than their layers.

    >>> from archspec.api import compile_text
    >>> spec = ("archspec: 1\nname: t\ninput: [4]\nblocks:\n  b: {layers: [Dense: {units: 2}, ReLU]}\n"
    ...         "layers:\n  - b\n  - Dense: {units: 1}\n")
    >>> [(t.path, t.trainable, t.macs, t.last.node.name) for t in block_totals(compile_text(spec).analysis).values()]
    [(('b_1',), 10, 8, 'b_1/re_lu_1')]
    """
    totals: dict[tuple[str, ...], BlockTotals] = {}
    for info in analysis.layers:
        scope = info.node.scope
        for level in range(len(scope)):
            path = scope[: level + 1]
            block = totals.get(path)
            if block is None:
                block = totals[path] = BlockTotals(path, info)
            block.last = info
            block.trainable += info.params.trainable
            block.non_trainable += info.params.non_trainable
            if info.macs is None:
                block.macs_partial = True
            else:
                block.macs += info.macs
    return totals


def _block_row(analysis: Analysis, block: BlockTotals, level: int, noted: set[str]) -> Row:
    path, instance = block.path, analysis.graph.blocks[block.path]
    # A block declaring outputs: [a, b] shows its first (its use's name stands for it), else its last layer's.
    output = instance.output if instance.output in analysis.shapes else block.last.node.name
    return Row(path[-1], _type_cell(instance.block, "/".join(instance.shares)), level, analysis.shapes[output],
               Params(block.trainable, block.non_trainable), block.macs, block.macs_partial, output,
               True, noted="/".join(path) in noted)


# ------------------------------------------------------------------ numbers as text
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


def json_number(value: Optional[float]) -> Optional[float]:
    """A receptive-field number for JSON: an int where exact, else rounded to 6 decimals.

    >>> json_number(3.0), json_number(1 / 3), json_number(None) is None
    (3, 0.333333, True)
    """
    if value is None:
        return None
    rounded = round(value, 6)
    return int(rounded) if float(rounded).is_integer() else rounded


def axes(values: Sequence[Optional[float]]) -> str:
    """A compact cell: one number when every axis agrees, else ``7x3``; ``?`` unknown.

    >>> axes((212, 212)), axes((7, 3)), axes((None,)), axes(()), axes((0.5, 0.5))
    ('212', '7x3', '?', '-', '0.5')
    """
    if not values:
        return "-"
    shown = ["?" if v is None else str(json_number(v)) for v in values]
    return shown[0] if len(set(shown)) == 1 else "x".join(shown)


def macs_cell(macs: Optional[int], partial: bool, short: bool) -> str:
    """
    >>> macs_cell(2432, False, True), macs_cell(0, False, True), macs_cell(None, False, True)
    ('2.43K', '-', '?')
    >>> macs_cell(2432, True, False), macs_cell(0, True, True)
    ('≥ 2,432', '?')
    """
    if macs is None or (partial and not macs):
        return "?"
    text = human(macs) if short else f"{macs:,}"
    if partial:
        return f"≥ {text}"
    return text if macs else "-"


def rf_cell(field: Field, noted: bool) -> str:
    """The RF column: '(all)' once a layer has mixed every position of its input (global
    pooling, Flatten); '*' marks a row a misaligned-paths footnote refers to."""
    if field.whole:
        return f"{axes(field.size)} (all)"
    return axes(field.size) + ("*" if noted else "")


def _extra_cells(report: Report, row: Row) -> list[str]:
    """RF, effective stride and activations of the tensor the row shows (none for inputs)."""
    if row.is_input:
        return ["", "", ""]
    field = report.fields[row.output]
    size = "?" if row.output in report.memory.unknown else human_bytes(report.memory.output_bytes[row.output])
    return [rf_cell(field, row.noted), "-" if field.whole else axes(field.stride), size]


# ------------------------------------------------------------------ totals and footnotes
def _names(names: Sequence[str]) -> str:
    """
    >>> _names(["a", "b"]), _names([str(i) for i in range(7)])
    ('a, b', '0, 1, 2, 3, 4 and 2 more')
    """
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def macs_lines(analysis: Analysis, owner: Callable[[str], str]) -> list[str]:
    """The MACs total; a lower bound, with the rows it leaves out, when some sizes are unknown."""
    total = analysis.macs
    if not analysis.macs_unknown:
        return [f"Total MACs: {total:,} ({human(total)}); FLOPs: {2 * total:,}"]
    rows_left_out = list(dict.fromkeys(owner(n) for n in analysis.macs_unknown))
    first = (f"Total MACs: ≥ {total:,} ({human(total)}); FLOPs: ≥ {2 * total:,}" if total
             else "Total MACs: unknown; FLOPs: unknown")
    return [first, f"(MACs of {len(analysis.macs_unknown)} layer(s) not counted, their sizes are unknown: "
                   f"{_names(rows_left_out)})"]


def note_line(note: MergeNote, analysis: Analysis, owner: Callable[[str], str]) -> str:
    """A misaligned-paths footnote, naming the visible row (a collapsed block) that holds the merge."""
    place = f"{note.layer} ({note.kind}, line {note.line})"
    shown = owner(note.layer)
    if shown == note.layer:
        return f"* {place}: {note.message}"
    block = analysis.graph.blocks[tuple(shown.split("/"))]
    return f"* {shown} ({block.block}, line {block.loc.line}): {place}: {note.message}"


def totals_lines(report: Report, depth: Optional[int] = None) -> list[str]:
    analysis, mem = report.analysis, report.memory
    owner = _owner(analysis, depth)
    p = analysis.params
    where = f"(batch {mem.batch_size}, {mem.dtype})"
    lines = [f"Total params: {p.total:,} ({human_bytes(report.param_bytes)} as {mem.dtype})",
             f"Trainable params: {p.trainable:,}",
             f"Non-trainable params: {p.non_trainable:,}",
             *macs_lines(analysis, owner),
             f"Inference activations (peak): {human_bytes(mem.inference_bytes)} at '{owner(mem.peak_layer)}' {where}",
             f"Training activations (kept for backward): {human_bytes(mem.training_bytes)} {where}"]
    if mem.unknown:
        lines.append(f"({len(mem.unknown)} tensor(s) of unknown size counted as 0 bytes)")
    lines += [note_line(n, analysis, owner) for n in report.notes]
    return lines + [f"({macs_convention()})"]


# ------------------------------------------------------------------ the three formats
EXTRA_HEADERS = ["RF", "Eff. stride", "Activations"]


def table(report: Report, depth: Optional[int] = None) -> str:
    body = rows(report, depth)
    headers = ["Layer (type)", "Output shape", "Params", "MACs"] + EXTRA_HEADERS
    cells = [[("  " * r.depth) + f"{r.name} ({r.type})", fmt_shape(r.shape), f"{r.params.total:,}",
              macs_cell(r.macs, r.macs_partial, True), *_extra_cells(report, r)] for r in body]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "─" * (sum(widths) + 3 * (len(widths) - 1))

    def fmt(values: list[str]) -> str:  # name and shape left-aligned, numbers right-aligned
        return "   ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    title = f'Model: "{report.analysis.graph.name}"'
    return "\n".join([title, line, fmt(headers), line] + [fmt(c) for c in cells] + [line]
                     + totals_lines(report, depth) + _head_lines(report))


def markdown(report: Report, depth: Optional[int] = None) -> str:
    headers = ["Layer", "Type", "Output shape", "Params", "MACs"] + EXTRA_HEADERS
    lines = [f"### {report.analysis.graph.name}", "", "| " + " | ".join(headers) + " |",
             "|" + "|".join(["---", "---", "---", "---:", "---:"] + ["---:"] * len(EXTRA_HEADERS)) + "|"]
    for r in rows(report, depth):
        name = ("&nbsp;&nbsp;" * r.depth) + (f"**{r.name}**" if r.is_block else f"`{r.name}`")
        lines.append("| " + " | ".join([name, r.type, f"`{fmt_shape(r.shape)}`", f"{r.params.total:,}",
                                        macs_cell(r.macs, r.macs_partial, False), *_extra_cells(report, r)]) + " |")
    lines += [""] + [f"- {t}" for t in totals_lines(report, depth)]
    head = _head_lines(report)
    lines += ["", "```", *head[1:], "```"] if head else []
    return "\n".join(lines)


def _head_lines(report: Report) -> list[str]:
    """The Head section (a blank line, then its lines), when the spec has a head."""
    from archspec.heads.summary import head_lines
    return ["", *head_lines(report.head)] if report.head is not None else []


def _field_json(field: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"receptive_field": [json_number(v) for v in field.size],
                           "effective_stride": [json_number(v) for v in field.stride],
                           "effective_padding": [json_number(v) for v in field.padding]}
    if field.note:
        out["receptive_field_note"] = field.note
    if field.whole:
        out["covers_whole_input"] = True
    return out


def _layer_json(report: Report, info: LayerInfo) -> dict[str, Any]:
    name = info.node.name
    return {"name": name, "type": info.node.kind, "inputs": list(info.node.inputs),
            "output_shape": list(info.out_shape), "params": info.params.total,
            "trainable_params": info.params.trainable, "non_trainable_params": info.params.non_trainable,
            "macs": info.macs, "activation_bytes": report.memory.output_bytes[name],
            "line": info.node.loc.line, "block": "/".join(info.node.scope) or None,
            **_field_json(report.fields[name]), "inference_live_bytes": report.memory.live_bytes[name],
            **_graph_form_json(info)}


def _graph_form_json(info: LayerInfo) -> dict[str, Any]:
    """A shared application's ``shares`` and a layer's several ``outputs`` (only where they apply)."""
    shares = {"shares": info.node.shares} if info.node.shares else {}
    if not info.extra_outputs:
        return shares
    return {**shares, "outputs": [{"name": tensor, "shape": list(shape)} for tensor, shape in info.outputs]}


def to_json_dict(report: Report) -> dict[str, Any]:
    """The ``summary --format json`` contract; shapes are lists without the batch axis.

    Every layer is listed (depth does not apply). A layer's ``macs`` is null when its MACs
    need a size that is unknown; ``total_macs`` then counts the others and ``macs_unknown``
    names the layers left out.
    """
    return {**_json_head(report), "layers": [_layer_json(report, info) for info in report.analysis.layers]}


def _json_head(report: Report) -> dict[str, Any]:
    """Everything of the JSON contract but the layers."""
    analysis, mem = report.analysis, report.memory
    graph, p = analysis.graph, analysis.params
    macs_unknown = {"macs_unknown": list(analysis.macs_unknown)} if analysis.macs_unknown else {}
    sizes_unknown = {"memory_unknown_sizes": list(mem.unknown)} if mem.unknown else {}
    return {
        "name": graph.name, "file": graph.file,
        "inputs": {k: list(v) for k, v in graph.inputs.items()},
        "outputs": list(graph.outputs),
        "output_shapes": [list(s) for s in analysis.output_shapes()],
        "total_params": p.total, "trainable_params": p.trainable, "non_trainable_params": p.non_trainable,
        "total_macs": analysis.macs, "total_flops": 2 * analysis.macs, **macs_unknown,
        "macs_convention": macs_convention(), "dtype": mem.dtype, "batch_size": mem.batch_size,
        "param_bytes": report.param_bytes, "activation_bytes": mem.training_bytes,
        "inference_activation_bytes": mem.inference_bytes, "inference_peak_layer": mem.peak_layer,
        "training_activation_bytes": mem.training_bytes, "memory_convention": MEMORY_CONVENTION, **sizes_unknown,
        "notes": [f"{n.layer} ({n.kind}, line {n.line}): {n.message}" for n in report.notes],
        **({"head": report.head.as_json()} if report.head is not None else {}),
    }


def to_json(report: Report) -> str:
    """The text of ``to_json_dict``; each layer's record is dropped once written, so a long
    model holds its text, not its records and their text at once."""
    layers = (_layer_json(report, info) for info in report.analysis.layers)
    return json_text.dumps({**_json_head(report), "layers": layers})


def render(report: Report, fmt: str = "table", depth: Optional[int] = None) -> str:
    """The summary as ``table``, ``markdown`` or ``json`` (which lists every layer whatever the depth)."""
    if fmt == "json":
        return to_json(report)
    return markdown(report, depth) if fmt == "markdown" else table(report, depth)
