"""Schema validation with messages that say what is wrong, where, and what to do.

Pass 1 checks the document's structure against ``structural_schema()``; pass 2 (called by
lowering, after expressions are evaluated) checks each layer's arguments against its kind.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import jsonschema

from archspec.errors import Location, SpecError, did_you_mean
from archspec.layers.registry import LayerKind
from archspec.spec.load import Document
from archspec.spec.schema import structural_schema

_TOP_HINTS = {
    "archspec": "add 'archspec: 1' (the format version) at the top",
    "name": "add 'name: my_net' (it becomes the Keras model's name)",
    "layers": "add a 'layers:' list",
}
# What a key whose schema is a oneOf/anyOf expects, in words.
_EXPECTS = {
    "inputs": "a name or a non-empty list of names",
    "outputs": "a name or a non-empty list of names",
    "repeat": "an integer >= 0, or a $reference or ${expression}",
}
_BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


@lru_cache(maxsize=1)
def _structural_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(structural_schema())


def _where(path: tuple) -> str:
    return ".".join(str(p) for p in path) if path else "the top level"


def _type_words(schema_type: Any) -> str:
    types = schema_type if isinstance(schema_type, list) else [schema_type]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _translate(error: jsonschema.ValidationError, doc: Document) -> SpecError:
    path = tuple(error.absolute_path)
    where, loc = _where(path), doc.loc(path)
    kw, value = error.validator, error.validator_value
    if kw == "required":
        missing = [k for k in value if k not in error.instance][0]
        if not path:
            return SpecError(f"missing required key '{missing}'", _TOP_HINTS.get(missing, f"add '{missing}'"),
                             Location(doc.path, 1, 1), rank=10)
        return SpecError(f"'{where}' needs the key '{missing}'", f"add '{missing}:'", loc, rank=10)
    if kw == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed][0]
        hint = did_you_mean(str(extra), allowed) or f"allowed keys: {', '.join(allowed)}"
        place = "at the top level" if not path else f"in '{where}'"
        return SpecError(f"unknown key '{extra}' {place}", hint, doc.key_loc(path + (extra,)), rank=20)
    if kw == "const" and path == ("archspec",):
        return SpecError(f"unsupported format version archspec: {error.instance!r}",
                         "this archspec reads version 1; write 'archspec: 1'", loc, rank=1)
    if kw == "type":
        return SpecError(f"'{where}' must be {_type_words(value)}, not {_describe(error.instance)}",
                         "see the spec language for its form", loc, rank=30)
    if kw in _BOUNDS and not (path and path[0] in ("input", "inputs")):
        return SpecError(f"'{where}' must be {_BOUNDS[kw]} {value}; received: {error.instance!r}",
                         "see the spec language for its form", loc, rank=30)
    if kw == "enum":
        options = ", ".join("null" if v is None else str(v) for v in value)
        hint = did_you_mean(str(error.instance), [str(v) for v in value]) or "see the spec language for its form"
        return SpecError(f"'{where}' must be one of {options}; received: {error.instance!r}", hint, loc, rank=30)
    if kw == "minItems" and value == 1:
        return SpecError(f"'{where}' is empty", "give at least one item", loc, rank=30)
    if kw == "minProperties":
        return SpecError(f"'{where}' is empty", "give at least one entry", loc, rank=30)
    if kw == "pattern" and path and path[-1] == "name":
        return SpecError(f"invalid name {error.instance!r}", "use letters, digits, '_', '.' or '-', "
                         "starting with a letter or '_'", loc, rank=30)
    if kw in ("minimum", "exclusiveMinimum") and len(path) >= 2 and path[0] in ("input", "inputs"):
        return SpecError(f"input size {error.instance!r} must be a positive integer (or null for unknown)",
                         "fix the input shape", loc, rank=30)
    if kw in ("anyOf", "oneOf") and path and isinstance(path[-1], str) and path[-1] in _EXPECTS:
        return SpecError(f"'{path[-1]}' must be {_EXPECTS[path[-1]]}; received: {error.instance!r}",
                         "see the spec language for its form", loc, rank=30)
    if kw in ("anyOf", "oneOf") and path and path[0] in ("input", "inputs"):
        return SpecError(f"input size {error.instance!r} must be a positive integer (or null for unknown)",
                         "fix the input shape", loc, rank=30)
    return SpecError(f"'{where}': {error.message}", "see the spec language for its form", loc, rank=40)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return _TYPE_WORDS.get({list: "array", dict: "object"}.get(type(value), ""), type(value).__name__)


def structural_errors(doc: Document) -> list[SpecError]:
    """Pass 1: every structural problem of the document, translated and located."""
    if not isinstance(doc.data, dict):
        return [SpecError(f"a spec must be a mapping of keys (archspec, name, input, layers), not "
                          f"{_describe(doc.data)}", "start the file with 'archspec: 1'", Location(doc.path, 1, 1),
                          rank=0)]
    errors = [_translate(e, doc) for e in _structural_validator().iter_errors(doc.data)]
    if "input" in doc.data and "inputs" in doc.data:
        errors.append(SpecError("both 'input' and 'inputs' are given", "use 'input' for one input or 'inputs' "
                                "for several named ones", doc.key_loc(("inputs",)), rank=10))
    elif "input" not in doc.data and "inputs" not in doc.data:
        errors.append(SpecError("missing the input shape", "add e.g. 'input: [32, 32, 1]' (channels last, no "
                                "batch axis)", Location(doc.path, 1, 1), rank=10))
    return errors


# Keras arguments that archspec does not take on purpose, and what to write instead.
NOT_TAKEN = {
    "data_format": "archspec is channels-last only (shapes [H, W, C]); remove data_format",
    "input_shape": "the model's input shape goes under 'input:' at the top of the spec",
    "name": "write the layer's name as 'name:' beside the layer key, not among its arguments",
    "trainable": "archspec trains every layer with weights; FixedConv2D gives frozen kernels",
    "dtype": "the dtype comes from the training settings (--mixed-precision)",
}
KERAS2_NAMES = {("LeakyReLU", "alpha"): "Keras 3 calls it negative_slope"}


@lru_cache(maxsize=None)
def _arg_validator(kind_name: str, arg_name: str) -> jsonschema.Draft202012Validator:
    from archspec.layers.registry import KINDS
    return jsonschema.Draft202012Validator(KINDS[kind_name].arg_map[arg_name].schema)


def check_args(kind: LayerKind, given: Mapping[str, Any], label: str, key_loc: Location,
               arg_locs: Mapping[str, Location], key_locs: Mapping[str, Location]) -> list[SpecError]:
    """Pass 2: one layer's (evaluated) arguments against its kind's argument schemas."""
    errors: list[SpecError] = []
    arg_map = kind.arg_map
    misspelled: set[str] = set()
    for name, value in given.items():
        if name not in arg_map:
            close = KERAS2_NAMES.get((kind.name, name)) or did_you_mean(str(name), list(arg_map))
            if close and "'" in close:
                misspelled.add(close.split("'")[1])
            hint = close or NOT_TAKEN.get(str(name)) or (
                f"{kind.name} takes {', '.join(arg_map)}" if arg_map else f"{kind.name} takes no arguments")
            errors.append(SpecError(f"{label}: unknown argument '{name}'", hint, key_locs.get(name, key_loc), rank=20))
            continue
        arg = arg_map[name]
        if not _arg_validator(kind.name, name).is_valid(value):
            errors.append(SpecError(f"{label}: '{name}' must be {arg.expects}; received: {value!r}",
                                    f"see `archspec layers {kind.name}`", arg_locs.get(name, key_loc), rank=30))
    for arg in kind.args:
        if arg.required and arg.name not in given and arg.name not in misspelled:
            errors.append(SpecError(f"{label}: missing required argument '{arg.name}'",
                                    f"add {arg.name}: ({arg.expects})", key_loc, rank=15))
    return errors
