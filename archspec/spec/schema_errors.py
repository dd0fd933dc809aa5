"""JSON Schema errors in archspec's words: the one translator for the spec and its train: section.

A table maps each JSON Schema keyword to the function that words its failure as
``'path' must be ...; received: ...``; the hint is the failing schema's own ``description``
(the words editors show) when it has one. Where a value may take one of several forms
(``oneOf``/``anyOf``), jsonschema's ``best_match`` picks the form the value most likely meant.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jsonschema
from jsonschema.exceptions import best_match

from archspec.errors import Location, SpecError, did_you_mean, shown

Locate = Callable[[tuple], "Location | None"]
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}
# What minItems/maxProperties/... count: (one, several, the container in words).
_COUNTED = {"Items": ("item", "items", "a list"), "Properties": ("entry", "entries", "a mapping"),
            "Length": ("character", "characters", "text")}


@dataclass(frozen=True)
class Where:
    """How to locate a path into the data: its value, and its key (unknown keys point at the key)."""

    value: Locate
    key: Locate


@dataclass(frozen=True)
class _Failure:
    error: jsonschema.ValidationError
    path: tuple
    where: Where

    @property
    def name(self) -> str:
        return "the top level" if not self.path else shown(".".join(str(p) for p in self.path))

    @property
    def loc(self) -> Location | None:
        return self.where.value(self.path)

    @property
    def received(self) -> str:
        return shown(self.error.instance)

    def hint(self, fallback: str) -> str:
        """The failing schema's description, or that of the nearest enclosing one, or ``fallback``."""
        error: jsonschema.ValidationError | None = self.error
        while error is not None:
            if isinstance(error.schema, Mapping) and error.schema.get("description"):
                return _as_hint(error.schema["description"])
            error = error.parent
        return fallback

    def error_at(self, message: str, fallback_hint: str) -> list[SpecError]:
        return [SpecError(message, self.hint(fallback_hint), self.loc)]


def translate(error: jsonschema.ValidationError, where: Where, prefix: tuple = ()) -> list[SpecError]:
    """Located errors for one ValidationError; ``prefix`` is the path of the validated value."""
    if error.validator in ("oneOf", "anyOf"):
        error = _meant(error)
    failure = _Failure(error, prefix + tuple(error.absolute_path), where)
    return _RULES.get(str(error.validator), _other)(failure)


