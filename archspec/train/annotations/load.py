"""``load_objects``: a ``source:`` mapping of object data (coco, yolo, builtin shapes) opened and
checked for a detection, instance segmentation or keypoints task."""
from __future__ import annotations

from typing import Any, Mapping

from archspec.errors import UserError
from archspec.train.annotations.records import ObjectData

OBJECT_TASKS = ("detection", "instance_segmentation", "keypoints")


def load_objects(source: Mapping[str, Any], task: str) -> ObjectData:
    """Open the object data a source names; bad data is a UserError listing what is wrong.

    Masks are decoded for ``instance_segmentation`` only and keypoints for ``keypoints`` only,
    so each task checks (and pays for) what it trains on.

    >>> data = load_objects({"builtin": "shapes", "samples": 10, "size": 32}, "instance_segmentation")
    >>> len(data), data.class_names, data.has_masks, data.objects(0).masks.shape[1:]
    (10, ('circle', 'square', 'triangle'), True, (32, 32))
    """
    if task not in OBJECT_TASKS:
        raise UserError(f"object data is for {', '.join(OBJECT_TASKS)}; not for a {task} task",
                        "set train.task, or use a source that gives this task's targets")
    if "coco" in source:
        from archspec.train.annotations.coco import load_coco
        return load_coco(source, task)
    if "yolo" in source:
        from archspec.train.annotations.yolo_labels import load_yolo
        return load_yolo(source, task)
    if source.get("builtin") == "shapes":
        from archspec.train.annotations.shapes_objects import load_shapes_objects
        return load_shapes_objects(source, task)
    raise UserError(f"{task} needs object data: {dict(source)} has no boxes",
                    "use coco:PATH.json, yolo:DIR or builtin:shapes")
