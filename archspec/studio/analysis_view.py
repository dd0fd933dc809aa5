"""The analysis the editor page shows for a spec's text: the ``summary --format json`` object
(of the layers up to the first broken one when there are errors), every error and warning
with its place, the network picture and each layer's ``explain`` lines.

Pure Python, like ``summary``: the editor never needs TensorFlow. The studio runs it in worker
processes (``serve_analyses``), so that an analysis past the time limit can be stopped.
"""
from __future__ import annotations

import json
import re
import signal
import time
import traceback
from typing import Any, Optional, Sequence

from archspec.analysis.explain import explain_layer
from archspec.analysis.passes import Report
from archspec.analysis.render import drawing
from archspec.analysis.render.svg import to_svg
from archspec.analysis.report import to_json_dict
from archspec.api import PartialAnalysis, analyse_partial
from archspec.errors import ArchspecError, Location, SpecWarning
from archspec.layers.equations import Equation, Line, render_line

# The end of the word an error points at: a name, a number, a quoted string or one character.
_TOKEN = re.compile(r"""'[^']*'?|"[^"]*"?|[^\s,:{}\[\]#]+|.""")
RENDERED_LIMIT = 50_000   # rendered equations remembered between requests (see _rendered)


PARTS = ("summary", "explain", "graph_svg")  # what a request may leave out (the picture is the slowest)


def analyse_response(text: str, path: str, parts: Sequence[str] = PARTS) -> dict[str, Any]:
    """The body of ``POST /api/analyse`` for ``text`` (the file ``path`` names it in messages),
    with the ``parts`` asked for besides ``ok``, ``partial``, ``errors`` and ``elapsed_ms``."""
    started = time.perf_counter()
    result = _analysis(text, path)
    report = result.report
    warnings = report.analysis.warnings if report is not None else ()
    body: dict[str, Any] = {
        "ok": result.ok, "partial": not result.ok,
        "errors": [error_json(e, text, path) for e in result.errors] + [warning_json(w, text, path) for w in warnings],
    }
    if "summary" in parts:
        body["summary"] = to_json_dict(report) if report is not None else None
    if "explain" in parts:
        body["explain"] = explanations(report) if report is not None else {}
    if "graph_svg" in parts and report is not None:
        body["graph_svg"] = to_svg(drawing(report.analysis))
    body["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 3)
    return body


_LAST: list[tuple[str, str, PartialAnalysis]] = []  # the previous request's text, path and analysis


def _analysis(text: str, path: str) -> PartialAnalysis:
    """``analyse_partial(text, path)``. The page asks for a text's table first and for its explain
    lines and picture once the typing pauses: that second request reuses the first's analysis."""
    last = _LAST[-1] if _LAST else None
    if last is not None and last[0] == text and last[1] == path:
        return last[2]
    result = analyse_partial(text, path)
    _LAST[:] = [(text, path, result)]
    return result


def analyse_json(text: str, path: str, parts: Sequence[str] = PARTS) -> bytes:
    """``analyse_response`` as the answer's bytes, encoded as Starlette's ``JSONResponse`` does."""
    return json.dumps(analyse_response(text, path, parts), ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


WARM_UP = "archspec: 1\nname: warm\ninput: [8, 8, 1]\nlayers:\n  - Conv2D: {filters: 2, kernel_size: 3}\n"


def serve_analyses(conn: Any) -> None:
    """The loop of an analysis process (``server.AnalysisProcess``): once warm it says
    ``("ready", None)``; then each request ``(text, path, parts)`` read from ``conn`` is
    answered ``("ok", analyse_json(...))`` or ``("error", the traceback)``; it ends when the
    studio closes its end. The studio kills the process when an analysis takes longer than its
    time limit, so no analysis outlives its request."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is the server's to handle
    analyse_json(WARM_UP, "<warm-up>")  # imports and compiles what every analysis needs before the first
    try:
        conn.send(("ready", None))
    except (EOFError, OSError):
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # the studio stopped
            return
        try:
            answer: tuple[str, Any] = ("ok", analyse_json(*request))
        except Exception:  # a bug: the studio answers 500 with this text in its log, as it would in a thread
            answer = ("error", traceback.format_exc())
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return


def error_json(error: ArchspecError, text: str, path: str) -> dict[str, Any]:
    stage = error.stage.name.lower() if error.stage is not None else None
    return {**place_json(error.loc, text, path), "message": error.message, "hint": error.hint or "",
            "stage": stage, "severity": "error"}


def warning_json(warning: SpecWarning, text: str, path: str) -> dict[str, Any]:
    return {**place_json(warning.loc, text, path), "message": warning.message, "hint": warning.hint,
            "stage": "shapes", "severity": "warning"}


def place_json(loc: Optional[Location], text: str, path: str) -> dict[str, int]:
    """1-based line and column of a place in ``text``, and the end of the word there; a place
    outside the text (none, or another file) is its first character."""
    if loc is None or loc.file != path or loc.line < 1:
        line, col = 1, 1
    else:
        line, col = loc.line, max(loc.col, 1)
    return {"line": line, "col": col, "end_line": line, "end_col": word_end(text, line, col)}


def word_end(text: str, line: int, col: int) -> int:
    """The column just after the word starting at ``line:col`` (both 1-based).

    >>> word_end("a: {filters: 6, kernel_size: 50}", 1, 30), word_end("x", 3, 1), word_end("k: 'a b'", 1, 4)
    (32, 2, 9)
    """
    lines = text.splitlines()
    if line > len(lines) or col > len(lines[line - 1]):
        return col + 1
    match = _TOKEN.match(lines[line - 1], col - 1)
    return col + (len(match.group(0)) if match else 1)


def explanations(report: Report) -> dict[str, list[str]]:
    """Every layer's explain lines (shape, params, MACs and receptive-field arithmetic)."""
    return {info.node.name: _rendered(explain_layer(info, report.fields)) for info in report.analysis.layers}


_RENDERED: dict[Equation, str] = {}


def _rendered(lines: Sequence[Line]) -> list[str]:
    """The lines as text. An equation's text is a pure function of the equation (its exact
    evaluation dominates the time of a large model's explanation), and an edit changes a few of
    them: the others are remembered from the previous requests."""
    out = []
    for line in lines:
        if not isinstance(line, Equation):
            out.append(render_line(line))
            continue
        text = _RENDERED.get(line)
        if text is None:
            if len(_RENDERED) >= RENDERED_LIMIT:
                _RENDERED.clear()
            text = _RENDERED[line] = render_line(line)
        out.append(text)
    return out
