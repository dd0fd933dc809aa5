"""The model zoo: ``archspec zoo`` lists the classic networks in ``specs/``, ``archspec new``
copies one to start from.

Pure Python, like ``summary``: every row comes from the closed-form analysis, so listing the
whole zoo never imports TensorFlow or Keras.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import click

from archspec.errors import UserError, did_you_mean

FORMATS = ("table", "json", "markdown")
SCHEMA_LINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=\S+\s*$")
# A sentence ends at '.', '!' or '?' followed by a space and a capital letter or a quote;
# "et al. (2015)", "v1.0" and "e.g. a" do not end one.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])(?<!\bal\.\s)(?<!\be\.g\.\s)(?<!\bi\.e\.\s)")
TABLE_TEXT_WIDTH = 72


def zoo_dir() -> Path:
    """The folder of zoo specs: the repository's ``specs/`` (the documented editable install),
    or ``archspec/zoo/`` for a wheel built after copying ``specs/`` there (package data)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "specs", here / "zoo"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise UserError(f"the model zoo is not installed (looked in {here.parent / 'specs'} and {here / 'zoo'})",
                    "install archspec from its repository: pip install -e .")


def zoo_names() -> list[str]:
    """Names of the zoo specs (file names without .yaml), sorted."""
    return sorted(p.stem for p in zoo_dir().glob("*.yaml"))


def zoo_path(name: str) -> Path:
    """The file of zoo spec ``name`` (``resnet50`` or ``resnet50.yaml``); UserError with a
    did-you-mean when there is none."""
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    names = zoo_names()
    if stem not in names:
        hint = did_you_mean(stem, names) or "the zoo has: " + ", ".join(names)
        raise UserError(f"no zoo spec named '{name}'", f"{hint} (`archspec zoo` lists them)")
    return zoo_dir() / f"{stem}.yaml"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    path: Path
    title: str                       # the description's first sentence
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    inputs: dict[str, list]
    output_shapes: list[list]

    def to_json(self) -> dict:
        return {"name": self.name, "file": str(self.path), "description": self.title,
                "total_params": self.params, "trainable_params": self.trainable_params,
                "non_trainable_params": self.non_trainable_params, "total_macs": self.macs,
                "inputs": self.inputs, "output_shapes": self.output_shapes}


def first_sentence(text: str) -> str:
    """The first sentence of a description, on one line.

    >>> first_sentence("ResNet-50 (He et al. 2016), as in Keras. Bottleneck blocks.")
    'ResNet-50 (He et al. 2016), as in Keras.'
    >>> first_sentence("  A tiny   net\\n  for digits ")
    'A tiny net for digits'
    """
    flat = " ".join(text.split())
    return SENTENCE_END.split(flat, maxsplit=1)[0] if flat else ""


def entry(path: Path) -> ZooEntry:
    """Analyse one zoo spec (raises SpecErrors if it is broken)."""
    from archspec.api import compile_spec

    compiled = compile_spec(path)
    analysis, graph = compiled.analysis, compiled.graph
    params = analysis.params
    return ZooEntry(path.stem, path, first_sentence(graph.description), params.total, params.trainable,
                    params.non_trainable, analysis.macs, {k: list(v) for k, v in graph.inputs.items()},
                    [list(s) for s in analysis.output_shapes()])


def entries() -> list[ZooEntry]:
    return [entry(zoo_dir() / f"{name}.yaml") for name in zoo_names()]


