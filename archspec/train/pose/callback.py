"""The keypoints task's metrics in training: ``val_pck``, ``val_oks_ap``, ``val_oks_ap50``.

At each epoch's end the model runs over the validation data once more (Keras's own validation
pass gives no predictions to callbacks), its heatmaps are decoded and scored (``scoring``: one
instance per image for heatmap data, one per object for object data), and the numbers join the
epoch's logs, so the Recorder writes them into the history, metrics.json and the curves, and
EarlyStopping or ``monitor`` may use them.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from archspec.errors import Location
from archspec.train.pose.scoring import heatmap_keypoints, join_poses, object_poses, score_keypoints, score_poses
from archspec.train.pose.settings import PoseSettings, keypoint_names, pose_settings

log = logging.getLogger("archspec.train")


def run_settings(cfg: Any, model: Any, class_names: Sequence[str] | None,
                 locate: Callable[[tuple], Location | None] = lambda path: None) -> PoseSettings:
    """The pose settings of a keypoints run whose model outputs (H, W, K) heatmaps."""
    return pose_settings(cfg.keypoints, int(model.outputs[0].shape[-1]), class_names, locate)


def summary_settings(cfg: Any, model: Any, summary: Mapping[str, Any],
                     locate: Callable[[tuple], Location | None] = lambda path: None) -> PoseSettings:
    """The pose settings of a run with its data.json ``summary``: object data's keypoint names, and
    its skeleton where train.keypoints gives none."""
    section = dict(cfg.keypoints)
    if summary.get("skeleton") and "skeleton" not in section:
        section["skeleton"] = summary["skeleton"]
    return pose_settings(section, int(model.outputs[0].shape[-1]), keypoint_names(summary), locate)


def pose_scores(model: Any, batches: Any, settings: PoseSettings) -> dict[str, float]:
    """PCK and OKS AP of ``model`` over ``batches`` of (images, target heatmaps)."""
    peaks, truth = [], []
    heatmap_size = tuple(int(d) for d in model.outputs[0].shape[1:3])
    image_size = tuple(int(d) for d in model.inputs[0].shape[1:3])
    for x, y in batches:
        predicted = np.asarray(model(x, training=False), np.float32)
        batch_peaks, batch_truth = heatmap_keypoints(predicted, np.asarray(y))
        peaks.append(batch_peaks)
        truth.append(batch_truth)
    if not peaks:
        return {}
    return score_keypoints(np.concatenate(peaks), np.concatenate(truth), heatmap_size, image_size, settings)


def object_pose_scores(model: Any, batches: Any, settings: PoseSettings) -> dict[str, float]:
    """PCK and OKS AP of ``model`` over ``batches`` of (images, the object pipeline's targets)."""
    image_size = tuple(int(d) for d in model.inputs[0].shape[1:3])
    parts = [object_poses(np.asarray(model(x, training=False), np.float32),
                          {name: np.asarray(value) for name, value in targets.items()}, image_size)
             for x, targets in batches]
    return score_poses(join_poses(parts), settings) if parts else {}


def validation_scores(model: Any, validation: Any, settings: PoseSettings) -> dict[str, float]:
    """The pose scores of a validation pipeline: object data (``raw`` batches) or heatmaps."""
    if hasattr(validation, "raw"):  # detection.data.ObjectPipeline: the objects, not the heatmaps drawn of them
        return object_pose_scores(model, validation.raw(), settings)
    return pose_scores(model, validation.evaluate(), settings)


def pose_logs(session: Any, locate: Callable[[tuple], Location | None]) -> Callable[[], dict[str, float]]:
    """The epoch's ``val_`` pose scores as a function, for the multi-worker loop (which has no Keras
    callbacks); nothing for other tasks or without validation data. Checks train.keypoints now."""
    if session.cfg.task != "keypoints" or session.data.validation is None:
        return dict
    settings = summary_settings(session.cfg, session.model, session.data.summary, locate)
    return lambda: {f"val_{name}": value for name, value in
                    validation_scores(session.model, session.data.validation, settings).items()}


def pose_callbacks(session: Any, locate: Callable[[tuple], Location | None]) -> list[Any]:
    """The metrics callback of a keypoints session with validation data (none otherwise)."""
    if session.cfg.task != "keypoints":
        return []
    settings = summary_settings(session.cfg, session.model, session.data.summary, locate)
    if session.data.validation is None:
        log.info("no validation data: PCK and OKS AP are not measured (set train.data.validation_split)")
        return []
    return [_callback(session.model, session.data.validation, settings)]


def _callback(model: Any, validation: Any, settings: PoseSettings) -> Any:
    import keras

    class PoseMetrics(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if logs is None:
                return
            scores = validation_scores(model, validation, settings)
            if not scores:
                log.warning("warning: the validation heatmaps have no peak of 0.5 or more: no PCK or OKS AP")
            logs.update({f"val_{name}": value for name, value in scores.items()})

    return PoseMetrics()
