"""What happens at the end of every epoch, in an order that survives ``kill -9`` anywhere.

1. refuse a non-finite loss or non-finite weights (RunFailure, exit 1): nothing is written,
   so the last good checkpoint, best.keras and last.keras stay as they were;
2. best.keras when the monitored value improved;
3. the checkpoint (its JSON carries the history, best value and callback states, so a
   resumed run rewrites history.csv and metrics.json from it);
4. last.keras, history.csv, metrics.json, and curves.png at most every ``curves_every`` s.

Used by the Keras callback of ``fit`` and by the multi-worker loop alike.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

from archspec.errors import RunFailure
from archspec.train.checkpoint import Checkpoint, save_checkpoint
from archspec.train.plots import draw_curves
from archspec.train.rundir import RunDir

_MAX_WORDS = ("acc", "auc", "iou", "precision", "recall", "f1", "fbeta", "_map")
_CALLBACK_STATE = ("wait", "best", "cooldown_counter", "stopped_epoch", "best_epoch")


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """``max`` for accuracy-like metrics, ``min`` for losses and errors.

    >>> monitor_mode("val_accuracy"), monitor_mode("val_loss"), monitor_mode("val_mae", "max")
    ('max', 'min', 'max')
    """
    if mode != "auto":
        return mode
    return "max" if any(word in monitor.lower() for word in _MAX_WORDS) else "min"


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def weights_finite(model: Any) -> bool:
    import numpy as np

    return all(np.isfinite(np.asarray(v.numpy())).all() for v in model.trainable_variables)


class Recorder:
    """Keeps the history and best value; writes the run directory at each epoch's end."""

    def __init__(self, run: RunDir | None, model: Any, monitor: str, mode: str, *,
                 callbacks: Sequence[Any] = (), resumed: Checkpoint | None = None,
                 optimizer: Callable[[], Any] | None = None, title: str = "", curves_every: float = 30.0) -> None:
        self.run, self.model, self.monitor = run, model, monitor
        self.mode = monitor_mode(monitor, mode)
        self.callbacks = list(callbacks)
        self.optimizer = optimizer or (lambda: getattr(model, "optimizer", None))
        self.title, self.curves_every = title, curves_every
        meta = resumed.meta if resumed else {}
        self.history: list[dict[str, Any]] = list(meta.get("history", []))
        self.best: float | None = meta.get("best")
        self.best_epoch: int | None = meta.get("best_epoch")
        self.callback_states: list[dict[str, Any]] = list(meta.get("callbacks", []))
        self._last_curves = 0.0

    def restore_callbacks(self) -> None:
        """Put saved EarlyStopping/ReduceLROnPlateau counters back (after their on_train_begin)."""
        for callback, state in zip(self.callbacks, self.callback_states):
            for key, value in state.items():
                setattr(callback, key, value)

    def epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        """``epoch`` is 0-based as in Keras; the files count epochs from 1."""
        logs = {k: float(v) for k, v in logs.items() if _is_number(v)}
        bad = [k for k, v in logs.items() if k.endswith("loss") and not _finite(v)]
        if bad or not weights_finite(self.model):
            what = f"{bad[0]} is {logs[bad[0]]}" if bad else "the weights are no longer finite"
            self.fail(f"training diverged in epoch {epoch + 1}: {what}")
            last = self.history[-1]["epoch"] if self.history else None
            kept = f"the last good checkpoint (epoch {last}) is kept" if last else "no epoch completed"
            raise RunFailure(f"training diverged in epoch {epoch + 1}: {what}; {kept}",
                             "lower the learning rate, set train.clipnorm, or check the data for NaN/inf values")
        row = {"epoch": epoch + 1, **logs}
        self.history.append(row)
        value = logs.get(self.monitor)
        improved = value is not None and _finite(value) and (
            self.best is None or (value < self.best if self.mode == "min" else value > self.best))
        if improved:
            self.best, self.best_epoch = value, epoch + 1
        if self.run is None:
            return
        if improved:
            self.run.save_model(self.model, "best.keras")
        save_checkpoint(self.run.checkpoints, epoch + 1, self.model, self.optimizer(), {
            "history": self.history, "best": self.best, "best_epoch": self.best_epoch, "monitor": self.monitor,
            "callbacks": [_callback_state(c) for c in self.callbacks]})
        self.run.save_model(self.model, "last.keras")
        self.run.write_history(self.history)
        self._write_metrics("running")
        if time.monotonic() - self._last_curves >= self.curves_every:
            self.draw()

    def draw(self) -> None:
        if self.run is not None and self.history:
            draw_curves(self.history, self.run / "curves.png", self.title, self.monitor, self.best_epoch)
            self._last_curves = time.monotonic()

    def finish(self, status: str) -> None:
        """Final metrics.json and curves.png; ``status``: completed, stopped_early, interrupted."""
        if self.run is None:
            return
        if self.history:
            self.run.write_history(self.history)
        self._write_metrics(status)
        self.draw()

    def fail(self, reason: str) -> None:
        if self.run is not None:
            self._write_metrics("failed", reason=reason)
            self.draw()

    def _write_metrics(self, status: str, **extra: Any) -> None:
        last = self.history[-1] if self.history else {}
        self.run.write_json("metrics.json", {  # type: ignore[union-attr]
            **{k: v for k, v in last.items() if k != "epoch"},
            "epoch": last.get("epoch", 0), "best_epoch": self.best_epoch, "monitor": self.monitor,
            "best_value": self.best, "status": status, **extra})


def _is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _callback_state(callback: Any) -> dict[str, Any]:
    state = {}
    for key in _CALLBACK_STATE:
        value = getattr(callback, key, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            state[key] = float(value) if isinstance(value, float) else int(value)
        elif value is not None and hasattr(value, "item") and getattr(value, "size", 2) == 1:
            state[key] = value.item()
    return state


def keras_callback(recorder: Recorder) -> Any:
    """The Recorder as a Keras callback; put it last so the others have updated their state."""
    import keras

    class RecorderCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            recorder.restore_callbacks()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            recorder.epoch_end(epoch, dict(logs or {}))

    return RecorderCallback()
