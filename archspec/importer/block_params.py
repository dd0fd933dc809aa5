"""A block's parameters: the argument values that differ between the runs it stands for, one
parameter per distinct column of values (the most common value its default), and a column that
is a whole multiple of another written as an expression of it (``${4 * filters}``)."""
from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from archspec.importer.writer import scalar


def block_params(values: dict[tuple[int, str], list], count: int) -> tuple[dict, list[dict], dict]:
    """Parameters for the varying argument values: one per distinct column of values, and an
    expression ``${k * p}`` for a column that is a whole multiple of an earlier one."""
    params: dict[str, Any] = {}
    columns: dict[str, list] = {}
    written: dict[tuple[int, str], str] = {}
    for (m, key), column in values.items():
        same = next((p for p, c in columns.items() if c == column), None)
        factor = None if same else next(((p, k) for p, c in columns.items() if (k := _multiple(c, column))), None)
        if same:
            written[(m, key)] = f"${same}"
        elif factor:
            written[(m, key)] = f"${{{factor[1]} * {factor[0]}}}"
        else:
            name = key if key not in columns else next(f"{key}_{i}" for i in range(2, 1000)
                                                       if f"{key}_{i}" not in columns)
            columns[name] = column
            params[name] = Counter(scalar(v) for v in column).most_common(1)[0][0]
            params[name] = next(v for v in column if scalar(v) == params[name])
            written[(m, key)] = f"${name}"
    given = [{p: c[i] for p, c in columns.items() if c[i] != params[p]} for i in range(count)]
    return params, given, written


def _multiple(base: list, column: list) -> Optional[int]:
    """
    >>> _multiple([64, 128], [256, 512]), _multiple([64, 128], [256, 500])
    (4, None)
    """
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in base + column):
        return None
    k = column[0] // base[0]
    return k if k >= 2 and all(c == k * b for b, c in zip(base, column)) else None
