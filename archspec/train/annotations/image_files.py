"""Image files of object data sets: their sizes read from headers (all, before training) and
their pixels read one at a time (while training), as float32 in [0, 1]."""
from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

from archspec.train.sources import IMAGE_EXTENSIONS


def header_size(path: Path) -> tuple[int, int] | str:
    """(height, width) from the file's header, or why it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        return "the image file is missing"
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        return f"not a readable image ({type(exc).__name__}: {exc})"
    return height, width


def read_image(path: Path | IO[bytes], channels: int = 3) -> np.ndarray:
    """(H, W, channels) float32 in [0, 1]; gray, palette and alpha images are converted.

    Pixels are read as stored: EXIF orientation is not applied, as COCO's own tools do not.
    """
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB" if channels == 3 else "L"), np.float32) / 255.0
    return pixels if pixels.ndim == 3 else pixels[..., None]


def image_files(folder: Path) -> list[Path]:
    """The images under a folder, at any depth, sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
