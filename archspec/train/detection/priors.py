"""A new detector's score biases set to the rate at which cells hold objects, YOLOv5's
``_initialize_biases`` (ultralytics/yolov5 ``models/yolo.py``; after Lin et al., "Focal loss for
dense object detection", ICCV 2017, section 3.3: "prior probability for foreground").

With the Keras default zero bias every cell starts at sigmoid(0) = 0.5 for every score, so the
first steps are spent pushing thousands of background cells down. YOLOv5 starts objectness at
8 objects per image (log(8 / (640 / stride)^2) on its 640-pixel images) and each class at
0.6 / (C - 0.99) (both as logits here, not YOLOv5's logs); here the image is the model's input, so a level's objectness prior is
8 / cells (at most 0.5, the zero bias's own value, on grids coarser than 4x4); anchor-free
levels, which have no objectness, start each class at that prior / C (YOLOv8's ``bias_init``
divides its 5 objects per image by C the same way). The session sets these on the layer that
ends each level when it is a convolution or dense layer with a bias that is still all zeros,
before training and before a resume restores a checkpoint over them; a spec that sets a
level's ``bias_initializer`` keeps its own.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

OBJECTS_PER_IMAGE = 8.0  # YOLOv5's prior


def logit(p: float) -> float:
    """
    >>> round(logit(0.5), 6), round(logit(0.125), 4)
    (0.0, -1.9459)
    """
    return math.log(p / (1.0 - p))


def level_prior(head: Any, level: Any) -> np.ndarray:
    """The (channels,) bias of one level: priors on objectness and classes, 0 elsewhere.

    >>> from archspec.heads.head import example_head
    >>> head = example_head()
    >>> [round(float(b), 3) for b in level_prior(head, head.levels[0])[:8]]
    [0.0, 0.0, 0.0, 0.0, -1.946, -0.854, -0.854, -0.854]
    >>> free = example_head(anchors=False)
    >>> [round(float(b), 3) for b in level_prior(free, free.levels[1])]
    [0.0, 0.0, 0.0, 0.0, -1.609, -1.609, -1.609]
    """
    objects = min(OBJECTS_PER_IMAGE / level.cells, 0.5)
    per_box = np.zeros(head.per_box, np.float32)
    if head.anchor_free:
        per_box[4:4 + head.classes] = logit(objects / head.classes)
    else:
        per_box[4] = logit(objects)
        per_box[5:5 + head.classes] = logit(0.6 / (head.classes - 0.99)) if head.classes > 1 else 0.0
    return np.tile(per_box, max(1, len(level.anchors)))


def set_prior_biases(model: Any, head: Any) -> list[str]:
    """Set each level's prior on the layer producing it (see the module's rule); the levels set."""
    done = []
    outputs = dict(zip(model.output_names, model.outputs))
    for level in head.levels:
        layer = outputs[level.name]._keras_history.operation
        bias = getattr(layer, "bias", None)
        if bias is None or tuple(bias.shape) != (level.channels,) or np.any(np.asarray(bias.numpy()) != 0):
            continue
        bias.assign(level_prior(head, level).astype(bias.dtype))
        done.append(level.name)
    return done
