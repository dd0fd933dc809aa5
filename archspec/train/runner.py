"""``train_model``: a model factory and a train config in, a trained model and a run directory out.

The chain: runtime (strategy, seeds, precision) -> model -> data checked against it ->
optimizer, loss, metrics -> resume state -> ``fit`` over one tf.data stream of epochs with
the Recorder writing the run directory at each epoch's end. The model comes from outside
(``archspec.keras_backend.model_builder.build_model`` for a spec, any Keras model in tests), and is
built inside the strategy's scope after the seeds are set.
"""
from __future__ import annotations

import logging
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from archspec.errors import Location, RunFailure, UserError
from archspec.train.checkpoint import Checkpoint, load_latest, restore
from archspec.train.config import TrainConfig, config_from_dict, config_to_dict, resolve_config
from archspec.train.datasets import DataBundle, ModelIO, build_data
from archspec.train.distribute import Runtime, dtype_policy, effective_steps_per_execution, setup_runtime
from archspec.train.objects import build_callbacks, build_loss, build_metrics, build_optimizer
from archspec.train.recorder import Recorder, keras_callback
from archspec.train.rundir import RunDir
from archspec.train.sources import FileData, find_broken_image
from archspec.train.tasks import check_output, output_activation

log = logging.getLogger("archspec.train")
ModelFactory = Callable[[], Any]


@dataclass
class TrainResult:
    run_dir: Path
    model: Any
    history: list[dict[str, Any]]
    metrics: dict[str, Any]
    status: str


@dataclass
class Session:
    """Everything prepared before the first step."""

    cfg: TrainConfig
    runtime: Runtime
    model: Any
    data: DataBundle
    steps: int
    steps_per_execution: int
    activation: str | None
    monitor: str


def _no_loc(path: tuple) -> Location | None:
    return None


def load_run_config(run: RunDir) -> TrainConfig:
    return config_from_dict(run.read_json("train_config.json"))


def prepare_session(cfg: TrainConfig, runtime: Runtime, factory: ModelFactory,
                    locate: Callable[[tuple], Location | None], *, compile: bool = True,
                    drop_remainder: bool = False) -> Session:
    """Build the model in scope, check the data against it, compile."""
    with runtime.strategy.scope():
        model = factory()
    io = ModelIO.of(model)
    activation = output_activation(model)
    check_output(cfg.task, io.output_shape, activation)
    data = build_data(cfg, io, locate)
    natural = data.train.batches_per_epoch(drop_remainder)
    if natural == 0:
        raise UserError(f"{data.train.size} training samples make no full batch of {cfg.data.batch_size}",
                        "lower train.data.batch_size")
    steps = min(cfg.steps_per_epoch or natural, natural)
    spe = effective_steps_per_execution(cfg.steps_per_execution, steps)
    monitor = cfg.monitor or ("val_loss" if data.validation is not None else "loss")
    if compile:
        with runtime.strategy.scope():
            model.compile(optimizer=build_optimizer(cfg, steps * cfg.epochs, locate),
                          loss=build_loss(cfg, activation, locate),
                          metrics=build_metrics(cfg, io.output_shape[-1], activation, locate),
                          jit_compile=cfg.jit_compile, steps_per_execution=spe)
            model.optimizer.build(model.trainable_variables)
    return Session(cfg, runtime, model, data, steps, spe, activation, monitor)


def effective_settings(s: Session) -> dict[str, Any]:
    batch = s.cfg.data.batch_size
    return {"strategy": s.runtime.name, "replicas": s.runtime.replicas, "global_batch": batch,
            "per_replica_batch": s.runtime.per_replica(batch), "jit_compile": getattr(s.model, "jit_compile", False),
            "dtype_policy": s.runtime.policy, "steps_per_epoch": s.steps,
            "steps_per_execution": s.steps_per_execution, "seed": s.cfg.seed,
            "deterministic": s.cfg.deterministic, "monitor": s.monitor}


def log_start(s: Session, run: RunDir) -> None:
    d, e = s.data.summary, effective_settings(s)
    size = f"resized to {'x'.join(map(str, d['model_input']))}" if d.get("image_size") else \
        f"input {'x'.join(map(str, d['model_input']))}"
    log.info("data: %s, %d training / %d validation samples, %s%s", d["source"], d["samples"]["train"],
             d["samples"]["validation"], size, " (resize: builtin default)" if d["resize"] and
             s.cfg.data.resize is None else "")
    log.info("strategy %s, %d replica(s); batch %d global, %d per replica; %d steps/epoch, "
             "steps_per_execution %d", e["strategy"], e["replicas"], e["global_batch"], e["per_replica_batch"],
             e["steps_per_epoch"], e["steps_per_execution"])
    log.info("jit_compile %s; dtype policy %s; seed %d%s; run directory %s", e["jit_compile"], e["dtype_policy"],
             e["seed"], " with op determinism" if e["deterministic"] else "", run.path)
    if s.steps_per_execution != s.cfg.steps_per_execution:
        log.info("steps_per_execution %d lowered to %d, a divisor of the %d steps per epoch",
                 s.cfg.steps_per_execution, s.steps_per_execution, s.steps)


