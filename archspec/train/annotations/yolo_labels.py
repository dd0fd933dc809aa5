"""``yolo:DIR``: Ultralytics' label layout.

``DIR/images/**/NAME.png`` has its objects in ``DIR/labels/**/NAME.txt``, one line per object:
``cls cx cy w h`` (a box) or ``cls x1 y1 x2 y2 x3 y3 ...`` (a polygon, whose bounding box is the
box), every coordinate normalised to [0, 1] by the image's width and height; for a keypoints
task ``cls cx cy w h`` then each keypoint's ``x y [v]`` as data.yaml's ``kpt_shape`` says
(``yolo_pose``). An image without a label file has no objects. Class names come from
``DIR/data.yaml``'s ``names:`` (a list, or a mapping from index to name) when it has them, else
they are the numbers 0..C-1.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from archspec.errors import UserError
from archspec.train.annotations.checks import Problems
from archspec.train.annotations.image_files import header_size, image_files, read_image
from archspec.train.annotations.masks import decode_mask
from archspec.train.annotations.records import Category, ImageObjects, ObjectData

_TOLERANCE = 1e-6  # float formatting of 1.0 and 0.0 in label files written by other tools
_MAX_LABEL_BYTES = 16 * 1024 ** 2  # one image's label file; anything bigger is not a label file


def data_settings(root: Path) -> dict[str, Any] | None:
    """``DIR/data.yaml`` (read with yaml.safe_load), or None without the file."""
    import yaml

    path = root / "data.yaml"
    if not path.is_file():
        return None
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a YAML mapping ({exc})", "fix data.yaml or remove it") from None
    if not isinstance(settings, dict):
        raise UserError(f"{path}: not a YAML mapping (a {type(settings).__name__})", "fix data.yaml or remove it")
    return settings


def class_names(root: Path) -> tuple[str, ...] | None:
    """``names:`` of ``DIR/data.yaml``, or None without the file or the key (classes are numbered)."""
    settings = data_settings(root)
    if settings is None or "names" not in settings:
        return None
    path, names = root / "data.yaml", settings.get("names")
    if isinstance(names, dict) and sorted(names) == list(range(len(names))):
        return tuple(str(names[i]) for i in range(len(names)))
    if isinstance(names, list) and names:
        return tuple(str(n) for n in names)
    raise UserError(f"{path}: names is {names!r}, not a list of class names or a mapping 0..C-1 -> name",
                    "write e.g. names: [circle, square]")


def parse_line(text: str, classes: int | None) -> tuple[int, np.ndarray, np.ndarray | None] | str:
    """(class, normalised box x1 y1 x2 y2, polygon (P, 2) or None), or what is wrong with the line.

    >>> cls, box, polygon = parse_line("1 0.5 0.5 0.2 0.4", 3)
    >>> cls, box.round(3).tolist(), polygon
    (1, [0.4, 0.3, 0.6, 0.7], None)
    >>> parse_line("0 0.5 0.5 0.2", 3)
    '4 fields; a box is 5 (cls cx cy w h), a polygon 7 or more (cls x1 y1 x2 y2 x3 y3 ...)'
    >>> parse_line("5 0.5 0.5 0.2 0.2", 3)
    'class 5 is not one of the 3 classes (0..2)'
    """
    fields = text.split()
    if len(fields) < 5 or len(fields) == 6:
        return (f"{len(fields)} field{'s' if len(fields) != 1 else ''}; a box is 5 (cls cx cy w h), "
                "a polygon 7 or more (cls x1 y1 x2 y2 x3 y3 ...)")
    try:
        cls, values = int(fields[0]), np.array([float(v) for v in fields[1:]], np.float64)
    except ValueError:
        return f"not numbers: {text.strip()[:60]!r}"
    if cls < 0 or (classes is not None and cls >= classes):
        return f"class {cls} is not one of the {classes} classes (0..{classes - 1})" if classes else f"class {cls} < 0"
    if not np.all(np.isfinite(values)) or values.min() < -_TOLERANCE or values.max() > 1 + _TOLERANCE:
        return f"values outside [0, 1]: {' '.join(fields[1:])[:60]}"
    if len(values) > 4:
        if len(values) % 2:
            return f"polygon has an odd number of coordinates ({len(values)})"
        polygon = values.reshape(-1, 2)
        return cls, np.concatenate([polygon.min(axis=0), polygon.max(axis=0)]), polygon
    cx, cy, w, h = values
    if w <= 0 or h <= 0:
        return f"box has zero or negative size (w {w:g}, h {h:g})"
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    if box.min() < -_TOLERANCE or box.max() > 1 + _TOLERANCE:
        return f"box cx {cx:g} cy {cy:g} w {w:g} h {h:g} extends past the image (edges {np.round(box, 4).tolist()})"
    return cls, box, None


def _label_lines(path: Path) -> list[str] | str:
    if not path.is_file():
        return []
    if path.stat().st_size > _MAX_LABEL_BYTES:
        return f"{path.stat().st_size:,} bytes; a label file of one image is refused above {_MAX_LABEL_BYTES:,}"
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError) as exc:
        return f"cannot read it as text ({exc})"


def load_yolo(source: Mapping[str, Any], task: str) -> ObjectData:
    """Index the images, read and check every label file (they are small), read pixels on demand."""
    root = Path(source["yolo"])
    if not (root / "images").is_dir():
        raise UserError(f"{root} has no images/ folder", "yolo:DIR needs DIR/images and DIR/labels")
    names = class_names(root)
    layout = None
    if task == "keypoints":
        from archspec.train.annotations.yolo_pose import pose_layout
        layout = pose_layout(data_settings(root) or {}, root / "data.yaml")
    description = f"yolo:{root}"
    problems = Problems(description)
    paths, sizes, labels = [], [], []
    for image_path in image_files(root / "images"):
        relative = image_path.relative_to(root / "images")
        size = header_size(image_path)
        if isinstance(size, str):
            problems.add(f"{image_path}: {size}")
            continue
        label_path = (root / "labels" / relative).with_suffix(".txt")
        objects = _read_labels(label_path, names, task, problems, layout)
        paths.append(image_path)
        sizes.append(size)
        labels.append(objects)
    problems.raise_if_any()
    if not paths:
        raise UserError(f"{root / 'images'} holds no images", "put the images there, their labels under labels/")
    count = len(names) if names else 1 + max((o[0] for image in labels for o in image), default=0)
    keypoint_names = layout.names if layout else ()
    categories = tuple(Category(i, names[i] if names else str(i), keypoint_names) for i in range(count))
    return ObjectData(
        description=description, image_names=tuple(str(p.relative_to(root)) for p in paths),
        image_ids=tuple(range(1, len(paths) + 1)), categories=categories,
        load_image=lambda i: read_image(paths[i]),
        objects=lambda i: yolo_objects(labels[i], sizes[i], task == "instance_segmentation", len(keypoint_names)),
        sizes=tuple(sizes), has_masks=task == "instance_segmentation", keypoint_count=len(keypoint_names),
        keypoint_flip=layout.flip if layout else ())


def _read_labels(path: Path, names: tuple[str, ...] | None, task: str, problems: Problems,
                 layout: Any = None) -> list[tuple]:
    """(class, box, polygon or None, keypoints or None, line number) of each line; ``layout``: the
    keypoints' ``yolo_pose.PoseLayout`` for a keypoints task."""
    lines = _label_lines(path)
    if isinstance(lines, str):
        problems.add(f"{path}: {lines}")
        return []
    found = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        parsed = _parse(text, len(names) if names else None, task, layout)
        if isinstance(parsed, str):
            problems.add(f"{path}:{number}: {parsed}")
            continue
        found.append((*parsed, number))
    return found


