"""The JSON Schema of the object data sources, ``{coco: PATH.json}`` and ``{yolo: DIR}``: plain
data, embedded by ``archspec.train.schema`` in the ``source:`` forms."""
from __future__ import annotations

from typing import Any

_PATH = {"type": "string", "minLength": 1}

OBJECT_SOURCES: list[dict[str, Any]] = [
    {
        "type": "object", "required": ["coco"], "additionalProperties": False,
        "description": "COCO object annotations (detection, instance_segmentation and keypoints tasks): "
                       "boxes, polygon or RLE masks, keypoints; images of any size are letterboxed",
        "properties": {
            "coco": {**_PATH, "description": "the annotation file, e.g. data/instances.json (at most 512 MiB)"},
            "images": {**_PATH, "description": "the folder the images' file_names are relative to "
                                               "(default: the JSON file's folder)"},
        },
    },
    {
        "type": "object", "required": ["yolo"], "additionalProperties": False,
        "description": "Ultralytics YOLO labels (detection, instance_segmentation and keypoints tasks): "
                       "DIR/images/** and DIR/labels/** with the same names, one `cls cx cy w h` or "
                       "`cls x1 y1 x2 y2 ...` line per object in [0, 1] (keypoints: `cls cx cy w h x y v ...` "
                       "as DIR/data.yaml's kpt_shape says); class names from DIR/data.yaml",
        "properties": {"yolo": {**_PATH, "description": "the folder holding images/ and labels/"}},
    },
]
