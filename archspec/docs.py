"""Human-readable descriptions of the layer registry (``archspec layers``)."""
from __future__ import annotations

import json
from collections import defaultdict

from archspec.errors import UserError, did_you_mean
from archspec.layers.registry import LayerKind, all_kinds

FAMILY_TITLES = {"conv": "Convolution", "pooling": "Pooling", "core": "Core", "reshape": "Reshaping",
                 "resize": "Padding, cropping, upsampling", "norm": "Normalization", "merge": "Merging",
                 "activation": "Activations", "regularization": "Regularization",
                 "preprocessing": "Preprocessing", "fixed": "Fixed kernels"}


def list_kinds() -> str:
    by_family: dict[str, list[str]] = defaultdict(list)
    for name, kind in sorted(all_kinds().items()):
        by_family[kind.family].append(name)
    lines = []
    for family, names in by_family.items():
        lines.append(f"{FAMILY_TITLES.get(family, family)}:")
        lines.append("  " + ", ".join(names))
    lines.append("")
    lines.append("`archspec layers NAME` shows a kind's arguments.")
    return "\n".join(lines)


def kind_named(name: str) -> LayerKind:
    """The registered kind called ``name``; a UserError with a did-you-mean otherwise."""
    kinds = all_kinds()
    if name not in kinds:
        raise UserError(f"unknown layer kind '{name}'", did_you_mean(str(name), list(kinds)) or
                        "run `archspec layers` for the list")
    return kinds[name]


def describe_kind(name: str) -> str:
    kind = kind_named(name)
    lines = [f"{kind.name}: {kind.doc}"]
    if kind.keras_class:
        lines.append(f"Compiles to keras.layers.{kind.keras_class}.")
    lo, hi = kind.inputs
    if hi != 1:
        lines.append(f"Inputs: {'exactly' if lo == hi else 'at least'} {lo} (list them under inputs:).")
    lines.append("")
    if not kind.args:
        lines.append("No arguments.")
    width = max((len(a.name) for a in kind.args), default=0)
    for arg in kind.args:
        default = "required" if arg.required else f"default {json.dumps(arg.default)}"
        lines.append(f"  {arg.name.ljust(width)}  {arg.doc} ({default})")
        lines.append(f"  {' ' * width}  expects {arg.expects}")
    return "\n".join(lines)
