"""Feature maps and first-layer filters as PNG grids (matplotlib, Agg backend).

One row block per chosen layer, one small image per channel (the first ``max_maps``),
each scaled to its own range; and the learned kernels of the first convolution, drawn in
colour when it reads three channels.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from archspec.errors import UserError
from archspec.train.rundir import atomic_write


def map_layers(model: Any) -> list[str]:
    """Names of layers whose output is a spatial map (batch, H, W, C), in model order."""
    names = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4:
            names.append(layer.name)
    return names


def choose_layers(model: Any, wanted: Sequence[str] | None, limit: int = 4) -> list[str]:
    available = map_layers(model)
    if not wanted:
        if not available:
            raise UserError(f"{model.name} has no layer with a spatial output", "activations needs a CNN")
        return available[:limit]
    missing = [w for w in wanted if w not in available]
    if missing:
        raise UserError(f"no layer with a spatial output is named {missing[0]!r}",
                        f"choose from: {', '.join(available)}")
    return list(wanted)


def feature_maps(model: Any, image: np.ndarray, layers: Sequence[str]) -> list[np.ndarray]:
    """Each chosen layer's output for one image: (H, W, C) arrays."""
    import keras

    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in layers])
    outputs = probe.predict(image, verbose=0)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(o[0], np.float32) for o in outputs]


def _figure(rows: int, cols: int, scale: float = 1.2) -> Any:
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(max(cols * scale, 4), max(rows * scale, 1.5) + 0.4), dpi=100)


def _normalise(a: np.ndarray) -> np.ndarray:
    low, high = float(a.min()), float(a.max())
    return (a - low) / (high - low) if high > low else np.zeros_like(a)


def render_feature_maps(maps: Sequence[np.ndarray], names: Sequence[str], path: Path, image: np.ndarray,
                        max_maps: int = 16) -> Path:
    """Input in the first row, then up to ``max_maps`` channels of each layer."""
    cols = min(max_maps, 8)
    blocks = [math.ceil(min(m.shape[-1], max_maps) / cols) for m in maps]
    rows = 1 + sum(blocks)
    figure = _figure(rows, cols)
    grid = figure.add_gridspec(rows, cols)
    axes = figure.add_subplot(grid[0, 0])
    shown = image[0] if image.shape[-1] == 3 else image[0, ..., 0]
    axes.imshow(np.clip(shown, 0, 1), cmap=None if image.shape[-1] == 3 else "gray")
    axes.set_title("input", fontsize=7)
    axes.axis("off")
    row = 1
    for fmap, name, block in zip(maps, names, blocks):
        for c in range(min(fmap.shape[-1], max_maps)):
            axes = figure.add_subplot(grid[row + c // cols, c % cols])
            axes.imshow(_normalise(fmap[..., c]), cmap="viridis")
            axes.axis("off")
            if c == 0:
                axes.set_title(f"{name} {fmap.shape[0]}x{fmap.shape[1]}x{fmap.shape[2]}", fontsize=7, loc="left")
        row += block
    return _save(figure, path)


def first_conv_kernel(model: Any) -> tuple[str, np.ndarray]:
    """The first layer with a 4-D kernel (kh, kw, in, out): a Conv2D or one of its kin."""
    for layer in model.layers:
        for weight in getattr(layer, "weights", []):
            if len(weight.shape) == 4 and weight.name.endswith(("kernel", "depthwise_kernel")):
                return layer.name, np.asarray(weight.numpy(), np.float32)
    raise UserError(f"{model.name} has no convolution with a kernel to draw", "use --no-filters")


def render_filters(model: Any, path: Path, max_filters: int = 64) -> Path:
    name, kernel = first_conv_kernel(model)
    count = min(kernel.shape[-1], max_filters)
    cols = min(count, 8)
    rows = math.ceil(count / cols)
    figure = _figure(rows, cols, scale=0.9)
    for i in range(count):
        k = kernel[..., i]
        axes = figure.add_subplot(rows, cols, i + 1)
        if k.shape[-1] == 3:
            axes.imshow(_normalise(k), interpolation="nearest")
        else:
            axes.imshow(_normalise(k.mean(axis=-1)), cmap="gray", interpolation="nearest")
        axes.axis("off")
    figure.suptitle(f"{name}: {kernel.shape[0]}x{kernel.shape[1]} filters, {kernel.shape[2]} input channel(s)",
                    fontsize=8)
    return _save(figure, path)


def _save(figure: Any, path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: the picture is written as PNG", "name the file .png")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    atomic_write(path, lambda tmp: figure.savefig(tmp, format="png"))
    return path
