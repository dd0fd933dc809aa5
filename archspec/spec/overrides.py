"""``--set key.path=value`` overrides, applied to a document's data before validation.

A path must name a key the spec has, or a key the spec language defines at that place
(``train.epochs`` in a spec without it): a typo (``vars.clases``) would otherwise change
nothing and pass silently, so it is an error with a did-you-mean.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from archspec.errors import Location, SpecError, SpecErrors, Stage, did_you_mean, shown
from archspec.spec.load import Document, load_text

_COMMAND_LINE = Location("<command line>")


def parse_override(text: str) -> tuple[list[Any], Any]:
    """Split ``a.b.0=value`` into a path and a YAML 1.2 value.

    >>> parse_override("train.epochs=20")
    (['train', 'epochs'], 20)
    >>> parse_override("input=[64, 64, 3]")
    (['input'], [64, 64, 3])
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise _error(f"--set {shown(text)} is not KEY=VALUE", "write e.g. --set train.epochs=20")
    path: list[Any] = [int(p) if p.isdigit() else p for p in key.strip().split(".")]
    value = load_text(f"v: {raw}" if raw.strip() else "v: ''", "<command line>").data["v"]
    return path, value


def apply_overrides(doc: Document, overrides: Sequence[str]) -> Document:
    """Set each override in the data; the value's location becomes the command line."""
    for text in overrides:
        path, value = parse_override(text)
        if not path or not isinstance(doc.data, dict):
            raise _error(f"--set {text}: the spec is not a mapping of keys", "fix the spec file first")
        _set(doc.data, path, value, text)
        doc.positions[tuple(path)] = Location(f"--set {text}")
    return doc


def _set(data: dict, path: list[Any], value: Any, text: str) -> None:
    target: Any = data
    schemas = [_root_schema()]
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = "the spec" if i == 0 else "'" + ".".join(map(str, path[:i])) + "'"
        if isinstance(target, list):
            if not isinstance(part, int) or part >= len(target):
                raise _error(f"--set {text}: {where} is a list of {len(target)} items; there is no item {shown(part)}",
                             f"use an index from 0 to {len(target) - 1}" if target else "the list is empty")
            if last:
                target[part] = value
                return
        elif isinstance(target, dict):
            part = str(part) if part not in target and str(part) in target else part
            if part not in target and not _defines(schemas, part):
                known = [str(k) for k in list(target) + _defined(schemas)]
                raise _error(f"--set {text}: {where} has no key {shown(part)}",
                             did_you_mean(str(part), known) or _no_such_key_hint(text, path[:i], target))
            if last:
                target[part] = value
                return
            if target.get(part) is None:
                target[part] = {}
        else:
            raise _error(f"--set {text}: {where} is {_kind(target)}, which has no keys",
                         f"set {where} as a whole: --set {'.'.join(map(str, path[:i]))}=VALUE")
        schemas = _children(schemas, part)
        target = target[part]


def _no_such_key_hint(text: str, parent: list[Any], keys: Iterable[Any]) -> str:
    """Name the keys there are, and how to add one the spec language does not define there."""
    shown = ", ".join(map(str, keys))
    there = f"its keys are {shown}" if shown else "it has no keys yet"
    if not parent:
        return there
    key, _, raw = text.partition("=")
    example = f"{{{key.split('.')[len(parent)]}: {raw.strip()}}}" if not shown else "{...}"
    return f"{there}; to add one, set it as a whole: --set '{'.'.join(map(str, parent))}={example}'"


def _kind(value: Any) -> str:
    return "null" if value is None else f"the value {shown(value)}"


def _error(message: str, hint: str) -> SpecErrors:
    return SpecErrors([SpecError(message, hint, _COMMAND_LINE)], Stage.COMMAND_LINE)


# ------------------------------------------------------------------ the published schema, walked
@lru_cache(maxsize=1)
def _root_schema() -> Mapping[str, Any]:
    from archspec.spec.schema import published_schema
    return published_schema()


def _resolved(schemas: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The schemas with every $ref followed and every oneOf/anyOf/allOf alternative listed."""
    out: list[Mapping[str, Any]] = []
    for schema in schemas:
        if not isinstance(schema, Mapping):
            continue
        if "$ref" in schema:
            out += _resolved([_pointer(schema["$ref"])])
        for key in ("oneOf", "anyOf", "allOf"):
            out += _resolved(schema.get(key, []))
        out.append(schema)
    return out


def _pointer(ref: str) -> Any:
    node: Any = _root_schema()
    for part in ref.lstrip("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return node


def _defined(schemas: Iterable[Any]) -> list[str]:
    return [k for s in _resolved(schemas) for k in s.get("properties", {})]


def _defines(schemas: Iterable[Any], key: Any) -> bool:
    return key in _defined(schemas)


def _children(schemas: Iterable[Any], key: Any) -> list[Any]:
    """The schemas that may apply to the value at ``key``."""
    found = []
    for schema in _resolved(schemas):
        if key in schema.get("properties", {}):
            found.append(schema["properties"][key])
        elif isinstance(schema.get("additionalProperties"), Mapping):
            found.append(schema["additionalProperties"])
        if isinstance(key, int) and isinstance(schema.get("items"), Mapping):
            found.append(schema["items"])
    return found
