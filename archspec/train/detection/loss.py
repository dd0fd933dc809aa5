"""The detection loss of one pyramid level, YOLOv5's (``utils/loss.py: ComputeLoss``).

For the matches of :func:`~archspec.train.detection.assign.match_level`:

- box: 1 - CIoU of the decoded box (centre 2 sigmoid(t_xy) - 0.5 from the cell's corner, size
  (2 sigmoid(t_wh))^2 x anchor) and the object's, averaged over the matches;
- objectness: BCE over every cell and anchor, whose target is the match's CIoU (clipped at 0,
  no gradient) and 0 elsewhere, times the level's balance (4.0, 1.0, 0.4 finest first);
- classes: BCE of the class logits against the one-hot class, averaged over matches and classes.

The level's loss is box_weight x box + objectness_weight x balance x objectness + class_weight x
classes, each weight scaled by 3 / levels as YOLOv5 scales its gains; Keras adds the levels.
Targets come to every level as the same (B, M, 5) tensor: x1, y1, x2, y2 in model-input pixels
and the class, -1 for padding.
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import tensorflow as tf

from archspec.errors import UserError
from archspec.train.detection.assign import match_level
from archspec.train.detection.boxes import ciou
from archspec.train.detection.distributed import batch_total

BALANCE = {1: (1.0,), 2: (4.0, 1.0), 3: (4.0, 1.0, 0.4)}
DEFAULT_WEIGHTS = {"box_weight": 0.05, "objectness_weight": 1.0, "class_weight": 0.5}


def level_balance(index: int, levels: int) -> float:
    """YOLOv5's objectness balance of level ``index`` (finest first)."""
    return BALANCE.get(levels, (4.0, 1.0, 0.25, 0.06, 0.02))[index]


def decode_cells(raw: Any, anchor_cells: Any) -> tuple[Any, Any]:
    """A cell's box from its logits: centre offset from the cell's corner and size, in cells."""
    xy = tf.sigmoid(raw[..., 0:2]) * 2.0 - 0.5
    wh = tf.square(tf.sigmoid(raw[..., 2:4]) * 2.0) * anchor_cells
    return xy, wh


