"""The tiny object-task specs the training and studio tests build, train and serve: one YOLO-style
detector and one YOLACT-style instance segmenter on a 32x32x3 input, two levels (p3 at stride 8,
p4 at stride 16), 3 classes (builtin:shapes' circle, square, triangle), and the train section each
test writes under them with its own data sizes.

The levels' channels follow from the head: an anchored level holds, per anchor (2 a level),
4 box numbers, the objectness, the 3 class scores and then the mask coefficients; an anchor-free
(FCOS points) level one box of 4, the 3 scores and the coefficients.

>>> from archspec.api import compile_text
>>> [(compile_text(text).head.levels[0].channels, compile_text(text).head.prototypes)
...  for text in (tiny_detector(), tiny_segmenter(), tiny_segmenter(anchors=False))]
[(16, None), (24, 'protos'), (11, 'protos')]
>>> print(shapes_train("detection", 16, 8, 0.25), end="")
train:
  task: detection
  data: {source: {builtin: shapes, samples: 16, size: 32}, batch_size: 8, validation_split: 0.25}
  epochs: 1
  deterministic: false
"""
from __future__ import annotations

CLASSES = 3
ANCHORS = "[[[6, 6], [10, 10]], [[14, 14], [20, 20]]]"   # two a level, in input pixels
STRIDE_2 = "{filters: 8, kernel_size: 3, strides: 2, padding: same, activation: relu}"


def level_channels(anchors: bool, coefficients: int = 0) -> int:
    """A level's output channels: 2 anchors x (4 + 1 + classes + coefficients), or, anchor-free,
    4 + classes + coefficients."""
    return 2 * (5 + CLASSES + coefficients) if anchors else 4 + CLASSES + coefficients


def tiny_detector(train: str = "") -> str:
    """The detector (``head: type: detection``, anchors), then ``train`` (a spec's train section,
    e.g. :func:`shapes_train`'s) if given."""
    return f"""archspec: 1
name: tiny-detector
description: two levels of a YOLO-style head on a 32x32 input
input: [32, 32, 3]
layers:
  - Conv2D: {STRIDE_2}
  - Conv2D: {STRIDE_2}
  - Conv2D: {STRIDE_2}
    name: s8
  - Conv2D: {{filters: {level_channels(True)}, kernel_size: 1}}
    name: p3
  - Conv2D: {STRIDE_2}
    inputs: s8
  - Conv2D: {{filters: {level_channels(True)}, kernel_size: 1}}
    name: p4
outputs: [p3, p4]
head:
  type: detection
  levels: [p3, p4]
  classes: {CLASSES}
  anchors: {ANCHORS}
""" + train


def tiny_segmenter(train: str = "", anchors: bool = True) -> str:
    """The instance segmenter (``head: type: instance_segmentation``): 4 mask coefficients after
    the class scores, prototypes ``protos`` at stride 4; YOLOv5-style anchors, or with
    ``anchors=False`` FCOS points. Then ``train``, if given."""
    channels = level_channels(anchors, coefficients=4)
    kind = "a YOLO-style head" if anchors else "an anchor-free (FCOS points) head"
    return f"""archspec: 1
name: tiny-segmenter
description: two levels of {kind} with 4 mask coefficients, prototypes at stride 4
input: [32, 32, 3]
layers:
  - Conv2D: {STRIDE_2}
  - Conv2D: {STRIDE_2}
    name: s4
  - Conv2D: {STRIDE_2}
    name: s8
  - Conv2D: {{filters: {channels}, kernel_size: 1}}
    name: p3
  - Conv2D: {STRIDE_2}
    inputs: s8
  - Conv2D: {{filters: {channels}, kernel_size: 1}}
    name: p4
  - Conv2D: {{filters: 4, kernel_size: 1}}
    name: protos
    inputs: s4
outputs: [p3, p4, protos]
head:
  type: instance_segmentation
  levels: [p3, p4]
  classes: {CLASSES}
  prototypes: protos
""" + (f"  anchors: {ANCHORS}\n" if anchors else "") + train


def shapes_train(task: str, samples: int, batch_size: int, validation_split: float, *more: str,
                 augment: str = "") -> str:
    """A spec's train section on builtin:shapes at 32 px: one epoch, not op-deterministic (faster);
    ``augment`` the data's augment list (YAML), ``more`` further lines under ``train:`` (e.g.
    ``"optimizer: {SGD: {learning_rate: 0.05}}"``)."""
    extra = f", augment: {augment}" if augment else ""
    return (f"train:\n  task: {task}\n"
            f"  data: {{source: {{builtin: shapes, samples: {samples}, size: 32}}, batch_size: {batch_size}, "
            f"validation_split: {validation_split}{extra}}}\n"
            + "".join(f"  {line}\n" for line in more)
            + "  epochs: 1\n  deterministic: false\n")
