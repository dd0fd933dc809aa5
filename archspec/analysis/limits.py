"""Budgets written in a spec (``limits:``) checked against the analysis.

A limit the network exceeds is a validation error at the limit's line, so ``archspec
validate`` fails (exit 2) the moment a change makes the network too big.

* ``max_params``: total parameters (trainable and non-trainable);
* ``max_macs``: multiply-accumulates per sample, as ``summary`` counts them;
* ``max_activation_bytes``: bytes of the inputs and every layer output for one sample in
  float32, the ``activation_bytes`` of ``summary --format json`` at the default batch size
  and dtype (the memory pass's training figure).
"""
from __future__ import annotations

from typing import Callable, Optional

from archspec.analysis.memory import memory
from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.errors import SpecError, Stage
from archspec.layers.arithmetic import tensor_bytes


def _largest(analysis: Analysis, size: Callable[[LayerInfo], int]) -> Optional[LayerInfo]:
    return max(analysis.layers, key=size, default=None)


MEASURES: dict[str, tuple[str, Callable[[Analysis], int], Callable[[LayerInfo], int]]] = {
    "max_params": ("parameters", lambda a: a.params.total, lambda i: i.params.total),
    "max_macs": ("MACs per sample", lambda a: a.macs, lambda i: i.macs or 0),
    "max_activation_bytes": ("bytes of activations per sample (float32)", lambda a: memory(a).training_bytes,
                             lambda i: tensor_bytes(i.out_shape)),
}


def over_budget(value: int, limit: int, words: str) -> str:
    """How far over a budget a value is, in words.

    >>> over_budget(138357544, 100000000, "parameters")
    '138,357,544 parameters, over the limit of 100,000,000 by 38,357,544 (38.4%)'
    """
    excess = value - limit
    return f"{value:,} {words}, over the limit of {limit:,} by {excess:,} ({100 * excess / max(limit, 1):.1f}%)"


def check_limits(analysis: Analysis) -> list[SpecError]:
    """One error per exceeded limit, located at the limit's value in the file."""
    graph = analysis.graph
    errors = []
    for key, limit in graph.limits.items():
        if key not in MEASURES or not isinstance(limit, int):
            continue
        words, total, per_layer = MEASURES[key]
        value = total(analysis)
        if value <= limit:
            continue
        biggest = _largest(analysis, per_layer)
        hint = "raise the limit or shrink the network"
        if biggest is not None and per_layer(biggest) > 0:
            hint += (f"; the largest layer is {biggest.node.kind} '{biggest.node.name}' (line {biggest.node.loc.line}) "
                     f"with {per_layer(biggest):,}")
        loc = graph.limit_locs.get(key)
        errors.append(SpecError(f"limits.{key}: the network has {over_budget(value, limit, words)}", hint, loc,
                                Stage.LIMITS))
    return errors