def level_terms(targets: Any, pred: Any, grid: tuple[int, int], stride: int, anchors: Sequence[Sequence[float]],
                classes: int, anchor_ratio: float = 4.0) -> dict[str, Any]:
    """The three unweighted terms (box, objectness, classes) of one level for a batch."""
    pred = tf.cast(pred, tf.float32)
    count = len(anchors)
    rows, cols = grid
    pred = tf.reshape(pred, [-1, rows, cols, count, tf.shape(pred)[-1] // count])
    boxes, labels = targets[..., :4], tf.cast(tf.round(targets[..., 4]), tf.int32)
    matches = match_level(boxes, labels, grid, stride, anchors, anchor_ratio)
    indices = matches.gather_indices()
    matched = tf.gather_nd(pred, indices)                                        # (B, M, A, 3, per_box)
    anchor_cells = tf.constant(anchors, tf.float32)[None, None, :, None, :] / stride
    xy, wh = decode_cells(matched, anchor_cells)
    overlap = ciou(xy, wh, matches.target_xy, matches.target_wh)                 # (B, M, A, 3)
    valid = tf.cast(matches.valid, tf.float32)
    n = tf.reduce_sum(valid)
    total, replicas = batch_total(n)  # (n, 1) but in the multi-worker step: the global batch's matches
    box = tf.reduce_sum(valid * (1.0 - overlap)) / (tf.maximum(total, 1.0) / replicas)
    quality = tf.where(matches.valid, tf.maximum(tf.stop_gradient(overlap), 0.0), 0.0)
    objectness_target = tf.tensor_scatter_nd_max(tf.zeros(tf.shape(pred)[:4]), tf.reshape(indices, [-1, 4]),
                                                 tf.reshape(quality, [-1]))
    objectness = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(objectness_target, pred[..., 4]))
    one_hot = tf.one_hot(tf.maximum(labels, 0), classes)[:, :, None, None, :]
    class_bce = tf.nn.sigmoid_cross_entropy_with_logits(tf.broadcast_to(one_hot, tf.shape(matched[..., 5:5 + classes])),
                                                        matched[..., 5:5 + classes])
    class_term = tf.reduce_sum(valid[..., None] * class_bce) / (tf.maximum(total * classes, 1.0) / replicas)
    return {"box": box, "objectness": objectness, "classes": class_term, "matches": n}


@keras.saving.register_keras_serializable(package="archspec")
class LevelLoss(keras.losses.Loss):
    """The loss of one level as a Keras loss (one per model output; Keras sums them)."""

    def __init__(self, grid: Sequence[int], stride: int, anchors: Sequence[Sequence[float]], classes: int,
                 balance: float = 1.0, box_weight: float = 0.05, objectness_weight: float = 1.0,
                 class_weight: float = 0.5, anchor_ratio: float = 4.0, name: str = "detection_loss",
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.grid, self.stride = (int(grid[0]), int(grid[1])), int(stride)
        self.anchors = [[float(w), float(h)] for w, h in anchors]
        self.classes, self.balance, self.anchor_ratio = int(classes), float(balance), float(anchor_ratio)
        self.weights = (float(box_weight), float(objectness_weight), float(class_weight))

    # No tensor-dependent Python control flow: autograph's conversion would only slow the trace
    # of every train step (about a third of a small detector's start-up CPU).
    @tf.autograph.experimental.do_not_convert
    def call(self, y_true: Any, y_pred: Any) -> Any:
        terms = level_terms(y_true, y_pred, self.grid, self.stride, self.anchors, self.classes, self.anchor_ratio)
        box_w, obj_w, cls_w = self.weights
        total = box_w * terms["box"] + obj_w * self.balance * terms["objectness"] + cls_w * terms["classes"]
        return tf.fill([tf.shape(y_pred)[0]], total)  # the batch's loss, once per image: Keras averages

    def get_config(self) -> dict[str, Any]:
        box_w, obj_w, cls_w = self.weights
        return {**super().get_config(), "grid": list(self.grid), "stride": self.stride, "anchors": self.anchors,
                "classes": self.classes, "balance": self.balance, "box_weight": box_w,
                "objectness_weight": obj_w, "class_weight": cls_w, "anchor_ratio": self.anchor_ratio}


def head_losses(head: Any, settings: dict[str, Any]) -> list[Any]:
    """One Keras loss per level of ``head`` (an ``archspec.heads.head.Head``), weights from train.detection:
    YOLOv5's ``LevelLoss`` with anchors, FCOS-assigned ``PointLevelLoss`` anchor-free."""
    levels = len(head.levels)
    weights = {key: float(settings.get(key, default)) * 3.0 / levels for key, default in DEFAULT_WEIGHTS.items()}
    if head.anchor_free:
        return point_losses(head, settings, weights)
    return [LevelLoss(lv.grid, lv.stride, lv.anchors, head.classes, level_balance(i, levels),
                      anchor_ratio=float(settings.get("anchor_ratio", 4.0)), name=f"{lv.name}_loss", **weights)
            for i, lv in enumerate(head.levels)]


def point_losses(head: Any, settings: dict[str, Any], weights: dict[str, float]) -> list[Any]:
    """The anchor-free levels' losses (``archspec.train.detection.point_loss``)."""
    from archspec.train.detection.point_loss import PointLevelLoss
    from archspec.train.detection.points import level_bounds

    sizes = settings.get("level_sizes")
    if sizes is not None and (len(sizes) != len(head.levels) - 1 or list(sizes) != sorted(set(sizes))):
        raise UserError(f"train.detection.level_sizes {list(sizes)} for {len(head.levels)} levels",
                        f"give {len(head.levels) - 1} increasing sizes: the longer side (input pixels) where each level but the "
                        "last hands objects to the next")
    bounds = level_bounds([lv.stride for lv in head.levels], sizes)
    levels = len(head.levels)
    return [PointLevelLoss(lv.grid, lv.stride, head.classes, bounds[i], level_balance(i, levels),
                           box_weight=weights["box_weight"], objectness_weight=weights["objectness_weight"],
                           name=f"{lv.name}_loss") for i, lv in enumerate(head.levels)]
