"""Multi-worker training: our own small step under ``strategy.run``.

Keras 3's ``fit`` does not run under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585),
so this loop does what ``fit`` would: each worker takes its slice of every global batch
(``distribute_datasets_from_function``), computes the loss averaged over the *global* batch,
and the Keras optimizer all-reduces the gradients in ``apply_gradients``. Every worker ends
each step with the same weights. Validation runs on each worker over the whole validation
set (identical everywhere); only the chief writes the run directory, through the same
Recorder as ``fit``. ``--resume`` reads the chief's checkpoints, so the run directory must
be on a file system all workers see.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from archspec.errors import Location, RunFailure, UserError
from archspec.train.checkpoint import load_latest, restore
from archspec.train.config import TrainConfig
from archspec.train.distribute import dtype_policy, make_strategy, setup_runtime
from archspec.train.failures import translate_error
from archspec.train.objects import build_loss, build_metrics, build_optimizer
from archspec.train.pose.callback import pose_logs
from archspec.train.pose.session import is_object_source, prepare_pose_session
from archspec.train.recorder import Recorder
from archspec.train.rundir import RunDir
from archspec.train.session import TrainResult, log_start, prepare_session, write_run_files

log = logging.getLogger("archspec.train")


def train_multi_worker(model_factory: Callable[[], Any], cfg: TrainConfig, run: RunDir, *, resume: bool,
                       spec_text: str | None, command: Sequence[str] | None,
                       locate: Callable[[tuple], Location | None], name: str) -> TrainResult:
    if cfg.task in ("detection", "instance_segmentation"):  # their losses read several outputs; this step one
        raise UserError(f"strategy: multi-worker does not train a {cfg.task} head (its step takes one output "
                        "and one loss)", "train it in one process (strategy: default, or mirrored for "
                        "several devices)", locate(("train", "strategy")))
    runtime = setup_runtime(cfg, make_strategy("multi-worker"))  # the strategy before any other TF op
    workers, index = runtime.worker or (1, 0)
    if cfg.data.batch_size % runtime.replicas:
        raise UserError(f"train.data.batch_size {cfg.data.batch_size} is not divisible by the "
                        f"{runtime.replicas} replicas", "make the global batch a multiple of the replica count")
    with dtype_policy(runtime.policy):
        prepare = prepare_pose_session if cfg.task == "keypoints" and is_object_source(cfg.data.source) \
            else prepare_session
        s = prepare(cfg, runtime, model_factory, locate, compile=False, drop_remainder=True)
        pose_scores = pose_logs(s, locate)  # keypoints: PCK and OKS AP, as fit's callback adds them
        with runtime.strategy.scope():
            optimizer = build_optimizer(cfg, s.steps * cfg.epochs, locate)
            optimizer.build(s.model.trainable_variables)
        loss_fn = build_loss(cfg, s.activation, locate)
        resumed = load_latest(run.checkpoints) if resume else None
        if resumed is not None:
            with runtime.strategy.scope():
                restore(resumed, s.model, optimizer)
        chief_run = run if runtime.is_chief else None
        if chief_run is not None:
            write_run_files(chief_run, s, spec_text, command, resumed)
            log_start(s, chief_run)
        recorder = Recorder(chief_run, s.model, s.monitor, cfg.monitor_mode, resumed=resumed,
                            optimizer=lambda: optimizer, title=name or s.model.name)
        first = resumed.epoch if resumed else 0
        if cfg.jit_compile is True:
            log.warning("warning: jit_compile is not applied to the multi-worker training step")
        step = _make_step(runtime.strategy, s.model, optimizer, loss_fn, cfg.data.batch_size, s.steps_per_execution)
        evaluate = _make_evaluate(cfg, s, loss_fn, locate)
        dataset = runtime.strategy.distribute_datasets_from_function(
            lambda ctx: s.data.train.train(first, cfg.epochs, s.steps,
                                           shard=(ctx.num_input_pipelines, ctx.input_pipeline_id)))
        iterator = iter(dataset)
        try:
            for epoch in range(first, cfg.epochs):
                total = sum(float(step(iterator)) for _ in range(s.steps // s.steps_per_execution))
                logs = {"loss": total / s.steps, **evaluate(), **pose_scores()}
                if runtime.is_chief:
                    print(f"epoch {epoch + 1}/{cfg.epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()),
                          file=sys.stderr if not sys.stdout.isatty() else sys.stdout, flush=True)
                recorder.epoch_end(epoch, logs)
        except RunFailure:
            raise
        except KeyboardInterrupt:
            recorder.finish("interrupted")
            raise
        except Exception as exc:  # noqa: BLE001
            error = translate_error(exc, s.data)
            recorder.fail(error.message)
            raise error from None
        recorder.finish("completed")
        metrics = run.read_json("metrics.json") if runtime.is_chief and (run / "metrics.json").exists() else {}
        return TrainResult(Path(run.path), s.model, recorder.history, metrics, "completed")


def _make_step(strategy: Any, model: Any, optimizer: Any, loss_fn: Any, global_batch: int,
               steps_per_execution: int) -> Callable:
    """``steps_per_execution`` training steps per call; returns the sum of their losses."""
    import tensorflow as tf

    def replica_step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            per_sample = _per_sample_loss(loss_fn, y, pred)
            loss = tf.nn.compute_average_loss(per_sample, global_batch_size=global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def step(iterator: Any) -> Any:
        total = tf.constant(0.0)
        for _ in tf.range(steps_per_execution):
            x, y = next(iterator)
            losses = strategy.run(replica_step, args=(x, y))
            total += strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)
        return total

    return step


def _per_sample_loss(loss_fn: Any, y: Any, pred: Any) -> Any:
    import keras
    import tensorflow as tf

    pred = tf.cast(pred, tf.float32)
    values = loss_fn.call(y, pred) if isinstance(loss_fn, keras.losses.Loss) else loss_fn(y, pred)
    values = tf.cast(values, tf.float32)
    rank = values.shape.rank or 1
    return tf.reduce_mean(values, axis=list(range(1, rank))) if rank > 1 else values


def _make_evaluate(cfg: TrainConfig, s: Any, loss_fn: Any, locate: Callable) -> Callable[[], dict[str, float]]:
    """Validation loss and metrics, computed on each worker outside the strategy."""
    import keras
    import tensorflow as tf

    if s.data.validation is None:
        return dict
    dataset = s.data.validation.evaluate()
    metrics = [_metric_object(m, cfg.task)
               for m in build_metrics(cfg, s.model.outputs[0].shape[-1], s.activation, locate)]
    mean_loss = keras.metrics.Mean(name="loss")

    @tf.function
    def update(x: Any, y: Any) -> None:
        pred = s.model(x, training=False)
        mean_loss.update_state(_per_sample_loss(loss_fn, y, pred))
        for metric in metrics:
            metric.update_state(y, pred)

    def run() -> dict[str, float]:
        for metric in [mean_loss, *metrics]:
            metric.reset_state()
        for x, y in dataset:
            update(x, y)
        return {f"val_{m.name}": float(m.result()) for m in [mean_loss, *metrics]}

    return run


def _metric_object(metric: Any, task: str) -> Any:
    """A metric name as ``compile`` would resolve it, as a Metric object."""
    import keras

    if not isinstance(metric, str):
        return metric
    if metric in ("accuracy", "acc"):
        if task in ("classification", "segmentation"):
            return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        return keras.metrics.BinaryAccuracy(name="accuracy") if task == "multilabel" else \
            keras.metrics.Accuracy(name="accuracy")
    found = keras.metrics.get(metric)
    return found if isinstance(found, keras.metrics.Metric) else keras.metrics.MeanMetricWrapper(found, name=metric)
