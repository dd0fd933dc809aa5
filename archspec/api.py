"""The pipeline as one short chain of calls: load -> validate -> lower -> analyse -> passes.

``analyse_spec`` is the one call behind ``summary``, ``graph``, ``diff`` and ``explain`` (and
the one a studio makes on every keystroke: it takes the spec's text as well as a path);
``compile_spec`` stops after the shape analysis, for ``build`` and ``train``. Nothing here
imports TensorFlow or Keras; ``archspec.keras_backend`` does that.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

from archspec.analysis.limits import check_limits
from archspec.analysis.passes import Report, run_passes
from archspec.analysis.shape_pass import Analysis, analyse
from archspec.errors import Location, SpecError, SpecErrors, Stage, UserError, did_you_mean
from archspec.graph.ir import Graph
from archspec.graph.lower import lower
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
    graph = lower(doc)
    if not expectations:
        graph = replace(graph, expectations=())
    analysis = analyse(graph)
    if expectations:  # budgets, like expect:, are written for the file's own input
        limit_errors = check_limits(analysis)
        if limit_errors:
            raise SpecErrors(limit_errors)
    return Compiled(doc, graph, analysis)


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
    return run_passes(compile_spec(spec, overrides, input_shape, text=text).analysis, batch_size, dtype)


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
