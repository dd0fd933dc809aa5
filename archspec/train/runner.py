"""``train_model``: a model factory and a train config in, a trained model and a run directory out.

The chain: runtime (strategy, seeds, precision) -> model -> data checked against it ->
optimizer, loss, metrics -> resume state -> ``fit`` over one tf.data stream of epochs with
the Recorder writing the run directory at each epoch's end. The model comes from outside
(``archspec.keras_backend.model_builder.build_model`` for a spec, any Keras model in tests), and is
built inside the strategy's scope after the seeds are set.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from archspec.errors import Location, RunFailure, UserError
from archspec.train.checkpoint import load_latest, restore
from archspec.train.config import TrainConfig, config_from_dict, resolve_config
from archspec.train.distribute import dtype_policy, is_other_worker, setup_runtime
from archspec.train.failures import translate_error
from archspec.train.multiworker import train_multi_worker
from archspec.train.objects import build_callbacks
from archspec.train.pose.callback import pose_callbacks
from archspec.train.pose.session import is_object_source, prepare_pose_session
from archspec.train.recorder import Recorder, keras_callback
from archspec.train.rundir import RunDir
from archspec.train.session import ModelFactory, Session, TrainResult, log_start, prepare_session, write_run_files

log = logging.getLogger("archspec.train")


def _no_loc(path: tuple) -> Location | None:
    return None


def load_run_config(run: RunDir) -> TrainConfig:
    return config_from_dict(run.read_json("train_config.json"))


def train_model(model_factory: ModelFactory, config: TrainConfig | Mapping[str, Any] | None,
                run_dir: str | Path, *, resume: bool = False, spec_text: str | None = None,
                command: Sequence[str] | None = None, callbacks: Sequence[Any] = (), verbose: int | str = "auto",
                locate: Callable[[tuple], Location | None] = _no_loc, name: str = "", head: Any = None) -> TrainResult:
    """Train ``model_factory()`` as ``config`` says, writing ``run_dir`` (created if needed).

    ``resume=True`` continues ``run_dir`` from its newest intact checkpoint (``config`` None:
    the run's own config). ``callbacks`` are extra Keras callbacks (run before the Recorder).
    ``head`` is the spec's resolved ``head:`` (``archspec.heads.head.Head``) for object tasks.
    """
    run = RunDir(run_dir)
    if resume:
        run = RunDir.open(run_dir)
        cfg = load_run_config(run) if config is None else _as_config(config, locate)
    else:
        cfg = _as_config(config, locate)
        if not is_other_worker(cfg.strategy):  # another worker writes nothing; the chief may have begun
            if (run / "train_config.json").exists():
                raise UserError(f"{run.path} already holds a run", "continue it with resume (--resume), or choose "
                                "a new directory")
            run.checkpoints.mkdir(parents=True, exist_ok=True)
    if cfg.strategy == "multi-worker":
        return train_multi_worker(model_factory, cfg, run, resume=resume, spec_text=spec_text,
                                  command=command, locate=locate, name=name, head=head)
    runtime = setup_runtime(cfg)
    with dtype_policy(runtime.policy):
        s, task_callbacks = _session(cfg, runtime, model_factory, locate, head)
        return _fit(s, run, resume, spec_text, command, [*callbacks, *task_callbacks], verbose, locate, name)


def _session(cfg: TrainConfig, runtime: Any, factory: ModelFactory, locate: Callable,
             head: Any) -> tuple[Session, list[Any]]:
    """The task's session and its own callbacks (a detection head's mAP)."""
    if cfg.task == "keypoints" and is_object_source(cfg.data.source):
        return prepare_pose_session(cfg, runtime, factory, locate), []
    if cfg.task not in ("detection", "instance_segmentation"):
        return prepare_session(cfg, runtime, factory, locate), []
    from archspec.train.detection.session import check_object_task, prepare_detection_session
    check_object_task(cfg, head, locate)
    return prepare_detection_session(cfg, runtime, factory, locate, head)


def _as_config(config: TrainConfig | Mapping[str, Any] | None, locate: Callable) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    return resolve_config(config, locate=locate)


def _fit(s: Session, run: RunDir, resume: bool, spec_text: str | None, command: Sequence[str] | None,
         callbacks: Sequence[Any], verbose: int | str, locate: Callable, name: str) -> TrainResult:
    pose_metrics = pose_callbacks(s, locate)  # checks train.keypoints before the run's files are written
    resumed = load_latest(run.checkpoints) if resume else None
    if resume and resumed is None:
        log.warning("warning: %s has no intact checkpoint; starting from epoch 1", run.path)
    if resumed is not None:
        with s.runtime.strategy.scope():
            restore(resumed, s.model, s.model.optimizer)
        log.info("resuming after epoch %d (checkpoint %s)", resumed.epoch,
                 run.checkpoints / f"epoch-{resumed.epoch:04d}")
    write_run_files(run, s, spec_text, command, resumed)
    log_start(s, run)
    user_callbacks = build_callbacks(s.cfg, locate)
    recorder = Recorder(run, s.model, s.monitor, s.cfg.monitor_mode, callbacks=user_callbacks, resumed=resumed,
                        title=name or s.model.name)
    first = resumed.epoch if resumed else 0
    if first >= s.cfg.epochs:
        log.info("the run already completed %s; pass --epochs N to train longer",
                 "1 epoch" if first == 1 else f"{first} epochs")
        recorder.finish("completed")
        return _result(run, s, recorder, "completed")
    all_callbacks = [*callbacks, *pose_metrics, *user_callbacks, *tensorboard_callback(run), keras_callback(recorder)]
    verbose = (1 if sys.stdout.isatty() else 2) if verbose == "auto" else verbose
    validation = s.data.validation.evaluate() if s.data.validation is not None else None
    try:
        s.model.fit(s.data.train.train(first, s.cfg.epochs, s.steps), epochs=s.cfg.epochs, initial_epoch=first,
                    steps_per_epoch=s.steps, validation_data=validation, callbacks=all_callbacks, verbose=verbose,
                    shuffle=False)
    except KeyboardInterrupt:
        recorder.finish("interrupted")
        raise
    except RunFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - TensorFlow's runtime errors become archspec errors
        error = translate_error(exc, s.data)
        recorder.fail(error.message)
        raise error from None
    done = recorder.history[-1]["epoch"] if recorder.history else first
    status = "completed" if done >= s.cfg.epochs else "stopped_early"
    recorder.finish(status)
    return _result(run, s, recorder, status)


def tensorboard_callback(run: RunDir) -> list[Any]:
    """Keras's TensorBoard callback, or nothing (with a warning) without the tensorboard package."""
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        log.warning("warning: the tensorboard package is not installed; no TensorBoard logs "
                    "(pip install tensorboard)")
        return []
    tensorboard = _epoch_tensorboard()(log_dir=str(run.tensorboard), write_graph=False, profile_batch=0)
    return [tensorboard]


def _epoch_tensorboard() -> type:
    """Keras's TensorBoard callback without its batch hooks.

    We write per-epoch summaries only, yet Keras 3's ``on_train_batch_end`` runs a
    ``summary.scalar`` op for every metric on every batch (with no writer, to no effect); on
    a small CPU model that cost a few percent of the step time. Empty batch hooks also let
    Keras dispatch callbacks asynchronously on backends that can.
    """
    import keras

    class EpochTensorBoard(keras.callbacks.TensorBoard):
        on_train_batch_begin = keras.callbacks.Callback.on_train_batch_begin
        on_train_batch_end = keras.callbacks.Callback.on_train_batch_end
        on_test_batch_begin = keras.callbacks.Callback.on_test_batch_begin
        on_test_batch_end = keras.callbacks.Callback.on_test_batch_end

    return EpochTensorBoard


def _result(run: RunDir, s: Session, recorder: Recorder, status: str) -> TrainResult:
    metrics = run.read_json("metrics.json") if (run / "metrics.json").exists() else {}
    return TrainResult(run.path, s.model, recorder.history, metrics, status)
