"""Sub-pixel decoding of heatmap peaks: the argmax pixel, then one second-order Taylor step.

The step is DARK's (Zhang et al. 2020, "Distribution-aware coordinate representation for human
pose estimation", section 3.1): near its maximum the logarithm of a Gaussian heatmap is a
quadratic, so with the gradient g and Hessian H of log(heatmap) at the argmax pixel (central
differences over its 3x3 neighbourhood) the maximum lies at ``-H^-1 g`` from that pixel's centre.
On an exact Gaussian the step is exact (error well under 0.1 px where the quarter-pixel shift
of Newell et al. 2016 errs up to 0.25 px). DARK also smooths the heatmap with the training
Gaussian first; we do not, since the network's heatmaps are already smooth.

The step is skipped (the pixel centre is kept) where it cannot hold: a neighbourhood that is
not a maximum (H not negative definite, e.g. a flat or negative map); on the map's border only
the axis along the border gets its one-dimensional step. It is clipped to half a pixel, since
the argmax pixel is the one nearest the maximum.

Coordinates: x right, y down, in heatmap pixels, pixel (row r, column c) covering
[c, c + 1) x [r, r + 1), so its centre is (c + 0.5, r + 0.5), as ``builtin:shapes`` draws peaks.
"""
from __future__ import annotations

import numpy as np

_FLOOR = 1e-10  # log of non-positive heatmap values (a linear output can be negative)


def decode_peaks(heatmaps: np.ndarray) -> np.ndarray:
    """The peak of every channel of ``(..., H, W, K)`` heatmaps as ``(..., K, 3)``: x, y, value.

    >>> yy, xx = np.mgrid[0:16, 0:16] + 0.5
    >>> peak = np.exp(-((xx - 5.3) ** 2 + (yy - 9.8) ** 2) / 8.0)[..., None]
    >>> np.round(decode_peaks(peak).astype(float), 3).tolist()
    [[5.3, 9.8, 0.984]]
    """
    maps = np.asarray(heatmaps, np.float64)
    *lead, height, width, channels = maps.shape
    flat = np.moveaxis(maps, -1, -3).reshape(-1, height, width)
    index = flat.reshape(len(flat), -1).argmax(axis=1)
    rows, cols = np.divmod(index, width)
    x, y = refine(flat, rows, cols)
    values = flat[np.arange(len(flat)), rows, cols]
    peaks = np.stack([x, y, values], axis=-1)
    return peaks.reshape(*lead, channels, 3).astype(np.float32)


def refine(maps: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel (x, y) of the peak at pixel (rows[i], cols[i]) of ``maps[i]`` (``maps``: (n, H, W)).

    >>> yy, xx = np.mgrid[0:8, 0:8] + 0.5
    >>> x, y = refine(np.exp(-((xx - 3.2) ** 2 + (yy - 4.6) ** 2) / 2.0)[None], np.array([4]), np.array([3]))
    >>> round(float(x[0]), 6), round(float(y[0]), 6)
    (3.2, 4.6)
    """
    dx, dy = _taylor_step(np.asarray(maps, np.float64), rows, cols)
    return cols + 0.5 + dx, rows + 0.5 + dy


def _taylor_step(maps: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DARK's step ``-H^-1 g`` of log(map) at (rows, cols); on the map's border, the one-dimensional
    step along the axis that has both neighbours; zero where neither holds."""
    n, height, width = maps.shape
    inside_x, inside_y = (cols > 0) & (cols < width - 1), (rows > 0) & (rows < height - 1)
    r = np.clip(rows, 1, max(height - 2, 1))
    c = np.clip(cols, 1, max(width - 2, 1))
    log = np.log(np.maximum(maps, _FLOOR))
    at = np.arange(n)

    def value(dr: int, dc: int) -> np.ndarray:
        return log[at, np.clip(np.where(inside_y, r, rows) + dr, 0, height - 1),
                   np.clip(np.where(inside_x, c, cols) + dc, 0, width - 1)]

    gx, gy = (value(0, 1) - value(0, -1)) / 2, (value(1, 0) - value(-1, 0)) / 2
    hxx = value(0, 1) - 2 * value(0, 0) + value(0, -1)
    hyy = value(1, 0) - 2 * value(0, 0) + value(-1, 0)
    hxy = (value(1, 1) - value(1, -1) - value(-1, 1) + value(-1, -1)) / 4
    det = hxx * hyy - hxy * hxy
    both = inside_x & inside_y & (hxx < 0) & (det > 0)
    safe = np.where(both, det, 1.0)
    along_x, along_y = inside_x & ~inside_y & (hxx < 0), inside_y & ~inside_x & (hyy < 0)
    dx = np.where(both, -(hyy * gx - hxy * gy) / safe, np.where(along_x, -gx / np.where(along_x, hxx, -1.0), 0.0))
    dy = np.where(both, -(hxx * gy - hxy * gx) / safe, np.where(along_y, -gy / np.where(along_y, hyy, -1.0), 0.0))
    return np.clip(dx, -0.5, 0.5), np.clip(dy, -0.5, 0.5)
