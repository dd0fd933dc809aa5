"""The JSON Schema of a spec file, generated from the layer registry.

``published_schema()`` is what editors read (``schemas/archspec.schema.json``): every layer
and argument with its description, and ``$name``/``${...}`` accepted wherever a value goes.
``structural_schema()`` is the first validation pass: the same document shape, with layer
arguments left to the second pass, which checks them after expressions are evaluated.
"""
from __future__ import annotations

import copy
from typing import Any

from archspec.heads.schema import HEAD_SCHEMA
from archspec.layers.catalog import LayerKind, all_kinds

SCHEMA_ID = "https://raw.githubusercontent.com/archspec/archspec/main/schemas/archspec.schema.json"
EXPR = {"type": "string", "pattern": r"\$", "description": "A $reference or ${expression}."}
REQUIRED_PARAM = "required"  # a block param's default that marks it required
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
NAMES = {"oneOf": [{"type": "string", "description": "a name"},
                   {"type": "array", "items": {"type": "string"}, "minItems": 1,
                    "description": "a non-empty list of names"}]}
ENTRY_KEY_SCHEMAS = {
    "name": {"type": "string", "pattern": NAME_PATTERN,
             "description": "The layer's name, unique in its scope, which other entries refer to: letters, "
                            "digits, '_', '.' or '-', starting with a letter or '_'."},
    "inputs": {"oneOf": [*NAMES["oneOf"], {"type": "object", "minProperties": 1,
                                           "additionalProperties": {"type": "string"},
                                           "description": "a mapping binding a block's inputs"}],
               "description": "The entries whose outputs this entry takes ('layer:name' for one of a layer's "
                              "other outputs); default: the entry just above ('previous'). Inside a block, 'in' "
                              "is the block's first input."},
    "share": {"type": "string", "description": "Instead of a layer key: apply the layer (or every layer of the "
                                                "block instance) of this name again, with the same weights."},
    "repeat": {"oneOf": [{"type": "integer", "minimum": 0, "description": "an integer >= 0"}, EXPR],
               "description": "Apply the entry this many times in sequence (0 leaves it out)."},
    "trainable": {"type": "boolean", "description": "false freezes the layer (every layer of a block use): all its "
                                                    "parameters are non-trainable and training leaves them as they "
                                                    "are, as Keras's layer.trainable = False. Default: true."},
    "expect": {"$ref": "#/$defs/shape", "description": "The output shape this entry must have (checked by "
                                                       "validate and summary)."},
}
LIMITS = {
    "type": "object", "additionalProperties": False,
    "description": "Budgets: exceeding one is a validation error.",
    "properties": {
        "max_params": {"type": "integer", "minimum": 0, "description": "Most parameters allowed."},
        "max_macs": {"type": "integer", "minimum": 0, "description": "Most multiply-accumulates per sample."},
        "max_activation_bytes": {"type": "integer", "minimum": 0,
                                 "description": "Most bytes of activations for one sample (float32)."},
    },
}


def _train_schema() -> dict[str, Any]:
    try:
        from archspec.train.schema import TRAIN_SCHEMA
    except ImportError:  # the training package is optional for analysis-only installs
        return {"type": "object", "description": "Training settings (see `archspec train`)."}
    return copy.deepcopy(TRAIN_SCHEMA)


def _with_expressions(schema: dict[str, Any]) -> dict[str, Any]:
    """Accept a $reference/${expression} anywhere the schema accepts a value, list items included.

    >>> _with_expressions({"type": "array", "items": {"type": "integer"}})["anyOf"][0]["items"]
    {'anyOf': [{'type': 'integer'}, {'$ref': '#/$defs/expr'}]}
    """
    inner = dict(schema)
    for key in ("oneOf", "anyOf"):
        if key in inner:
            inner[key] = [_with_expressions(s)["anyOf"][0] for s in inner[key]]
    if isinstance(inner.get("items"), dict):
        inner["items"] = _with_expressions(inner["items"])
    return {"anyOf": [inner, {"$ref": "#/$defs/expr"}]}


def kind_schema(kind: LayerKind, expressions: bool) -> dict[str, Any]:
    """The arguments of one layer kind as a JSON Schema object."""
    properties = {}
    for arg in kind.args:
        schema = {"$ref": "#/$defs/layer_entry"} if arg.entry else dict(copy.deepcopy(arg.schema))
        schema = _with_expressions(schema) if expressions else schema
        schema["description"] = arg.doc + (f" Default: {arg.default!r}." if not arg.required else " Required.")
        properties[arg.name] = schema
    result: dict[str, Any] = {"type": ["object", "null"], "description": kind.doc, "properties": properties,
                              "additionalProperties": False}
    required = [a.name for a in kind.args if a.required]
    if required:
        result["required"] = required
    return result


