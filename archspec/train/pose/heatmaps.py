"""Target heatmaps drawn from object keypoints, for ``task: keypoints`` on object data.

Each labelled keypoint (visibility 1 hidden or 2 visible, as SimpleBaseline and HRNet train on
both) of each object adds an unnormalised Gaussian of height 1 and standard deviation ``sigma``
heatmap pixels (``train.keypoints.heatmap_sigma``, default 2, SimpleBaseline's at 64x48 heatmaps:
Xiao et al. 2018) to its keypoint's channel; where several objects' Gaussians meet, the channel
holds their maximum, not their sum, so each peak stays 1 high. Unlabelled keypoints (v = 0),
padding objects (all zero) and keypoints outside the model's input draw nothing.

Coordinates: keypoints come in model-input pixels (D1's letterboxed, augmented targets) and map
to heatmap pixels by the ratio of the sizes; heatmap pixel (r, c) is evaluated at its centre
(c + 0.5, r + 0.5), the convention ``decode`` reads peaks back with.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

DEFAULT_HEATMAP_SIGMA = 2.0


def render_heatmaps(keypoints: np.ndarray, input_size: Sequence[int], heatmap_size: Sequence[int],
                    sigma: float = DEFAULT_HEATMAP_SIGMA) -> np.ndarray:
    """``(B, h, w, K)`` float32 target heatmaps of ``(B, M, K, 3)`` keypoints in ``input_size`` pixels.

    >>> points = np.array([[[[8.0, 4.0, 2.0]], [[0.0, 0.0, 0.0]]]], np.float32)  # one object, one padding
    >>> maps = render_heatmaps(points, (16, 16), (8, 8), sigma=1.0)
    >>> maps.shape, round(float(maps.max()), 4), [int(i) for i in np.unravel_index(maps[0, ..., 0].argmax(), (8, 8))]
    ((1, 8, 8, 1), 0.7788, [1, 3])
    """
    points = np.asarray(keypoints, np.float32)
    batch, _, channels, _ = points.shape
    height, width = int(heatmap_size[0]), int(heatmap_size[1])
    x = points[..., 0] * (width / float(input_size[1]))
    y = points[..., 1] * (height / float(input_size[0]))
    drawn = (points[..., 2] > 0) & (points[..., 0] >= 0) & (points[..., 0] < float(input_size[1])) \
        & (points[..., 1] >= 0) & (points[..., 1] < float(input_size[0]))
    maps = np.zeros((batch, channels, height, width), np.float32)
    images, _, kinds = np.nonzero(drawn)
    if len(images):
        # the Gaussian is separable: one row profile and one column profile per keypoint
        across = np.exp(-(np.arange(width) + 0.5 - x[drawn][:, None]) ** 2 / (2 * sigma * sigma))
        down = np.exp(-(np.arange(height) + 0.5 - y[drawn][:, None]) ** 2 / (2 * sigma * sigma))
        np.maximum.at(maps, (images, kinds), (down[:, :, None] * across[:, None, :]).astype(np.float32))
    return np.moveaxis(maps, 1, -1)


def heatmap_targets(keypoints: Any, input_size: Sequence[int], heatmap_size: Sequence[int],
                    sigma: float) -> Any:
    """The TensorFlow form of :func:`render_heatmaps` for a tf.data map (``keypoints``: a tensor)."""
    import tensorflow as tf

    channels = int(keypoints.shape[2])
    maps = tf.numpy_function(lambda points: render_heatmaps(points, input_size, heatmap_size, sigma),
                             [keypoints], tf.float32, stateful=False)
    maps.set_shape((None, int(heatmap_size[0]), int(heatmap_size[1]), channels))
    return maps
