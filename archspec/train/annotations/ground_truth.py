"""``coco_ground_truth``: a data set's objects as a COCO ground-truth dict in model-input pixels.

The images are the letterboxed model inputs (``width``/``height`` the input's), so predictions
in model-input pixels are scored directly by pycocotools (``COCO()`` with this as ``dataset``,
then ``createIndex()``). Image ids are ``data.image_ids``; category ids are the data set's own
(``data.categories[class].id``); annotation ids are 1..n (COCOeval treats id 0 as "no match").
Crowd regions are annotations with ``iscrowd: 1``: COCOeval ignores detections inside them.
``area`` is the mask's pixel count when there are masks, else the box's, in input pixels.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from archspec.train.annotations.letterbox import Letterbox, letterbox_objects
from archspec.train.annotations.masks import encode_mask
from archspec.train.annotations.records import ImageObjects, ObjectData


def coco_categories(data: ObjectData) -> list[dict[str, Any]]:
    """The categories as COCO writes them (skeleton 1-based)."""
    categories = []
    for category in data.categories:
        entry: dict[str, Any] = {"id": int(category.id), "name": category.name, "supercategory": category.name}
        if category.keypoints:
            entry["keypoints"] = list(category.keypoints)
            entry["skeleton"] = [[a + 1, b + 1] for a, b in category.skeleton]
        categories.append(entry)
    return categories


def _annotation(box: np.ndarray, category_id: int, image_id: int, crowd: bool, mask: np.ndarray | None,
                keypoints: np.ndarray | None) -> dict[str, Any]:
    x1, y1, x2, y2 = (float(v) for v in box)
    entry: dict[str, Any] = {"image_id": int(image_id), "category_id": int(category_id),
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "iscrowd": int(crowd),
                             "area": float(mask.sum()) if mask is not None else (x2 - x1) * (y2 - y1)}
    if mask is not None:
        entry["segmentation"] = encode_mask(mask)
    if keypoints is not None:
        entry["keypoints"] = [float(v) for v in keypoints.reshape(-1)]
        entry["num_keypoints"] = int((keypoints[:, 2] > 0).sum())
    return entry


def _image_annotations(objects: ImageObjects, data: ObjectData, image_id: int) -> list[dict[str, Any]]:
    ids = [c.id for c in data.categories]
    found = []
    for k in range(len(objects)):
        found.append(_annotation(objects.boxes[k], ids[objects.classes[k]], image_id, False,
                                 None if objects.masks is None else objects.masks[k],
                                 None if objects.keypoints is None else objects.keypoints[k]))
    crowd_boxes = objects.crowd_boxes if objects.crowd_boxes is not None else np.zeros((0, 4), np.float32)
    for k in range(len(crowd_boxes)):
        mask = None if objects.crowd_masks is None else objects.crowd_masks[k]
        keypoints = None if objects.keypoints is None else np.zeros(objects.keypoints.shape[1:], np.float32)
        found.append(_annotation(crowd_boxes[k], ids[objects.crowd_classes[k]], image_id, True, mask, keypoints))
    return found


def coco_ground_truth(data: ObjectData, input_size: Sequence[int], indices: Sequence[int] | None = None
                      ) -> dict[str, Any]:
    """The ground truth of the images ``indices`` (default all) letterboxed to ``input_size`` (H, W[, C]).

    >>> from archspec.train.annotations.load import load_objects
    >>> data = load_objects({"builtin": "shapes", "samples": 4, "size": 32}, "instance_segmentation")
    >>> truth = coco_ground_truth(data, (64, 64), indices=[0, 1])
    >>> [image["id"] for image in truth["images"]], truth["images"][0]["width"], truth["categories"][0]["id"]
    ([1, 2], 64, 1)
    >>> sorted(truth["annotations"][0])
    ['area', 'bbox', 'category_id', 'id', 'image_id', 'iscrowd', 'segmentation']
    """
    size = (int(input_size[0]), int(input_size[1]))
    images, annotations = [], []
    for index in range(len(data)) if indices is None else indices:
        index = int(index)
        box = Letterbox.fit(data.sizes[index], size)
        objects = letterbox_objects(data.objects(index), box, size)
        image_id = int(data.image_ids[index])
        images.append({"id": image_id, "file_name": data.image_names[index], "height": size[0], "width": size[1]})
        annotations += _image_annotations(objects, data, image_id)
    for number, annotation in enumerate(annotations, start=1):
        annotation["id"] = number
    return {"info": {"description": f"{data.description} letterboxed to {size[0]}x{size[1]}"},
            "images": images, "annotations": annotations, "categories": coco_categories(data)}
