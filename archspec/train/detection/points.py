"""Target assignment of an anchor-free head, FCOS's (Tian et al., "FCOS: fully convolutional
one-stage object detection", ICCV 2019), with its centre sampling.

Each cell of a level is a point, its centre ((column + 0.5) x stride, (row + 0.5) x stride).
An object trains exactly one level, the one whose size range holds its longer side: level i
takes sides in (bound[i-1], bound[i]], the bounds being ``train.detection.level_sizes`` (input
pixels, one fewer than the levels) or by default 4 x the stride of each level but the last,
32 and 64 px at strides 8/16/32, where YOLOv5's COCO anchors pass from one level to the next
(FCOS bounds the largest of a point's four distances instead; on its 800-pixel images that is
what a side does here). On its level, an object's points are those inside the box and within
``radius`` (1.5) strides of its centre on both axes (FCOS's centre sampling), and always the
cell holding its centre, so that an object smaller than a cell still trains one. A point that
several objects claim trains the smallest of them (FCOS's rule for ambiguous points).

Every tensor has a fixed shape, (B, H x W) for B images, so the loss runs under XLA.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import tensorflow as tf

from archspec.heads.head import RADIUS  # noqa: F401  (FCOS's centre-sampling radius, in strides; summary shows it)
from archspec.heads.head import level_bounds as head_bounds  # the one rule (its default: 4 x each stride)

_INF = 1e9


@dataclass(frozen=True)
class PointTargets:
    """Each point's object on one level; axis order (B, H x W), row-major as the grid is."""

    positive: Any   # (B, P) bool: the point trains an object
    boxes: Any      # (B, P, 4) float32: that object's x1, y1, x2, y2 in input pixels (0 where negative)
    classes: Any    # (B, P) int32: its class (0 where negative)
    objects: Any    # (B, P) int32: its slot on the targets' axis 1 (instance segmentation reads masks there)


def level_bounds(strides: Sequence[int], level_sizes: Optional[Sequence[float]] = None) -> list[tuple[float, float]]:
    """(lower, upper] of the longer side each level takes, finest first.

    >>> level_bounds([8, 16, 32])
    [(0.0, 32.0), (32.0, 64.0), (64.0, 1000000000.0)]
    >>> level_bounds([8, 16], [20])
    [(0.0, 20.0), (20.0, 1000000000.0)]
    """
    return [(low, min(high, _INF)) for low, high in head_bounds(strides, level_sizes)]


def point_centres(grid: tuple[int, int], stride: int) -> Any:
    """(H x W, 2) x, y of each cell's centre in input pixels, row-major."""
    rows, cols = grid
    col, row = tf.meshgrid(tf.range(cols, dtype=tf.float32), tf.range(rows, dtype=tf.float32))
    return (tf.reshape(tf.stack([col, row], axis=-1), [-1, 2]) + 0.5) * float(stride)


def assign_points(boxes: Any, classes: Any, grid: tuple[int, int], stride: int, bounds: tuple[float, float],
                  radius: float = RADIUS) -> PointTargets:
    """The object each point of one level trains, if any.

    ``boxes`` (B, M, 4) are x1, y1, x2, y2 in input pixels; ``classes`` (B, M) int, -1 padding;
    ``bounds`` the (lower, upper] longer side this level takes (:func:`level_bounds`).
    """
    boxes = tf.cast(boxes, tf.float32)
    classes = tf.cast(classes, tf.int32)
    size = boxes[..., 2:] - boxes[..., :2]                                     # (B, M, 2)
    side = tf.reduce_max(size, axis=-1)
    fits = (classes >= 0) & (side > bounds[0]) & (side <= bounds[1])        # (B, M)
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2.0
    points = point_centres(grid, stride)[None, None]                          # (1, 1, P, 2)
    inside = tf.reduce_all((points > boxes[:, :, None, :2]) & (points < boxes[:, :, None, 2:]), axis=-1)
    near = tf.reduce_all(tf.abs(points - centre[:, :, None]) < radius * stride, axis=-1)
    own_cell = tf.reduce_all(tf.floor(points / stride) == tf.floor(centre / stride)[:, :, None], axis=-1)
    claims = fits[..., None] & ((inside & near) | own_cell)                   # (B, M, P)
    area = (size[..., 0] * size[..., 1])[..., None]
    chosen = tf.argmin(tf.where(claims, area, _INF), axis=1, output_type=tf.int32)   # (B, P): the smallest
    positive = tf.reduce_any(claims, axis=1)
    box = tf.gather(boxes, chosen, batch_dims=1)
    label = tf.gather(classes, chosen, batch_dims=1)
    return PointTargets(positive, tf.where(positive[..., None], box, 0.0), tf.where(positive, label, 0), chosen)
