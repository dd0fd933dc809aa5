"""Spec text from imported entries, written as the zoo specs are: flow mappings for a layer's
arguments, ``name:`` on every layer (the model's names), ``inputs:`` only where the input is
not the entry just above, comments for what the spec could not hold.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Optional, Sequence

from archspec.importer.to_entries import Entry, Imported

PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*(:[A-Za-z0-9_]+)?$")  # names, use/member and layer:1
YAML_WORDS = {"null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "no", "on", "off"}
REFERENCE = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_]*$|^\$\{.*\}$")  # a block parameter, written as is


def scalar(value: Any) -> str:
    """A value as YAML 1.2 flow text that archspec reads back as the same value.

    >>> [scalar(v) for v in (None, True, 3, 1e-05, 0.5, "same", "null", "a b", "$filters")]
    ['null', 'true', '3', '1.0e-05', '0.5', 'same', '"null"', '"a b"', '$filters']
    >>> scalar([[0, 1], [0, 1]]), scalar({"l2": 0.01})
    ('[[0, 1], [0, 1]]', '{l2: 0.01}')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        if REFERENCE.match(value) and not value.startswith("${"):
            return value
        return value if PLAIN.match(value) and value not in YAML_WORDS else json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no spec text for {value!r}")


def _float(value: float) -> str:
    """Shortest text that reads back as the float; YAML 1.2 needs a '.' before an exponent."""
    if not math.isfinite(value):
        raise ValueError(f"{value} has no spec text")
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def entry_lines(entry: Entry, previous: Optional[str], indent: str = "  ") -> list[str]:
    """One entry's lines; ``previous`` is the name of the entry just above (or the input)."""
    if entry.share is not None:
        head = f"{indent}- share: {entry.share}"
    elif entry.args:
        head = f"{indent}- {entry.kind}: {scalar(entry.args)}"
    else:
        head = f"{indent}- {entry.kind}: {{}}"
    lines = [head, f"{indent}  name: {scalar(entry.name)}"]
    if entry.inputs and entry.inputs != [previous]:
        shown = entry.inputs[0] if len(entry.inputs) == 1 else entry.inputs
        lines.append(f"{indent}  inputs: {scalar(shown)}")
    if not entry.trainable and entry.share is None:
        lines.append(f"{indent}  trainable: false")
    return lines


def entries_text(entries: Sequence[Entry], first_input: Optional[str], indent: str = "  ") -> list[str]:
    lines: list[str] = []
    previous = first_input
    for entry in entries:
        lines += entry_lines(entry, previous, indent)
        previous = entry.name
    return lines


def spec_text(imported: Imported, source: str, block_lines: Sequence[str] = (), header: Sequence[str] = ()) -> str:
    """The whole spec file of an imported model (``block_lines``: its ``blocks:`` section)."""
    lines = [f"# Imported from {source} by `archspec import`."] + [f"# {line}" for line in header]
    lines += ["archspec: 1", f"name: {scalar(_spec_name(imported.name))}",
              f"description: {scalar(f'The Keras model {imported.name}, imported from {source}.')}"]
    if len(imported.inputs) == 1:
        lines.append(f"input: {scalar(list(next(iter(imported.inputs.values()))))}")
        first_input: Optional[str] = "input"
    else:
        lines.append("inputs:")
        lines += [f"  {scalar(name)}: {scalar(list(shape))}" for name, shape in imported.inputs.items()]
        first_input = None
    last = imported.entries[-1].name if imported.entries else None
    if imported.outputs != [last]:
        lines.append(f"outputs: {scalar(imported.outputs if len(imported.outputs) > 1 else imported.outputs[0])}")
    if block_lines:
        lines += ["blocks:", *block_lines]
    lines.append("layers:")
    lines += entries_text(imported.entries, first_input)
    return "\n".join(lines) + "\n"


def _spec_name(name: str) -> str:
    """
    >>> _spec_name("MobileNetV3Small"), _spec_name("1 net")
    ('MobileNetV3Small', '_1_net')
    """
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "imported"
    return cleaned if cleaned[0].isalpha() or cleaned[0] == "_" else "_" + cleaned
