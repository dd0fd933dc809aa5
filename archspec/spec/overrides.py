"""``--set key.path=value`` overrides, applied to a document's data before validation."""
from __future__ import annotations

from typing import Any, Sequence

from archspec.errors import Location, SpecError, SpecErrors, Stage
from archspec.spec.load import Document, load_text


def parse_override(text: str) -> tuple[list[Any], Any]:
    """Split ``a.b.0=value`` into a path and a YAML 1.2 value.

    >>> parse_override("train.epochs=20")
    (['train', 'epochs'], 20)
    >>> parse_override("input=[64, 64, 3]")
    (['input'], [64, 64, 3])
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise SpecErrors([SpecError(f"--set {text!r} is not KEY=VALUE", "write e.g. --set train.epochs=20",
                                    Location("<command line>"))], Stage.COMMAND_LINE)
    path: list[Any] = [int(p) if p.isdigit() else p for p in key.strip().split(".")]
    value = load_text(f"v: {raw}" if raw.strip() else "v: ''", "<command line>").data["v"]
    return path, value


def apply_overrides(doc: Document, overrides: Sequence[str]) -> Document:
    """Set each override in the data; the value's location becomes the command line."""
    for text in overrides:
        path, value = parse_override(text)
        target = doc.data
        for i, part in enumerate(path[:-1]):
            nxt = target.get(part) if isinstance(target, dict) else (
                target[part] if isinstance(target, list) and isinstance(part, int) and part < len(target) else None)
            if nxt is None:
                if not isinstance(target, dict):
                    raise SpecErrors([SpecError(f"--set {text}: '{'.'.join(map(str, path[:i + 1]))}' does not exist",
                                                "check the key path", Location("<command line>"))], Stage.COMMAND_LINE)
                nxt = target[part] = {}
            target = nxt
        if isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target):
            target[path[-1]] = value
        elif isinstance(target, dict):
            target[path[-1]] = value
        else:
            raise SpecErrors([SpecError(f"--set {text}: cannot set '{path[-1]}' inside {type(target).__name__}",
                                        "check the key path", Location("<command line>"))], Stage.COMMAND_LINE)
        doc.positions[tuple(path)] = Location(f"--set {text}")
    return doc
