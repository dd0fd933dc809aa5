"""Ground-truth keypoints read back from target heatmaps, to score a model's decoded peaks.

Heatmap data (``builtin:shapes``, npz heatmaps) carries no coordinates, only Gaussian peaks of
height 1 (the usual target). A keypoint is present where its channel has a local maximum of at
least ``PRESENT`` (0.5); its location is that maximum, decoded as the model's peaks are
(``decode.refine``, exact on a Gaussian). Images are scored as single instances (one set of K
keypoints per image, as single-person benchmarks such as MPII and LSP do): when a channel has
several peaks (``builtin:shapes`` draws one peak per shape of a kind, and an image may hold two
circles), the model's one peak is scored against the nearest of them and the others are not
counted as misses.
"""
from __future__ import annotations

import numpy as np

from archspec.train.pose.decode import refine

PRESENT = 0.5
VISIBLE = 2  # COCO's visibility flag of a labelled, visible keypoint (0: not labelled)


def local_maxima(heatmaps: np.ndarray, floor: float = PRESENT, radius: int = 1) -> tuple[np.ndarray, ...]:
    """(image, row, col, channel) indices of the pixels of ``(N, H, W, K)`` heatmaps that are at
    least ``floor`` and the highest within ``radius`` (1: their 8 neighbours); of equal pixels
    (a plateau) the first in row-major order is the maximum.

    >>> maps = np.zeros((1, 5, 5, 1)); maps[0, 1, 1, 0] = 1.0; maps[0, 3, 4, 0] = 0.9; maps[0, 3, 3, 0] = 0.2
    >>> [a.tolist() for a in local_maxima(maps)]
    [[0, 0], [1, 3], [1, 4], [0, 0]]
    """
    maps = np.asarray(heatmaps, np.float64)
    padded = np.pad(maps, ((0, 0), (radius, radius), (radius, radius), (0, 0)), constant_values=-np.inf)
    height, width = maps.shape[1:3]
    window = [(dr, dc) for dr in range(2 * radius + 1) for dc in range(2 * radius + 1)]
    before = [padded[:, dr:dr + height, dc:dc + width] for dr, dc in window[:len(window) // 2]]
    after = [padded[:, dr:dr + height, dc:dc + width] for dr, dc in window[len(window) // 2 + 1:]]
    peak = (maps >= floor) & (maps > np.max(before, axis=0)) & (maps >= np.max(after, axis=0))
    return np.nonzero(peak)


def target_keypoints(targets: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """The ground truth of each image's K keypoints, ``(N, K, 3)``: x, y (heatmap pixels) and
    visibility (2 present, 0 absent), each the peak of its target channel nearest the predicted one.

    >>> yy, xx = np.mgrid[0:12, 0:12] + 0.5
    >>> def peak(x, y): return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2)
    >>> two = np.maximum(peak(2.5, 2.5), peak(9.2, 8.7))
    >>> maps = np.stack([two, np.zeros_like(two)], axis=-1)[None]
    >>> np.round(target_keypoints(maps, np.array([[[9.0, 9.0, 1.0], [3.0, 3.0, 0.1]]])).astype(float), 3).tolist()
    [[[9.2, 8.7, 2.0], [0.0, 0.0, 0.0]]]
    """
    n, _, _, channels = targets.shape
    images, rows, cols, kinds = local_maxima(targets)
    x, y = refine(np.moveaxis(targets, -1, 1)[images, kinds], rows, cols)
    wanted = predicted[images, kinds, :2]
    distance = np.hypot(x - wanted[:, 0], y - wanted[:, 1])
    group = images * channels + kinds
    order = np.lexsort((distance, group))
    _, first = np.unique(group[order], return_index=True)
    nearest = order[first]
    truth = np.zeros((n * channels, 3), np.float32)
    truth[group[nearest]] = np.stack([x[nearest], y[nearest], np.full(len(nearest), VISIBLE)], axis=-1)
    return truth.reshape(n, channels, 3)
