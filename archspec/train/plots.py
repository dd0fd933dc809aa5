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


def draw_curves(history: Sequence[Mapping[str, Any]], path: Path, title: str = "", monitor: str | None = None,
                best_epoch: int | None = None) -> None:
    """Write :func:`curves_figure` as a PNG, atomically; nothing without metrics."""
    figure = curves_figure(history, title, monitor, best_epoch)
    if figure is not None:
        atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"))


def curves_figure(history: Sequence[Mapping[str, Any]], title: str = "", monitor: str | None = None,
                  best_epoch: int | None = None) -> Any:
    """One panel per metric (matplotlib's Agg backend), or None without metrics.

    Epochs are whole numbers on the axis; the best epoch of ``monitor`` is marked on every
    panel, and labelled with its value on the monitored metric's own."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    names = metric_pairs(history)
    if not names:
        return None
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
        if best_epoch is not None and monitor:
            _mark_best(axes, history, epochs, monitor, best_epoch, name)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        _epoch_axis(axes, epochs)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def _epoch_axis(axes: Any, epochs: list[int]) -> None:
    """Whole epochs only, every one on a short run; half an epoch of room at either end."""
    from matplotlib.ticker import MaxNLocator

    first, last = min(epochs), max(epochs)
    if last - first <= 12:
        axes.set_xticks(range(first, last + 1))
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(first - 0.5, last + 0.5)


def _mark_best(axes: Any, history: Sequence[Mapping[str, Any]], epochs: list[int], monitor: str,
               best_epoch: int, name: str) -> None:
    """A dotted line at the best epoch; on the monitored curve a ring and the value."""
    axes.axvline(best_epoch, color="0.4", linestyle=":", linewidth=1,
                 label=f"best epoch {best_epoch}" if monitor not in (name, f"val_{name}") else None)
    row = next((r for e, r in zip(epochs, history) if e == best_epoch), None)
    if monitor in (name, f"val_{name}") and row is not None and _finite(row.get(monitor)):
        value = float(row[monitor])
        axes.plot([best_epoch], [value], "o", markersize=10, markerfacecolor="none", markeredgecolor="crimson",
                  markeredgewidth=1.5, label=f"best epoch {best_epoch}: {monitor} {value:.4g}")


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
