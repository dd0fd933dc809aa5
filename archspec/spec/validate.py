"""Schema validation with messages that say what is wrong, where, and what to do.

Pass 1 checks the document's structure against ``structural_schema()``; pass 2 (called by
lowering, after expressions are evaluated) checks each layer's arguments against its kind.
Both word their errors through ``schema_errors`` or in the same form.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Callable, Mapping

import jsonschema

from archspec.errors import Location, SpecError, Stage, at_stage, did_you_mean, shown
from archspec.layers.registry import LayerKind
from archspec.spec.load import Document
from archspec.spec.schema import REQUIRED_PARAM, structural_schema
from archspec.spec.schema_errors import Where, describe, translate

SUPPORTED_VERSION = 1


@lru_cache(maxsize=1)
def _structural_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(structural_schema())


def structural_errors(doc: Document) -> list[SpecError]:
    """Pass 1: every structural problem of the document, translated and located."""
    if not isinstance(doc.data, dict):
        return at_stage([SpecError(f"a spec must be a mapping of keys (archspec, name, input, layers), not "
                                   f"{describe(doc.data)}", "start the file with 'archspec: 1'",
                                   Location(doc.path, 1, 1))], Stage.STRUCTURE)
    version = doc.data.get("archspec", SUPPORTED_VERSION)
    if version != SUPPORTED_VERSION or isinstance(version, bool):
        # Another version's structure cannot be judged by this one's rules: this error alone.
        return at_stage([SpecError(f"unsupported format version archspec: {shown(version)}",
                                   f"this archspec reads version {SUPPORTED_VERSION}; write 'archspec: "
                                   f"{SUPPORTED_VERSION}'", doc.loc(("archspec",)))], Stage.STRUCTURE)
    where = Where(doc.loc, doc.key_loc)
    errors = [e for error in _structural_validator().iter_errors(doc.data) for e in translate(error, where)]
    if "input" in doc.data and "inputs" in doc.data:
        errors.append(SpecError("both 'input' and 'inputs' are given", "use 'input' for one input or 'inputs' "
                                "for several named ones", doc.key_loc(("inputs",))))
    elif "input" not in doc.data and "inputs" not in doc.data:
        errors.append(SpecError("missing the input shape", "add e.g. 'input: [32, 32, 1]' (channels last, no "
                                "batch axis)", Location(doc.path, 1, 1)))
    return at_stage(errors, Stage.STRUCTURE)


# Keras arguments that archspec does not take on purpose, and what to write instead.
NOT_TAKEN = {
    "data_format": "archspec is channels-last only (shapes [H, W, C]); remove data_format",
    "input_shape": "the model's input shape goes under 'input:' at the top of the spec",
    "name": "write the layer's name as 'name:' beside the layer key, not among its arguments",
    "trainable": "write trainable: false beside the layer key (not among its arguments) to freeze it",
    "dtype": "the dtype comes from the training settings (--mixed-precision)",
}
KERAS2_NAMES = {("LeakyReLU", "alpha"): "Keras 3 calls it negative_slope"}


# JSON Schema counts 2.0 as an integer and inf or nan as numbers; Keras takes none of them, and
# the shape rules would compute in floats (1e308 filters overflow the totals to inf).
_ArgValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many({
        "integer": lambda _, v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda _, v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}))


@lru_cache(maxsize=None)
def _arg_validator(kind_name: str, arg_name: str) -> jsonschema.Draft202012Validator:
    from archspec.layers.registry import KINDS
    return _ArgValidator(KINDS[kind_name].arg_map[arg_name].schema)


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
            errors.append(SpecError(f"{label}: unknown argument {shown(name)}", hint, key_locs.get(name, key_loc)))
            continue
        arg = arg_map[name]
        if not _arg_validator(kind.name, name).is_valid(value):
            hint = _closest_choice(arg.schema, value) or f"see `archspec layers {kind.name}`"
            errors.append(SpecError(f"{label}: '{name}' must be {arg.expects}; received: {shown(value)}", hint,
                                    arg_locs.get(name, key_loc)))
    for arg in kind.args:
        if arg.required and arg.name not in given and arg.name not in misspelled:
            errors.append(SpecError(f"{label}: missing required argument '{arg.name}'",
                                    f"add {arg.name}: ({arg.expects})", key_loc))
    return at_stage(errors, Stage.ARGUMENTS)


Locate = Callable[[tuple, bool], Location]  # (path inside the arguments, at the key) -> where it is written


def check_nested(kind: LayerKind, given: Mapping[str, Any], label: str, locate: Locate) -> list[SpecError]:
    """Pass 2 for the layer entries a wrapper's arguments hold (``layer: {LSTM: {units: 8}}``):
    each wrapped layer's arguments checked as an entry's are, at the places they are written,
    then its kind's own rules, then the entries it holds in turn."""
    from archspec.layers.registry import KINDS

    errors: list[SpecError] = []
    for arg in kind.args:
        value = given.get(arg.name)
        if not arg.entry or not _arg_validator(kind.name, arg.name).is_valid(value):
            continue  # a value of the wrong form is check_args's error
        name, inner_given = (value, {}) if isinstance(value, str) else next(iter(value.items()))
        inner_given = inner_given or {}
        path = (arg.name,) if isinstance(value, str) else (arg.name, name)
        inner = KINDS.get(name)
        if inner is None:
            errors.append(SpecError(f"{label}: unknown layer kind {shown(name)} in '{arg.name}'",
                                    did_you_mean(str(name), list(KINDS)) or "run `archspec layers` for the list",
                                    locate(path, True), Stage.ARGUMENTS))
            continue
        inner_label = f"{label} (its {arg.name} {name})"
        found = check_args(inner, inner_given, inner_label, locate(path, True),
                           {k: locate(path + (k,), False) for k in inner_given},
                           {k: locate(path + (k,), True) for k in inner_given})
        if not found:
            found = [SpecError(f"{inner_label}: {p.message}", p.hint or "",
                               locate(path + (p.arg,), False) if p.arg in inner_given else locate(path, True),
                               Stage.ARGUMENTS) for p in inner.check(inner.with_defaults(inner_given))]
        errors += found or check_nested(inner, inner_given, inner_label, lambda at, key: locate(path + at, key))
    return errors


