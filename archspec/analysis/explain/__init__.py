"""``archspec explain``: the arithmetic behind every row of the summary, numbers substituted.

Each layer kind's record writes its own equations (``LayerKind.explain``, next to the rules
that give the summary's numbers; see ``archspec.layers.equations``); this package adds the
receptive-field lines, puts a header on each layer and renders the text. Every value printed
is the exact evaluation of the printed arithmetic, and the tests check that each one equals
the analysis for every sample of every registered kind and every zoo spec.
"""
from __future__ import annotations

from typing import Optional, Sequence

from archspec.analysis.explain.field_lines import field_lines
from archspec.analysis.receptive import Field, receptive_fields
from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.layers.equations import Equation, Line, render_line
from archspec.layers.arithmetic import fmt_shape


WEIGHT_KEYS = (("params",), ("trainable",), ("non_trainable",))

# ---------------------------------------------------------------- the whole explanation
def yaml_text(value: object) -> str:
    """A value as a spec writes it (YAML flow style: a wrapper's layer is a mapping).

    >>> yaml_text(["sobel_x", [1, 2]]), yaml_text(False), yaml_text(None)
    ('[sobel_x, [1, 2]]', 'false', 'null')
    >>> yaml_text({"LSTM": {"units": 32, "return_sequences": True}})
    '{LSTM: {units: 32, return_sequences: true}}'
    """
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_text(v)}" for k, v in value.items()) + "}"
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
    """Every equation of one layer: the kind's own (shape, params, MACs), then the receptive field."""
    inputs = [fields[i] for i in info.node.inputs]
    own = info.kind.explain(info.node.args, info.in_shapes, info.out_shape)
    if info.node.shares:  # its weights are counted once, at the layer it shares
        own = [line for line in own if not (isinstance(line, Equation) and line.key in WEIGHT_KEYS)]
        own.append(f"params: 0 here; it applies the weights of '{info.node.shares}' again (counted there)")
    outputs = [f"output {i}: {tensor} {fmt_shape(shape)}" for i, (tensor, shape) in enumerate(info.outputs[1:], 1)]
    return own + outputs + field_lines(info, inputs, fields[info.node.name])


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
        body = [f"  {render_line(line)}" for line in lines]
        blocks.append("\n".join([header(info)] + body))
    return "\n\n".join(blocks) + "\n"


__all__ = ["explain", "explain_layer", "render", "header"]
