"""Where a COCO file's images are, and which size (and orientation) their annotations are in.

**The images' folder.** ``file_name``s are relative to the source's ``images:`` folder when it is
given. Without it, to the first of these folders that holds the images (the folder holding most of
the first :data:`PROBE` images wins; the JSON's own folder on a tie), which covers what the
common tools export:

- the JSON's folder (Roboflow's ``train/_annotations.coco.json``, Label Studio's ``result.json``
  with ``images/...`` names, hand-made sets);
- ``images/`` or ``data/`` beside it (FiftyOne's ``labels.json`` + ``data/``);
- the JSON's parent folder, ``images/`` there, or the split the JSON is named after, there or
  beside it (COCO's ``annotations/instances_val2017.json`` + ``val2017/``, CVAT's
  ``annotations/instances_default.json`` + ``images/``, ``train.json`` + ``train/``).

Backslashes in ``file_name`` (annotations written on Windows) are folder separators. A name that
is not found as written (an absolute path of the annotating machine, such as Label Studio's
``/data/upload/3/a.jpg``) is looked up by its base name in the images' folder.

**Sizes.** ``width``/``height`` in the JSON are the size of the picture the annotations were
drawn on. A file whose upright size (after its EXIF orientation) agrees is read upright; a file
whose size as stored agrees (a tool that ignored the EXIF orientation) is read as stored; any
other disagreement is refused, naming the file (annotations drawn on another size would be
misplaced; Detectron2 refuses it too). Without ``width``/``height`` the file's upright size holds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from archspec.train.annotations.image_files import header_sizes

log = logging.getLogger("archspec.train")
PROBE = 20


@dataclass(frozen=True)
class ImageFile:
    """One readable image of a COCO file."""

    id: int
    file_name: str        # as the JSON writes it (named in messages and the ground truth)
    path: Path            # where it was found
    size: tuple[int, int]  # (height, width) the annotations are in
    upright: bool         # apply its EXIF orientation when reading the pixels


def posix_name(file_name: str) -> str:
    r"""``file_name`` with Windows separators as ``/``.

    >>> posix_name("images\\train\\a.jpg"), posix_name("a.jpg")
    ('images/train/a.jpg', 'a.jpg')
    """
    return file_name.replace("\\", "/")


def locate(root: Path, file_name: str) -> Path:
    """The file a ``file_name`` names under ``root``: as written, else by its base name (it may not exist)."""
    written = root / posix_name(file_name)
    if written.is_file():
        return written
    base = root / PurePosixPath(posix_name(file_name)).name
    return base if base.is_file() else written


def candidate_folders(json_path: Path) -> list[Path]:
    """The folders that may hold a COCO file's images, in the order they are tried (see the module):
    the split a file is named after is its stem, or the part after (or before) its last ``_``.

    >>> [str(p) for p in candidate_folders(Path("/d/annotations/instances_val2017.json"))]  # doctest: +NORMALIZE_WHITESPACE
    ['/d/annotations', '/d/annotations/images', '/d/annotations/data', '/d', '/d/images', '/d/val2017',
     '/d/annotations/val2017', '/d/instances', '/d/annotations/instances']
    >>> [str(p) for p in candidate_folders(Path("/d/train.json"))][-2:]
    ['/train', '/d/train']
    """
    here, up = json_path.parent, json_path.parent.parent
    stem = json_path.stem
    splits = [stem] if "_" not in stem else [stem.rsplit("_", 1)[-1], stem.split("_", 1)[0]]
    found = [here, here / "images", here / "data", up, up / "images"]
    for split in filter(None, splits):
        found += [up / split, here / split]
    return list(dict.fromkeys(found))


def image_root(json_path: Path, given: str | None, file_names: Sequence[str]) -> Path:
    """The folder ``file_names`` are relative to: ``given``, else the candidate holding most of them."""
    if given:
        return Path(given)
    probe = [name for name in file_names[:PROBE] if isinstance(name, str)]
    candidates = candidate_folders(json_path)
    hits = [sum(locate(folder, name).is_file() for name in probe) for folder in candidates]
    best = max(range(len(candidates)), key=lambda i: (hits[i], -i))
    if hits[best] and best:
        log.info("coco:%s: the images are in %s (file_names relative to it; the JSON's folder has %d of the "
                 "first %d)", json_path, candidates[best], hits[0], len(probe))
    return candidates[best] if hits[best] else json_path.parent


def stated_size(entry: dict) -> tuple[int, int] | None | str:
    """(height, width) an image entry states, None when it states none, or what is wrong with them.

    >>> stated_size({"height": 4, "width": 6}), stated_size({}), stated_size({"height": 0, "width": 0})
    ((4, 6), None, None)
    >>> stated_size({"height": "4", "width": 6})
    "width and height must be positive integers (received width 6, height '4')"
    """
    height, width = entry.get("height"), entry.get("width")
    if height in (None, 0) and width in (None, 0):
        return None
    if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (height, width)):
        return height, width
    return f"width and height must be positive integers (received width {width!r}, height {height!r})"


def image_file(entry: dict, root: Path, json_name: str) -> ImageFile | str:
    """The readable image an entry names, with the size its annotations are in, or what is wrong."""
    iid, name = entry["id"], entry["file_name"]
    path = locate(root, name)
    sizes = header_sizes(path)
    if isinstance(sizes, str):
        return f"{path} (image {iid}): {sizes}"
    upright, stored = sizes
    stated = stated_size(entry)
    if isinstance(stated, str):
        return f"{json_name}: image {iid} {name!r}: {stated}"
    if stated is None or stated == upright:
        return ImageFile(iid, name, path, upright, True)
    if stated == stored:  # annotated as stored: the tool did not apply the EXIF orientation
        return ImageFile(iid, name, path, stored, False)
    turned = f" upright ({stored[0]}x{stored[1]} as stored, turned by its EXIF orientation)" \
        if upright != stored else ""
    return (f"{path} (image {iid}): the file is {upright[0]}x{upright[1]} (height x width){turned} but {json_name} "
            f"says {stated[0]}x{stated[1]}")


def summarise_found(images: Sequence[ImageFile], root: Path, description: str) -> None:
    """Say (once) which images were found by their base name or read as stored despite an EXIF orientation."""
    by_base = [im for im in images if im.path != root / posix_name(im.file_name)]
    stored = [im for im in images if not im.upright]
    if by_base:
        log.info("%s: %d image(s) found by their base name in %s (e.g. %r)", description, len(by_base), root,
                 by_base[0].file_name)
    if stored:
        log.info("%s: %d image(s) read as stored, not turned by their EXIF orientation: the JSON's width and height "
                 "are their stored size (e.g. %r)", description, len(stored), stored[0].file_name)


def first_missing_hint(json_path: Path, root: Path, given: Any) -> str:
    """The hint of a data set none of whose images is found."""
    looked = "" if given else " (also looked in " + ", ".join(str(p) for p in candidate_folders(json_path)[1:]) + ")"
    return (f"none of the images is in {root}{looked}: give their folder as train.data.source: "
            f"{{coco: {json_path.name}, images: DIR}}, the folder the file_names are relative to")
