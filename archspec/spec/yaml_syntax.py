"""PyYAML's syntax errors as located SpecErrors, at the place to fix and with the fix.

PyYAML reports where its parser gave up (``problem_mark``), which for an unclosed bracket or
quote is the end of the file or the next line; the place to fix is where the bracket or
quote opened (``context_mark``). We point there whenever the opener is never closed.
"""
from __future__ import annotations

import re
from typing import Iterator

import yaml

from archspec.errors import Location, SpecError

_CLOSERS = {"[": "]", "{": "}"}
_WHAT = {"[": "list", "{": "mapping"}
# A quote opens a quoted scalar only where a scalar may start, not inside a word (it's).
_SCALAR_STARTS = " \t\n[{,:"


def syntax_error(path: str, text: str, exc: yaml.MarkedYAMLError) -> SpecError:
    """The error of a file PyYAML cannot parse, located where the fix goes."""
    unclosed = _unclosed(path, text, exc)
    if unclosed is not None:
        return unclosed
    mark = exc.problem_mark or exc.context_mark
    loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path, 1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    return SpecError(f"YAML syntax error: {problem}", _hint(text, exc, mark, problem), loc)


def _hint(text: str, exc: yaml.MarkedYAMLError, mark: yaml.Mark | None, problem: str) -> str:
    line = text.splitlines()[mark.line] if mark and mark.line < len(text.splitlines()) else ""
    if "${" in line and "{" in line.split("${", 1)[0]:
        return ("YAML reads '{' inside a flow mapping as a nested mapping: quote the expression, "
                "e.g. filters: \"${filters * 4}\"")
    item = _bare_item_above(text, mark.line) if mark else None
    if problem.startswith("mapping values are not allowed") and item:
        return (f"'- {item}' above is a bare string, which cannot take keys; write '- {item}: {{}}' to give it "
                "name, inputs, repeat or expect")
    if exc.context and "flow" in exc.context and exc.context_mark is not None:
        opened = exc.context_mark
        bracket = text[opened.index] if opened.index < len(text) and text[opened.index] in _CLOSERS else \
            "[" if "sequence" in exc.context else "{"
        return (f"separate the items of the '{bracket}' opened at line {opened.line + 1}, column "
                f"{opened.column + 1} with commas")
    if "\t" in line[: (mark.column + 1) if mark else 0]:
        return "YAML does not allow tabs for indentation; indent with spaces"
    return "fix the YAML syntax at this place"


def _unclosed(path: str, text: str, exc: yaml.MarkedYAMLError) -> SpecError | None:
    """The error at a bracket or quote that is never closed, or None when that is not the problem."""
    opened, context = exc.context_mark, exc.context or ""
    if opened is None:
        return None
    loc = Location(path, opened.line + 1, opened.column + 1)
    reached = _reached(text, exc.problem_mark)
    if context.startswith("while scanning a quoted scalar") and "end of stream" in (exc.problem or ""):
        quote = text[opened.index] if opened.index < len(text) else '"'
        return SpecError(f"YAML syntax error: this quote ({quote}) is never closed",
                         f"add the closing {quote} where the text ends; the parser reached {reached} without "
                         "finding it", loc)
    if context.startswith("while parsing a flow"):
        start = opened.index if opened.index < len(text) and text[opened.index] in _CLOSERS else \
            _last_open_bracket(text, opened.index)
        if start is None or _is_closed(text, start):
            return None
        bracket = text[start]
        loc = Location(path, text.count("\n", 0, start) + 1, start - (text.rfind("\n", 0, start) + 1) + 1)
        return SpecError(f"YAML syntax error: this '{bracket}' is never closed",
                         f"add '{_CLOSERS[bracket]}' where the {_WHAT[bracket]} ends; the parser reached {reached} "
                         "without finding it", loc)
    return None


def _last_open_bracket(text: str, end: int) -> int | None:
    """Index of the innermost bracket still open at ``end`` (PyYAML's context mark for a flow
    node at the end of the file points past the bracket), skipping quoted text and comments.

    >>> _last_open_bracket("a: 1\\nname: [\\n", 12), _last_open_bracket("a: [1]\\n", 7) is None
    (11, True)
    """
    stack: list[int] = []
    for i, ch in _brackets(text, 0, end):
        if ch in _CLOSERS:
            stack.append(i)
        elif stack:
            stack.pop()
    return stack[-1] if stack else None


def _reached(text: str, mark: yaml.Mark | None) -> str:
    if mark is None or not text[mark.index:].strip():
        return "the end of the file"
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _is_closed(text: str, start: int) -> bool:
    """Whether the bracket at ``start`` has its closing bracket, skipping quoted text and comments.

    >>> _is_closed("a: [1, {b: 2}]", 3), _is_closed("a: [1, 2\\nb: {c: 3}\\n", 3), _is_closed("{a: [1}", 4)
    (True, False, False)
    >>> _is_closed("[it's, '#]', 1]  # ]", 0), _is_closed("[1, 2 # ]\\n", 0)
    (True, False)
    """
    stack: list[str] = []
    for _, ch in _brackets(text, start, len(text)):
        if ch in _CLOSERS:
            stack.append(_CLOSERS[ch])
        elif ch != stack.pop():
            return False  # a closer of another bracket: the one at the top is never closed
        elif not stack:
            return True
    return False


def _brackets(text: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    """Every bracket in ``text[start:end]`` with its index, outside quoted text and comments."""
    i = start
    while i < min(end, len(text)):
        ch, before = text[i], text[i - 1] if i > 0 else "\n"
        if ch in "'\"" and before in _SCALAR_STARTS:
            i = _quote_end(text, i)
        elif ch == "#" and before in " \t\n":
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif ch in "[]{}":
            yield i, ch
        i += 1


def _quote_end(text: str, start: int) -> int:
    """Index of the quote that closes the one at ``start`` (YAML's '' and \\" escapes), or the end."""
    quote, i = text[start], start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            if quote == "'" and text[i + 1:i + 2] == "'":
                i += 2
                continue
            return i
        i += 1
    return len(text)


def _bare_item_above(text: str, line: int) -> str | None:
    """The layer name of a bare-string list item (``- Flatten``) just above ``line`` (0-based)."""
    lines = text.splitlines()
    for above in reversed(lines[:line]):
        if above.strip():
            match = re.match(r"^\s*-\s+([A-Za-z_][A-Za-z0-9_]*)\s*(#.*)?$", above)
            return match.group(1) if match else None
    return None
