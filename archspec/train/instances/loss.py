"""The mask loss of a batch: every (object, anchor, cell) match of a level scored by its mask.

A match's predicted coefficients (the last M channels of its anchor's prediction) make mask
logits with its image's prototypes; they are compared with its object's mask at prototype
resolution by :func:`archspec.train.instances.masks.mask_loss`'s rule (BCE inside the object's
box, over the box's area), and averaged over the real matches of all levels, as YOLOv5-seg's
``single_mask_loss`` is per image (``utils/segment/loss.py``). Shapes stay fixed (B, M, A, 3)
as the assignment's, so the step compiles under XLA; the logits of a level are one einsum,
not a gather of each match's prototypes.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from archspec.train.detection.distributed import batch_total
from archspec.train.instances.masks import box_region, mask_targets


def object_masks(masks: Any, boxes: Any, prototypes: Any, input_size: tuple[int, int]) -> tuple[Any, Any]:
    """The objects' masks (B, M, h, w) at the prototypes' size, and their boxes in prototype pixels.

    ``masks`` (B, M, H, W) 0/1 at the input size, ``boxes`` (B, M, 4) in input pixels,
    ``prototypes`` (B, h, w, C).
    """
    import tensorflow as tf

    height, width = prototypes.shape[1], prototypes.shape[2]
    scale = tf.constant([width / input_size[1], height / input_size[0]] * 2, tf.float32)
    return mask_targets(masks, (height, width)), tf.cast(boxes, tf.float32) * scale


def level_mask_terms(predictions: Any, matches: Any, prototypes: Any, targets: Any, boxes: Any) -> tuple[Any, Any]:
    """The summed mask loss of one level's real matches, and how many there are.

    ``predictions`` (B, H, W, A, per_box) with the M coefficients last; ``matches`` the
    level's ``archspec.train.detection.assign.LevelMatches``; ``targets`` (B, M, h, w) and
    ``boxes`` (B, M, 4) from :func:`object_masks`.
    """
    import tensorflow as tf

    count = prototypes.shape[-1]
    coefficients = tf.gather_nd(predictions, matches.gather_indices())[..., -count:]     # (B, M, A, 3, C)
    logits = tf.einsum("bhwc,bmanc->bmanhw", tf.cast(prototypes, tf.float32), tf.cast(coefficients, tf.float32))
    labels = tf.broadcast_to(targets[:, :, None, None], tf.shape(logits))
    pixels = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    height, width = prototypes.shape[1], prototypes.shape[2]
    shape = tf.shape(boxes)
    inside = tf.reshape(box_region(tf.reshape(boxes, [-1, 4]), height, width),
                        tf.concat([shape[:2], [height, width]], axis=0))                # (B, M, h, w)
    area = tf.maximum(tf.reduce_sum(inside, axis=[2, 3]), 1.0)                          # (B, M)
    per_match = tf.reduce_sum(pixels * inside[:, :, None, None], axis=[4, 5]) / area[:, :, None, None]
    weight = tf.cast(matches.valid, tf.float32)
    return tf.reduce_sum(per_match * weight), tf.reduce_sum(weight)


def batch_mask_loss(level_predictions: Sequence[Any], level_matches: Sequence[Any], prototypes: Any,
                    masks: Any, boxes: Any, input_size: tuple[int, int]) -> Any:
    """The mean mask loss over every real match of every level (0 for a batch without objects)."""
    return _mean_over_levels(level_mask_terms, level_predictions, level_matches, prototypes, masks, boxes,
                             input_size)


def _mean_over_levels(terms: Callable[..., tuple[Any, Any]], level_predictions: Sequence[Any],
                      level_targets: Sequence[Any], prototypes: Any, masks: Any, boxes: Any,
                      input_size: tuple[int, int]) -> Any:
    """Σ of the levels' ``terms`` (loss sum, count) / their count: the global batch's count under
    the multi-worker step (``batch_total``), so every replica divides by the same number."""
    import tensorflow as tf

    targets, proto_boxes = object_masks(masks, boxes, prototypes, input_size)
    total, count = tf.constant(0.0), tf.constant(0.0)
    for predictions, level in zip(level_predictions, level_targets):
        level_total, level_count = terms(predictions, level, prototypes, targets, proto_boxes)
        total, count = total + level_total, count + level_count
    matches, replicas = batch_total(count)
    return tf.math.divide_no_nan(total, matches / replicas)


def point_mask_terms(predictions: Any, points: Any, prototypes: Any, targets: Any, boxes: Any) -> tuple[Any, Any]:
    """:func:`level_mask_terms` for an anchor-free level: each positive point trains its object's mask.

    ``predictions`` (B, H, W, per_box) with the M coefficients last; ``points`` the level's
    ``archspec.train.detection.points.PointTargets`` ((B, H x W) row-major, ``objects`` the slot
    of each point's object).
    """
    import tensorflow as tf

    count = prototypes.shape[-1]
    height, width = prototypes.shape[1], prototypes.shape[2]
    shape = tf.shape(predictions)
    coefficients = tf.reshape(tf.cast(predictions, tf.float32), [shape[0], -1, shape[-1]])[..., -count:]
    logits = tf.einsum("bhwc,bpc->bphw", tf.cast(prototypes, tf.float32), coefficients)       # (B, P, h, w)
    labels = tf.gather(targets, points.objects, batch_dims=1)
    pixels = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    point_boxes = tf.gather(boxes, points.objects, batch_dims=1)                              # (B, P, 4)
    inside = tf.reshape(box_region(tf.reshape(point_boxes, [-1, 4]), height, width), tf.shape(logits))
    area = tf.maximum(tf.reduce_sum(inside, axis=[2, 3]), 1.0)
    per_point = tf.reduce_sum(pixels * inside, axis=[2, 3]) / area
    weight = tf.cast(points.positive, tf.float32)
    return tf.reduce_sum(per_point * weight), tf.reduce_sum(weight)


def batch_point_mask_loss(level_predictions: Sequence[Any], level_points: Sequence[Any], prototypes: Any,
                          masks: Any, boxes: Any, input_size: tuple[int, int]) -> Any:
    """The mean mask loss over every positive point of every anchor-free level."""
    return _mean_over_levels(point_mask_terms, level_predictions, level_points, prototypes, masks, boxes,
                             input_size)
