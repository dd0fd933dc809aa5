"""``builtin:shapes``: generated images of circles, squares and triangles with every target.

Deterministic from a seed (NumPy only, no TensorFlow), so it needs no download and serves
each task: the class of a single shape (classification), which shapes are present
(multilabel), how many of each (regression), a per-pixel class mask (segmentation, 0 is the
background) and one heatmap per shape kind peaked at each shape's centre (keypoints).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASS_NAMES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class Shapes:
    """Images in [0, 1] with shape (N, S, S, C) and every kind of target."""

    x: np.ndarray          # float32 (N, S, S, C)
    label: np.ndarray      # int32 (N,): the class of the first shape drawn
    present: np.ndarray    # float32 (N, 3): 1 where a kind of shape is in the image
    counts: np.ndarray     # float32 (N, 3): how many of each kind
    mask: np.ndarray       # uint8 (N, S, S): 0 background, 1 + class index elsewhere
    heatmaps: np.ndarray   # float32 (N, S, S, 3): Gaussian peaks at shape centres

    def targets(self, task: str) -> np.ndarray:
        """The targets a task trains on."""
        return {"classification": self.label, "multilabel": self.present, "regression": self.counts,
                "segmentation": self.mask, "keypoints": self.heatmaps}[task]


def shape_mask(kind: int, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    if kind == 0:
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    if kind == 1:
        half = r * 0.85
        return (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
    # An upright isosceles triangle inside the circle of radius r.
    top, bottom = cy - r, cy + r * 0.8
    width = (yy - top) / (bottom - top) * r
    return (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= width)


KEYPOINT_NAMES = ("top", "bottom_left", "bottom_right")


def shape_keypoints(kind: int, cy: float, cx: float, r: float) -> np.ndarray:
    """(3, 2) x, y of a shape's top point and bottom-left and bottom-right corners (a circle's
    at 210 and 330 degrees), in the coordinates of :func:`shape_mask`.

    >>> shape_keypoints(2, cy=10, cx=10, r=5).tolist()
    [[10.0, 5.0], [5.0, 14.0], [15.0, 14.0]]
    """
    if kind == 0:
        up, side, down = r, r * np.sqrt(3) / 2, r / 2
    elif kind == 1:
        up = side = down = r * 0.85
    else:
        up, side, down = r, r, r * 0.8
    return np.array([[cx, cy - up], [cx - side, cy + down], [cx + side, cy + down]], np.float32)


def make_shapes(samples: int = 2000, size: int = 32, channels: int = 1, seed: int = 0,
                max_shapes: int = 3, single: bool = False) -> Shapes:
    """Generate the data set; ``single`` puts exactly one shape in every image.

    >>> s = make_shapes(samples=12, size=16, seed=1)
    >>> s.x.shape, s.mask.shape, s.heatmaps.shape, bool(s.x.max() <= 1.0)
    ((12, 16, 16, 1), (12, 16, 16), (12, 16, 16, 3), True)
    >>> np.array_equal(make_shapes(samples=12, size=16, seed=1).x, s.x)
    True
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    x = np.zeros((samples, size, size, channels), np.float32)
    mask = np.zeros((samples, size, size), np.uint8)
    heat = np.zeros((samples, size, size, 3), np.float32)
    label = np.zeros(samples, np.int32)
    counts = np.zeros((samples, 3), np.float32)
    sigma = max(size / 16.0, 1.0)
    for i in range(samples):
        n = 1 if single else int(rng.integers(1, max_shapes + 1))
        for j in range(n):
            kind = int(rng.integers(0, 3))
            r = float(rng.uniform(0.14, 0.26) * size)
            cy, cx = rng.uniform(r, size - r, size=2)
            colour = rng.uniform(0.45, 1.0, size=channels).astype(np.float32)
            inside = shape_mask(kind, yy, xx, cy, cx, r)
            x[i][inside] = colour
            mask[i][inside] = kind + 1
            peak = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma * sigma))
            heat[i, :, :, kind] = np.maximum(heat[i, :, :, kind], peak)
            counts[i, kind] += 1
            if j == 0:
                label[i] = kind
    x += rng.normal(0.0, 0.04, size=x.shape).astype(np.float32)
    np.clip(x, 0.0, 1.0, out=x)
    return Shapes(x=x, label=label, present=(counts > 0).astype(np.float32), counts=counts,
                  mask=mask, heatmaps=heat)
