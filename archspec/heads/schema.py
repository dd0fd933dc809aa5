"""The JSON Schema of a spec's top-level ``head:`` section (plain data, no TensorFlow).

A head says what the grid outputs of a detector hold: which outputs are pyramid levels
(finest first), how many classes, and the anchors of each level when the head has them
(YOLOv2-v5); without ``anchors`` the head is anchor-free (YOLOv8, FCOS). The structural pass
checks the form; :mod:`archspec.heads.head` checks it against the analysed shapes.
"""
from __future__ import annotations

from typing import Any

HEAD_TYPES = ("detection", "instance_segmentation")

_ANCHOR = {"type": "array", "minItems": 2, "maxItems": 2,
           "items": {"type": "number", "exclusiveMinimum": 0},
           "description": "an anchor's [width, height] in input pixels"}

HEAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What the model's grid outputs hold, for `train.task: detection` or "
                   "`instance_segmentation`: the pyramid levels, the classes and the anchors.",
    "required": ["type", "levels", "classes"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": list(HEAD_TYPES),
                 "description": "detection: boxes and classes; instance_segmentation: also a mask per box "
                                "from prototypes and coefficients"},
        "levels": {"type": "array", "minItems": 1, "uniqueItems": True,
                   "items": {"type": "string", "minLength": 1},
                   "description": "the model outputs that are grids of predictions (names as in outputs:), "
                                  "finest first; each is (height, width, channels) and its stride is "
                                  "input size / grid size"},
        "classes": {"anyOf": [{"type": "integer", "minimum": 1},
                              {"type": "string", "pattern": r"\$", "description": "a $reference to a var"}],
                    "description": "the number of object classes C: a positive integer, or a var ($classes) "
                                   "that the level layers' channels count too"},
        "anchors": {"type": "array", "minItems": 1,
                    "items": {"type": "array", "minItems": 1, "items": _ANCHOR,
                              "description": "one level's anchors"},
                    "description": "per level, its anchors' [width, height] in input pixels (YOLOv2-v5): each "
                                   "cell holds A x (5 + C) channels (box, objectness, classes per anchor); "
                                   "omitted: anchor-free, 4 + C channels (box distances, classes)"},
        "prototypes": {"type": "string", "minLength": 1,
                       "description": "instance_segmentation only: the output holding the M prototype masks, "
                                      "(height, width, M); each box then has M more channels, its mask "
                                      "coefficients"},
    },
}
