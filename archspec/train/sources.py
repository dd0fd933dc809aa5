"""Data sources: a ``source:`` mapping becomes arrays, a file list or a record stream.

``builtin``, ``npz`` and ``images`` sources are opened here, ``tfrecord`` ones in
``records``; what they load into is in ``source_data``. Every problem with the data is a
:class:`~archspec.errors.UserError` naming the file or sample. TensorFlow is imported only
where records are parsed.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from archspec.errors import UserError
from archspec.train.records import open_records
from archspec.train.source_data import ArrayData, FileData, Source

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # as Keras's image loaders


def describe_source(source: Mapping[str, Any]) -> str:
    """``{npz: a.npz}`` -> ``npz:a.npz``."""
    for key in ("builtin", "npz", "images", "tfrecord", "coco", "yolo"):
        if key in source:
            return f"{key}:{source[key]}"
    return str(dict(source))


def load_source(source: Mapping[str, Any], task: str, rescale: float | None = None,
                channels: int | None = None) -> Source:
    """Open the data a ``source:`` mapping names (``channels``: what images decode to)."""
    if "builtin" in source:
        return _load_builtin(source, task)
    if "npz" in source:
        return _load_npz(source, rescale)
    if "images" in source:
        return _index_images(source, 1.0 / 255.0 if rescale is None else rescale)
    if "tfrecord" in source:
        return open_records(source, 1.0 / 255.0 if rescale is None else rescale, channels or 3)
    if "coco" in source or "yolo" in source:
        raise UserError(f"{describe_source(source)} holds object annotations; it cannot train a {task} model",
                        "use it with task: detection, instance_segmentation or keypoints")
    raise UserError(f"unknown data source {dict(source)}", "use builtin, npz, images or tfrecord")


def _load_builtin(source: Mapping[str, Any], task: str) -> ArrayData:
    name = source["builtin"]
    if name == "digits":
        if task != "classification":
            raise UserError(f"builtin:digits has class labels only; it cannot train a {task} model",
                            "use builtin:shapes, which has masks, multi-labels, counts and heatmaps")
        from sklearn.datasets import load_digits
        digits = load_digits()
        x = (digits.images.astype(np.float32) / 16.0)[..., None]
        return ArrayData(x=x, y=digits.target.astype(np.int32), description="builtin:digits",
                         class_names=tuple(str(i) for i in range(10)))
    from archspec.train.synthetic_shapes import CLASS_NAMES, make_shapes
    shapes = make_shapes(samples=int(source.get("samples", 2000)), size=int(source.get("size", 32)),
                         channels=int(source.get("channels", 1)), seed=int(source.get("seed", 0)),
                         single=(task == "classification"))
    names = CLASS_NAMES if task in ("classification", "multilabel", "regression", "keypoints") \
        else ("background",) + CLASS_NAMES
    return ArrayData(x=shapes.x, y=shapes.targets(task), description="builtin:shapes", class_names=names)


def _load_npz(source: Mapping[str, Any], rescale: float | None) -> ArrayData:
    path = source["npz"]
    x_key, y_key = source.get("x", "x"), source.get("y", "y")
    if not os.path.isfile(path):
        raise UserError(f"no such file: {path}", "check train.data.source.npz or the --data path")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.keys())
            missing = [k for k in (x_key, y_key) if k not in keys]
            if missing:
                raise UserError(f"{path} has no array named {missing[0]!r} (it has: {', '.join(keys) or 'none'})",
                                "name the arrays with train.data.source.x and .y")
            x, y = npz[x_key], npz[y_key]
    except UserError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"cannot read {path} as a NumPy .npz file ({exc})",
                        "check that the file is complete") from None
    if len(x) != len(y):
        raise UserError(f"{path}: {x_key} has {len(x)} samples but {y_key} has {len(y)}",
                        "x and y need one entry per sample")
    if len(x) == 0:
        raise UserError(f"{path} holds no samples", "check the file")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise UserError(f"{path}: {x_key} has dtype {x.dtype}, not numbers", "store numeric arrays")
    scale = rescale if rescale is not None else (1.0 / 255.0 if x.dtype == np.uint8 else 1.0)
    x = x.astype(np.float32) * np.float32(scale)
    if x.ndim == 3:  # (N, H, W): one channel
        x = x[..., None]
    return ArrayData(x=x, y=y, description=f"npz:{path}", rescale=scale)


def _index_images(source: Mapping[str, Any], rescale: float) -> FileData:
    root = Path(source["images"])
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise UserError(f"the image folder {root} {what}",
                        "point train.data.source.images (or --data images:DIR) at a folder with one "
                        "sub-folder per class")
    classes = list(source.get("class_names") or sorted(p.name for p in root.iterdir() if p.is_dir()))
    if not classes:
        raise UserError(f"{root} has no class sub-folders",
                        "put the images of each class in their own sub-folder, e.g. photos/cat/1.jpg")
    paths: list[str] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise UserError(f"the class folder {folder} does not exist", "fix train.data.source.class_names")
        files = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise UserError(f"{root} holds no images ({', '.join(IMAGE_EXTENSIONS)})", "check the folder")
    return FileData(paths=np.array(paths), labels=np.array(labels, np.int32),
                    description=f"images:{root}", class_names=tuple(classes), rescale=rescale)


def check_image_headers(paths: np.ndarray, size: tuple[int, int] | None) -> list[tuple[int, int]]:
    """Open every image's header with Pillow: unreadable files (and, when ``size`` is given,
    images of another size) stop here, named, before any training step. Returns the distinct
    (height, width) sizes found, sorted."""
    from PIL import Image, UnidentifiedImageError

    from archspec.train.annotations.image_files import upright_size

    sizes: set[tuple[int, int]] = set()
    for path in paths:
        try:
            with Image.open(str(path)) as image:
                height, width = upright_size(image)  # after its EXIF orientation, as the pipeline reads it
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise UserError(f"{path}: not a readable image ({type(exc).__name__}: {exc})",
                            "delete or replace the file") from None
        if size is not None and (height, width) != size:
            raise UserError(f"{path} is {height}x{width} but the model takes {size[0]}x{size[1]} images",
                            "set train.data.resize: true (--set train.data.resize=true) to resize")
        sizes.add((height, width))
    return sorted(sizes)


def find_broken_image(paths: np.ndarray) -> str | None:
    """The first file whose pixels cannot be decoded (a truncated JPEG, say), or None."""
    from PIL import Image

    for path in paths:
        try:
            with Image.open(str(path)) as image:
                image.load()
        except Exception:  # noqa: BLE001 - any failure to decode names the file
            return str(path)
    return None
