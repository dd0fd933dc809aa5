"""A detection run's session: the model's levels checked against the head, the object data
against its classes, the YOLOv5 losses compiled one per level, and the mAP callback.

The runner calls :func:`prepare_detection_session` instead of its own ``prepare_session`` when
the spec has a ``head:``; everything after (fit, checkpoints, resume, the run directory) is
the runner's own. The multi-worker loop calls it with ``compile=False`` and trains the same
losses in its own step (``archspec.train.detection.distributed``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from archspec.errors import Location, UserError
from archspec.heads.head import Head
from archspec.train.config import TrainConfig
from archspec.train.datasets import DataBundle
from archspec.train.detection.data import ObjectPipeline, check_classes, object_summary, split_object_data
from archspec.train.detection.decode import detect
from archspec.train.detection.loss import head_losses
from archspec.train.detection.priors import set_prior_biases
from archspec.train.distribute import Runtime
from archspec.train.objects import build_optimizer
from archspec.train.session import Session, epoch_steps

Locator = Callable[[tuple], "Location | None"]


def check_model_outputs(model: Any, head: Head) -> None:
    """The Keras model's outputs must be the head's levels, in the spec's order (and its prototypes)."""
    shapes = [tuple(int(d) for d in out.shape[1:]) for name, out in zip(model.output_names, model.outputs)
              if name != head.prototypes]
    want = [(lv.grid[0], lv.grid[1], lv.channels) for lv in head.levels]
    if shapes != want:
        raise UserError(f"a {head.type} model's outputs must be its head's levels {', '.join(lv.name for lv in head.levels)} "
                        f"of shapes {want}; this model's outputs have shapes {shapes}",
                        "list the levels in outputs: in the order of head.levels, and nothing else")


@dataclass
class ObjectSession(Session):
    """A detection session: the head, and the losses ``compile`` was (or a step of its own is) given."""

    head: Any = None
    losses: list[Any] = field(default_factory=list)           # one per output, None for the prototypes
    mask_loss: Optional[Callable[[Any, Any], Any]] = None     # instance segmentation's, added to their sum


def check_object_task(cfg: TrainConfig, head: Head | None, locate: Locator) -> None:
    """An object task needs a head, instance segmentation one with prototypes."""
    if head is None:
        raise UserError(f"train.task: {cfg.task} needs the spec's head: section", "add head: {type: detection, "
                        "levels: [...], classes: C, anchors: [...]} naming the model's grid outputs",
                        locate(("train", "task")))
    if cfg.task == "instance_segmentation" and not head.prototypes:
        raise UserError("train.task: instance_segmentation needs a head with prototype masks; this head is "
                        f"type: {head.type}", "set head.type: instance_segmentation and head.prototypes: the "
                        "(H/4, W/4, M) output holding M prototype masks", locate(("train", "task")))


def prepare_detection_session(cfg: TrainConfig, runtime: Runtime, factory: Callable[[], Any], locate: Locator,
                              head: Head, *, compile: bool = True, drop_remainder: bool = False
                              ) -> tuple[ObjectSession, list[Any]]:
    """Build the model in scope, check the data against the head, compile; and the mAP callback
    (``compile=False``: neither, for the multi-worker loop, which trains on whole global batches)."""
    from archspec.train.annotations.augment_objects import ObjectAugment

    ObjectAugment.from_entries(cfg.data.augment, locate=locate)  # refuse what cannot move boxes, at its line
    with runtime.strategy.scope():
        model = factory()
    check_model_outputs(model, head)
    set_prior_biases(model, head)  # a resume restores its checkpoint over them
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    train, validation = split_object_data(cfg, input_shape, len(head.levels), cfg.task)  # type: ignore[arg-type]
    for part in filter(None, (train, validation)):
        check_classes(part.data, head.classes)
    steps, spe = epoch_steps(cfg, train, drop_remainder, "training images")
    losses, masks_loss = head_losses(head, cfg.detection), None
    if head.prototypes:
        from archspec.train.instances.training import prepare_instances
        losses, masks_loss = prepare_instances(model, head, cfg.task, cfg.detection, losses, (train, validation))
    if compile:
        if masks_loss is not None:
            from archspec.train.instances.training import attach_mask_loss
            attach_mask_loss(model, masks_loss)
        with runtime.strategy.scope():
            model.compile(optimizer=build_optimizer(cfg, steps * cfg.epochs, locate), loss=losses,
                          jit_compile=cfg.jit_compile, steps_per_execution=spe)
            model.optimizer.build(model.trainable_variables)
    best = "val_mask_map" if cfg.task == "instance_segmentation" else "val_map"
    monitor = cfg.monitor or (best if validation is not None else "loss")
    bundle = DataBundle(train, validation, object_summary(cfg, train, validation))  # type: ignore[arg-type]
    callbacks = [map_callback_for(model, head, cfg, validation)] if validation is not None and compile else []
    return ObjectSession(cfg, runtime, model, bundle, steps, spe, None, monitor, head, list(losses),
                         masks_loss), callbacks


def detector(model: Any, head: Head, settings: dict[str, Any]) -> Callable[[np.ndarray], list[Any]]:
    """A batch of images -> each image's detections (thresholds from train.detection)."""
    return lambda images: detect(model, images, head, settings, batch_size=len(images))


def box_map(model: Any, head: Head, cfg: TrainConfig, part: ObjectPipeline) -> Any:
    """COCO box AP (pycocotools) of ``model`` on ``part``, in model-input pixels."""
    from archspec.train.annotations.ground_truth import coco_ground_truth
    from archspec.train.instances.evaluation import InstanceMap

    truth = coco_ground_truth(part.data, part.input_shape, part.indices)
    find = detector(model, head, cfg.detection)
    if cfg.task == "instance_segmentation":  # the same detections, each with its mask
        from archspec.train.instances.training import instance_detector
        find = instance_detector(model, head, cfg.detection)
    return InstanceMap(find, part.raw, truth, part.data.image_ids,
                       [int(c.id) for c in part.data.categories])


def map_callback_for(model: Any, head: Head, cfg: TrainConfig, validation: ObjectPipeline) -> Any:
    from archspec.train.instances.evaluation import map_callback

    return map_callback(box_map(model, head, cfg, validation))
