"""What an instance-segmentation run adds to a detection run: the prototypes output, its
targets, the mask loss in the compiled step, and masks in the validation mAP.

Detection compiles one Keras loss per level (``archspec.train.detection.loss``); a mask loss
needs every level's coefficients and the prototypes at once, which no per-output loss sees.
So the prototypes output gets no Keras loss of its own (its target is the batch's masks), and
the model's ``compute_loss``, which Keras's train and test steps call with all outputs, adds
``mask_weight`` x :func:`~archspec.train.instances.loss.batch_mask_loss` to the levels' sum.
The saved model is the spec's own: the wrapper lives on the instance, not in its config.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from archspec.train.instances.loss import batch_mask_loss, batch_point_mask_loss
from archspec.train.instances.predict import detect_instances, split_outputs

# YOLOv5-seg weighs its mask loss as its box loss (hyp box 0.05 on each of 3 levels: the sum of
# per-level means); we average over the matches of all levels at once, so 3 x 0.05.
MASK_WEIGHT = 0.15


def training_targets(output_names: Sequence[str], head: Any, targets: dict[str, Any], packed: Any) -> tuple[Any, ...]:
    """One target per model output, in output order: the levels' packed boxes and classes
    (``packed``, the (B, M, 5) tensor detection gives every level), the masks for the prototypes."""
    return tuple(targets["masks"] if name == head.prototypes else packed for name in output_names)


def output_losses(output_names: Sequence[str], head: Any, level_losses: Sequence[Any]) -> list[Any]:
    """The levels' Keras losses in output order, None (no loss of its own) for the prototypes.

    >>> head = type("Head", (), {"levels": [type("L", (), {"name": n}) for n in ("p3", "p4")],
    ...                          "prototypes": "protos"})
    >>> output_losses(["p3", "protos", "p4"], head, ["L3", "L4"])
    ['L3', None, 'L4']
    """
    by_level = {level.name: loss for level, loss in zip(head.levels, level_losses)}
    return [None if name == head.prototypes else by_level[name] for name in output_names]


def mask_loss(output_names: Sequence[str], head: Any, settings: dict[str, Any]) -> Callable[[Any, Any], Any]:
    """``mask_weight`` x the batch's mask loss, of every output's target and prediction (in output order)."""
    from archspec.train.detection.assign import match_level
    from archspec.train.detection.points import assign_points, level_bounds

    weight = float(settings.get("mask_weight", MASK_WEIGHT))
    bounds = level_bounds([level.stride for level in head.levels], settings.get("level_sizes"))
    ratio = float(settings.get("anchor_ratio", 4.0))
    names = list(output_names)

    def loss(y: Any, y_pred: Any) -> Any:
        import tensorflow as tf

        levels, prototypes = split_outputs(names, y_pred, head)
        masks = y[names.index(head.prototypes)]
        packed = y[names.index(head.levels[0].name)]
        boxes, classes = packed[..., :4], tf.cast(tf.round(packed[..., 4]), tf.int32)
        if head.anchor_free:
            points = [assign_points(boxes, classes, level.grid, level.stride, bound)
                      for level, bound in zip(head.levels, bounds)]
            masks_loss = batch_point_mask_loss(levels, points, prototypes, masks, boxes, head.input_size)
        else:
            matches = [match_level(boxes, classes, level.grid, level.stride, level.anchors, ratio)
                       for level in head.levels]
            shaped = [tf.reshape(tf.cast(raw, tf.float32), [-1, *level.grid, len(level.anchors), head.per_box])
                      for raw, level in zip(levels, head.levels)]
            masks_loss = batch_mask_loss(shaped, matches, prototypes, masks, boxes, head.input_size)
        return weight * masks_loss

    return loss


def attach_mask_loss(model: Any, masks_loss: Callable[[Any, Any], Any]) -> None:
    """Make ``model.compute_loss`` add ``masks_loss`` (:func:`mask_loss`; call before ``compile``),
    scaled by 1/replicas under a strategy as Keras scales the levels' compiled losses."""
    from archspec.train.detection.distributed import per_replica

    levels_loss = model.compute_loss

    def compute_loss(x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        import tensorflow as tf

        total = levels_loss(x, y, y_pred, sample_weight, training=training)
        return total + tf.cast(per_replica(masks_loss(y, y_pred)), total.dtype)

    model.compute_loss = compute_loss


def prepare_instances(model: Any, head: Any, task: str, settings: dict[str, Any], level_losses: Sequence[Any],
                      pipelines: Sequence[Any]) -> tuple[list[Any], Callable[[Any, Any], Any] | None]:
    """Fit a detection session to a head with prototypes: the losses ``compile`` takes (the
    runner has refused instance_segmentation on a head without prototypes) and the mask loss
    that :func:`attach_mask_loss` adds to them (None for detection).

    ``task: instance_segmentation`` has the mask loss and gives the prototypes output the masks
    as its target; ``task: detection`` on such a head trains the boxes alone (the prototypes
    output is left untrained). ``pipelines``: the ``ObjectPipeline`` splits, told how to pack.
    """
    from archspec.train.detection.data import packed_targets

    names = list(model.output_names)
    masks_loss = None
    if task == "instance_segmentation":
        masks_loss = mask_loss(names, head, settings)
        pack = lambda t: training_targets(names, head, t, packed_targets(t, 1)[0])  # noqa: E731
    else:
        pack = lambda t: tuple(packed_targets(t, len(names)))  # noqa: E731  (the prototypes' is unused)
    for pipeline in pipelines:
        if pipeline is not None:
            pipeline.pack = pack
    return (output_losses(names, head, level_losses) if head.prototypes else list(level_losses)), masks_loss


def instance_detector(model: Any, head: Any, settings: dict[str, Any]) -> Callable[[np.ndarray], list[Any]]:
    """A batch of images -> each image's detections with masks (thresholds from train.detection)."""
    return lambda images: detect_instances(model, images, head, settings, batch_size=len(images))
