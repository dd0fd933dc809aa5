"""``coco:PATH.json``: COCO object annotations (boxes, polygon and RLE masks, keypoints).

Image ``file_name``s are relative to the JSON's folder (or to the source's ``images:`` folder).
Category ids may be any integers: sorted by id they become class indices 0..C-1. ``iscrowd``
annotations are kept out of training targets; the ground truth marks them crowd, so COCO's
evaluation ignores detections inside them, as it does on COCO itself. Every annotation and
every image header is checked before training; masks are decoded one image at a time.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from archspec.errors import Location, UserError
from archspec.train.annotations.checks import MAX_JSON_BYTES, Problems, box_problem, clip_boxes
from archspec.train.annotations.image_files import header_size, read_image
from archspec.train.annotations.masks import decode_mask, polygon_problem, rle_problem
from archspec.train.annotations.records import Category, ImageObjects, ObjectData


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


def _listed(document: Any, key: str, path: Path, required: bool = True) -> list[dict]:
    if not isinstance(document, dict):
        raise UserError(f"{path}: the top level is not a JSON object", "a COCO file is {images, annotations, ...}")
    value = document.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UserError(f"{path}: '{key}' is {'missing' if value is None else 'not a list of objects'}",
                        f"a COCO file has a list '{key}'")
    return value


def _categories(document: Any, path: Path, problems: Problems) -> tuple[Category, ...]:
    found: dict[int, Category] = {}
    for entry in _listed(document, "categories", path):
        cid = entry.get("id")
        if not isinstance(cid, int) or cid in found:
            what = "repeated id" if cid in found else "id is not an integer"
            problems.add(f"{path.name}: category {cid!r}: {what}")
            continue
        names = tuple(str(n) for n in entry.get("keypoints") or ())
        skeleton = tuple((int(a) - 1, int(b) - 1) for a, b in entry.get("skeleton") or ())  # COCO's are 1-based
        if any(not (0 <= k < len(names)) for pair in skeleton for k in pair):
            problems.add(f"{path.name}: category {cid}: skeleton names a keypoint beyond its {len(names)}")
        found[cid] = Category(cid, str(entry.get("name", cid)), names, skeleton)
    if not found:
        problems.add(f"{path.name}: no categories")
    return tuple(found[cid] for cid in sorted(found))


def _images(document: Any, path: Path, root: Path, problems: Problems) -> tuple[list[dict], set]:
    """The readable images, and the ids of those already reported (their annotations are not)."""
    images, seen = [], set()
    for entry in _listed(document, "images", path):
        iid, name = entry.get("id"), entry.get("file_name")
        if not isinstance(iid, int) or iid in seen or not isinstance(name, str):
            problems.add(f"{path.name}: image {iid!r}: " + ("repeated id" if iid in seen else "needs an integer id "
                                                             "and a file_name"))
            continue
        seen.add(iid)
        size = header_size(root / name)
        if isinstance(size, str):
            problems.add(f"{root / name} (image {iid}): {size}")
            continue
        stated = (entry.get("height"), entry.get("width"))
        if stated != (None, None) and stated != size:
            problems.add(f"{root / name} (image {iid}): the file is {size[0]}x{size[1]} (height x width) "
                         f"but {path.name} says {stated[0]}x{stated[1]}")
            continue
        images.append({"id": iid, "file_name": name, "size": size})
    return images, seen - {image["id"] for image in images}


def _annotation_problem(ann: dict, size: tuple[int, int], category: Category | None, task: str) -> str | None:
    if category is None:
        return f"unknown category id {ann.get('category_id')!r}"
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
        return f"bbox {bbox!r} is not [x, y, width, height]"
    problem = box_problem(np.array([bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]], np.float64), *size)
    if problem:
        return problem.replace("box [", "bbox (as x1, y1, x2, y2) [")
    segmentation = ann.get("segmentation")
    if isinstance(segmentation, dict):
        problem = rle_problem(segmentation, *size)
    elif isinstance(segmentation, list):
        problem = next(filter(None, map(polygon_problem, segmentation)), None)
    elif segmentation is not None:
        problem = "segmentation is neither polygons nor RLE"
    if problem is None and task == "instance_segmentation" and not segmentation and not ann.get("iscrowd"):
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
    root = Path(source["images"]) if source.get("images") else path.parent
    document = read_json(path)
    description = f"coco:{path}"
    problems = Problems(description)
    categories = _categories(document, path, problems)
    by_id = {c.id: c for c in categories}
    if task == "keypoints" and len({len(c.keypoints) for c in categories}) != 1 or \
            task == "keypoints" and not categories[0].keypoints:
        problems.add(f"{path.name}: keypoints need every category to name the same number (>0) of keypoints "
                     f"(found {sorted({len(c.keypoints) for c in categories})})")
    images, reported = _images(document, path, root, problems)
    where = {image["id"]: i for i, image in enumerate(images)}
    per_image: list[list[dict]] = [[] for _ in images]
    for ann in _listed(document, "annotations", path, required=False):
        aid, iid = ann.get("id"), ann.get("image_id")
        if iid in reported:
            continue
        if iid not in where:
            problems.add(f"{path.name}: annotation {aid}: unknown image_id {iid!r}")
            continue
        image = images[where[iid]]
        problem = _annotation_problem(ann, image["size"], by_id.get(ann.get("category_id")), task)
        if problem:
            problems.add(f"{path.name}: annotation {aid} (image {iid} {image['file_name']!r}): {problem}")
            continue
        per_image[where[iid]].append(ann)
    problems.raise_if_any()
    if not images:
        raise UserError(f"{path} lists no images", "add images to the file")
    return _object_data(description, root, images, per_image, categories, task)


def _object_data(description: str, root: Path, images: list[dict], per_image: list[list[dict]],
                 categories: tuple[Category, ...], task: str) -> ObjectData:
    index_of = {c.id: i for i, c in enumerate(categories)}
    masks, keypoint_count = task == "instance_segmentation", len(categories[0].keypoints) if task == "keypoints" else 0

    def objects(i: int) -> ImageObjects:
        return coco_objects(per_image[i], images[i]["size"], index_of, masks, keypoint_count)

    return ObjectData(
        description=description, image_names=tuple(image["file_name"] for image in images),
        image_ids=tuple(image["id"] for image in images), categories=categories,
        load_image=lambda i: read_image(root / images[i]["file_name"]), objects=objects,
        sizes=tuple(image["size"] for image in images), has_masks=masks, keypoint_count=keypoint_count)


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
        mask_stack = np.stack([decode_mask(a["segmentation"], height, width) if a.get("segmentation")
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
