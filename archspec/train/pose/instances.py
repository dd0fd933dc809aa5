"""Several people per image: every channel's peaks, grouped into one pose per object.

Peaks: the local maxima of each channel at least ``PEAK_FLOOR`` (0.1) high that are the highest
within ``NMS_RADIUS`` (2) heatmap pixels, i.e. in a 5x5 window (the non-maximum suppression of
heatmap peak finding, as in OpenPose's, Cao et al. 2017), each refined to sub-pixel by DARK's
step (``decode.refine``).

Grouping, top-down by the objects' boxes (the "ground-truth boxes" protocol that SimpleBaseline,
Xiao et al. 2018, and HRNet, Sun et al. 2019, report besides detected boxes): a peak belongs to
the object whose box, grown ``GROW`` (1.25) times about its centre as those methods crop, holds
it, to the one with the nearest centre when several do; each object takes, per keypoint, the
highest peak that belongs to it. A keypoint with no peak is placed at its box's centre with peak
0 (so it counts as a miss). An instance's score is the mean of its K peaks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archspec.train.pose.decode import refine
from archspec.train.pose.targets import local_maxima

PEAK_FLOOR = 0.1
NMS_RADIUS = 2
GROW = 1.25


@dataclass(frozen=True)
class Peaks:
    """Candidate keypoints of a batch of heatmaps, one row per peak (heatmap pixels)."""

    image: np.ndarray    # (P,) int: the image in the batch
    channel: np.ndarray  # (P,) int: the keypoint
    xy: np.ndarray       # (P, 2) float32: sub-pixel x, y
    value: np.ndarray    # (P,) float32: the heatmap's value at the peak pixel

    def of_image(self, index: int) -> "Peaks":
        keep = self.image == index
        return Peaks(self.image[keep], self.channel[keep], self.xy[keep], self.value[keep])

    def scaled(self, factor: np.ndarray) -> "Peaks":
        """The same peaks with x, y multiplied by ``factor`` ((2,): heatmap to input pixels)."""
        return Peaks(self.image, self.channel, (self.xy * factor).astype(np.float32), self.value)


def find_peaks(heatmaps: np.ndarray, floor: float = PEAK_FLOOR, radius: int = NMS_RADIUS) -> Peaks:
    """Every channel's peaks in ``(N, H, W, K)`` heatmaps.

    >>> yy, xx = np.mgrid[0:16, 0:16] + 0.5
    >>> def peak(x, y): return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 4)
    >>> peaks = find_peaks((peak(3.3, 4.0) + 0.6 * peak(11.5, 12.5))[None, ..., None])
    >>> np.round(peaks.xy.astype(float), 2).tolist(), np.round(peaks.value.astype(float), 2).tolist()
    ([[3.3, 4.0], [11.5, 12.5]], [0.93, 0.6])
    """
    maps = np.asarray(heatmaps, np.float32)
    images, rows, cols, channels = local_maxima(maps, floor, radius)
    x, y = refine(np.moveaxis(maps, -1, 1)[images, channels], rows, cols)
    return Peaks(images, channels, np.stack([x, y], axis=-1).astype(np.float32),
                 maps[images, rows, cols, channels].astype(np.float32))


def group_by_boxes(peaks: Peaks, boxes: np.ndarray, keypoints: int) -> np.ndarray:
    """``(M, K, 3)`` x, y, peak of each of the ``(M, 4)`` x1, y1, x2, y2 boxes' objects, from the
    peaks of their image (in the boxes' pixels).

    >>> peaks = Peaks(np.zeros(3, int), np.array([0, 0, 1]), np.array([[2, 2], [9, 9], [3, 1]], np.float32),
    ...               np.array([0.9, 0.8, 0.7], np.float32))
    >>> poses = group_by_boxes(peaks, np.array([[0, 0, 4, 4], [8, 8, 12, 12]], np.float32), 2)
    >>> np.round(poses.astype(float), 3).tolist()
    [[[2.0, 2.0, 0.9], [3.0, 1.0, 0.7]], [[9.0, 9.0, 0.8], [10.0, 10.0, 0.0]]]
    """
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    centre, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) / 2 * GROW
    poses = np.zeros((len(boxes), keypoints, 3), np.float32)
    poses[..., :2] = centre[:, None, :]
    if not len(boxes) or not len(peaks.value):
        return poses
    offset = peaks.xy[:, None, :] - centre[None]                      # (P, M, 2)
    distance = np.where(np.all(np.abs(offset) <= half[None], axis=-1), np.hypot(*np.moveaxis(offset, -1, 0)),
                        np.inf)
    owner = distance.argmin(axis=1)
    owned = np.isfinite(distance.min(axis=1))
    slot = (owner * keypoints + peaks.channel)[owned]
    order = np.lexsort((-peaks.value[owned], slot))                  # per slot, the highest peak first
    _, first = np.unique(slot[order], return_index=True)
    best = np.flatnonzero(owned)[order[first]]
    flat = poses.reshape(-1, 3)
    flat[slot[order[first]]] = np.column_stack([peaks.xy[best], peaks.value[best]])
    return poses
