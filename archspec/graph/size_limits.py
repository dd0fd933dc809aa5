"""The bounds on what lowering builds: layers, block nesting and integer sizes.

How many layers an entry expands to is counted before anything is expanded:
``repeat: 1000000000`` or blocks that use blocks ten times over would make lowering build
millions of layers before any limit could be noticed; counting first lets lowering refuse the
entry that crosses :data:`MAX_LAYERS` at once, at its line. The count follows lowering's rules
(repeat counts, block params and their defaults) but reports nothing: whatever it cannot
evaluate counts as lowering will treat it, and lowering reports the problem itself.
"""
from __future__ import annotations

from typing import Any, Collection, Mapping

from archspec.spec.expressions import ExpressionError, evaluate, is_expression

# Layers after repeats and blocks are expanded. The zoo's largest has ~500; a generated spec of
# 100,000 validates and summarises in a few seconds, while ten times that took 16 s and 1 GB.
MAX_LAYERS = 100_000
MAX_BLOCK_DEPTH = 50    # blocks inside blocks; lowering recurses a few frames per level
MAX_INTEGER = 2 ** 63 - 1  # TensorFlow's sizes are int64; larger ones cannot be built and overflow the totals

Body = tuple[Mapping[str, Any], list]  # a block's params (with defaults) and its entries


class LayerCounter:
    """Counts the layers of entries and block uses; each block once per set of param values."""

    def __init__(self, kinds: Collection[str], blocks: Mapping[str, Body], globals_: Mapping[str, Any],
                 entry_keys: Collection[str], required: str) -> None:
        self.kinds, self.blocks, self.globals = kinds, blocks, globals_
        self.entry_keys, self.required = entry_keys, required
        self.memo: dict[tuple[str, str], int] = {}

    def block(self, name: str, given: Mapping[str, Any], env: Mapping[str, Any], stack: list[str]) -> int:
        """Layers of one use of block ``name`` with the arguments ``given`` (written in ``env``)."""
        if name in stack or len(stack) >= MAX_BLOCK_DEPTH:
            return 0  # lowering refuses this use
        params, entries = self.blocks[name]
        values = dict(self.globals)
        for param, default in params.items():
            if param in given:
                values[param] = _quiet(given[param], env)
            elif default != self.required:
                values[param] = _quiet(default, values)
        key = (name, repr(sorted(values.items())))
        if key not in self.memo:
            self.memo[key] = sum(self.entry(entry, values, stack + [name]) for entry in entries)
        return self.memo[key]

    def entry(self, entry: Any, env: Mapping[str, Any], stack: list[str]) -> int:
        """Layers of one entry: its repeat count times the layers of one instance."""
        entry = {entry: None} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            return 0
        types = [k for k in entry if k not in self.entry_keys]
        repeat = repeat_count(_quiet(entry.get("repeat", 1), env))
        if len(types) != 1 or repeat is None:
            return 0
        if types[0] in self.kinds:
            return repeat
        args = entry[types[0]]
        if types[0] not in self.blocks or not (args is None or isinstance(args, dict)):
            return 0
        return repeat * self.block(types[0], args or {}, env, stack) if repeat else 0


def repeat_count(value: Any) -> int | None:
    """A valid repeat count (an integer >= 0), or None.

    >>> repeat_count(3), repeat_count(-1), repeat_count(True), repeat_count(2.0)
    (3, None, None, None)
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _quiet(value: Any, env: Mapping[str, Any]) -> Any:
    """A value with its expressions evaluated, or None where one fails."""
    if isinstance(value, dict):
        return {k: _quiet(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_quiet(v, env) for v in value]
    if is_expression(value):
        try:
            return evaluate(value, env)
        except ExpressionError:
            return None
    return value


def too_large(value: Any) -> int | None:
    """The first integer inside a value that is beyond MAX_INTEGER, if any.

    >>> too_large([3, [2 ** 64, 1]]), too_large({"a": -5})
    (18446744073709551616, None)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if abs(value) > MAX_INTEGER else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((big for big in map(too_large, items) if big is not None), None)


def shown_int(value: int) -> str:
    """An integer as people read it, or its number of digits when it is too long to read.

    >>> shown_int(2 ** 64), shown_int(10 ** 40)
    ('18,446,744,073,709,551,616', 'a 41-digit integer')
    """
    digits = len(str(abs(value)))
    return f"{value:,}" if digits <= 30 else f"a {digits}-digit integer"
