"""Segmentation masks as palette PNGs: the pixel values are the class ids, the palette
gives each class a fixed colour, so a mask is both machine-readable and visible.

The colours are PASCAL VOC's: class 0 (background) black, 1 dark red, 2 green, 3 olive,
4 navy, ... (each class id's bits spread over the high bits of red, green and blue), so
masks of every run look alike and match the common segmentation tools.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from archspec.errors import UserError
from archspec.train.rundir import atomic_write

MAX_CLASSES = 256  # one byte per pixel


def class_colour(index: int) -> tuple[int, int, int]:
    """The PASCAL VOC colour of a class id.

    >>> [class_colour(i) for i in range(5)]
    [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128)]
    """
    red = green = blue = 0
    for bit in range(8):
        red |= ((index >> (3 * bit)) & 1) << (7 - bit)
        green |= ((index >> (3 * bit + 1)) & 1) << (7 - bit)
        blue |= ((index >> (3 * bit + 2)) & 1) << (7 - bit)
    return red, green, blue


def palette() -> list[int]:
    """Pillow's flat palette, ``[r0, g0, b0, r1, ...]``, for all 256 class ids."""
    return [channel for index in range(MAX_CLASSES) for channel in class_colour(index)]


def write_mask(mask: np.ndarray, path: Path) -> Path:
    """Write an (H, W) array of class ids as a palette ("P" mode) PNG, atomically."""
    from PIL import Image

    if mask.size and (int(mask.min()) < 0 or int(mask.max()) >= MAX_CLASSES):
        raise UserError(f"{path}: class ids {int(mask.min())}..{int(mask.max())} do not fit a PNG palette "
                        f"(0..{MAX_CLASSES - 1})", "use predict --json for the class ids")
    image = Image.fromarray(mask.astype(np.uint8))
    image.putpalette(palette())
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
    return path
