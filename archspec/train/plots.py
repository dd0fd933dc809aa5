"""``curves.png``: loss and each metric per epoch, training and validation on one panel."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from archspec.train.rundir import atomic_write


def metric_pairs(history: Sequence[Mapping[str, Any]]) -> list[str]:
    """Base metric names in first-seen order (``val_x`` is drawn with ``x``).

    >>> metric_pairs([{"loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.4, "learning_rate": 0.1}])
    ['loss', 'accuracy']
    """
    names: list[str] = []
    for row in history:
        for key in row:
            base = key[4:] if key.startswith("val_") else key
            if base not in names and base not in ("epoch", "learning_rate", "lr"):
                names.append(base)
    return names


def draw_curves(history: Sequence[Mapping[str, Any]], path: Path, title: str = "") -> None:
    """Draw one panel per metric and write the PNG atomically (matplotlib's Agg backend)."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    names = metric_pairs(history)
    if not names:
        return
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    figure = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=100)
    epochs = [int(row.get("epoch", i + 1)) for i, row in enumerate(history)]
    for i, name in enumerate(names):
        axes = figure.add_subplot(rows, cols, i + 1)
        for key, style in ((name, "-o"), (f"val_{name}", "--s")):
            points = [(e, float(row[key])) for e, row in zip(epochs, history) if _finite(row.get(key))]
            if points:
                xs, ys = zip(*points)
                axes.plot(xs, ys, style, markersize=3, label="validation" if key.startswith("val_") else "training")
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"))


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