def _parse(text: str, classes: int | None, task: str, layout: Any) -> tuple | str:
    """(class, box, polygon or None, keypoints or None) of one line for ``task``, or its problem."""
    if layout is not None:
        from archspec.train.annotations.yolo_pose import parse_pose_line
        pose = parse_pose_line(text, classes, layout)
        return pose if isinstance(pose, str) else (pose[0], pose[1], None, pose[2])
    parsed = parse_line(text, classes)
    if isinstance(parsed, tuple) and task == "instance_segmentation" and parsed[2] is None:
        return "a box line: instance segmentation needs a polygon for every object"
    return parsed if isinstance(parsed, str) else (*parsed, None)


def yolo_objects(labels: list[tuple], size: tuple[int, int], masks: bool, keypoint_count: int = 0) -> ImageObjects:
    """One image's parsed label lines in its pixels; the line number is the annotation id."""
    height, width = size
    if not labels:
        return ImageObjects.empty(height, width, masks, keypoint_count)
    scale = np.array([width, height, width, height], np.float32)
    boxes = np.stack([np.asarray(box, np.float32) * scale for _, box, *_ in labels])
    mask_stack = keypoints = None
    if masks:  # the box stays the polygon's bounding box, as Ultralytics makes it
        mask_stack = np.stack([decode_mask([(polygon * (width, height)).ravel().tolist()], height, width)
                               for _, _, polygon, _, _ in labels])
    if keypoint_count:  # not labelled ones (v 0) stay at 0, 0
        keypoints = np.stack([points * (width, height, 1) for *_, points, _ in labels]).astype(np.float32)
    return ImageObjects(boxes=boxes, classes=np.array([c for c, *_ in labels], np.int32),
                        ids=np.array([n for *_, n in labels], np.int64), masks=mask_stack, keypoints=keypoints)
