"""Every registered layer kind and family: importing this module imports the family modules.

What is said about the whole catalog is derived here from the records, such as the
convention behind the MACs column.
"""
from __future__ import annotations

# Importing a family module registers its kinds.
from archspec.layers import conv, conv_transpose, core, fixed, merge, norm, pooling, resize  # noqa: F401
from archspec.layers import modern, preprocessing, simple  # noqa: F401
from archspec.layers import attention, einsum, plain_attention, tokens  # noqa: F401
from archspec.layers import conv_recurrent, recurrent, wrappers  # noqa: F401
from archspec import plugins
from archspec.layers.registry import FAMILIES, KINDS, Family, LayerError, LayerKind, Params, Shape, Window

__all__ = ["all_kinds", "all_families", "macs_convention", "Family", "LayerError", "LayerKind", "Params", "Shape",
           "Window"]


def all_kinds() -> dict[str, LayerKind]:
    """Every registered kind, by name (the installed plugins' kinds loaded first, once)."""
    plugins.ensure_loaded()
    return KINDS


def all_families() -> dict[str, Family]:
    """Every registered family, by name, in registration order (plugins' families last)."""
    plugins.ensure_loaded()
    return FAMILIES


def macs_convention() -> str:
    """The sentence under a summary saying what the MACs count, from the records: the
    families with a kind that counts MACs, and the others.

    >>> macs_convention()[:72]
    'MACs: multiply-accumulates of convolutions, fixed-kernel convolutions, d'
    """
    counted = {kind.family.name for kind in KINDS.values() if kind.counts_macs}
    used = {kind.family.name for kind in KINDS.values()}
    nouns = [f.noun for f in FAMILIES.values() if f.name in counted]
    others = [f.noun for f in FAMILIES.values() if f.name in used - counted]
    return (f"MACs: multiply-accumulates of {_and(nouns)} per sample; bias adds, {_and(others)} not counted; "
            "FLOPs = 2 x MACs")


def _and(words: list[str]) -> str:
    """
    >>> _and(["a"]), _and(["a", "b", "c"])
    ('a', 'a, b and c')
    """
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