# ------------------------------------------------------------------ rendering
def input_text(inputs: dict[str, list]) -> str:
    """``224x224x3``, or ``image 48x48x3, metadata 6`` for named inputs.

    >>> input_text({"input": [224, 224, 3]}), input_text({"a": [6], "b": [None, 4]})
    ('224x224x3', 'a 6, b ?x4')
    """
    def shape(s: list) -> str:
        return "x".join("?" if d is None else str(d) for d in s)
    if list(inputs) == ["input"]:
        return shape(inputs["input"])
    return ", ".join(f"{name} {shape(s)}" for name, s in inputs.items())


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def render_table(rows: list[ZooEntry]) -> str:
    from archspec.analysis.report import human

    header = ("Name", "Params", "MACs", "Input", "Description")
    cells = [(r.name, f"{r.params:,}", human(r.macs), input_text(r.inputs), clip(r.title, TABLE_TEXT_WIDTH))
             for r in rows]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    right = (False, True, True, False, False)

    def line(values: tuple) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)]
        return "  ".join(parts).rstrip()
    rule = "-" * len(line(tuple("-" * w for w in widths)))
    footer = (f"{len(rows)} specs in {zoo_dir()}. MACs per sample, bias adds not counted. "
              "Start from one: archspec new NAME -o my.yaml")
    return "\n".join([line(header), rule, *map(line, cells), rule, footer])


def render_markdown(rows: list[ZooEntry]) -> str:
    from archspec.analysis.report import human

    out = ["| Name | Params | MACs | Input | Description |", "|---|---:|---:|---|---|"]
    for r in rows:
        title = r.title.replace("|", "\\|")
        out.append(f"| `{r.name}` | {r.params:,} | {human(r.macs)} | {input_text(r.inputs)} | {title} |")
    return "\n".join(out)


def render(rows: list[ZooEntry], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([r.to_json() for r in rows], indent=2)
    return render_markdown(rows) if fmt == "markdown" else render_table(rows)


# ------------------------------------------------------------------ archspec new
def schema_line(dest: Path) -> Optional[str]:
    """The ``$schema`` comment pointing from ``dest``'s folder to the repository's schema, or
    None when the schema file is not there."""
    schema = zoo_dir().parent / "schemas" / "archspec.schema.json"
    if not schema.is_file():
        return None
    folder = dest.resolve().parent
    try:
        target = Path(os.path.relpath(schema, folder)).as_posix()
    except ValueError:  # another drive on Windows
        target = schema.as_uri()
    return f"# yaml-language-server: $schema={target}"


def copy_text(source: Path, dest: Path) -> str:
    """The zoo spec's text with its ``$schema`` comment re-pointed for the new location."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    line = schema_line(dest)
    if lines and SCHEMA_LINE.match(lines[0]):
        if line is None:
            lines = lines[1:]
        else:
            lines[0] = line + "\n"
    return "".join(lines)


def new_spec(name: str, output: Optional[str], force: bool) -> Path:
    """Copy zoo spec ``name`` to ``output`` (a file, a folder, ``-`` for standard output, or
    ``NAME.yaml`` here); missing folders are created."""
    from archspec.io import write_output

    source = zoo_path(name)
    dest = Path(output) if output else Path(f"{source.stem}.yaml")
    if dest.is_dir():
        dest = dest / f"{source.stem}.yaml"
    write_output(dest, copy_text(source, dest), inputs=[source], force=force)
    return dest


# ------------------------------------------------------------------ commands
def add_commands(group: click.Group) -> None:
    """Add ``zoo`` and ``new`` to the CLI."""
    from archspec.io import force_option, is_stdout

    @group.command("zoo")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
    def zoo_command(fmt: str) -> None:
        """The classic networks shipped in specs/, with params, MACs and input shape."""
        click.echo(render(entries(), fmt))

    @group.command("new")
    @click.argument("name")
    @click.option("-o", "--output", type=click.Path(), help="Where to write the copy: a file or a folder "
                  "(default: NAME.yaml here).")
    @force_option
    def new_command(name: str, output: Optional[str], force: bool) -> None:
        """Copy a zoo spec (see `archspec zoo`) to start a network from."""
        dest = new_spec(name, output, force)
        if not is_stdout(dest):
            click.echo(f"wrote {dest} (a copy of the zoo's {zoo_path(name).stem}); try: archspec summary {dest}")