def write_run_files(run: RunDir, s: Session, spec_text: str | None, command: Sequence[str] | None,
                    resumed: Checkpoint | None) -> None:
    import keras
    import tensorflow as tf

    import archspec
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    if resumed is None:
        if spec_text is not None:
            run.write_text("spec.yaml", spec_text)
        run.write_json("train_config.json", config_to_dict(s.cfg))
        run.write_json("data.json", s.data.summary)
        run.write_json("run.json", {
            "command": list(command) if command is not None else list(sys.argv), "started": stamp,
            "versions": {"archspec": getattr(archspec, "__version__", "?"), "tensorflow": tf.__version__,
                         "keras": keras.__version__, "python": platform.python_version()},
            "effective": effective_settings(s), "resumes": []})
    else:
        info = run.read_json("run.json") if (run / "run.json").exists() else {}
        info.setdefault("resumes", []).append({"at": stamp, "from_epoch": resumed.epoch,
                                               "command": list(command) if command is not None else list(sys.argv)})
        info["effective"] = effective_settings(s)
        run.write_json("run.json", info)
        run.write_json("train_config.json", config_to_dict(s.cfg))


def train_model(model_factory: ModelFactory, config: TrainConfig | Mapping[str, Any] | None,
                run_dir: str | Path, *, resume: bool = False, spec_text: str | None = None,
                command: Sequence[str] | None = None, callbacks: Sequence[Any] = (), verbose: int | str = "auto",
                locate: Callable[[tuple], Location | None] = _no_loc, name: str = "") -> TrainResult:
    """Train ``model_factory()`` as ``config`` says, writing ``run_dir`` (created if needed).

    ``resume=True`` continues ``run_dir`` from its newest intact checkpoint (``config`` None:
    the run's own config). ``callbacks`` are extra Keras callbacks (run before the Recorder).
    """
    run = RunDir(run_dir)
    if resume:
        run = RunDir.open(run_dir)
        cfg = load_run_config(run) if config is None else _as_config(config, locate)
    else:
        cfg = _as_config(config, locate)
        if (run / "train_config.json").exists():
            raise UserError(f"{run.path} already holds a run", "continue it with resume (--resume), or choose a "
                            "new directory")
        run.checkpoints.mkdir(parents=True, exist_ok=True)
    if cfg.strategy == "multi-worker":
        from archspec.train.multiworker import train_multi_worker
        return train_multi_worker(model_factory, cfg, run, resume=resume, spec_text=spec_text,
                                  command=command, locate=locate, name=name)
    runtime = setup_runtime(cfg)
    with dtype_policy(runtime.policy):
        s = prepare_session(cfg, runtime, model_factory, locate)
        return _fit(s, run, resume, spec_text, command, callbacks, verbose, locate, name)


def _as_config(config: TrainConfig | Mapping[str, Any] | None, locate: Callable) -> TrainConfig:
    if isinstance(config, TrainConfig):
        return config
    return resolve_config(config, locate=locate)


def _fit(s: Session, run: RunDir, resume: bool, spec_text: str | None, command: Sequence[str] | None,
         callbacks: Sequence[Any], verbose: int | str, locate: Callable, name: str) -> TrainResult:
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
        log.info("the run already completed %d epochs; pass --epochs N to train longer", first)
        recorder.finish("completed")
        return _result(run, s, recorder, "completed")
    all_callbacks = [*callbacks, *user_callbacks, *tensorboard_callback(run), keras_callback(recorder)]
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


def translate_error(exc: Exception, data: DataBundle) -> UserError | RunFailure:
    """A TensorFlow error raised while training, as an archspec error naming what failed."""
    import tensorflow as tf

    if not isinstance(exc, tf.errors.OpError):
        raise exc
    text = (exc.message or str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "label out of range" in exc.message:
        detail = exc.message[exc.message.find("label out of range"):].splitlines()[0]
        return UserError(detail, "fix the labels, or give the last layer one unit per class")
    source = data.train.data
    if isinstance(exc, tf.errors.InvalidArgumentError) and isinstance(source, FileData):
        broken = find_broken_image(source.paths)
        if broken:
            return UserError(f"{broken}: cannot decode the image ({first})", "delete or replace the file")
    if isinstance(exc, tf.errors.ResourceExhaustedError):
        return RunFailure(f"out of memory while training ({first})", "lower train.data.batch_size")
    return RunFailure(f"training failed in TensorFlow: {first}", None)


def _result(run: RunDir, s: Session, recorder: Recorder, status: str) -> TrainResult:
    metrics = run.read_json("metrics.json") if (run / "metrics.json").exists() else {}
    return TrainResult(run.path, s.model, recorder.history, metrics, status)
