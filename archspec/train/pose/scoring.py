"""A keypoints model scored on heatmaps: decoded peaks against the targets' peaks, in image pixels.

Every image is one instance (see ``targets``): its K decoded peaks form the prediction, scored
by their mean peak value, and its object is the whole image (box 0, 0, W, H; OKS area W x H),
since heatmap data has no boxes. Pure NumPy; ``callback`` runs the model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from archspec.train.pose.decode import decode_peaks
from archspec.train.pose.metrics import PoseSet, oks_ap, pck
from archspec.train.pose.settings import PoseSettings
from archspec.train.pose.targets import target_keypoints


def heatmap_keypoints(predicted: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(decoded peaks, target keypoints) of a batch, both (N, K, 3) in heatmap pixels."""
    peaks = decode_peaks(predicted)
    return peaks, target_keypoints(np.asarray(targets, np.float32), peaks)


def to_image(points: np.ndarray, heatmap_size: Sequence[int], image_size: Sequence[int]) -> np.ndarray:
    """(..., 2+) heatmap-pixel coordinates as image pixels (further columns kept).

    >>> to_image(np.array([[16.0, 8.0, 0.5]]), (32, 32), (64, 64)).tolist()
    [[32.0, 16.0, 0.5]]
    """
    scale = np.array([image_size[1] / heatmap_size[1], image_size[0] / heatmap_size[0]], np.float32)
    out = np.array(points, np.float32)
    out[..., :2] *= scale
    return out


def score_keypoints(peaks: np.ndarray, truth: np.ndarray, heatmap_size: Sequence[int],
                    image_size: Sequence[int], settings: PoseSettings) -> dict[str, float]:
    """``pck``, ``oks_ap`` and ``oks_ap50`` of decoded ``peaks`` against ``truth`` (heatmap pixels);
    none of them when no keypoint is labelled."""
    height, width = (float(d) for d in image_size)
    n = len(peaks)
    poses = PoseSet(truth=to_image(truth, heatmap_size, image_size),
                    predicted=to_image(peaks, heatmap_size, image_size),
                    scores=peaks[..., 2].mean(axis=-1), boxes=np.tile([0.0, 0.0, width, height], (n, 1)),
                    areas=np.full(n, width * height))
    correct = pck(poses, settings.pck)
    if correct is None:
        return {}
    ap, ap50 = oks_ap(poses, np.asarray(settings.sigmas))
    return {"pck": correct, "oks_ap": ap, "oks_ap50": ap50}
