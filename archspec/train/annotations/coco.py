"""``coco:PATH.json``: COCO object annotations (boxes, polygon and RLE masks, keypoints), as
CVAT, Label Studio, Roboflow, FiftyOne and labelme2coco export them.

- Images: ``file_name``s are relative to the source's ``images:`` folder, else found beside the
  JSON or in the usual export layouts (``coco_files``); images without annotations are negatives.
- Categories may have any integer ids: sorted by id they become class indices 0..C-1; one without
  annotations stays a class (a warning names it); ``supercategory`` is not used.
- ``iscrowd: 1`` annotations (RLE counts as a list, uncompressed, or a string, compressed; or
  polygons) are not trained on, as Detectron2 and Ultralytics' converter skip them; the ground
  truth marks them crowd, so COCO's evaluation ignores detections inside them, as on COCO itself.
- A bbox (floats allowed) may pass the image's edge by ``checks.EDGE_TOLERANCE`` pixels (tools
  round outwards) and is clipped; farther out it is refused. A bbox of zero width or height
  (after clipping) is left out with a warning, as Ultralytics and Detectron2 leave it out; a
  negative one is refused.
- ``segmentation`` may be missing, ``[]`` or ``[[]]`` (no mask) except for instance
  segmentation; several polygons of one object are one mask; a polygon of fewer than 3 points
  is refused (pycocotools would read a 2-point one as a box).
- Image and annotation ids must be unique integers.

Every annotation and every image header is checked before training; masks are decoded one
image at a time.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from archspec.errors import Location, UserError
from archspec.train.annotations.checks import EDGE_TOLERANCE, MAX_JSON_BYTES, Problems, box_problem, \
    clip_boxes
from archspec.train.annotations.coco_files import ImageFile, first_missing_hint, image_file, image_root, locate, \
    summarise_found
from archspec.train.annotations.image_files import read_object_image
from archspec.train.annotations.masks import decode_mask, drawn_polygons, has_mask, polygon_problem, rle_problem
from archspec.train.annotations.records import Category, ImageObjects, ObjectData

log = logging.getLogger("archspec.train")


def read_json(path: Path) -> Any:
    """The parsed file; a missing, oversized or malformed file is a UserError (with line:col)."""
    if not path.is_file():
        raise UserError(f"no such file: {path}", "check the coco: path (relative to the spec file)")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise UserError(f"{path} is {size / 1024 ** 2:,.0f} MiB; COCO files above "
                        f"{MAX_JSON_BYTES // 1024 ** 2} MiB are refused (they are parsed into memory whole)",
                        "split the annotations into several files, e.g. one per image folder")
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except json.JSONDecodeError as exc:
        raise UserError(f"malformed JSON: {exc.msg}", "fix the file", Location(str(path), exc.lineno, exc.colno)) \
            from None
    except (UnicodeDecodeError, OSError) as exc:
        raise UserError(f"{path}: cannot read the file as UTF-8 JSON ({exc})", "check the file") from None


def _not_coco(document: Any, path: Path) -> UserError:
    """The refusal of a JSON document that is not a COCO file, saying what it looks like."""
    if isinstance(document, list):
        looks = ("a list (Label Studio's JSON export is a list of tasks: export as COCO instead)"
                 if document and isinstance(document[0], dict) and "annotations" in document[0] else "a list")
    elif isinstance(document, dict) and "shapes" in document:
        looks = "a LabelMe file of one image (convert it with labelme2coco)"
    else:
        looks = f"a {type(document).__name__}" if not isinstance(document, dict) else \
            "an object without 'images' (keys: " + ", ".join(list(map(str, document))[:6]) + ")"
    return UserError(f"{path} is not a COCO file: its top level is {looks}",
                     "a COCO file is an object with lists 'images', 'annotations' and 'categories'")


def _listed(document: Any, key: str, path: Path, required: bool = True) -> list[dict]:
    if not isinstance(document, dict) or (key == "images" and key not in document):
        raise _not_coco(document, path)
    value = document.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UserError(f"{path}: '{key}' is {'missing' if value is None else 'not a list of objects'}",
                        f"a COCO file has a list '{key}'")
    return value


def _categories(document: Any, path: Path, problems: Problems) -> tuple[Category, ...]:
    found: dict[int, Category] = {}
    for entry in _listed(document, "categories", path):
        cid = entry.get("id")
        if not _is_id(cid) or cid in found:
            what = "repeated id" if cid in found else "id is not an integer"
            problems.add(f"{path.name}: category {cid!r}: {what}")
            continue
        names = tuple(str(n) for n in entry.get("keypoints") or ())
        try:
            skeleton = tuple((int(a) - 1, int(b) - 1) for a, b in entry.get("skeleton") or ())  # COCO's are 1-based
        except (TypeError, ValueError):
            problems.add(f"{path.name}: category {cid}: skeleton is not a list of [a, b] keypoint pairs")
            continue
        if any(not (0 <= k < len(names)) for pair in skeleton for k in pair):
            problems.add(f"{path.name}: category {cid}: skeleton names a keypoint beyond its {len(names)}")
        found[cid] = Category(cid, str(entry.get("name", cid)), names, skeleton)
    if not found and not problems:
        problems.add(f"{path.name}: no categories")
    return tuple(found[cid] for cid in sorted(found))


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _images(document: Any, path: Path, given_root: str | None, problems: Problems
            ) -> tuple[list[ImageFile], set, Path]:
    """The readable images, the ids of those already reported (their annotations are not), and
    the folder the file_names are relative to."""
    entries = _listed(document, "images", path)
    root = image_root(path, given_root, [e.get("file_name") for e in entries])
    images: list[ImageFile] = []
    seen: dict[int, Any] = {}
    missing = 0
    for entry in entries:
        iid, name = entry.get("id"), entry.get("file_name")
        if _is_id(iid) and iid in seen:
            problems.add(f"{path.name}: image {iid} {name!r}: repeats the id of image {seen[iid]!r}; image ids must "
                         "be unique (annotations name their image by it)")
            continue
        if not _is_id(iid) or not isinstance(name, str) or not name:
            problems.add(f"{path.name}: image {iid!r}: needs an integer id and a file_name")
            continue
        seen[iid] = name
        found = image_file(entry, root, path.name)
        if isinstance(found, str):
            missing += found.endswith("the image file is missing")
            problems.add(found)
            continue
        images.append(found)
    if entries and missing == len(entries):
        raise UserError(f"{path}: none of its {len(entries)} images is found (the first: "
                        f"{locate(root, entries[0]['file_name'])})", first_missing_hint(path, root, given_root))
    summarise_found(images, root, f"coco:{path}")
    return images, set(seen) - {image.id for image in images}, root


def _box(ann: dict) -> np.ndarray | None:
    """The annotation's bbox as x1, y1, x2, y2, or None when it is not four finite numbers."""
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        return None
    x, y, w, h = (float(v) for v in bbox)
    return np.array([x, y, x + w, y + h], np.float64)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def degenerate(ann: dict, size: tuple[int, int]) -> bool:
    """A bbox of zero width or height, once clipped to the image: Ultralytics' COCO converter and
    Detectron2 drop such objects (a point click in CVAT or LabelMe makes one), and so does archspec.

    >>> degenerate({"bbox": [3, 4, 0, 5]}, (10, 10)), degenerate({"bbox": [10.2, 4, 0.5, 5]}, (10, 10))
    (True, True)
    >>> degenerate({"bbox": [3, 4, 1, 5]}, (10, 10)), degenerate({"bbox": [3, 4, -2, 5]}, (10, 10))
    (False, False)
    """
    box = _box(ann)
    if box is None or box[2] < box[0] or box[3] < box[1]:
        return False  # malformed or negative: refused by _annotation_problem
    height, width = size
    if max(-box[0], -box[1], box[2] - width, box[3] - height) > EDGE_TOLERANCE:
        return False  # outside the image: refused
    x1, y1, x2, y2 = clip_boxes(box[None].astype(np.float32), height, width)[0]
    return bool(x2 <= x1 or y2 <= y1)


