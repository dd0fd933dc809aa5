"""PCK and COCO keypoint AP by OKS, for one or several instances (K keypoints each) per image.

PCK (Percentage of Correct Keypoints; Yang and Ramanan 2013): the fraction of labelled
keypoints whose prediction lies within ``threshold`` of the truth; the threshold is a fraction
(``train.keypoints.pck``, default 0.05) of a reference length, here the longer side of the
object's box, which for heatmap data without boxes is the whole image.

OKS AP: COCO's keypoint average precision, computed by pycocotools' ``COCOeval`` with
``iouType="keypoints"`` (the reference implementation). The object keypoint similarity of a
prediction is ``mean over labelled keypoints of exp(-d^2 / (2 s^2 (2 sigma)^2))`` with ``s^2``
the object's area and ``sigma`` the keypoint's constant; AP is averaged over OKS thresholds
0.50:0.05:0.95 (``oks_ap``) and taken at 0.50 (``oks_ap50``).
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class PoseSet:
    """N objects, each with its predicted instance: truth and prediction in the same pixels."""

    truth: np.ndarray       # (N, K, 3): x, y, visibility (0 not labelled, 1 hidden, 2 visible)
    predicted: np.ndarray   # (N, K, 2+): x, y (further columns ignored)
    scores: np.ndarray      # (N,): the confidence of each predicted instance
    boxes: np.ndarray       # (N, 4): x, y, width, height of each object (COCO's bbox)
    areas: np.ndarray       # (N,): each object's area, the s^2 of OKS
    images: Optional[np.ndarray] = None  # (N,): the image of each object (default: one image each)

    def image_ids(self) -> np.ndarray:
        """COCO image ids (from 1) of the N objects."""
        return np.arange(1, len(self.truth) + 1) if self.images is None else np.asarray(self.images, np.int64) + 1


def pck(poses: PoseSet, fraction: float) -> float | None:
    """The fraction of labelled keypoints predicted within ``fraction`` of the box's longer side
    (None when no keypoint is labelled).

    >>> truth = np.array([[[10, 10, 2], [20, 20, 2], [0, 0, 0]]], np.float32)
    >>> guess = np.array([[[12, 10], [20, 26], [50, 50]]], np.float32)
    >>> box = np.array([[0, 0, 100, 50]], np.float32)
    >>> pck(PoseSet(truth, guess, np.ones(1), box, np.array([5000.0])), 0.05)  # 5 px: 2 px in, 6 px out
    0.5
    """
    labelled = poses.truth[..., 2] > 0
    if not labelled.any():
        return None
    distance = np.hypot(*(poses.predicted[..., :2] - poses.truth[..., :2]).transpose(2, 0, 1))
    threshold = fraction * poses.boxes[:, 2:4].max(axis=1)
    return float((distance <= threshold[:, None])[labelled].mean())


def oks_ap(poses: PoseSet, sigmas: np.ndarray) -> tuple[float, float]:
    """COCO keypoint (AP@[.5:.95], AP@.5) of ``poses`` with per-keypoint ``sigmas``, by pycocotools.

    Every predicted instance is a result of its object's image; COCOeval matches the results of
    an image to its objects by OKS itself (highest score first), as for any detector's."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    keypoints, ids = poses.truth.shape[1], poses.image_ids()
    truth = {"images": [{"id": int(i)} for i in np.unique(ids)],
             "categories": [{"id": 1, "name": "instance", "keypoints": [str(k) for k in range(keypoints)]}],
             "annotations": [_truth_entry(i, int(ids[i]), poses) for i in range(len(poses.truth))]}
    results = [{"image_id": int(ids[i]), "category_id": 1, "score": float(poses.scores[i]),
                "keypoints": _flat(poses.predicted[i, :, :2], np.ones(keypoints))} for i in range(len(poses.truth))]
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco = COCO()
        coco.dataset = truth
        coco.createIndex()
        evaluation = COCOeval(coco, coco.loadRes(results), iouType="keypoints")
        evaluation.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0]), float(evaluation.stats[1])


def _truth_entry(i: int, image_id: int, poses: PoseSet) -> dict:
    visibility = poses.truth[i, :, 2]
    return {"id": i + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "keypoints": _flat(poses.truth[i, :, :2], visibility), "num_keypoints": int((visibility > 0).sum()),
            "bbox": [float(v) for v in poses.boxes[i]], "area": float(poses.areas[i])}


def _flat(xy: np.ndarray, visibility: np.ndarray) -> list[float]:
    """COCO's keypoint list: x1, y1, v1, x2, y2, v2, ..."""
    return [float(v) for row in np.column_stack([xy, visibility]) for v in row]
