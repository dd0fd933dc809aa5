"""Tasks: the default loss and metrics of each, and what its targets and output must look like.

| task | output | targets | loss | metrics |
| --- | --- | --- | --- | --- |
| classification | (C,) softmax | int class ids | sparse categorical CE | accuracy |
| multilabel | (C,) sigmoid | (C,) of 0/1 | binary CE | AUC, precision, recall |
| regression | (D,) | (D,) floats | MSE | MAE |
| segmentation | (H, W, C) softmax | (H, W) int class ids | sparse categorical CE | accuracy, mean IoU |
| keypoints | (H, W, K) | (H, W, K) heatmaps | MSE | MAE; PCK and OKS AP of the decoded peaks |

The keypoints task's PCK and OKS AP (``val_pck``, ``val_oks_ap``, ``val_oks_ap50``) are not Keras
metrics: ``archspec.train.pose`` measures them on the validation data at each epoch's end.
A model whose last activation is linear is trained ``from_logits``; anything may be
overridden in the spec (``loss:``, ``metrics:``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from archspec.errors import UserError

log = logging.getLogger("archspec.train")

SPARSE_TASKS = ("classification", "segmentation")


@dataclass(frozen=True)
class TargetPlan:
    """What the data's targets become before training."""

    y: np.ndarray | None                     # converted targets (array sources) or None
    resize_to: tuple[int, int] | None = None  # (H, W) for masks/heatmaps, when they must be resized
    num_classes: int | None = None


def output_activation(model: Any) -> str | None:
    """Name of the activation that produces the model's output, if it can be seen."""
    layer = model.layers[-1] if model.layers else None
    history = getattr(model.outputs[0], "_keras_history", None) if getattr(model, "outputs", None) else None
    if history is not None:
        layer = history.operation
    if layer is None:
        return None
    kind = type(layer).__name__
    if kind == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) or (activation if isinstance(activation, str) else None)
    return name if name else ("linear" if kind in ("Dense", "Conv2D", "Conv1D", "Conv3D") else None)


def default_loss(task: str, activation: str | None) -> Any:
    import keras

    if task in SPARSE_TASKS:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=activation == "linear")
    if task == "multilabel":
        return keras.losses.BinaryCrossentropy(from_logits=activation == "linear")
    return keras.losses.MeanSquaredError()


def default_metrics(task: str, num_classes: int | None, activation: str | None) -> list[Any]:
    import keras

    logits = activation == "linear"
    if task == "classification":
        return ["accuracy"]
    if task == "multilabel":
        threshold = 0.0 if logits else 0.5
        return [keras.metrics.AUC(multi_label=True, from_logits=logits, name="auc"),
                keras.metrics.Precision(thresholds=threshold, name="precision"),
                keras.metrics.Recall(thresholds=threshold, name="recall")]
    if task == "segmentation":
        return ["accuracy", keras.metrics.MeanIoU(num_classes=int(num_classes or 2), sparse_y_true=True,
                                                  sparse_y_pred=False, name="mean_iou")]
    return [keras.metrics.MeanAbsoluteError(name="mae")]


def check_output(task: str, output_shape: tuple, activation: str | None) -> None:
    """The model's output must suit the task (shapes without the batch axis)."""
    rank = {"classification": 1, "multilabel": 1, "regression": 1, "segmentation": 3, "keypoints": 3}[task]
    if len(output_shape) != rank:
        form = "(classes,)" if rank == 1 else "(height, width, channels)"
        raise UserError(f"a {task} model needs an output of shape {form}; this model's output is "
                        f"{tuple(output_shape)}", "fix the last layers or set train.task")
    if task in SPARSE_TASKS and output_shape[-1] < 2:
        raise UserError(f"a {task} model needs one output per class (at least 2); this one has "
                        f"{output_shape[-1]}", "use train.task: multilabel for a single sigmoid output")
    if task in SPARSE_TASKS and activation not in ("softmax", "linear", None):
        log.warning("warning: the %s output activation is %s, not softmax; the loss assumes probabilities",
                    task, activation)


# Tasks whose output has one unit (or channel) per named class of the data.
_NAMED_OUTPUTS = {"classification": ("classes", "units"), "multilabel": ("labels", "units"),
                  "segmentation": ("mask classes", "channels")}


def check_class_count(task: str, class_names: Sequence[str] | None, output_shape: tuple, description: str) -> None:
    """Data that names its classes needs exactly one output unit (or channel) per class.

    Unnamed class ids (npz, tfrecord) are checked against the output one by one instead:
    every label must be below the number of units.

    >>> check_class_count("classification", ("a", "b", "c"), (3,), "data")
    >>> check_class_count("classification", ("circle", "square", "triangle"), (10,), "builtin:shapes")
    Traceback (most recent call last):
    archspec.errors.UserError: builtin:shapes has 3 classes (circle, square, triangle) but the model's output \
has 10 units; give the last layer 3 units, or train on data with 10 classes
    """
    if class_names is None or task not in _NAMED_OUTPUTS:
        return
    what, parts = _NAMED_OUTPUTS[task]
    have, units = len(class_names), int(output_shape[-1])
    if have != units:
        shown = ", ".join(class_names[:6]) + (", ..." if have > 6 else "")
        layer = "filters" if parts == "channels" else "units"
        raise UserError(f"{description} has {have} {what} ({shown}) but the model's output has {units} {parts}",
                        f"give the last layer {have} {layer}, or train on data with {units} {what}")


