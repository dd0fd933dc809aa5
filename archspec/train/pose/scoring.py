"""A keypoints model scored: decoded peaks against the truth, in model-input pixels.

Heatmap data (``score_keypoints``): every image is one instance (see ``targets``): its K decoded
peaks form the prediction, scored by their mean peak value, and its object is the whole image
(box 0, 0, W, H; OKS area W x H), since heatmap data has no boxes.

Object data (``object_poses``): every object with a labelled keypoint is scored against the
instance grouped for it from its image's peaks (``instances``); PCK is relative to its box's
longer side and its OKS area is its box's area (COCO's ``area`` of an object without a mask),
in model-input pixels. Objects without a labelled keypoint are not scored (COCOeval ignores
them too). Pure NumPy; ``callback`` runs the model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from archspec.train.pose.decode import decode_peaks
from archspec.train.pose.instances import find_peaks, group_by_boxes
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
    return score_poses(poses, settings)


def object_poses(predicted: np.ndarray, targets: dict[str, np.ndarray], image_size: Sequence[int]) -> PoseSet:
    """The batch's scored objects and their instances: ``predicted`` (B, h, w, K) heatmaps,
    ``targets`` the object pipeline's padded boxes, classes, keypoints and image_index."""
    heatmap_size = predicted.shape[1:3]
    factor = np.array([image_size[1] / heatmap_size[1], image_size[0] / heatmap_size[0]], np.float32)
    peaks = find_peaks(predicted).scaled(factor)
    keypoints, boxes = np.asarray(targets["keypoints"], np.float32), np.asarray(targets["boxes"], np.float32)
    scored = (np.asarray(targets["classes"]) >= 0) & (keypoints[..., 2] > 0).any(axis=-1)   # (B, M)
    found = [group_by_boxes(peaks.of_image(b), boxes[b][scored[b]], keypoints.shape[2]) for b in range(len(boxes))]
    instances = np.concatenate(found) if found else np.zeros((0, keypoints.shape[2], 3), np.float32)
    chosen = boxes[scored]
    sides = chosen[:, 2:] - chosen[:, :2]
    images = np.broadcast_to(np.asarray(targets["image_index"])[:, None], scored.shape)[scored]
    return PoseSet(truth=keypoints[scored], predicted=instances, scores=instances[..., 2].mean(axis=-1),
                   boxes=np.column_stack([chosen[:, :2], sides]), areas=sides.prod(axis=-1), images=images)


def join_poses(parts: Sequence[PoseSet]) -> PoseSet:
    """Several batches' PoseSets as one (each batch's objects keep their image indices)."""
    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(part, name) for part in parts])

    return PoseSet(*(joined(name) for name in ("truth", "predicted", "scores", "boxes", "areas", "images")))


def score_poses(poses: PoseSet, settings: PoseSettings) -> dict[str, float]:
    """``pck``, ``oks_ap`` and ``oks_ap50`` of ``poses``; none of them when no keypoint is labelled."""
    correct = pck(poses, settings.pck)
    if correct is None:
        return {}
    ap, ap50 = oks_ap(poses, np.asarray(settings.sigmas))
    return {"pck": correct, "oks_ap": ap, "oks_ap50": ap50}