def _annotation_problem(ann: dict, size: tuple[int, int], category: Category | None, task: str) -> str | None:
    if category is None:
        return f"unknown category id {ann.get('category_id')!r}"
    box = _box(ann)
    if box is None:
        return f"bbox {ann.get('bbox')!r} is not [x, y, width, height] (four finite numbers)"
    problem = box_problem(box, *size)
    if problem:
        return problem.replace("box [", "bbox (as x1, y1, x2, y2) [")
    segmentation = ann.get("segmentation")
    if isinstance(segmentation, dict):
        problem = rle_problem(segmentation, *size)
    elif isinstance(segmentation, list):
        problem = next(filter(None, map(polygon_problem, drawn_polygons(segmentation))), None)
    elif segmentation is not None:
        problem = "segmentation is neither polygons nor RLE"
    if problem is None and task == "instance_segmentation" and not has_mask(segmentation) and not ann.get("iscrowd"):
        problem = "no segmentation: instance segmentation needs a mask for every object"
    if problem is None and task == "keypoints" and not ann.get("iscrowd"):
        problem = _keypoints_problem(ann.get("keypoints"), category)
    return problem


def _keypoints_problem(keypoints: Any, category: Category) -> str | None:
    want = len(category.keypoints)
    if not isinstance(keypoints, list) or not all(isinstance(v, (int, float)) for v in keypoints):
        return f"keypoints are missing or not numbers (category {category.name!r} has {want})"
    if len(keypoints) != 3 * want:
        return (f"{len(keypoints)} keypoint values, but category {category.name!r} has {want} keypoints "
                f"({3 * want} values: x, y, v each)")
    if any(v not in (0, 1, 2) for v in keypoints[2::3]):
        return "a keypoint visibility is not 0, 1 or 2"
    return None


