"""Analysis passes run after shapes: each adds its results to ``Analysis.extra``.

``extra["layer_fields"]`` maps a layer's name to the fields merged into its JSON row
(receptive field, effective stride and padding, inference working set); every other key
becomes a top-level JSON key. ``COLUMNS`` are the extra table columns.
"""
from __future__ import annotations

from dataclasses import replace

from archspec.analysis.memory import memory, summary_lines, tensor_bytes
from archspec.analysis.receptive import receptive_fields, short
from archspec.analysis.report import human_bytes
from archspec.analysis.shape_pass import Analysis, LayerInfo


def _layer_extra(analysis: Analysis, info: LayerInfo) -> dict:
    return analysis.extra.get("layer_fields", {}).get(info.node.name, {})


def rf_cell(analysis: Analysis, info: LayerInfo) -> str:
    """The RF column: one number when every axis agrees; '(all)' once a layer has mixed every
    position of its input (global pooling, Flatten); '*' marks a merge of misaligned paths."""
    row = _layer_extra(analysis, info)
    if not row:
        return ""
    cell = short(row["receptive_field"])
    if row.get("covers_whole_input"):
        return f"{cell} (all)"
    return cell + ("*" if row.get("receptive_field_note") else "")


def stride_cell(analysis: Analysis, info: LayerInfo) -> str:
    row = _layer_extra(analysis, info)
    if not row or row.get("covers_whole_input"):
        return "-" if row else ""
    return short(row["effective_stride"])


def memory_cell(analysis: Analysis, info: LayerInfo) -> str:
    """This layer's output for the summary's batch size and dtype."""
    batch, dtype = analysis.extra.get("batch_size", 1), analysis.extra.get("dtype", "float32")
    return human_bytes(tensor_bytes(info.out_shape, batch, dtype))


COLUMNS: tuple = (("RF", rf_cell), ("Eff. stride", stride_cell), ("Activations", memory_cell))


def run_passes(analysis: Analysis, batch: int = 1, dtype: str = "float32") -> Analysis:
    """Receptive fields and memory for ``batch`` samples of ``dtype``; a new Analysis."""
    fields = receptive_fields(analysis)
    mem = memory(analysis, batch, dtype)
    per_layer: dict[str, dict] = {}
    notes: list[str] = []
    for info in analysis.layers:
        field = fields[info.node.name]
        row = field.as_json()
        if field.whole:
            row["covers_whole_input"] = True
        row["inference_live_bytes"] = mem.live_bytes[info.node.name]
        per_layer[info.node.name] = row
        if field.note:
            notes.append(f"{info.node.name} ({info.node.kind}, line {info.node.loc.line}): {field.note}")
    extra = dict(analysis.extra)
    extra.update({"layer_fields": per_layer, "batch_size": batch, "dtype": dtype, **mem.as_json()})
    extra["notes"] = notes
    extra["summary_lines"] = summary_lines(mem, batch, dtype) + [f"* {n}" for n in notes]
    return replace(analysis, extra=extra)
