"""Image files as every image loader of the project reads them (object data, image folders,
``predict``, the studio's explorer): sizes from headers (all, before training), pixels one at a
time (while training), as float32 in [0, 1].

- **EXIF orientation** (phone photos) is applied, as annotation tools (CVAT, Label Studio,
  Roboflow, browsers) and Ultralytics (``exif_transpose``) show the image, so the sizes and the
  pixels are those of the upright picture its annotations were drawn on. ``exif=False`` reads
  the pixels as stored (a COCO file whose width/height are the stored ones says so).
- **Bit depth**: 16-bit grey PNGs are scaled by 65535 (Pillow's own conversion would clip them
  at 255); 16-bit colour PNGs Pillow reduces to 8 bits itself.
- **Modes**: grey, palette (transparency included), CMYK and YCbCr become RGB; alpha is dropped
  (as OpenCV and ``tf.io.decode_image`` drop it); a one-channel model gets the luminance.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np

ORIENTATION_TAG = 0x0112
# Object data is read by Pillow alone: image folders' formats (sources.IMAGE_EXTENSIONS, which
# imports this module: not imported here) and TIFF and WebP too, as Ultralytics' IMG_FORMATS.
OBJECT_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # Pillow opens 16-bit grey PNGs as these


def _transposes() -> dict[int, Any]:
    """EXIF orientation -> the transpose that makes the picture upright (ImageOps.exif_transpose's table)."""
    from PIL import Image

    t = Image.Transpose
    return {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE, 6: t.ROTATE_270,
            7: t.TRANSVERSE, 8: t.ROTATE_90}


def orientation(image: Any) -> int:
    """The EXIF orientation of an open image, 1 (as stored) when it has none or it cannot be read."""
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block is ignored, as browsers ignore it
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright_size(image: Any) -> tuple[int, int]:
    """(height, width) of an open image once its EXIF orientation is applied."""
    width, height = image.size
    return (width, height) if orientation(image) in (5, 6, 7, 8) else (height, width)


def header_sizes(path: Path) -> tuple[tuple[int, int], tuple[int, int]] | str:
    """((height, width) upright, (height, width) as stored) from the file's header, or why it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        return "the image file is missing"
    try:
        with Image.open(path) as image:
            width, height = image.size
            return upright_size(image), (height, width)
    except Image.DecompressionBombError as exc:
        return f"too large to read ({exc})"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return f"not a readable image ({type(exc).__name__}: {exc})"


def header_size(path: Path) -> tuple[int, int] | str:
    """(height, width) of the upright picture, from the file's header, or why it cannot be read."""
    sizes = header_sizes(path)
    return sizes if isinstance(sizes, str) else sizes[0]


def image_pixels(image: Any, channels: int = 3, exif: bool = True) -> np.ndarray:
    """An open Pillow image as (H, W, channels) float32 in [0, 1], upright unless ``exif`` is False.

    >>> from PIL import Image
    >>> grey16 = Image.fromarray(np.array([[0, 32768, 65535]], np.uint16))
    >>> image_pixels(grey16, 1)[..., 0].round(3).tolist()
    [[0.0, 0.5, 1.0]]
    >>> image_pixels(Image.new("CMYK", (2, 1), (0, 255, 0, 0)), 3)[0, 0].tolist()
    [1.0, 0.0, 1.0]
    """
    turn = _transposes().get(orientation(image)) if exif else None
    if turn is not None:
        image = image.transpose(turn)
    if image.mode in _SIXTEEN_BIT:
        grey = np.clip(np.asarray(image, np.float32) / 65535.0, 0.0, 1.0)[..., None]
        return np.repeat(grey, 3, axis=-1) if channels == 3 else grey
    if image.mode == "F":
        grey = np.clip(np.asarray(image, np.float32), 0.0, 1.0)[..., None]
        return np.repeat(grey, 3, axis=-1) if channels == 3 else grey
    if image.mode == "P":  # through RGBA: a palette's transparency is dropped without Pillow's warning
        image = image.convert("RGBA")
    pixels = np.asarray(image.convert("RGB" if channels == 3 else "L"), np.float32) / 255.0
    return pixels if pixels.ndim == 3 else pixels[..., None]


def read_image(path: Path | IO[bytes], channels: int = 3, exif: bool = True) -> np.ndarray:
    """(H, W, channels) float32 in [0, 1] of an image file or an open binary file (see the module)."""
    from PIL import Image

    with Image.open(path) as image:
        return image_pixels(image, channels, exif)


# Starts the message of an object image that cannot be decoded while training (``failures`` finds it
# in TensorFlow's error and stops with it, exit 2).
UNDECODABLE = "cannot decode the image file "


def read_object_image(path: Path, exif: bool, what: str) -> np.ndarray:
    """``read_image`` of one image of object data (RGB); a file that cannot be decoded (a truncated
    JPEG, found only when its pixels are read) is a ValueError naming it and ``what`` it is."""
    from PIL import Image

    try:
        return read_image(path, 3, exif)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{UNDECODABLE}{path} ({what}): {exc}") from None


def turned_files(paths: Sequence[str]) -> np.ndarray:
    """Which image files carry an EXIF orientation other than 1 (their pixels must be turned upright).

    A file Pillow cannot open is False here: the header check names it. Headers are read once per
    list of files (about 0.1 ms a file), though a run's training and validation pipelines both ask.
    """
    return np.array(_turned(tuple(str(p) for p in paths)), bool).reshape(-1)


@lru_cache(maxsize=4)
def _turned(paths: tuple[str, ...]) -> tuple[bool, ...]:
    from PIL import Image

    turned = []
    for path in paths:
        try:
            with Image.open(path) as image:
                turned.append(orientation(image) != 1)
        except Exception:  # noqa: BLE001 - reported by the header check, not here
            turned.append(False)
    return tuple(turned)


def read_upright_uint8(path: Any, channels: int) -> np.ndarray:
    """A file's upright pixels as (H, W, channels) uint8, for a tf.data pipeline (``tf.numpy_function``)."""
    name = path.decode() if isinstance(path, bytes) else str(path)
    return np.round(read_image(Path(name), channels) * 255.0).astype(np.uint8)


def image_files(folder: Path) -> list[Path]:
    """The images under a folder, at any depth, sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in OBJECT_IMAGE_EXTENSIONS and p.is_file())
