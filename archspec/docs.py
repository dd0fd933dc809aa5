"""Descriptions of the layer registry: ``archspec layers`` and the reference docs/layers.md.

Both are generated from the records (family, arguments, input rank, receptive-field rule,
and the kind's own explanation of its example), so they cannot drift from the rules.
Regenerate the reference with ``python -m archspec.docs > docs/layers.md``.
"""
from __future__ import annotations

import json

from archspec.analysis.explain import yaml_text
from archspec import plugins
from archspec.errors import UserError, did_you_mean
from archspec.layers.axes import layout
from archspec.layers.catalog import all_families, all_kinds
from archspec.layers.equations import Line, render_line
from archspec.layers.registry import Arg, LayerKind
from archspec.layers.arithmetic import fmt_shape


def _by_family() -> list[tuple[str, list[LayerKind]]]:
    """(family title, its kinds by name) in the families' order; families without kinds left out."""
    kinds = sorted(all_kinds().values(), key=lambda k: k.name)
    groups = [(f.title, [k for k in kinds if k.family is f]) for f in all_families().values()]
    return [(title, members) for title, members in groups if members]


def list_kinds() -> str:
    lines = []
    for title, kinds in _by_family():
        lines.append(f"{title}:")
        lines.append("  " + ", ".join(k.name + plugins.mark(k.name) for k in kinds))
    lines.append("")
    lines.append("`archspec layers NAME` shows a kind's arguments.")
    return "\n".join(lines)


def kind_named(name: str) -> LayerKind:
    """The registered kind called ``name``; a UserError with a did-you-mean otherwise."""
    kinds = all_kinds()
    if name not in kinds:
        raise UserError(f"unknown layer kind '{name}'", did_you_mean(str(name), list(kinds)) or
                        "run `archspec layers` for the list")
    return kinds[name]


def facts(kind: LayerKind) -> list[str]:
    """Family, inputs, receptive-field rule and MACs of a kind, one sentence each."""
    out = [f"Family: {kind.family.title}."] + plugins.provenance(kind.name)
    if kind.keras_class:
        out.append(f"Compiles to keras.layers.{kind.keras_class}.")
    lo, hi = kind.inputs
    if hi != 1:
        out.append(f"Inputs: {'exactly' if lo == hi else 'at least'} {lo} (list them under inputs:).")
    if kind.rank is not None:
        out.append(f"Input: {kind.rank}-D {layout(kind.rank)}, without the batch axis.")
    out.append(f"Receptive field: {kind.field_rule.words}.")
    out.append("MACs: counted (see the example)." if kind.counts_macs else "MACs: none counted.")
    return out


def example(kind: LayerKind) -> tuple[str, list[Line]]:
    """The kind's example as a title (``[32, 32, 16] -> [30, 30, 32] with filters: 32``) and
    its explanation: the general form of each rule with the example's numbers."""
    assert kind.example is not None, f"{kind.name} has no example"  # register_kinds requires one
    ins, given = kind.example
    args = kind.with_defaults(given)
    out = kind.output_shape(args, ins)
    shown = ", ".join(f"{k}: {yaml_text(v)}" for k, v in given.items())
    title = f"{', '.join(fmt_shape(s) for s in ins)} -> {fmt_shape(out)}" + (f" with {shown}" if shown else "")
    return title, kind.explain(args, ins, out)


def describe_kind(name: str) -> str:
    kind = kind_named(name)
    lines = [f"{kind.name}: {kind.doc}", *facts(kind), ""]
    if not kind.args:
        lines.append("No arguments.")
    width = max((len(a.name) for a in kind.args), default=0)
    for arg in kind.args:
        lines.append(f"  {arg.name.ljust(width)}  {arg.doc} ({_default(arg)})")
        lines.append(f"  {' ' * width}  expects {arg.expects}")
    title, explained = example(kind)
    lines += ["", f"Example: {title}"] + [f"  {render_line(line)}" for line in explained]
    return "\n".join(lines)


def _default(arg: Arg) -> str:
    return "required" if arg.required else f"default {json.dumps(arg.default)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def layers_reference() -> str:
    """docs/layers.md: every registered kind, by family, with its arguments and rules."""
    out = ["# Layer kinds", "",
           "Every layer kind a spec may name, generated from the layer registry by "
           "`python -m archspec.docs > docs/layers.md` (a test fails when this file is stale). Shapes are "
           "written without the batch axis, channels last. Each example is `archspec explain` of one use: "
           "the general form of the shape, parameter and MAC rules with the example's numbers.", ""]
    for title, kinds in _by_family():
        out += [f"## {title}", ""]
        for kind in kinds:
            out += _kind_section(kind)
    return "\n".join(out).rstrip("\n") + "\n"


def _kind_section(kind: LayerKind) -> list[str]:
    out = [f"### {kind.name}", "", kind.doc, ""] + [f"- {fact}" for fact in facts(kind)] + [""]
    if kind.args:
        out += ["| argument | expects | default | meaning |", "| --- | --- | --- | --- |"]
        out += [f"| `{a.name}` | {_cell(a.expects)} | {_cell(_default(a))} | {_cell(a.doc)} |" for a in kind.args]
        out.append("")
    title, explained = example(kind)
    out += [f"Example: `{title}`", "", "```"] + [render_line(line) for line in explained] + ["```", ""]
    return out


if __name__ == "__main__":
    import os

    os.environ[plugins.DISABLE_VARIABLE] = "1"  # the reference documents archspec's own kinds, not installed plugins
    print(layers_reference(), end="")
