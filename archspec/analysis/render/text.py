"""Text formats of a drawing: Mermaid flowcharts and Graphviz DOT, blocks as subgraphs."""
from __future__ import annotations

from typing import Callable

from archspec.analysis.render.model import Box, Drawing

WEIGHTS_COLOUR = "#8a5a00"  # the dashed links of shared applications, in every format


def _ids(drawing: Drawing) -> dict[str, str]:
    return {b.id: f"n{k}" for k, b in enumerate(drawing.boxes)}


def _nest(drawing: Drawing, emit_box: Callable[[Box, str], str], open_: Callable[[tuple, str, str], str],
          close: Callable[[str], str]) -> list[str]:
    """Boxes in order, wrapped in nested subgraphs; a block is opened where its first box is."""
    lines: list[str] = []
    placed: set[str] = set()

    def emit(path: tuple[str, ...], indent: str) -> None:
        for b in drawing.boxes:
            if b.id in placed:
                continue
            if b.scope == path:
                placed.add(b.id)
                lines.append(emit_box(b, indent))
            elif b.scope[: len(path)] == path and len(b.scope) > len(path):
                inner = b.scope[: len(path) + 1]
                lines.append(open_(inner, drawing.clusters.get(inner, inner[-1]), indent))
                emit(inner, indent + "  ")
                lines.append(close(indent))

    emit((), "  ")
    return lines


def _mermaid_text(text: str) -> str:
    """Mermaid labels: quotes and angle brackets as entities.

    >>> _mermaid_text('a "b" <c>')
    'a #quot;b#quot; #lt;c#gt;'
    """
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(drawing: Drawing) -> str:
    """A Mermaid ``flowchart TD``: boxes with name and type, shapes on the edges, subgraphs."""
    ids = _ids(drawing)

    def box(b: Box, indent: str) -> str:
        label = f"<b>{_mermaid_text(b.title)}</b><br/>{_mermaid_text(b.subtitle)}"
        if b.is_output:
            label += f"<br/>out {_mermaid_text(b.out_shape)}"
        return f'{indent}{ids[b.id]}["{label}"]:::{b.family.name}'

    def open_(path: tuple, title: str, indent: str) -> str:
        return f'{indent}subgraph {"_".join(path).replace("-", "_")}["{_mermaid_text(title)}"]'

    lines = ["flowchart TD"] + _nest(drawing, box, open_, lambda indent: f"{indent}end")
    lines += [f'  {ids[e.source]} -->|"{_mermaid_text(e.label)}"| {ids[e.target]}' for e in drawing.edges]
    lines += [f'  {ids[e.source]} -.->|"{_mermaid_text(e.label)}"| {ids[e.target]}' for e in drawing.weight_links]
    families = {b.family.name: b.family for b in drawing.boxes}   # those drawn, in order of appearance
    lines += [f"  classDef {f.name} fill:{f.colour},stroke:#555" for f in families.values()]
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    """
    >>> _dot_text('say "hi"')
    'say \\\\"hi\\\\"'
    """
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(drawing: Drawing) -> str:
    """Graphviz DOT, top to bottom, blocks as ``cluster`` subgraphs."""
    ids = _ids(drawing)

    def box(b: Box, indent: str) -> str:
        width = 2.2 if b.is_output else 1.0
        label = f"{_dot_text(b.title)}\\n{_dot_text(b.subtitle)}"
        if b.is_output:
            label += f"\\noutput {_dot_text(b.out_shape)}"
        return (f'{indent}{ids[b.id]} [label="{label}", fillcolor="{b.family.colour}", '
                f"penwidth={width}];")

    def open_(path: tuple, title: str, indent: str) -> str:
        return (f'{indent}subgraph "cluster_{_dot_text("/".join(path))}" {{ label="{_dot_text(title)}"; '
                'style="rounded,filled"; fillcolor="#f3f8f7"; color="#8fb3ae";')

    head = [f'digraph "{_dot_text(drawing.name)}" {{', "  rankdir=TB; nodesep=0.25; ranksep=0.35;",
            '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
            '  edge [fontname="Helvetica", fontsize=9, fontcolor="#1f4e79", color="#555555"];']
    body = _nest(drawing, box, open_, lambda indent: f"{indent}}}")
    edges = [f'  {ids[e.source]} -> {ids[e.target]} [label="{_dot_text(e.label)}"];' for e in drawing.edges]
    edges += [f'  {ids[e.source]} -> {ids[e.target]} [label="{_dot_text(e.label)}", style=dashed, '
              f'color="{WEIGHTS_COLOUR}", fontcolor="{WEIGHTS_COLOUR}", constraint=false];'
              for e in drawing.weight_links]
    return "\n".join(head + body + edges + ["}"]) + "\n"
