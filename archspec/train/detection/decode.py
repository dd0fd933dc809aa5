"""From the level grids to boxes, and non-maximum suppression, in TensorFlow ops.

``decode`` turns each level's logits into boxes in model-input pixels (YOLOv5's parametrisation,
see ``loss.decode_cells``; anchor-free: four distances from the cell's centre, see
``point_loss.decode_points``), a score per class (objectness x class probability; anchor-free: the
class probability alone) and the extra
channels after the classes (instance segmentation's mask coefficients), all levels concatenated
in order: (B, N, 4), (B, N, C), (B, N, M) with N the head's boxes per image. ``select`` keeps,
for one image, each box's best class, drops scores under the threshold and runs NMS per class
(boxes of different classes never suppress each other: they are shifted apart by class, as
YOLOv5's ``non_max_suppression`` does), and returns the kept indices into N, best first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import tensorflow as tf

from archspec.train.detection.loss import decode_cells
from archspec.train.detection.point_loss import decode_points


@dataclass(frozen=True)
class Decoded:
    """Every box a batch predicts, before thresholds and NMS."""

    boxes: Any      # (B, N, 4) x1, y1, x2, y2 in model-input pixels
    scores: Any     # (B, N, C) objectness x class probability
    extras: Any     # (B, N, M) the channels after the classes (mask coefficients), M may be 0


def decode(outputs: Sequence[Any], head: Any) -> Decoded:
    """Decode the level outputs (one (B, H, W, A x per_box) tensor per level of ``head``)."""
    if head.anchor_free:
        return decode_points_head(outputs, head)
    boxes, scores, extras = [], [], []
    for raw, level in zip(outputs, head.levels):
        rows, cols = level.grid
        count = len(level.anchors)
        raw = tf.reshape(tf.cast(raw, tf.float32), [-1, rows, cols, count, head.per_box])
        anchor_cells = tf.constant(level.anchors, tf.float32) / level.stride
        xy, wh = decode_cells(raw, anchor_cells)
        col, row = tf.meshgrid(tf.range(cols, dtype=tf.float32), tf.range(rows, dtype=tf.float32))
        corner = tf.stack([col, row], axis=-1)[None, :, :, None, :]
        centre, size = (xy + corner) * level.stride, wh * level.stride
        box = tf.concat([centre - size / 2.0, centre + size / 2.0], axis=-1)
        score = tf.sigmoid(raw[..., 4:5]) * tf.sigmoid(raw[..., 5:5 + head.classes])
        boxes.append(tf.reshape(box, [-1, level.boxes, 4]))
        scores.append(tf.reshape(score, [-1, level.boxes, head.classes]))
        extras.append(tf.reshape(raw[..., 5 + head.classes:], [-1, level.boxes, head.coefficients]))
    return Decoded(tf.concat(boxes, 1), tf.concat(scores, 1), tf.concat(extras, 1))


def decode_points_head(outputs: Sequence[Any], head: Any) -> Decoded:
    """Decode an anchor-free head's levels: each cell's four distances and its class scores
    (``point_loss.decode_points``); no objectness."""
    boxes, scores, extras = [], [], []
    for raw, level in zip(outputs, head.levels):
        raw = tf.reshape(tf.cast(raw, tf.float32), [-1, level.cells, head.per_box])
        boxes.append(decode_points(raw, level.grid, level.stride))
        scores.append(tf.sigmoid(raw[..., 4:4 + head.classes]))
        extras.append(raw[..., 4 + head.classes:])
    return Decoded(tf.concat(boxes, 1), tf.concat(scores, 1), tf.concat(extras, 1))


@dataclass(frozen=True)
class Detections:
    """The boxes kept for one image, best first (NumPy)."""

    boxes: np.ndarray     # (K, 4) float32 x1, y1, x2, y2 in model-input pixels
    scores: np.ndarray    # (K,) float32
    classes: np.ndarray   # (K,) int32
    indices: np.ndarray   # (K,) int32 into the decoded N boxes (to read their extras)
    masks: Optional[np.ndarray] = None  # (K, H, W) bool: instance segmentation fills them in

    def __len__(self) -> int:
        return int(self.scores.shape[0])


@tf.function(reduce_retracing=True)
def _select(boxes: Any, scores: Any, score_threshold: Any, iou_threshold: Any, max_detections: Any,
            shift: Any) -> tuple[Any, Any, Any]:
    best = tf.reduce_max(scores, axis=-1)
    label = tf.argmax(scores, axis=-1, output_type=tf.int32)
    shifted = boxes + tf.cast(label, tf.float32)[:, None] * shift   # classes far apart: NMS per class
    yx = tf.gather(shifted, [1, 0, 3, 2], axis=-1)                  # tf.image wants y1, x1, y2, x2
    keep = tf.image.non_max_suppression(yx, best, max_detections, iou_threshold, score_threshold)
    return keep, tf.gather(best, keep), tf.gather(label, keep)


def select(boxes: Any, scores: Any, score_threshold: float = 0.001, iou_threshold: float = 0.6,
           max_detections: int = 100) -> Detections:
    """NMS per class on one image's decoded boxes (N, 4) and class scores (N, C)."""
    boxes = tf.convert_to_tensor(boxes, tf.float32)
    shift = tf.reduce_max(tf.abs(boxes)) * 2.0 + 1.0
    keep, best, label = _select(boxes, tf.convert_to_tensor(scores, tf.float32), float(score_threshold),
                                float(iou_threshold), int(max_detections), shift)
    return Detections(tf.gather(boxes, keep).numpy(), best.numpy(), label.numpy(), keep.numpy().astype(np.int32))


def detect(model: Any, images: np.ndarray, head: Any, settings: dict[str, Any], batch_size: int = 32,
           score_threshold: float | None = None) -> list[Detections]:
    """Run ``model`` on ``images`` (N, H, W, C) and return each image's detections."""
    threshold = float(settings.get("score_threshold", 0.001) if score_threshold is None else score_threshold)
    results: list[Detections] = []
    for start in range(0, len(images), batch_size):
        outputs = model(images[start:start + batch_size], training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        decoded = decode(outputs, head)
        for i in range(int(decoded.boxes.shape[0])):
            results.append(select(decoded.boxes[i], decoded.scores[i], threshold,
                                  float(settings.get("iou_threshold", 0.6)), int(settings.get("max_detections", 100))))
    return results