def load_coco(source: Mapping[str, Any], task: str) -> ObjectData:
    """Read, check and index a COCO file; objects are decoded when an image is read."""
    path = Path(source["coco"])
    document = read_json(path)
    if not isinstance(document, dict) or "images" not in document:
        raise _not_coco(document, path)
    description = f"coco:{path}"
    problems = Problems(description)
    categories = _categories(document, path, problems)
    by_id = {c.id: c for c in categories}
    if task == "keypoints" and categories and (len({len(c.keypoints) for c in categories}) != 1
                                               or not categories[0].keypoints):
        problems.add(f"{path.name}: keypoints need every category to name the same number (>0) of keypoints "
                     f"(found {sorted({len(c.keypoints) for c in categories})})")
    images, reported, root = _images(document, path, source.get("images"), problems)
    where = {image.id: i for i, image in enumerate(images)}
    per_image: list[list[dict]] = [[] for _ in images]
    seen: dict[int, int] = {}
    dropped: list[str] = []
    for number, ann in enumerate(_listed(document, "annotations", path, required=False), start=1):
        aid, iid = ann.get("id"), ann.get("image_id")
        if not _is_id(aid):
            problems.add(f"{path.name}: the {_ordinal(number)} annotation has no integer id ({aid!r}); give every "
                         "annotation a unique integer id")
            continue
        if aid in seen:
            problems.add(f"{path.name}: annotation {aid} (the {_ordinal(number)} in the list) repeats the id of the "
                         f"{_ordinal(seen[aid])}; annotation ids must be unique")
            continue
        seen[aid] = number
        if iid in reported:
            continue
        if iid not in where:
            problems.add(f"{path.name}: annotation {aid}: unknown image_id {iid!r}")
            continue
        image = images[where[iid]]
        category = by_id.get(ann.get("category_id"))
        if category is not None and degenerate(ann, image.size):
            dropped.append(f"{aid} (image {iid} {image.file_name!r})")
            continue
        problem = _annotation_problem(ann, image.size, category, task)
        if problem:
            problems.add(f"{path.name}: annotation {aid} (image {iid} {image.file_name!r}): {problem}")
            continue
        per_image[where[iid]].append(ann)
    problems.raise_if_any()
    if not images:
        raise UserError(f"{path} lists no images", "add images to the file")
    _say_dropped(description, dropped)
    _say_unused(description, categories, per_image)
    return _object_data(description, images, per_image, categories, task)