def _document(kinds: dict[str, LayerKind], layer_args: dict[str, Any]) -> dict[str, Any]:
    entry_props = dict(ENTRY_KEY_SCHEMAS)
    entry_props.update({name: {"$ref": f"#/$defs/layer/{name}"} for name in kinds})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "archspec network spec, version 1",
        "description": "A neural network described in Keras words. See docs/spec-language.md.",
        "type": "object",
        "required": ["archspec", "name", "layers"],
        "additionalProperties": False,
        "properties": {
            "archspec": {"const": 1, "description": "The format version of the spec language."},
            "name": {"type": "string", "pattern": NAME_PATTERN, "examples": ["my_net"],
                     "description": "The network's name, which becomes the Keras model's name: letters, "
                                    "digits, '_', '.' or '-', starting with a letter or '_'."},
            "description": {"type": "string", "description": "What the network is, with its paper."},
            "input": {"$ref": "#/$defs/shape", "description": "The one input's shape without the batch axis, "
                      "channels last (e.g. [32, 32, 1]); it is called 'input'."},
            "inputs": {"type": "object", "minProperties": 1, "additionalProperties": {"$ref": "#/$defs/shape"},
                       "description": "Several named inputs: a map name -> shape."},
            "outputs": {**NAMES,
                        "description": "The entries whose outputs are the model's outputs; default: the last."},
            "vars": {"type": "object", "description": "Named values for $name and ${...} expressions."},
            "blocks": {"type": "object", "additionalProperties": {"$ref": "#/$defs/block"},
                       "description": "Reusable, parameterised sub-networks, used like layers."},
            "layers": {"$ref": "#/$defs/layer_list", "description": "The network's layers and blocks, in order."},
            "limits": LIMITS,
            "train": _train_schema(),
            "head": copy.deepcopy(HEAD_SCHEMA),
        },
        "$defs": {
            "expr": EXPR,
            "layer_entry": _layer_entry(kinds),
            "shape": {"type": "array", "minItems": 1, "description": "A shape without the batch axis; null = unknown.",
                      "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"},
                                          {"$ref": "#/$defs/expr"}],
                                "description": "A size: a positive integer, or null when unknown."}},
            "block": {"type": "object", "required": ["layers"], "additionalProperties": False,
                      "properties": {
                          "description": {"type": "string", "description": "What the block is."},
                          "params": {"type": "object", "description": "Parameter names and defaults; the word "
                                     "'required' marks one without a default."},
                          "inputs": {"type": "array", "minItems": 1,
                                     "items": {"type": "string", "pattern": NAME_PATTERN},
                                     "description": "The block's named tensor inputs, bound by each use; 'in' is "
                                                    "the first. Default: one input, 'in'."},
                          "outputs": {"type": "array", "minItems": 1, "items": {"type": "string"},
                                      "description": "The entries whose outputs a use gives: 'use' is the first, "
                                                     "'use:name' each one. Default: the last entry's."},
                          "layers": {"$ref": "#/$defs/layer_list"}}},
            "layer_list": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/entry"},
                           "description": "Entries in order: layers or blocks, one key each."},
            "entry": {
                "description": "A layer or block: one key naming its type (with its arguments) plus optional "
                               "name, inputs, repeat, expect. A bare string is a layer without arguments.",
                "anyOf": [{"type": "string"},
                          {"type": "object", "minProperties": 1, "properties": entry_props,
                           "additionalProperties": {"type": ["object", "null"],
                                                    "description": "A block defined under 'blocks', with its params."}}]},
            "layer": layer_args,
        },
    }


def _layer_entry(kinds: dict[str, LayerKind]) -> dict[str, Any]:
    """One layer written as in a spec, as a wrapper's ``layer`` argument holds it: a kind's name,
    or a mapping of one kind to its arguments."""
    return {"description": "One layer: a kind's name, or {Kind: {arguments}}.",
            "anyOf": [{"enum": sorted(kinds)},
                      {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                       "properties": {name: {"$ref": f"#/$defs/layer/{name}"} for name in sorted(kinds)}}]}


def published_schema() -> dict[str, Any]:
    kinds = all_kinds()
    return _document(kinds, {name: kind_schema(kind, expressions=True) for name, kind in sorted(kinds.items())})


def structural_schema() -> dict[str, Any]:
    kinds = all_kinds()
    schema = _document(kinds, {name: {"type": ["object", "null"]} for name in kinds})
    # Layer arguments wait for pass 2, but the entry keys (name, inputs, repeat, expect) are checked here.
    schema["$defs"]["entry"] = {"type": ["string", "object"], "minProperties": 1, "properties": dict(ENTRY_KEY_SCHEMAS)}
    return schema