def _closest_choice(schema: Mapping[str, Any], value: Any) -> str | None:
    """A did-you-mean over the named choices a schema allows (``ReLU`` -> ``relu``), for a text value."""
    if not isinstance(value, str):
        return None
    return did_you_mean(value, _choices(schema))


def _choices(schema: Mapping[str, Any]) -> list[str]:
    """The text values of every ``enum`` in a schema and its alternatives.

    >>> _choices({"oneOf": [{"enum": ["valid", "same", None]}, {"type": "integer"}]})
    ['valid', 'same']
    """
    found = [v for v in schema.get("enum", []) if isinstance(v, str)]
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key, []):
            found += _choices(branch)
    return found


def arguments_hint(type_name: str, value: Any, takes: LayerKind | Mapping[str, Any]) -> str:
    """How to write a value given where a layer's (or block's) arguments mapping goes.

    ``takes`` is the layer kind, or the block's params (name -> default). A plain value most
    likely meant the first required argument (else the first one): ``Dropout: 0.5`` ->
    ``Dropout: {rate: 0.5}``.
    """
    if isinstance(takes, LayerKind):
        names = [a.name for a in takes.args if a.required] + [a.name for a in takes.args if not a.required]
    else:
        names = sorted(takes, key=lambda n: takes[n] != REQUIRED_PARAM)  # required first, stable
    if not names:
        return f"{type_name} takes no arguments: write - {type_name}"
    if isinstance(value, (str, int, float, bool)):
        return f"write {type_name}: {{{names[0]}: {_yaml_scalar(value)}}}"
    return f"write {type_name}: {{{', '.join(f'{n}: ...' for n in names[:2])}}}, with its arguments by name"


def _yaml_scalar(value: Any) -> str:
    """A scalar as YAML writes it.

    >>> _yaml_scalar(0.5), _yaml_scalar(True), _yaml_scalar("relu"), _yaml_scalar("a: b")
    ('0.5', 'true', 'relu', "'a: b'")
    """
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and (not value or any(c in value for c in ":#{}[],&*!|>'\"%@`")):
        return "'" + value.replace("'", "''") + "'"
    return str(value)
