"""Feature maps and first-layer filters as PNG grids (matplotlib, Agg backend).

Feature maps: the input on top, then one block of tiles per layer, each tile a channel
numbered in its corner; the channels of one layer share one colour scale, drawn as a
colour bar beside the block, so tiles can be compared and the values read. Filters: the
first convolution's kernels, numbered; gray kernels share a scale centred on zero (a
colour bar), colour kernels are each stretched to their own range (as the title says).
Text is at least 9 pt at 100 dpi (12.5 px).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from archspec.errors import UserError
from archspec.train.activations import MapLayer
from archspec.train.rundir import atomic_write

DPI = 100
TEXT_PT = 9           # tile numbers; 12.5 px at DPI
TITLE_PT = 11         # layer titles
COLUMNS = 8
TILE_IN = 1.15        # tile side in inches


def _figure(width: float, height: float) -> Any:
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _number(axes: Any, index: int) -> None:
    """The channel or filter index in the tile's top-left corner, legible on any colour."""
    axes.text(0.04, 0.96, str(index), transform=axes.transAxes, ha="left", va="top", fontsize=TEXT_PT,
              color="white", bbox={"boxstyle": "round,pad=0.15", "facecolor": "black", "alpha": 0.6, "lw": 0})


def _tile(axes: Any) -> Any:
    axes.set_xticks([])
    axes.set_yticks([])
    return axes


def render_feature_maps(maps: Sequence[np.ndarray], layers: Sequence[MapLayer], path: Path, image: np.ndarray,
                        max_maps: int = 8) -> Path:
    """Write :func:`feature_map_figure` as a PNG."""
    return _save(feature_map_figure(maps, layers, image, max_maps), path)


def feature_map_figure(maps: Sequence[np.ndarray], layers: Sequence[MapLayer], image: np.ndarray,
                       max_maps: int = 8) -> Any:
    """The input, then the first ``max_maps`` channels of each layer with their colour bar."""
    cols = min(max(min(m.shape[-1], max_maps) for m in maps), COLUMNS)
    blocks = [math.ceil(min(m.shape[-1], max_maps) / cols) for m in maps]
    figure = _figure(max(cols * TILE_IN + 1.3, 5.0), (1 + sum(blocks)) * TILE_IN + 0.45 * (1 + len(maps)))
    rows = figure.subfigures(1 + len(maps), 1, height_ratios=[1, *blocks])
    rows = rows if isinstance(rows, np.ndarray) else np.array([rows])
    _draw_input(rows[0], image)
    for row, fmap, layer, block in zip(rows[1:], maps, layers, blocks):
        _draw_layer(row, fmap, layer, min(fmap.shape[-1], max_maps), cols, block)
    return figure


def _draw_input(row: Any, image: np.ndarray) -> None:
    axes = _tile(row.subplots(1, 1))
    shown = image[0] if image.shape[-1] == 3 else image[0, ..., 0]
    axes.imshow(np.clip(shown, 0, 1), cmap=None if image.shape[-1] == 3 else "gray", vmin=0, vmax=1)
    height, width, channels = image.shape[1:]
    row.suptitle(f"input {height}x{width}x{channels}, values {float(image.min()):.3g}..{float(image.max()):.3g}",
                 fontsize=TITLE_PT, x=0.01, ha="left")


def _draw_layer(row: Any, fmap: np.ndarray, layer: MapLayer, count: int, cols: int, block: int) -> None:
    shown = fmap[..., :count]
    low, high = float(shown.min()), float(shown.max())
    if high <= low:  # a constant map: give the scale some width so the bar can be drawn
        low, high = low - 0.5, high + 0.5
    grid = row.subplots(block, cols, squeeze=False)
    image = _draw_tiles(grid, count, lambda axes, i: axes.imshow(shown[..., i], cmap="viridis", vmin=low, vmax=high))
    colorbar = row.colorbar(image, ax=grid.ravel().tolist(), shrink=0.9, pad=0.02, aspect=12 * block)
    colorbar.ax.tick_params(labelsize=TEXT_PT)
    height, width, channels = fmap.shape
    which = f"channels 0-{count - 1} of {channels}" if count < channels else f"all {channels} channels"
    row.suptitle(f"{layer.name}  {height}x{width}x{channels}  ({which}; one scale, {float(shown.min()):.3g}.."
                 f"{float(shown.max()):.3g})", fontsize=TITLE_PT, x=0.01, ha="left")


def render_filters(name: str, kernel: np.ndarray, path: Path, max_filters: int = 64) -> Path:
    """Write :func:`filters_figure` as a PNG."""
    return _save(filters_figure(name, kernel, max_filters), path)


def filters_figure(name: str, kernel: np.ndarray, max_filters: int = 64) -> Any:
    """The first ``max_filters`` kernels of a (kh, kw, in, out) convolution kernel, numbered."""
    count = min(kernel.shape[-1], max_filters)
    cols = min(count, COLUMNS)
    rows = math.ceil(count / cols)
    colour = kernel.shape[2] == 3
    figure = _figure(max(cols * 0.95 + (0 if colour else 1.2), 5.0), rows * 0.95 + 0.7)
    grid = figure.subplots(rows, cols, squeeze=False)
    gray = kernel.mean(axis=2)
    bound = float(np.abs(gray[..., :count]).max()) or 1.0
    if colour:
        _draw_tiles(grid, count, lambda axes, i: axes.imshow(_stretch(kernel[..., i]), interpolation="nearest"))
        image = None  # each filter has its own range: no shared colour bar
    else:
        image = _draw_tiles(grid, count, lambda axes, i: axes.imshow(gray[..., i], cmap="RdBu_r", vmin=-bound,
                                                                       vmax=bound, interpolation="nearest"))
    if image is not None:
        colorbar = figure.colorbar(image, ax=grid.ravel().tolist(), shrink=0.9, pad=0.02)
        colorbar.ax.tick_params(labelsize=TEXT_PT)
    scale = "RGB, each filter stretched to its own range" if colour else \
        ("one scale centred on 0" + (f", mean over {kernel.shape[2]} input channels" if kernel.shape[2] > 1 else ""))
    figure.suptitle(f"{name}: {count} of {kernel.shape[-1]} filters, {kernel.shape[0]}x{kernel.shape[1]}x"
                    f"{kernel.shape[2]} ({scale})", fontsize=TITLE_PT)
    return figure


def _draw_tiles(grid: Any, count: int, draw: Callable[[Any, int], Any]) -> Any:
    """Draw tiles 0..count-1 of ``grid`` with ``draw(axes, index)``, numbered, the rest hidden;
    the last image drawn (for a colour bar)."""
    image = None
    for index, axes in enumerate(grid.ravel()):
        _tile(axes)
        if index >= count:
            axes.set_visible(False)
            continue
        image = draw(axes, index)
        _number(axes, index)
    return image


def _stretch(a: np.ndarray) -> np.ndarray:
    low, high = float(a.min()), float(a.max())
    return (a - low) / (high - low) if high > low else np.zeros_like(a)


def _save(figure: Any, path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: the picture is written as PNG", "name the file .png")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", dpi=DPI))
    return path
