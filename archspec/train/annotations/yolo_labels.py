"""``yolo:DIR``: Ultralytics' label layout, as Ultralytics, Roboflow, CVAT and Label Studio export it.

Each image has its objects in the label file Ultralytics' rule names: the image's path with its
last ``images`` folder replaced by ``labels`` and its suffix by ``.txt``. ``DIR`` is either the
folder holding ``images/`` and ``labels/`` (Roboflow's ``train/``, Label Studio's export), or one
split of Ultralytics' own layout (``DIR/images/train``, its labels in ``DIR/labels/train``).
One line per object: ``cls cx cy w h`` (a box) or ``cls x1 y1 x2 y2 x3 y3 ...`` (a polygon, whose
bounding box is the box), every coordinate normalised to [0, 1] by the image's width and height
(the image upright, after its EXIF orientation, as Ultralytics reads it); a box may pass the
image's edge by ``checks.EDGE_TOLERANCE`` pixels (rounding) and is clipped. For a keypoints task
``cls cx cy w h`` then each keypoint's ``x y [v]`` as data.yaml's ``kpt_shape`` says
(``yolo_pose``). Blank lines are skipped. An image without a label file has no objects (a
negative); a data set with no label file at all is refused.

Class names come from ``data.yaml``'s ``names:`` (a list, or a mapping from index to name), else
from ``classes.txt`` (one name a line, as Label Studio and LabelImg write it), looked for in
``DIR``, then in the folder above ``images/`` of a split, then in ``DIR``'s parent (Roboflow
writes data.yaml beside its split folders); without either the classes are the numbers 0..C-1.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from archspec.errors import UserError
from archspec.train.annotations.checks import EDGE_TOLERANCE, Problems
from archspec.train.annotations.image_files import OBJECT_IMAGE_EXTENSIONS, header_size, image_files, \
    read_object_image
from archspec.train.annotations.masks import decode_mask
from archspec.train.annotations.records import Category, ImageObjects, ObjectData

log = logging.getLogger("archspec.train")
_TOLERANCE = 1e-6  # float formatting of 1.0 and 0.0 in label files written by other tools
_MAX_LABEL_BYTES = 16 * 1024 ** 2  # one image's label file; anything bigger is not a label file


def settings_folders(root: Path) -> list[Path]:
    """Where data.yaml and classes.txt of ``yolo:root`` are looked for, in order.

    >>> [str(p) for p in settings_folders(Path("/d/coco8/images/train"))]
    ['/d/coco8/images/train', '/d/coco8', '/d/coco8/images']
    >>> [str(p) for p in settings_folders(Path("/d/set/train"))]
    ['/d/set/train', '/d/set']
    """
    return list(dict.fromkeys([root, *_above_images(root), root.parent]))


def _above_images(root: Path) -> list[Path]:
    """The folder holding the last ``images`` folder above ``root`` (a split of Ultralytics' layout), if any."""
    parts = root.parts[:-1]
    if "images" not in parts:
        return []
    return [Path(*parts[:len(parts) - 1 - parts[::-1].index("images")])]


def label_path(image: Path) -> Path:
    """Ultralytics' rule (``img2label_paths``): the last ``images`` folder of the path becomes
    ``labels``, the suffix ``.txt``.

    >>> str(label_path(Path("/d/coco8/images/train/a.b.jpg"))), str(label_path(Path("/d/x/images/deep/c.png")))
    ('/d/coco8/labels/train/a.b.txt', '/d/x/labels/deep/c.txt')
    """
    parts = list(image.parts)
    k = len(parts) - 1 - parts[::-1].index("images")
    parts[k] = "labels"
    return Path(*parts).with_suffix(".txt")


def image_folder(root: Path) -> Path:
    """The folder of ``yolo:root``'s images: ``root/images``, or ``root`` itself inside an ``images`` folder."""
    if (root / "images").is_dir():
        return root / "images"
    if root.is_dir() and _above_images(root):
        return root
    splits = sorted(p.parent.name for p in root.glob("*/images") if p.is_dir()) if root.is_dir() else []
    hint = (f"{root} holds the splits {', '.join(splits)} (Roboflow's layout): give one, e.g. yolo:{root / splits[0]}"
            if splits else "yolo:DIR needs DIR/images and DIR/labels (or a split: DIR/images/train with "
                           "DIR/labels/train)")
    raise UserError(f"{root} has no images/ folder" if root.is_dir() else f"the folder {root} does not exist", hint)


def _settings_file(root: Path, name: str) -> Path | None:
    return next((folder / name for folder in settings_folders(root) if (folder / name).is_file()), None)


def data_settings(root: Path) -> dict[str, Any] | None:
    """The data.yaml of ``yolo:root`` (read with yaml.safe_load), or None without one."""
    import yaml

    path = _settings_file(root, "data.yaml")
    if path is None:
        return None
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a YAML mapping ({exc})", "fix data.yaml or remove it") from None
    if not isinstance(settings, dict):
        raise UserError(f"{path}: not a YAML mapping (a {type(settings).__name__})", "fix data.yaml or remove it")
    return settings


def data_yaml_path(root: Path) -> Path:
    """The data.yaml named in messages (the one read, else where it would be)."""
    return _settings_file(root, "data.yaml") or root / "data.yaml"


def class_names(root: Path) -> tuple[str, ...] | None:
    """``names:`` of data.yaml, else the lines of classes.txt, or None without either (classes are numbered)."""
    settings = data_settings(root)
    if settings is None or "names" not in settings:
        return _classes_txt(root)
    path, names = data_yaml_path(root), settings.get("names")
    if isinstance(names, dict) and sorted(names) == list(range(len(names))):
        return tuple(str(names[i]) for i in range(len(names)))
    if isinstance(names, list) and names:
        return tuple(str(n) for n in names)
    raise UserError(f"{path}: names is {names!r}, not a list of class names or a mapping 0..C-1 -> name",
                    "write e.g. names: [circle, square]")


def _classes_txt(root: Path) -> tuple[str, ...] | None:
    path = _settings_file(root, "classes.txt")
    if path is None:
        return None
    lines = _label_lines(path)
    names = [line.strip() for line in lines if line.strip()] if not isinstance(lines, str) else []
    if isinstance(lines, str) or not names:
        raise UserError(f"{path}: {lines if isinstance(lines, str) else 'no class names'}",
                        "write one class name a line, class 0 first")
    return tuple(names)


def parse_line(text: str, classes: int | None, size: tuple[int, int] | None = None
               ) -> tuple[int, np.ndarray, np.ndarray | None] | str:
    """(class, normalised box x1 y1 x2 y2, polygon (P, 2) or None), or what is wrong with the line.

    Every value must be in [0, 1] (as Ultralytics checks); a box's edges may pass the image by
    ``EDGE_TOLERANCE`` pixels of an image of ``size`` (height, width) and are clipped to it.

    >>> cls, box, polygon = parse_line("1 0.5 0.5 0.2 0.4", 3)
    >>> cls, box.round(3).tolist(), polygon
    (1, [0.4, 0.3, 0.6, 0.7], None)
    >>> parse_line("0 0.5 0.5 0.2", 3)
    '4 fields; a box is 5 (cls cx cy w h), a polygon 7 or more (cls x1 y1 x2 y2 x3 y3 ...)'
    >>> parse_line("5 0.5 0.5 0.2 0.2", 3)
    'class 5 is not one of the 3 classes (0..2)'
    >>> parse_line("0 0.99 0.5 0.04 0.2", 3, (10, 100))[1].round(3).tolist()  # 1 pixel past the edge: clipped
    [0.97, 0.4, 1.0, 0.6]
    >>> parse_line("0 0.99 0.5 0.04 0.2", 3, (10, 1000))  # 10 pixels past
    'box cx 0.99 cy 0.5 w 0.04 h 0.2 extends past the image (edges [0.97, 0.4, 1.01, 0.6])'
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
    slack = np.full(4, _TOLERANCE) if size is None else \
        np.array([EDGE_TOLERANCE / size[1], EDGE_TOLERANCE / size[0]] * 2) + _TOLERANCE
    if np.any(box < -slack) or np.any(box > 1 + slack):
        return f"box cx {cx:g} cy {cy:g} w {w:g} h {h:g} extends past the image (edges {np.round(box, 4).tolist()})"
    return cls, np.clip(box, 0.0, 1.0), None


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
    folder = image_folder(root)
    names = class_names(root)
    layout = None
    if task == "keypoints":
        from archspec.train.annotations.yolo_pose import pose_layout
        layout = pose_layout(data_settings(root) or {}, data_yaml_path(root))
    description = f"yolo:{root}"
    problems = Problems(description)
    paths, sizes, labels = [], [], []
    found_labels = 0
    for image_path in image_files(folder):
        size = header_size(image_path)
        if isinstance(size, str):
            problems.add(f"{image_path}: {size}")
            continue
        labelled = label_path(image_path)
        found_labels += labelled.is_file()
        paths.append(image_path)
        sizes.append(size)
        labels.append(_read_labels(labelled, names, task, problems, layout, size))
    problems.raise_if_any()
    if not paths:
        raise UserError(f"{folder} holds no images ({', '.join(OBJECT_IMAGE_EXTENSIONS)})",
                        "put the images there, their labels under labels/")
    if not found_labels:
        raise UserError(f"none of the {len(paths)} images of {description} has a label file (the first would be "
                        f"{label_path(paths[0])})", "put one .txt a image under labels/, beside images/, with the "
                                                    "image's name")
    _say_splits(root, folder)
    _say_orphans(description, label_path(folder / "x").parent, {label_path(path) for path in paths})
    count = len(names) if names else 1 + max((o[0] for image in labels for o in image), default=0)
    keypoint_names = layout.names if layout else ()
    categories = tuple(Category(i, names[i] if names else str(i), keypoint_names) for i in range(count))
    return ObjectData(
        description=description, image_names=tuple(str(p.relative_to(root)) for p in paths),
        image_ids=tuple(range(1, len(paths) + 1)), categories=categories,
        load_image=lambda i: read_object_image(paths[i], True, f"an image of {description}"),
        objects=lambda i: yolo_objects(labels[i], sizes[i], task == "instance_segmentation", len(keypoint_names)),
        sizes=tuple(sizes), has_masks=task == "instance_segmentation", keypoint_count=len(keypoint_names),
        keypoint_flip=layout.flip if layout else ())


def _say_orphans(description: str, labels: Path, used: set[Path]) -> None:
    """Label files without an image (another name, or a format not read): their objects are not trained."""
    orphans = sorted(p for p in labels.rglob("*.txt") if p not in used) if labels.is_dir() else []
    if orphans:
        log.warning("warning: %s: %d label file(s) have no image and are not read (e.g. %s; images are read as %s)",
                    description, len(orphans), orphans[0], " ".join(OBJECT_IMAGE_EXTENSIONS))


def _say_splits(root: Path, folder: Path) -> None:
    """Ultralytics' layout read whole: its train and val images together, which data.yaml keeps apart."""
    settings = data_settings(root) or {}
    splits = [key for key in ("train", "val", "test") if isinstance(settings.get(key), str)
              and (folder / Path(settings[key]).name).is_dir() and folder.name != Path(settings[key]).name]
    if len(splits) > 1:
        log.warning("warning: yolo:%s reads the images of %s together (data.yaml's %s); train on one split, e.g. "
                    "--data yolo:%s --validation-data yolo:%s", root, ", ".join(folder.name + "/" + Path(
                        settings[k]).name for k in splits), " and ".join(splits), folder / Path(settings[splits[0]]).name,
                    folder / Path(settings[splits[1]]).name)


def _read_labels(path: Path, names: tuple[str, ...] | None, task: str, problems: Problems,
                 layout: Any = None, size: tuple[int, int] | None = None) -> list[tuple]:
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
        parsed = _parse(text, len(names) if names else None, task, layout, size)
        if isinstance(parsed, str):
            problems.add(f"{path}:{number}: {parsed}")
            continue
        found.append((*parsed, number))
    return found


def _parse(text: str, classes: int | None, task: str, layout: Any, size: tuple[int, int] | None = None
           ) -> tuple | str:
    """(class, box, polygon or None, keypoints or None) of one line for ``task``, or its problem."""
    if layout is not None:
        from archspec.train.annotations.yolo_pose import parse_pose_line
        pose = parse_pose_line(text, classes, layout)
        return pose if isinstance(pose, str) else (pose[0], pose[1], None, pose[2])
    parsed = parse_line(text, classes, size)
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
