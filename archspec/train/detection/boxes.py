"""Box arithmetic in TensorFlow ops: IoU and CIoU of boxes given as centre and size.

CIoU is Zheng et al., "Distance-IoU loss: faster and better learning for bounding box
regression" (AAAI 2020): IoU - rho^2 / c^2 - alpha v, with rho the distance between the
centres, c the diagonal of the smallest box enclosing both, v = 4 / pi^2 (atan(w_t / h_t) -
atan(w / h))^2 and alpha = v / (1 - IoU + v), alpha held constant in the gradient.
"""
from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

_EPS = 1e-7


def corners(xy: Any, wh: Any) -> tuple[Any, Any]:
    """(x1, y1) and (x2, y2) of boxes given as centre and size."""
    return xy - wh / 2.0, xy + wh / 2.0


def ciou(pred_xy: Any, pred_wh: Any, true_xy: Any, true_wh: Any) -> Any:
    """Complete IoU of two sets of boxes (centre, size on the last axis), elementwise."""
    p1, p2 = corners(pred_xy, pred_wh)
    t1, t2 = corners(true_xy, true_wh)
    inter_wh = tf.maximum(tf.minimum(p2, t2) - tf.maximum(p1, t1), 0.0)
    inter = inter_wh[..., 0] * inter_wh[..., 1]
    union = pred_wh[..., 0] * pred_wh[..., 1] + true_wh[..., 0] * true_wh[..., 1] - inter + _EPS
    iou = inter / union
    enclose = tf.maximum(p2, t2) - tf.minimum(p1, t1)
    diagonal = tf.reduce_sum(tf.square(enclose), axis=-1) + _EPS
    distance = tf.reduce_sum(tf.square(pred_xy - true_xy), axis=-1)
    v = (4.0 / math.pi ** 2) * tf.square(tf.atan(true_wh[..., 0] / (true_wh[..., 1] + _EPS))
                                         - tf.atan(pred_wh[..., 0] / (pred_wh[..., 1] + _EPS)))
    alpha = tf.stop_gradient(v / (v - iou + (1.0 + _EPS)))
    return iou - (distance / diagonal + v * alpha)