def _meant(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The failure in the alternative the value most likely meant (jsonschema's relevance), or the
    choice itself when none stands out. Text that fails a pattern did not mean that form: ``repeat:
    abc`` is neither an integer nor a $reference, rather than a malformed $reference."""
    best = best_match([error])
    if best.validator == "pattern" and len(best.absolute_path) == len(error.absolute_path):
        return error
    return best


def _as_hint(description: str) -> str:
    """A schema description worded as a hint: no final period, a leading plain word in lower case.

    >>> _as_hint("The layer's name."), _as_hint("A size."), _as_hint("ImageNet weights."), _as_hint("TFRecord files")
    ("the layer's name", 'a size', 'ImageNet weights', 'TFRecord files')
    """
    text = description.strip().rstrip(".")
    first = text.split(" ", 1)[0]
    plain_word = first[:1].isupper() and (first[1:].islower() or len(first) == 1)
    return text[0].lower() + text[1:] if plain_word else text


def describe(value: Any) -> str:
    """A value in words, as a message names what it received.

    >>> describe(7), describe("big"), describe([1]), describe(None)
    ('the number 7', "the text 'big'", 'a list', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {shown(value)}"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    return _TYPE_WORDS.get({list: "array", dict: "object"}.get(type(value), ""), type(value).__name__)


def _type_words(schema_type: Any) -> str:
    types = schema_type if isinstance(schema_type, list) else [schema_type]
    return " or ".join(_TYPE_WORDS.get(t, str(t)) for t in types)


def _example(schema: Mapping[str, Any]) -> str:
    if "examples" in schema:
        value = schema["examples"][0]
    elif "const" in schema:
        value = schema["const"]
    else:
        return ""
    return " " + (str(value) if not isinstance(value, bool) else str(value).lower())


# ------------------------------------------------------------------ one function per keyword
def _required(f: _Failure) -> list[SpecError]:
    properties = f.error.schema.get("properties", {})
    errors = []
    for key in f.error.validator_value:
        if key in f.error.instance:
            continue
        schema = properties.get(key, {})
        what = f" ({_as_hint(schema['description'])})" if schema.get("description") else ""
        message = f"missing required key '{key}'" if not f.path else f"{f.name} needs the key '{key}'"
        errors.append(SpecError(message, f"add '{key}:{_example(schema)}'{what}", f.loc))
    return errors


def _additional_properties(f: _Failure) -> list[SpecError]:
    allowed = list(f.error.schema.get("properties", {}))
    place = "at the top level" if not f.path else f"in {f.name}"
    errors = []
    for key in f.error.instance:
        if key in allowed:
            continue
        hint = did_you_mean(str(key), allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else
                                                   "remove it")
        errors.append(SpecError(f"unknown key {shown(key)} {place}", hint, f.where.key(f.path + (key,))))
    return errors


def _type(f: _Failure) -> list[SpecError]:
    words = _type_words(f.error.validator_value)
    return f.error_at(f"{f.name} must be {words}, not {describe(f.error.instance)}", f"write {words}")


def _enum(f: _Failure) -> list[SpecError]:
    options = list(f.error.validator_value)
    words = ", ".join("null" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in options)
    message = f"{f.name} must be one of {words}; received: {f.received}"
    close = did_you_mean(str(f.error.instance), [str(v) for v in options if isinstance(v, str)])
    return [SpecError(message, close or f.hint("use one of these"), f.loc)]


def _const(f: _Failure) -> list[SpecError]:
    return f.error_at(f"{f.name} must be {f.error.validator_value!r}; received: {f.received}",
                      f"write {f.error.validator_value!r}")


def _bound(f: _Failure) -> list[SpecError]:
    rule = f"{_BOUNDS[str(f.error.validator)]} {f.error.validator_value}"
    return f.error_at(f"{f.name} must be {rule}; received: {f.received}", f"use a value {rule}")


def _count(f: _Failure) -> list[SpecError]:
    keyword, limit = str(f.error.validator), f.error.validator_value
    one, several, container = _COUNTED[keyword[3:]]
    if keyword.startswith("min") and limit == 1:
        return f.error_at(f"{f.name} is empty", f"give at least one {one}")
    count = f"{'at least' if keyword.startswith('min') else 'at most'} {limit} {one if limit == 1 else several}"
    return f.error_at(f"{f.name} must be {container} of {count}; received: {f.received}", f"give {count}")


def _unique_items(f: _Failure) -> list[SpecError]:
    return f.error_at(f"{f.name} lists an item more than once; received: {f.received}", "list each item once")


def _pattern(f: _Failure) -> list[SpecError]:
    last = f.path[-1] if f.path else None
    message = f"invalid {last} {f.received}" if isinstance(last, str) else f"{f.name} is not valid: {f.received}"
    return f.error_at(message, f"it must match {f.error.validator_value}")


def _alternatives(f: _Failure) -> list[SpecError]:
    """No alternative stands out: say which forms the value may take."""
    branches = [b for b in f.error.validator_value if isinstance(b, Mapping)]
    instance = f.error.instance
    keys = [b["required"][0] for b in branches if b.get("type") == "object" and b.get("required")]
    if isinstance(instance, dict) and len(keys) == len(branches):  # mappings told apart by a key
        close = next((did_you_mean(str(k), keys) for k in instance if did_you_mean(str(k), keys)), None)
        return [SpecError(f"{f.name} needs one of the keys {', '.join(keys)}; received: {f.received}",
                          close or f.hint("give one of these keys"), f.loc)]
    forms = " or ".join(_form(b) for b in branches)
    return f.error_at(f"{f.name} must be {forms}; received: {f.received}", "write one of these forms")


def _form(schema: Mapping[str, Any]) -> str:
    """One alternative in words: its description, or its type."""
    if schema.get("description"):
        return _as_hint(schema["description"])
    if "anyOf" in schema or "oneOf" in schema:
        return " or ".join(_form(b) for b in schema.get("anyOf", schema.get("oneOf", [])))
    return _type_words(schema.get("type", "a value"))


def _other(f: _Failure) -> list[SpecError]:
    return f.error_at(f"{f.name}: {f.error.message}", "fix this value")


_RULES: dict[str, Callable[[_Failure], list[SpecError]]] = {
    "required": _required, "additionalProperties": _additional_properties, "type": _type, "enum": _enum,
    "const": _const, **{k: _bound for k in _BOUNDS},
    **{f"{m}{c}": _count for m in ("min", "max") for c in _COUNTED},
    "pattern": _pattern, "uniqueItems": _unique_items, "oneOf": _alternatives, "anyOf": _alternatives,
}
