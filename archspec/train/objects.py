"""Keras objects from their spec entries: optimizer (with schedule), loss, metrics, callbacks.

Every entry is a Keras class name with Keras's own arguments. An unknown name or a bad
argument is a SpecError at the entry's line, with the closest Keras name as a hint.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from archspec.errors import Location, SpecError, SpecErrors, did_you_mean
from archspec.train.augment import parse_entry
from archspec.train.config import TrainConfig
from archspec.train.tasks import default_loss, default_metrics

log = logging.getLogger("archspec.train")
Locator = Callable[[tuple], "Location | None"]

_SCHEDULE_STEPS = {"CosineDecay": "decay_steps", "ExponentialDecay": "decay_steps",
                   "PolynomialDecay": "decay_steps", "InverseTimeDecay": "decay_steps",
                   "CosineDecayRestarts": "first_decay_steps"}
# The run directory writes these itself, and functions cannot be written in a spec.
_MANAGED_CALLBACKS = {"ModelCheckpoint": "best.keras and last.keras are always written",
                      "BackupAndRestore": "use --resume: checkpoints are always written",
                      "CSVLogger": "history.csv is always written",
                      "TensorBoard": "TensorBoard logs are always written to tensorboard/",
                      "ProgbarLogger": "the progress bar is always shown",
                      "History": "history.csv is always written",
                      "LambdaCallback": "a spec holds data, not code",
                      "LearningRateScheduler": "use a learning-rate schedule in train.optimizer instead"}


def _lookup(module: Any, name: str, kind: str, where: Location | None, base: type | None = None) -> Any:
    cls = getattr(module, name, None)
    if cls is None or not isinstance(cls, type) or (base is not None and not issubclass(cls, base)):
        names = [n for n in dir(module) if not n.startswith("_") and isinstance(getattr(module, n), type)]
        raise SpecErrors([SpecError(f"{kind}: Keras has no {kind} named {name!r}",
                                    did_you_mean(name, names) or f"see keras.{module.__name__.split('.')[-1]}", where)])
    return cls


def _construct(cls: Any, args: dict[str, Any], kind: str, where: Location | None) -> Any:
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise SpecErrors([SpecError(f"{kind} {cls.__name__}: {exc}",
                                    f"see the arguments of {cls.__name__} on keras.io", where)]) from None


def build_optimizer(cfg: TrainConfig, total_steps: int, locate: Locator) -> Any:
    """The optimizer with its schedule, weight decay and gradient clipping."""
    import keras

    where = locate(("train", "optimizer"))
    entry = cfg.optimizer
    args: dict[str, Any]
    if isinstance(entry, str) and entry.islower():
        name, args = {"sgd": "SGD", "adamw": "AdamW", "rmsprop": "RMSprop", "nadam": "Nadam",
                      "adamax": "Adamax", "adagrad": "Adagrad", "adadelta": "Adadelta"}.get(entry, entry.title()), {}
    else:
        name, args = parse_entry(entry)
    cls = _lookup(keras.optimizers, name, "optimizer", where, keras.optimizers.Optimizer)
    if isinstance(args.get("learning_rate"), (dict, str)):
        args["learning_rate"] = _schedule(args["learning_rate"], total_steps, locate)
    for key in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue"):
        value = getattr(cfg, key)
        if value is not None:
            args[key] = value
    return _construct(cls, args, "optimizer", where)


def _schedule(entry: Any, total_steps: int, locate: Locator) -> Any:
    import keras

    where = locate(("train", "optimizer"))
    name, args = parse_entry(entry)
    cls = _lookup(keras.optimizers.schedules, name, "learning-rate schedule", where,
                  keras.optimizers.schedules.LearningRateSchedule)
    steps_key = _SCHEDULE_STEPS.get(name)
    if steps_key and steps_key not in args:
        args[steps_key] = max(int(total_steps), 1)
        log.info("%s: %s = %d (the run's total training steps)", name, steps_key, args[steps_key])
    return _construct(cls, args, "learning-rate schedule", where)


def build_loss(cfg: TrainConfig, activation: str | None, locate: Locator) -> Any:
    import keras

    if cfg.loss is None:
        return default_loss(cfg.task, activation)
    where = locate(("train", "loss"))
    name, args = parse_entry(cfg.loss)
    if isinstance(cfg.loss, str):
        try:
            loss = keras.losses.get(name)
        except (ValueError, TypeError):
            loss = None
        if loss is None:
            names = [n for n in dir(keras.losses) if not n.startswith("_")]
            raise SpecErrors([SpecError(f"loss: Keras has no loss named {name!r}",
                                        did_you_mean(name, names) or "see keras.losses", where)])
        if "crossentropy" in name.lower() and activation == "linear":
            log.warning("warning: the model's output is linear (logits) but loss %s expects probabilities; "
                        "write {%s: {from_logits: true}}", name, _class_name(name))
        return loss
    return _construct(_lookup(keras.losses, name, "loss", where, keras.losses.Loss), args, "loss", where)


def _class_name(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def build_metrics(cfg: TrainConfig, num_classes: int | None, activation: str | None, locate: Locator) -> list[Any]:
    import keras

    if cfg.metrics is None:
        return default_metrics(cfg.task, num_classes, activation)
    metrics: list[Any] = []
    for i, entry in enumerate(cfg.metrics):
        if isinstance(entry, str):
            metrics.append(entry)  # Keras resolves names such as "accuracy" against the loss
            continue
        where = locate(("train", "metrics", i))
        name, args = parse_entry(entry)
        cls = _lookup(keras.metrics, name, "metric", where, keras.metrics.Metric)
        if name in ("MeanIoU", "IoU", "OneHotMeanIoU", "OneHotIoU") and "num_classes" not in args:
            args["num_classes"] = int(num_classes or 2)
            if name == "MeanIoU" and cfg.task == "segmentation":
                args.setdefault("sparse_y_pred", False)
        metrics.append(_construct(cls, args, "metric", where))
    return metrics


def build_callbacks(cfg: TrainConfig, locate: Locator) -> list[Any]:
    import keras

    callbacks = []
    errors = []
    for i, entry in enumerate(cfg.callbacks):
        where = locate(("train", "callbacks", i))
        name, args = parse_entry(entry)
        if name in _MANAGED_CALLBACKS:
            errors.append(SpecError(f"callbacks: {name} is managed by archspec", _MANAGED_CALLBACKS[name], where))
            continue
        cls = _lookup(keras.callbacks, name, "callback", where, keras.callbacks.Callback)
        callbacks.append(_construct(cls, args, "callback", where))
    if errors:
        raise SpecErrors(errors)
    return callbacks
