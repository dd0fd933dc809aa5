"""The pipeline as one short chain of calls: load -> validate -> lower -> analyse -> passes.

``analyse_spec`` is the one call behind ``summary``, ``graph``, ``diff`` and ``explain`` (and
the one a studio makes on every keystroke: it takes the spec's text as well as a path);
``compile_spec`` stops after the shape analysis, for ``build`` and ``train``. Nothing here
imports TensorFlow or Keras; ``archspec.keras_backend`` does that.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Sequence

from archspec.analysis.limits import check_limits
from archspec.analysis.passes import Report, run_passes
from archspec.analysis.shape_pass import Analysis, analyse
from archspec.errors import ArchspecError, Location, SpecError, SpecErrors, Stage, UserError, did_you_mean
from archspec.graph.ir import Graph, producer
from archspec.graph.lower import lower
from archspec.heads.head import Head, check_head
from archspec.layers.arithmetic import DTYPE_BYTES
from archspec.spec.load import Document, PathKey, load_file, load_text
from archspec.spec.overrides import apply_overrides
from archspec.spec.validate import structural_errors

InputShape = Sequence[Optional[int]]  # without the batch axis; None = unknown size
COMMAND_LINE = "<command line>"


@dataclass(frozen=True)
class Compiled:
    document: Document
    graph: Graph
    analysis: Analysis
    head: Optional[Head] = None   # the spec's head: section resolved against the shapes

    @property
    def path(self) -> str:
        return self.document.path


def load_spec(spec: str | Path, text: Optional[str] = None) -> Document:
    """The document of ``spec``: the file, or ``text`` when given (``spec`` then names it in messages)."""
    return load_file(spec) if text is None else load_text(text, str(spec))


def check_document(doc: Document, expectations: bool = True) -> Compiled:
    """Validate, lower and analyse a loaded document; raise SpecErrors listing every problem.

    ``expectations=False`` skips ``expect:`` and ``limits:`` (written for the file's own input size).
    """
    errors = structural_errors(doc)
    if errors:
        raise SpecErrors(errors)
    return check_graph(doc, lower(doc), expectations)


def check_graph(doc: Document, graph: Graph, expectations: bool = True) -> Compiled:
    """``check_document``'s stages after lowering: the shape analysis, the head, the limits."""
    if not expectations:
        graph = replace(graph, expectations=())
    analysis = analyse(graph)
    head, head_errors = check_head(doc, analysis)
    if head_errors:
        raise SpecErrors(head_errors)
    if expectations:  # budgets, like expect:, are written for the file's own input
        limit_errors = check_limits(analysis)
        if limit_errors:
            raise SpecErrors(limit_errors)
    return Compiled(doc, graph, analysis, head)


def compile_spec(spec: str | Path, overrides: Sequence[str] = (), input_shape: Optional[InputShape] = None, *,
                 text: Optional[str] = None) -> Compiled:
    """Load a spec (the file, or ``text``) and run it through every stage up to the shape analysis.

    ``overrides`` are ``key.path=value`` strings (``--set``); ``input_shape`` replaces the
    single input's shape (``--input``, see ``parse_input_shape``); ``expect:`` and ``limits:``
    then do not apply, since they were written for the file's own input. An error the file's
    own input does not have is reported on the command line.
    """
    doc = apply_overrides(load_spec(spec, text), overrides)
    if input_shape is None:
        return check_document(doc)
    try:
        return check_document(with_input(doc, input_shape), expectations=False)
    except SpecErrors as exc:
        raise blame_input(exc, doc, input_shape) from None


def analyse_spec(spec: str | Path, overrides: Sequence[str] = (), input_shape: Optional[InputShape] = None,
                 batch_size: int = 1, dtype: str = "float32", *, text: Optional[str] = None) -> Report:
    """Everything the reports render: shapes, params, MACs, receptive fields, and memory for
    ``batch_size`` samples of ``dtype``. Arguments as for ``compile_spec``."""
    check_memory_options(batch_size, dtype)
    compiled = compile_spec(spec, overrides, input_shape, text=text)
    return replace(run_passes(compiled.analysis, batch_size, dtype), head=compiled.head)


def compile_text(text: str, path: str = "<string>", overrides: Sequence[str] = ()) -> Compiled:
    return compile_spec(path, overrides, text=text)


def check_memory_options(batch_size: int, dtype: str) -> None:
    if batch_size < 1:
        raise UserError(f"batch size {batch_size} is not a positive integer", "give a batch size of 1 or more")
    if dtype not in DTYPE_BYTES:
        raise UserError(f"unknown dtype {dtype!r}", did_you_mean(dtype, list(DTYPE_BYTES))
                        or "choose one of " + ", ".join(DTYPE_BYTES))


# ------------------------------------------------------------------ --input
def parse_input_shape(text: str) -> tuple[Optional[int], ...]:
    """``64x64x3`` -> (64, 64, 3); ``?`` (or ``none``) is an unknown size. UserError otherwise.

    >>> parse_input_shape("64x?x3"), parse_input_shape("100, 8")
    ((64, None, 3), (100, 8))
    """
    parts = [p.strip() for p in text.lower().replace(",", "x").split("x")]
    try:
        sizes = tuple(None if p in ("?", "none", "null") else int(p) for p in parts)
    except ValueError:
        raise UserError(f"{text!r} is not a shape", "write sizes joined by 'x', e.g. 64x64x3 (? for unknown)") from None
    if any(s is not None and s < 1 for s in sizes):
        raise UserError(f"{text!r} has a size below 1", "sizes are positive integers, or ? for unknown")
    return sizes


def shape_text(shape: InputShape) -> str:
    """
    >>> shape_text((64, None, 3))
    '64x?x3'
    """
    return "x".join("?" if s is None else str(s) for s in shape)


def input_location(shape: InputShape) -> Location:
    return Location(f"{COMMAND_LINE}: --input {shape_text(shape)}")


def _input_path(doc: Document) -> PathKey:
    """Where the single input's shape is written: ``input``, or ``inputs.NAME``."""
    inputs = doc.data.get("inputs")
    if "input" in doc.data or not isinstance(inputs, dict):
        return ("input",)
    if len(inputs) != 1:
        raise UserError(f"--input sets the shape of a single input, but this spec has {len(inputs)} "
                        f"({', '.join(map(str, inputs))})", "set each with --set inputs.NAME=[H, W, C]",
                        Location(COMMAND_LINE))
    return ("inputs", next(iter(inputs)))


def with_input(doc: Document, shape: InputShape) -> Document:
    """A copy of ``doc`` whose single input has ``shape``; that value is located on the command line."""
    if not isinstance(doc.data, dict):
        return doc  # not a mapping: the structural pass says so
    path = _input_path(doc)
    data = dict(doc.data)
    if path[0] == "inputs":
        data["inputs"] = {**data["inputs"], path[1]: list(shape)}
    else:
        data["input"] = list(shape)
    where = input_location(shape)
    positions = {p: loc for p, loc in doc.positions.items() if p[: len(path)] != path}
    positions.update({path: where, **{path + (i,): where for i in range(len(shape))}})
    return replace(doc, data=data, positions=positions)


def blame_input(exc: SpecErrors, doc: Document, shape: InputShape) -> SpecErrors:
    """Errors met only with ``--input``: when the file analyses with its own input, they are
    the option's, located on the command line (each still naming the layer and its line)."""
    in_file = [e for e in exc.errors if not (e.loc and e.loc.file.startswith(COMMAND_LINE))]
    if not in_file:
        return exc
    try:
        own = check_document(doc, expectations=False)
    except SpecErrors:
        return exc  # the file is wrong by itself: its errors stand where they are
    fits = ", ".join(shape_text(s) for s in own.graph.inputs.values())
    where = input_location(shape)
    return SpecErrors([e if e not in in_file else
                       SpecError(f"{e.message}, at {e.loc}", "; ".join(filter(None, [e.hint, f"the spec's own input "
                                                                                      f"({fits}) fits"])), where,
                                 stage=Stage.COMMAND_LINE)
                       for e in exc.errors])


# ------------------------------------------------------------------ partial analysis (the studio)
@dataclass(frozen=True)
class PartialAnalysis:
    """A spec's report, or, when it has errors, the report of its layers up to the first broken
    one (``report`` None when nothing before it analyses)."""

    report: Optional[Report]
    errors: tuple[ArchspecError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def analyse_partial(text: str, path: str = "<string>") -> PartialAnalysis:
    """``analyse_spec`` of ``text``; on errors, the analysis of everything before the first broken
    layer, without ``expect:`` and ``limits:`` (which only report): what an editor shows while
    its user types. The prefix is the file's text cut before the broken top-level entry (a YAML
    mistake), then the layers list cut there, then the lowered layers up to the first that fails."""
    made: dict[str, Any] = {}
    try:
        return PartialAnalysis(_whole_report(text, path, made))
    except SpecErrors as exc:
        errors: tuple[ArchspecError, ...] = tuple(exc.errors)
    except ArchspecError as exc:
        errors = (exc,)
    if "graph" in made:  # only expect:, the head or limits: failed: the lowering stands as it is
        graph: Optional[Graph] = replace(made["graph"], expectations=(), limits={})
    else:
        graph = _lowered_prefix(made["doc"] if "doc" in made else _loaded_prefix(text, path, errors))
    analysis = _analysed_prefix(graph) if graph is not None else None
    return PartialAnalysis(run_passes(analysis) if analysis is not None else None, errors)


def _whole_report(text: str, path: str, made: dict[str, Any]) -> Report:
    """``analyse_spec(path, text=text)``, keeping in ``made`` the document and the graph as each
    stage makes them, so the prefix analysis after an error does not make them again."""
    doc = made["doc"] = load_text(text, path)
    errors = structural_errors(doc)
    if errors:
        raise SpecErrors(errors)
    graph = made["graph"] = lower(doc)
    compiled = check_graph(doc, graph)
    return replace(run_passes(compiled.analysis), head=compiled.head)


PREFIX_TRIES = 8  # cuts tried before giving up: each drops at least one entry


def _first_line(errors: Sequence[ArchspecError]) -> int:
    return min((e.loc.line for e in errors if e.loc and e.loc.line > 0), default=0)


def _loaded_prefix(text: str, path: str, errors: Sequence[ArchspecError]) -> Optional[Document]:
    """The document of ``text``, or of its lines before the list item holding a YAML error."""
    lines = text.splitlines(keepends=True)
    for _ in range(PREFIX_TRIES):
        try:
            return load_text(text, path)
        except SpecErrors as exc:
            line = _first_line(exc.errors) or _first_line(errors)
        starts = [i for i in range(min(line, len(lines))) if lines[i].lstrip().startswith("- ")]
        if not starts or starts[-1] == 0:
            return None
        lines = lines[:starts[-1]]
        text = "".join(lines)
    return None


def _lowered_prefix(doc: Optional[Document]) -> Optional[Graph]:
    """The graph of ``doc`` with its top-level layers cut before the first that has an error."""
    for _ in range(PREFIX_TRIES):
        if doc is None or not isinstance(doc.data, dict) or not isinstance(doc.data.get("layers"), list):
            return None
        try:
            errors = structural_errors(doc)
            if not errors:
                return replace(lower(doc), expectations=(), limits={})
        except SpecErrors as exc:
            errors = exc.errors
        doc = _cut_layers(doc, errors)
    return None


def _cut_layers(doc: Document, errors: Sequence[ArchspecError]) -> Optional[Document]:
    """``doc`` without the top-level entry holding the first error and those after it (and without
    ``outputs:``, which may name them); None when no error is inside an entry but the first."""
    layers = doc.data["layers"]
    starts = [doc.key_loc(("layers", i)).line for i in range(len(layers))]
    lines = [e.loc.line for e in errors if e.loc and e.loc.line >= (starts[0] if starts else 1)]
    if not lines:
        return None
    broken = max(i for i, start in enumerate(starts) if start <= min(lines))
    if broken == 0:
        return None
    data = {k: v for k, v in doc.data.items() if k != "outputs"}
    return replace(doc, data={**data, "layers": layers[:broken]})


def _analysed_prefix(graph: Graph) -> Optional[Analysis]:
    """The analysis of the layers before the first that fails in the shape pass (None: the first fails).

    A failing layer is one whose place an error names; the longest prefix ending before such a
    place that analyses is kept (a block used several times shares its places)."""
    try:
        return analyse(graph)
    except SpecErrors as exc:
        places = {str(e.loc) for e in exc.errors if e.loc}
    cuts = [k for k, node in enumerate(graph.nodes)
            if str(node.loc) in places or any(str(loc) in places for loc in node.arg_locs.values())]
    best: Optional[Analysis] = None
    low, high = 0, len(cuts) - 1
    while low <= high:  # the longest analysing prefix among the cuts: prefixes past a failure fail
        middle = (low + high) // 2
        found = _prefix_analysis(graph, cuts[middle])
        if found is None:
            high = middle - 1
        else:
            best, low = found, middle + 1
    return best


def _prefix_analysis(graph: Graph, count: int) -> Optional[Analysis]:
    """The analysis of the first ``count`` layers, each one no other of them reads an output."""
    nodes = graph.nodes[:count]
    read = {producer(i) for node in nodes for i in node.inputs}
    outputs = tuple(node.name for node in nodes if node.name not in read)
    if not outputs:
        return None
    try:
        return analyse(replace(graph, nodes=nodes, outputs=outputs, output_locs=(None,) * len(outputs),
                               expectations=()))
    except SpecErrors:
        return None
