"""The stable API of archspec plugins: everything a package needs to add layer kinds.

A plugin imports from this module only (never from ``archspec.layers.*``, whose insides may
change), builds ``LayerKind`` records exactly as the built-in families do, and registers them
with ``register_kinds`` from the module or function its ``archspec.layers`` entry point names
(see docs/plugins.md). What a record holds:

- ``args``: ``Arg`` records (the ``args`` helpers make the common ones: ``args.ints``,
  ``args.choice``, ``args.boolean``...), each with its JSON schema, words and default;
- ``shape``: ``(args, input shapes) -> output shape``, shapes without the batch axis, raising
  ``LayerError`` (naming the argument to blame) for an impossible use;
- ``params`` / ``macs``: ``(args, ins, out) -> Params(trainable, non_trainable)`` / ``int``,
  counted as Keras counts them; ``explain`` gives the equations (``Equation``, ``Product``);
- ``field_rule`` and ``window``: how output positions see input positions (``FieldRule``);
- ``example``: one use that ``archspec layers NAME`` explains with numbers;
- ``build``: the Keras layers, from ``keras_layer`` (a class of ``keras.layers``) or
  ``plugin_layer`` (the plugin's own Keras layer, imported only when a model is built, so
  ``validate`` and ``summary`` never import TensorFlow).

Everything here is pure Python; a record is checked when it is registered
(``record_problems``), and a plugin whose record is unsound is skipped and reported.
"""
from __future__ import annotations

import importlib
from typing import Any, Sequence

from archspec.errors import RunFailure
from archspec.layers import args
from archspec.layers.arithmetic import as_tuple, fmt_shape, product, window_length
from archspec.layers.axes import EXAMPLE_SHAPES, axis_symbols
from archspec.layers.catalog import all_families, all_kinds
from archspec.layers.common import channels, check_positive_output, explicit_pads, padded, window
from archspec.layers.equations import Equation, Line, Product, factor, mul, num, per_axis, show
from archspec.layers.keras_builders import Builder, keras_kwargs, keras_layer
from archspec.layers.registry import (Arg, Args, Caveat, Example, Family, FieldRule, LayerError, LayerKind, Params,
                                      Shape, Window, record_problems, shape_only)
from archspec.layers import registry
from archspec.layers.window_equations import kernel_factors, macs_line, output_factors, window_lines
from archspec import plugins

__all__ = [
    # the records
    "LayerKind", "Arg", "Args", "Params", "Window", "Family", "FieldRule", "LayerError", "Caveat", "Shape",
    "Example", "shape_only", "record_problems", "args",
    # registering
    "family", "register_families", "register_kinds",
    # Keras builders
    "Builder", "keras_layer", "keras_kwargs", "plugin_layer",
    # explanations
    "Equation", "Line", "Product", "factor", "per_axis", "mul", "num", "show",
    # shape and window arithmetic, as the built-in windowed kinds use it
    "as_tuple", "fmt_shape", "product", "window_length", "channels", "check_positive_output", "explicit_pads",
    "padded", "window", "window_lines", "macs_line", "kernel_factors", "output_factors", "axis_symbols",
    "EXAMPLE_SHAPES",
]


def family(name: str) -> Family:
    """A registered family by name, for a plugin kind that joins a built-in family.

    >>> family("fixed").noun
    'fixed-kernel convolutions'
    """
    families = all_families()
    if name not in families:
        raise KeyError(f"no layer family {name!r}; registered: {', '.join(families)}")
    return families[name]


def register_families(*families: Family) -> None:
    """Register new families (a name already registered is refused)."""
    for new in families:
        if new.name in all_families():
            raise ValueError(f"layer family {new.name!r} is already registered")
    registry.register_families(*families)


def register_kinds(*kinds: LayerKind) -> None:
    """Register kinds, all or none: a name already taken (by archspec or another plugin) or an
    incomplete record is refused with the reason, before anything is registered."""
    taken = all_kinds()
    for kind in kinds:
        if kind.name in taken:
            owner = plugins.origin(kind.name)
            by = f"plugin '{owner.name}' ({owner.label})" if owner else "archspec (a built-in kind)"
            raise ValueError(f"layer kind {kind.name!r} is already registered by {by}")
        problems = record_problems(kind)
        if problems:
            raise ValueError(f"layer kind {kind.name!r} is incomplete: " + "; ".join(problems))
    if len({kind.name for kind in kinds}) != len(kinds):
        raise ValueError("the same layer kind name is given twice")
    registry.register_kinds(*kinds)


def plugin_layer(module: str, class_name: str, **fixed: Any) -> Builder:
    """A builder for the plugin's own Keras layer ``module.class_name``, given the kind's Keras
    arguments (those with ``keras=True``) and ``fixed``. The module is imported only when a
    model is built; it should register its layers with
    ``keras.saving.register_keras_serializable(package=...)``, and archspec imports it when
    Keras is imported, so saved models load after ``import archspec``."""
    plugins.declare_keras_module(module)

    def build(kind: LayerKind, given: Args, name: str, ins: Sequence[Shape]) -> list:
        try:
            layers = importlib.import_module(module)
        except ImportError as exc:
            raise RunFailure(f"layer kind {kind.name}: its Keras layers ({module}) cannot be imported: {exc}",
                            "reinstall the plugin that provides it (archspec plugins lists them)") from exc
        return [getattr(layers, class_name)(name=name, **keras_kwargs(kind, given, **fixed))]

    return build
