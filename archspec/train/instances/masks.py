"""Instance masks from prototypes and coefficients, in TensorFlow ops (YOLACT, Bolya et al. 2019).

The model's prototype branch gives M maps at 1/s of the input (s = 4 in yolo-tiny-seg, as
Ultralytics' -seg heads); each detection carries M coefficients. Its mask's logits are the
linear combination ``protos @ coefficients``, cropped to its box: YOLACT crops so the
prototypes need not learn to separate neighbouring objects, which the box already does.

Coordinates are pixels with the origin at the top-left corner of the top-left pixel (as
``archspec.train.annotations`` writes boxes); a pixel belongs to a box when its centre does.
Training compares logits with the ground-truth masks averaged down to prototype resolution
(soft targets, so an edge pixel half covered counts one half); inference upsamples the
logits bilinearly to the input, crops, and thresholds the probability at 0.5.
"""
from __future__ import annotations

from typing import Any


def assemble_masks(coefficients: Any, prototypes: Any) -> Any:
    """Mask logits (N, h, w) of N detections: ``prototypes`` (h, w, M) times ``coefficients`` (N, M)."""
    import tensorflow as tf

    return tf.einsum("hwm,nm->nhw", prototypes, coefficients)


def box_region(boxes: Any, height: int, width: int) -> Any:
    """(N, h, w) float 1 where a pixel's centre lies in its box [x1, x2) x [y1, y2), else 0.

    ``boxes`` (N, 4) are x1, y1, x2, y2 in pixels of the (h, w) grid.
    """
    import tensorflow as tf

    boxes = tf.cast(boxes, tf.float32)
    xs = tf.range(width, dtype=tf.float32)[None, None, :] + 0.5
    ys = tf.range(height, dtype=tf.float32)[None, :, None] + 0.5
    x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
    inside = (xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)
    return tf.cast(inside, tf.float32)


def crop_masks(masks: Any, boxes: Any) -> Any:
    """``masks`` (N, h, w) zeroed outside each box (boxes in pixels of that grid)."""
    import tensorflow as tf

    shape = tf.shape(masks)
    return masks * tf.cast(box_region(boxes, shape[1], shape[2]), masks.dtype)


def mask_targets(masks: Any, size: tuple[int, int]) -> Any:
    """Ground-truth masks (..., H, W) of 0/1 averaged down to ``size`` (h, w): float32 in [0, 1].

    Area averaging keeps the fraction of each prototype pixel an object covers.
    """
    import tensorflow as tf

    masks = tf.cast(masks, tf.float32)
    lead = tf.shape(masks)[:-2]
    flat = tf.reshape(masks, tf.concat([[-1], tf.shape(masks)[-2:], [1]], axis=0))
    small = tf.image.resize(flat, size, method="area")
    return tf.reshape(small, tf.concat([lead, size], axis=0))


def mask_loss(coefficients: Any, prototypes: Any, targets: Any, boxes: Any, weights: Any | None = None) -> Any:
    """Binary cross-entropy of P matched predictions inside their boxes, each normalised by its box area.

    ``coefficients`` (P, M) of the predictions matched to a ground-truth object;
    ``prototypes`` (P, h, w, M): the prototypes of each one's image; ``targets`` (P, h, w) its
    object's mask at prototype resolution (:func:`mask_targets`); ``boxes`` (P, 4) the
    object's box in prototype pixels; ``weights`` (P,) 1 for real matches, 0 for padding.
    Returns the mean over the weighted matches (0 without any): Ultralytics'
    ``single_mask_loss``, whose per-pixel mean over the map divided by the normalised box area
    is this sum inside the box over the box's area in pixels.
    """
    import tensorflow as tf

    logits = tf.einsum("phwm,pm->phw", prototypes, coefficients)
    pixels = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(targets, logits.dtype), logits=logits)
    shape = tf.shape(logits)
    inside = tf.cast(box_region(boxes, shape[1], shape[2]), logits.dtype)
    area = tf.maximum(tf.reduce_sum(inside, axis=[1, 2]), 1.0)
    per_match = tf.reduce_sum(pixels * inside, axis=[1, 2]) / area
    weights = tf.ones_like(per_match) if weights is None else tf.cast(weights, per_match.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(per_match * weights), tf.reduce_sum(weights))


def instance_masks(coefficients: Any, prototypes: Any, boxes: Any, size: tuple[int, int],
                   threshold: float = 0.5) -> Any:
    """Binary masks (N, H, W) at the input ``size`` of N detections, each cropped to its box.

    ``boxes`` (N, 4) are in input pixels. The logits are upsampled (bilinear, half-pixel
    centres) before the crop, so a box's edge falls between input pixels, not prototype ones.
    """
    import math

    import tensorflow as tf

    logits = assemble_masks(coefficients, prototypes)
    large = tf.image.resize(logits[..., None], size, method="bilinear")[..., 0]
    cut = math.log(threshold / (1.0 - threshold))  # sigmoid(x) > threshold  <=>  x > logit(threshold)
    return tf.cast(large > cut, tf.float32) * box_region(boxes, size[0], size[1]) > 0
