"""A keypoints run on object data (``coco:``, ``builtin:shapes`` with ``objects:``): the model's
heatmap channels checked against the data's keypoints, target heatmaps drawn from the letterboxed,
augmented keypoints of every object (``heatmaps``), the task's own loss and metrics compiled.

The runner calls :func:`prepare_pose_session` instead of its own ``prepare_session`` for such a
source; everything after (fit, the PCK/OKS callback, checkpoints, resume) is the runner's own.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping

from archspec.errors import Location, UserError
from archspec.train.config import TrainConfig
from archspec.train.datasets import DataBundle, ModelIO
from archspec.train.distribute import Runtime
from archspec.train.pose.heatmaps import heatmap_targets
from archspec.train.pose.settings import DEFAULT_HEATMAP_SIGMA
from archspec.train.session import Session, compile_for_task, epoch_steps
from archspec.train.tasks import check_output, output_activation

Locator = Callable[[tuple], "Location | None"]


def is_object_source(source: Mapping[str, Any] | None) -> bool:
    """Whether a keypoints run reads ``source`` as object data (else as heatmaps).

    >>> is_object_source({"builtin": "shapes"}), is_object_source({"builtin": "shapes", "objects": 2})
    (False, True)
    >>> is_object_source({"coco": "people.json"})
    True
    """
    if not source:
        return False
    return "coco" in source or "yolo" in source or (source.get("builtin") == "shapes" and "objects" in source)


def prepare_pose_session(cfg: TrainConfig, runtime: Runtime, factory: Callable[[], Any],
                         locate: Locator, *, compile: bool = True, drop_remainder: bool = False) -> Session:
    """Build the model in scope, check the object data against its heatmaps, compile (unless the
    multi-worker loop, with its own step, asks not to; it trains on whole global batches only)."""
    from archspec.train.annotations.augment_objects import ObjectAugment
    from archspec.train.detection.data import object_summary

    ObjectAugment.from_entries(cfg.data.augment, keypoints=True, locate=locate)  # refused at its line
    with runtime.strategy.scope():
        model = factory()
    io = ModelIO.of(model)
    activation = output_activation(model)
    check_output(cfg.task, io.output_shape, activation)
    train, validation = object_pipelines(cfg, io)
    steps, spe = epoch_steps(cfg, train, drop_remainder, "training images")
    if compile:
        compile_for_task(model, cfg, runtime, io, activation, steps, spe, locate)
    summary = {**object_summary(cfg, train, validation), "keypoint_names": list(train.data.keypoint_names),
               "skeleton": [list(pair) for pair in train.data.skeleton],
               "heatmap_sigma": heatmap_sigma(cfg), "heatmap_size": list(io.output_shape[:2])}
    monitor = cfg.monitor or ("val_loss" if validation is not None else "loss")
    bundle = DataBundle(train, validation, summary)  # type: ignore[arg-type]
    return Session(cfg, runtime, model, bundle, steps, spe, activation, monitor)


def heatmap_sigma(cfg: TrainConfig) -> float:
    return float(cfg.keypoints.get("heatmap_sigma", DEFAULT_HEATMAP_SIGMA))


def object_pipelines(cfg: TrainConfig, io: ModelIO) -> tuple[Any, Any]:
    """The training and validation object pipelines (``detection.data``'s), each batch's targets
    the heatmaps drawn of its keypoints; the data's keypoints checked against the heatmaps."""
    from archspec.train.detection.data import split_object_data

    train, validation = split_object_data(cfg, io.input_shape, 1, "keypoints")  # type: ignore[arg-type]
    check_keypoints(train.data, io.output_shape[-1])
    pack = heatmap_packer(io.input_shape[:2], io.output_shape[:2], heatmap_sigma(cfg))
    return replace(train, pack=pack), replace(validation, pack=pack) if validation is not None else None


def check_keypoints(data: Any, channels: int) -> None:
    """The model's heatmap channels must be the data's keypoints, one for one."""
    if data.keypoint_count != channels:
        names = ", ".join(data.keypoint_names[:5]) + (", ..." if data.keypoint_count > 5 else "")
        raise UserError(f"{data.description} has {data.keypoint_count} keypoints ({names}) but the model "
                        f"outputs {channels} heatmap channels",
                        f"give the model's last layer {data.keypoint_count} channels, one per keypoint")


def heatmap_packer(input_size: Any, heatmap_size: Any, sigma: float) -> Callable[[Any], Any]:
    """The object pipeline's targets -> the (B, h, w, K) target heatmaps ``fit`` reads."""
    return lambda targets: heatmap_targets(targets["keypoints"], tuple(input_size), tuple(heatmap_size), sigma)