def _ordinal(n: int) -> str:
    """
    >>> [_ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '102nd']
    """
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _say_dropped(description: str, dropped: list[str]) -> None:
    if dropped:
        log.warning("warning: %s: %d annotation(s) with a zero-width or zero-height bbox left out (as Ultralytics "
                    "and Detectron2 leave them out): %s%s", description, len(dropped), ", ".join(dropped[:5]),
                    ", ..." if len(dropped) > 5 else "")


def _say_unused(description: str, categories: tuple[Category, ...], per_image: list[list[dict]]) -> None:
    """Categories without any annotation stay classes (indices follow the ids), but are named."""
    used = {ann["category_id"] for anns in per_image for ann in anns}
    unused = [f"{c.id} {c.name!r}" for c in categories if c.id not in used]
    if unused and len(unused) < len(categories):
        log.warning("warning: %s: %d of its %d categories have no annotations: %s (they stay classes, so the class "
                    "indices keep following the category ids; Roboflow's exports list the data set's name as such "
                    "a category)", description, len(unused), len(categories), ", ".join(unused[:5]))


def _object_data(description: str, images: list[ImageFile], per_image: list[list[dict]],
                 categories: tuple[Category, ...], task: str) -> ObjectData:
    index_of = {c.id: i for i, c in enumerate(categories)}
    masks, keypoint_count = task == "instance_segmentation", len(categories[0].keypoints) if task == "keypoints" else 0

    def objects(i: int) -> ImageObjects:
        return coco_objects(per_image[i], images[i].size, index_of, masks, keypoint_count)

    return ObjectData(
        description=description, image_names=tuple(image.file_name for image in images),
        image_ids=tuple(image.id for image in images), categories=categories,
        load_image=lambda i: read_object_image(images[i].path, images[i].upright,
                                               f"image {images[i].id} of {description}"), objects=objects,
        sizes=tuple(image.size for image in images), has_masks=masks, keypoint_count=keypoint_count)


def coco_objects(annotations: list[dict], size: tuple[int, int], index_of: Mapping[int, int], masks: bool,
                 keypoint_count: int) -> ImageObjects:
    """One image's checked annotations as arrays; crowd regions apart."""
    height, width = size
    crowd = np.array([bool(a.get("iscrowd")) for a in annotations], bool)
    boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                      for a in annotations], np.float32).reshape(-1, 4)
    boxes = clip_boxes(boxes, height, width)
    classes = np.array([index_of[a["category_id"]] for a in annotations], np.int32)
    mask_stack = None
    if masks:
        mask_stack = np.stack([decode_mask(a["segmentation"], height, width) if has_mask(a.get("segmentation"))
                               else _box_mask(boxes[k], height, width) for k, a in enumerate(annotations)]) \
            if annotations else np.zeros((0, height, width), np.uint8)
    keypoints = None
    if keypoint_count:
        keypoints = np.array([a.get("keypoints") or [0] * 3 * keypoint_count for a in annotations],
                             np.float32).reshape(-1, keypoint_count, 3)
    keep = ~crowd
    return ImageObjects(
        boxes=boxes[keep], classes=classes[keep], ids=np.array([a["id"] for a in annotations], np.int64)[keep],
        masks=None if mask_stack is None else mask_stack[keep],
        keypoints=None if keypoints is None else keypoints[keep],
        crowd_boxes=boxes[crowd], crowd_classes=classes[crowd],
        crowd_masks=None if mask_stack is None else mask_stack[crowd])


def _box_mask(box: np.ndarray, height: int, width: int) -> np.ndarray:
    """A crowd region without a segmentation covers its box."""
    mask = np.zeros((height, width), np.uint8)
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    mask[y1:y2, x1:x2] = 1
    return mask
