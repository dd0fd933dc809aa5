"""The picture `archspec predict` writes for instance segmentation: each instance's mask
tinted in its own colour over the image, with its box and a "class score" label.

Colours step round the hue circle by the golden angle, so neighbouring instances differ
however many there are. Small images (the models here see 64x64) are enlarged by a whole
factor first, pixel for pixel, so that the labels stay legible (as detection's pictures are).
"""
from __future__ import annotations

import colorsys
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from archspec.train.rundir import atomic_write

MIN_SIDE = 320   # pictures are enlarged to at least this many pixels on their shorter side
ALPHA = 0.5      # how much of a masked pixel is the instance's colour


def instance_colour(index: int) -> tuple[int, int, int]:
    """The colour of the ``index``-th instance: hues a golden angle apart, saturated and bright.

    >>> instance_colour(0), instance_colour(1) != instance_colour(0)
    ((242, 61, 61), True)
    """
    hue = (index * 0.381966) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return round(red * 255), round(green * 255), round(blue * 255)


def enlargement(height: int, width: int) -> int:
    """The whole factor that brings the shorter side to at least :data:`MIN_SIDE`.

    >>> enlargement(64, 64), enlargement(40, 56), enlargement(480, 640)
    (5, 8, 1)
    """
    return max(1, math.ceil(MIN_SIDE / max(min(height, width), 1)))


def overlay_instances(image: np.ndarray, masks: np.ndarray, boxes: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """An (H*k, W*k, 3) uint8 picture of ``image`` (H, W, C) in [0, 1] with K instances drawn.

    ``masks`` (K, H, W) booleans, ``boxes`` (K, 4) x1, y1, x2, y2 in the image's pixels,
    ``labels`` one text per instance; best first, as detections come: they are drawn last, on top.
    """
    from PIL import Image, ImageDraw

    rgb = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    rgb = np.repeat(rgb, 3, axis=-1) if rgb.shape[-1] == 1 else rgb[..., :3]
    tinted = rgb * 255.0
    last_first = range(len(labels) - 1, -1, -1)
    for k in last_first:
        mask = np.asarray(masks[k], bool)
        tinted[mask] = (1 - ALPHA) * tinted[mask] + ALPHA * np.array(instance_colour(k), np.float32)
    factor = enlargement(*rgb.shape[:2])
    big = np.repeat(np.repeat(tinted.round().astype(np.uint8), factor, axis=0), factor, axis=1)
    picture = Image.fromarray(big, "RGB")
    draw = ImageDraw.Draw(picture)
    for k in last_first:
        x1, y1, x2, y2 = (float(v) * factor for v in np.asarray(boxes[k], np.float32))
        label = labels[k]
        colour = instance_colour(k)
        draw.rectangle([x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)], outline=colour, width=2)
        left, top, right, bottom = draw.textbbox((x1, y1), label)
        lift = bottom - top + 2
        y = y1 - lift if y1 >= lift else y1   # above the box, or inside it at the top edge
        draw.rectangle([x1, y, x1 + right - left + 3, y + lift], fill=colour)
        draw.text((x1 + 2, y), label, fill=(0, 0, 0))
    return np.asarray(picture)


def write_overlay(path: Path, image: np.ndarray, masks: np.ndarray, boxes: np.ndarray, labels: Sequence[str]) -> Path:
    """Draw :func:`overlay_instances` and write it as a PNG, atomically; returns the path."""
    return write_picture(path, overlay_instances(image, masks, boxes, labels))


def write_picture(path: Path, pixels: np.ndarray) -> Path:
    """An (H, W, 3) uint8 picture written as a PNG, atomically; returns the path."""
    from PIL import Image

    picture = Image.fromarray(pixels, "RGB")
    atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))
    return path
