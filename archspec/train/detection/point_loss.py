"""The loss of one level of an anchor-free head (4 + C [+ M] channels per cell), on the points
:func:`~archspec.train.detection.points.assign_points` gives.

A cell predicts its box as four distances from its centre, left, top, right, bottom, each
softplus(t) strides (FCOS regresses l, t, r, b in stride units; softplus keeps them positive
without FCOS's exp, which overflows on a bad step), and C class scores, sigmoid(t). There is
no objectness: as in VarifocalNet and YOLOv8, the class score is trained to be the box's
quality, so it ranks detections on its own.

- box: 1 - CIoU of the decoded box and the object's, averaged over the positive points;
- classes: BCE over every point and class against the IoU-aware target: the CIoU of the
  point's box (clipped at 0, no gradient) for the object's class, 0 for the other classes and
  for every class of a negative point; summed over classes and averaged over points, as
  YOLOv5 averages its objectness, and scaled by the level's balance (4.0, 1.0, 0.4).

The level's loss is box_weight x box + objectness_weight x balance x classes (the scores take
objectness's place and its weight; class_weight is for heads with anchors), the weights scaled
by 3 / levels as for anchors.
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from archspec.train.detection.boxes import ciou
from archspec.train.detection.distributed import batch_total
from archspec.train.detection.points import assign_points, point_centres


def decode_points(raw: Any, grid: tuple[int, int], stride: int) -> Any:
    """(B, H x W, 4) x1, y1, x2, y2 in input pixels of a level's (B, H x W, per_box) logits."""
    centres = point_centres(grid, stride)[None]
    distances = tf.nn.softplus(raw[..., 0:4]) * float(stride)
    return tf.concat([centres - distances[..., :2], centres + distances[..., 2:]], axis=-1)


def centre_size(boxes: Any) -> tuple[Any, Any]:
    """Centres and sizes of x1, y1, x2, y2 boxes."""
    return (boxes[..., :2] + boxes[..., 2:]) / 2.0, boxes[..., 2:] - boxes[..., :2]


def point_terms(targets: Any, pred: Any, grid: tuple[int, int], stride: int, classes: int,
                bounds: tuple[float, float]) -> dict[str, Any]:
    """The two unweighted terms (box, classes) of one level for a batch, and its positive points."""
    rows, cols = grid
    pred = tf.cast(pred, tf.float32)
    pred = tf.reshape(pred, [-1, rows * cols, tf.shape(pred)[-1]])
    labels = tf.cast(tf.round(targets[..., 4]), tf.int32)
    points = assign_points(targets[..., :4], labels, grid, stride, bounds)
    overlap = ciou(*centre_size(decode_points(pred, grid, stride)), *centre_size(points.boxes))   # (B, P)
    positive = tf.cast(points.positive, tf.float32)
    n = tf.reduce_sum(positive)
    total, replicas = batch_total(n)  # (n, 1) but in the multi-worker step: the global batch's points
    box = tf.reduce_sum(positive * (1.0 - overlap)) / (tf.maximum(total, 1.0) / replicas)
    quality = positive * tf.maximum(tf.stop_gradient(overlap), 0.0)
    target = tf.one_hot(points.classes, classes) * quality[..., None]
    bce = tf.nn.sigmoid_cross_entropy_with_logits(target, pred[..., 4:4 + classes])
    return {"box": box, "classes": tf.reduce_mean(tf.reduce_sum(bce, axis=-1)), "matches": n}


@keras.saving.register_keras_serializable(package="archspec")
class PointLevelLoss(keras.losses.Loss):
    """The loss of one anchor-free level as a Keras loss (one per model output; Keras sums them)."""

    def __init__(self, grid: Sequence[int], stride: int, classes: int, bounds: Sequence[float],
                 balance: float = 1.0, box_weight: float = 0.05, objectness_weight: float = 1.0,
                 name: str = "detection_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.grid, self.stride, self.classes = (int(grid[0]), int(grid[1])), int(stride), int(classes)
        self.bounds = (float(bounds[0]), float(bounds[1]))
        self.balance, self.weights = float(balance), (float(box_weight), float(objectness_weight))

    @tf.autograph.experimental.do_not_convert  # no tensor-dependent control flow: skip the conversion
    def call(self, y_true: Any, y_pred: Any) -> Any:
        terms = point_terms(y_true, y_pred, self.grid, self.stride, self.classes, self.bounds)
        box_w, score_w = self.weights
        total = box_w * terms["box"] + score_w * self.balance * terms["classes"]
        return tf.fill([tf.shape(y_pred)[0]], total)  # the batch's loss, once per image: Keras averages

    def get_config(self) -> dict[str, Any]:
        box_w, score_w = self.weights
        return {**super().get_config(), "grid": list(self.grid), "stride": self.stride, "classes": self.classes,
                "bounds": list(self.bounds), "balance": self.balance, "box_weight": box_w,
                "objectness_weight": score_w}
