"""A run's ``history.csv`` for the explorer's curves: read while training may be rewriting it
(the run directory renames a whole new file over it, so a read sees one version or the other).
Pure Python: the curves never need Keras."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Optional

MAX_HISTORY_BYTES = 8 * 1024 * 1024   # ten thousand epochs of forty metrics are about 4 MB


def history_json(path: Path) -> dict[str, Any]:
    """``{"columns", "rows", "mtime"}``; numbers as numbers, a missing file as no rows.

    >>> history_json(Path("/no/such/history.csv"))
    {'columns': [], 'rows': [], 'mtime': None}
    """
    try:
        mtime = path.stat().st_mtime
        with open(path, "rb") as handle:
            data = handle.read(MAX_HISTORY_BYTES)
    except OSError:
        return {"columns": [], "rows": [], "mtime": None}
    table = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))
    if not table:
        return {"columns": [], "rows": [], "mtime": mtime}
    columns, body = table[0], table[1:]
    rows = [[cell_value(c) for c in row] for row in body if len(row) == len(columns)]  # a cut last line is left out
    return {"columns": columns, "rows": rows, "mtime": mtime}


def cell_value(text: str) -> Optional[float | int | str]:
    """A CSV cell as JSON: an int, a float (None for NaN or infinity, which JSON lacks), or the text.

    >>> cell_value("3"), cell_value("0.25"), cell_value("nan"), cell_value(""), cell_value("x")
    (3, 0.25, None, None, 'x')
    """
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else None
