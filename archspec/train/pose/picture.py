"""``predict``'s pose picture: the image with its keypoints and skeleton drawn on it (PNG).

The image is scaled up by a whole factor (nearest neighbour, so its pixels stay sharp) until
its longer side is at least 256 px. Every keypoint is drawn in its own colour (hues spread
evenly over the keypoints) with its name: a filled dot in a ring when its peak is at least
``PRESENT`` (0.5, the height at which a target heatmap's peak counts as a keypoint), a thin
hollow ring when it is weaker (shown rather than dropped: an undertrained model's peaks are low).
A skeleton pair is a line between its keypoints, thin when either is weak. Keypoints are image
pixels, x right, y down, origin at the top-left corner.
"""
from __future__ import annotations

import colorsys
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from archspec.train.pose.targets import PRESENT
from archspec.train.rundir import atomic_write

MIN_SIDE = 256


def keypoint_colour(index: int, count: int) -> tuple[int, int, int]:
    """A bright colour per keypoint, hues evenly spaced.

    >>> keypoint_colour(0, 3), keypoint_colour(1, 3)
    ((255, 38, 38), (38, 255, 38))
    """
    red, green, blue = colorsys.hsv_to_rgb(index / max(count, 1), 0.85, 1.0)
    return round(red * 255), round(green * 255), round(blue * 255)


def draw_pose(image: np.ndarray, keypoints: np.ndarray, skeleton: Sequence[tuple[int, int]],
              names: Sequence[str], path: Path) -> Path:
    """Draw ``keypoints`` ((K, 3): x, y, peak) and ``skeleton`` on ``image`` ((H, W, C) in [0, 1]);
    write the PNG atomically."""
    from PIL import Image

    picture = Image.fromarray(pose_picture(image, keypoints, skeleton, names))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))
    return path


def pose_picture(image: np.ndarray, keypoints: np.ndarray, skeleton: Sequence[tuple[int, int]],
                 names: Sequence[str]) -> np.ndarray:
    """The (H*f, W*f, 3) uint8 picture :func:`draw_pose` writes: ``image`` enlarged by a whole f
    (the longer side at least :data:`MIN_SIDE`), its keypoints (image pixels, times f on the picture) and skeleton drawn."""
    from PIL import Image, ImageDraw

    pixels = np.clip(np.asarray(image, np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    factor = max(1, math.ceil(MIN_SIDE / max(pixels.shape[:2])))
    picture = Image.fromarray(pixels).resize((pixels.shape[1] * factor, pixels.shape[0] * factor),
                                             Image.Resampling.NEAREST)
    pen = ImageDraw.Draw(picture)
    strong = keypoints[:, 2] >= PRESENT
    at = [(float(x) * factor, float(y) * factor) for x, y, _ in keypoints]
    for a, b in skeleton:
        width = max(2, factor // 3) if strong[a] and strong[b] else 1
        pen.line([at[a], at[b]], fill=keypoint_colour(a, len(keypoints)), width=width)
    radius = max(3, factor)
    for k, (x, y) in enumerate(at):
        colour = keypoint_colour(k, len(keypoints))
        pen.ellipse([x - radius, y - radius, x + radius, y + radius], outline=colour, width=2 if strong[k] else 1)
        if strong[k]:
            dot = max(1, radius // 2)
            pen.ellipse([x - dot, y - dot, x + dot, y + dot], fill=colour)
        pen.text((x + radius + 2, y - radius), names[k], fill=colour)
    return np.asarray(picture)