def plan_targets(task: str, y: np.ndarray | None, output_shape: tuple, resize: bool,
                 sample_name: Callable[[int], str]) -> TargetPlan:
    """Check array targets against the output and convert them (e.g. one-hot to class ids)."""
    out = tuple(int(d) for d in output_shape)
    if y is None:
        return TargetPlan(None, num_classes=out[-1])
    y = np.asarray(y)
    if task in SPARSE_TASKS:
        return _sparse_targets(task, y, out, resize, sample_name)
    if task == "multilabel":
        if y.ndim == 1 or y.shape[1:] != out:
            raise UserError(f"multilabel targets have shape {y.shape[1:]} per sample but the model outputs {out}",
                            "give one 0/1 column per label, as many as the model's outputs")
        bad = np.flatnonzero(~np.all((y == 0) | (y == 1), axis=1))
        if bad.size:
            raise UserError(f"multilabel targets must be 0 or 1; {sample_name(int(bad[0]))} has {y[bad[0]].tolist()}",
                            "fix the targets")
        return TargetPlan(y.astype(np.float32), num_classes=out[-1])
    if task == "regression":
        y = y.reshape(len(y), -1).astype(np.float32) if y.ndim == 1 else y.astype(np.float32)
        if y.shape[1:] != out:
            raise UserError(f"regression targets have shape {y.shape[1:]} per sample but the model outputs {out}",
                            "make the last layer's units match the targets")
        _check_finite(y, sample_name)
        return TargetPlan(y)
    y = y.astype(np.float32)  # keypoints: heatmaps
    if y.ndim != 4 or y.shape[-1] != out[-1]:
        raise UserError(f"keypoint targets have shape {y.shape[1:]} per sample but the model outputs "
                        f"{out[-1]} heatmap channel(s)", "give one (height, width) heatmap per keypoint, as many "
                        "as the model's output channels")
    return TargetPlan(y, resize_to=_spatial(y.shape[1:3], out[:2], resize, "heatmaps"))


def _sparse_targets(task: str, y: np.ndarray, out: tuple, resize: bool,
                    sample_name: Callable[[int], str]) -> TargetPlan:
    classes = out[-1]
    if task == "classification" and y.ndim == 2 and y.shape[1] == classes and np.all((y == 0) | (y == 1)) \
            and np.all(y.sum(axis=1) == 1):
        log.info("labels are one-hot; using their class ids")
        y = y.argmax(axis=1)
    if task == "classification" and y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if task == "segmentation" and y.ndim == 4 and y.shape[-1] == 1:
        y = y[..., 0]
    want = 1 if task == "classification" else 3
    if y.ndim != want:
        form = "one integer class id per sample" if want == 1 else "an (height, width) mask of class ids per sample"
        raise UserError(f"{task} targets have shape {y.shape[1:]} per sample", f"give {form}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            index = _first_bad(y)
            raise UserError(f"{task} labels must be whole class ids; {sample_name(index)} is not",
                            "store integer labels")
        y = y.astype(np.int64)
    flat = y.reshape(len(y), -1)
    bad = np.flatnonzero((flat < 0).any(axis=1) | (flat >= classes).any(axis=1))
    if bad.size:
        i = int(bad[0])
        value = flat[i][(flat[i] < 0) | (flat[i] >= classes)][0]
        raise UserError(f"label {int(value)} of {sample_name(i)} is out of range: the model has {classes} "
                        f"classes (0..{classes - 1}); {bad.size} sample(s) affected",
                        "fix the labels, or give the last layer as many units as there are classes")
    resize_to = _spatial(y.shape[1:3], out[:2], resize, "masks") if task == "segmentation" else None
    return TargetPlan(y.astype(np.int32), resize_to=resize_to, num_classes=classes)


def _first_bad(y: np.ndarray) -> int:
    flat = y.reshape(len(y), -1)
    return int(np.flatnonzero((~np.isfinite(flat) | (flat != np.round(flat))).any(axis=1))[0])


def _spatial(have: tuple, want: tuple, resize: bool, what: str) -> tuple[int, int] | None:
    have, want = tuple(int(d) for d in have), tuple(int(d) for d in want)
    if have == want:
        return None
    if not resize:
        raise UserError(f"the {what} are {have[0]}x{have[1]} but the model outputs {want[0]}x{want[1]}",
                        "set train.data.resize: true to resize them, or change the model")
    return want


def _check_finite(y: np.ndarray, sample_name: Callable[[int], str]) -> None:
    bad = np.flatnonzero(~np.isfinite(y.reshape(len(y), -1)).all(axis=1))
    if bad.size:
        raise UserError(f"{sample_name(int(bad[0]))} has a non-finite target (NaN or inf)", "fix the targets")
