"""The pipeline as one short chain of calls: load -> validate -> lower -> analyse.

Nothing here imports TensorFlow or Keras; ``archspec.keras_backend`` does that.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

from archspec.analysis.limits import check_limits
from archspec.analysis.shape_pass import Analysis, analyse
from archspec.errors import SpecErrors
from archspec.graph.ir import Graph
from archspec.graph.lower import lower
from archspec.spec.load import Document, load_file, load_text
from archspec.spec.overrides import apply_overrides
from archspec.spec.validate import structural_errors


@dataclass(frozen=True)
class Compiled:
    document: Document
    graph: Graph
    analysis: Analysis

    @property
    def path(self) -> str:
        return self.document.path


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


def compile_spec(path: str | Path, overrides: Sequence[str] = (), input_shape: Optional[str] = None) -> Compiled:
    """Load a spec file and run it through every analysis stage.

    ``overrides`` are ``key.path=value`` strings (``--set``); ``input_shape`` replaces the
    single input's shape, written ``64x64x3`` with ``?`` for an unknown size; ``expect:``
    assertions then do not apply, since they were written for the file's own input.
    """
    doc = load_file(path)
    overrides = list(overrides)
    if input_shape is not None:
        overrides.append(f"{_input_key(doc)}={json.dumps(parse_input_shape(input_shape))}")
    return check_document(apply_overrides(doc, overrides), expectations=input_shape is None)


def compile_text(text: str, path: str = "<string>", overrides: Sequence[str] = ()) -> Compiled:
    return check_document(apply_overrides(load_text(text, path), overrides))


def parse_input_shape(text: str) -> list:
    """``64x64x3`` -> [64, 64, 3]; ``?`` or ``None`` -> null.

    >>> parse_input_shape("64x?x3")
    [64, None, 3]
    """
    from archspec.errors import Location, SpecError

    parts = text.lower().replace(",", "x").split("x")
    try:
        return [None if p.strip() in ("?", "none", "null") else int(p) for p in parts]
    except ValueError:
        raise SpecErrors([SpecError(f"--input {text!r} is not a shape", "write sizes joined by 'x', e.g. 64x64x3 "
                                    "(? for unknown)", Location("<command line>"), 0)]) from None


def _input_key(doc: Document) -> str:
    data = doc.data if isinstance(doc.data, dict) else {}
    if "inputs" in data and isinstance(data["inputs"], dict) and len(data["inputs"]) == 1:
        return f"inputs.{next(iter(data['inputs']))}"
    return "input"
