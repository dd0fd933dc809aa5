"""Multi-worker training: our own small step under ``strategy.run``.

Keras 3's ``fit`` does not run under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585),
so this loop does what ``fit`` would: each worker takes its slice of every global batch
(``distribute_datasets_from_function``), computes its share of the loss of the *global* batch,
and the Keras optimizer all-reduces (sums) the gradients in ``apply_gradients``. Every worker
ends each step with the same weights. Detection and instance segmentation train the losses the
one-process session compiles, their counts of matches taken over the global batch
(``archspec.train.detection.distributed``). Validation runs on each worker over the whole
validation set (identical everywhere); only the chief writes the run directory, through the
same Recorder as ``fit``. ``--resume`` reads the chief's checkpoints, so the run directory
must be on a file system all workers see.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from archspec.errors import Location, RunFailure, UserError
from archspec.train.checkpoint import load_latest, restore
from archspec.train.config import TrainConfig
from archspec.train.distribute import Runtime, dtype_policy, make_strategy, setup_runtime
from archspec.train.failures import translate_error
from archspec.train.objects import build_loss, build_metrics, build_optimizer
from archspec.train.pose.callback import pose_logs
from archspec.train.pose.session import is_object_source, prepare_pose_session
from archspec.train.recorder import Recorder
from archspec.train.rundir import RunDir
from archspec.train.session import Session, TrainResult, log_start, prepare_session, write_run_files

log = logging.getLogger("archspec.train")
OBJECT_TASKS = ("detection", "instance_segmentation")


@dataclass
class StepLoss:
    """What the loop trains and validates with.

    ``replica(y, pred)``: a replica's share of the global batch's loss, in ``strategy.run``
    (the replicas' shares sum to it); ``batch(y, pred)``: a validation batch's mean loss;
    ``metrics``: Keras metrics updated on validation batches; ``logs()``: the task's own
    ``val_`` scores at each epoch's end (keypoints' PCK and OKS AP, detection's mAP).
    """

    replica: Callable[[Any, Any], Any]
    batch: Callable[[Any, Any], Any]
    metrics: list[Any] = field(default_factory=list)
    logs: Callable[[], dict[str, float]] = dict


def train_multi_worker(model_factory: Callable[[], Any], cfg: TrainConfig, run: RunDir, *, resume: bool,
                       spec_text: str | None, command: Sequence[str] | None,
                       locate: Callable[[tuple], Location | None], name: str, head: Any = None) -> TrainResult:
    if cfg.task in OBJECT_TASKS:
        from archspec.train.detection.session import check_object_task
        check_object_task(cfg, head, locate)
    runtime = setup_runtime(cfg, make_strategy("multi-worker"))  # the strategy before any other TF op
    if cfg.data.batch_size % runtime.replicas:
        raise UserError(f"train.data.batch_size {cfg.data.batch_size} is not divisible by the "
                        f"{runtime.replicas} replicas", "make the global batch a multiple of the replica count")
    with dtype_policy(runtime.policy):
        s, losses = _prepare(cfg, runtime, model_factory, locate, head)
        with runtime.strategy.scope():
            optimizer = build_optimizer(cfg, s.steps * cfg.epochs, locate)
            optimizer.build(s.model.trainable_variables)
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
        step = _make_step(runtime.strategy, s.model, optimizer, losses.replica, s.steps_per_execution)
        evaluate = _make_evaluate(s, losses)
        dataset = runtime.strategy.distribute_datasets_from_function(
            lambda ctx: s.data.train.train(first, cfg.epochs, s.steps,
                                           shard=(ctx.num_input_pipelines, ctx.input_pipeline_id)))
        iterator = iter(dataset)
        try:
            for epoch in range(first, cfg.epochs):
                total = sum(float(step(iterator)) for _ in range(s.steps // s.steps_per_execution))
                logs = {"loss": total / s.steps, **evaluate(), **losses.logs()}
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


def _prepare(cfg: TrainConfig, runtime: Runtime, factory: Callable[[], Any], locate: Callable[[tuple], Location | None],
             head: Any) -> tuple[Session, StepLoss]:
    """The task's session, uncompiled, on whole global batches, and the losses of its step."""
    import tensorflow as tf

    if cfg.task in OBJECT_TASKS:  # the one-process session's losses, counted over the global batch
        from archspec.train.detection.distributed import map_logs, object_loss, replica_object_loss
        from archspec.train.detection.session import prepare_detection_session

        s, _ = prepare_detection_session(cfg, runtime, factory, locate, head, compile=False, drop_remainder=True)
        return s, StepLoss(replica_object_loss(s.losses, s.mask_loss), object_loss(s.losses, s.mask_loss),
                           logs=map_logs(s))
    prepare = prepare_pose_session if cfg.task == "keypoints" and is_object_source(cfg.data.source) \
        else prepare_session
    s = prepare(cfg, runtime, factory, locate, compile=False, drop_remainder=True)
    scores = pose_logs(s, locate)  # keypoints: PCK and OKS AP, as fit's callback adds them
    loss_fn, batch = build_loss(cfg, s.activation, locate), cfg.data.batch_size
    metrics = [_metric_object(m, cfg.task)
               for m in build_metrics(cfg, s.model.outputs[0].shape[-1], s.activation, locate)]
    return s, StepLoss(
        lambda y, pred: tf.nn.compute_average_loss(_per_sample_loss(loss_fn, y, pred), global_batch_size=batch),
        lambda y, pred: tf.reduce_mean(_per_sample_loss(loss_fn, y, pred)), metrics, scores)


def _make_step(strategy: Any, model: Any, optimizer: Any, replica_loss: Callable[[Any, Any], Any],
               steps_per_execution: int) -> Callable:
    """``steps_per_execution`` training steps per call; returns the sum of their losses."""
    import tensorflow as tf

    def replica_step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            loss = replica_loss(y, pred)
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


def _make_evaluate(s: Session, losses: StepLoss) -> Callable[[], dict[str, float]]:
    """Validation loss (with the model's regularisation, as ``fit`` reports it) and metrics,
    computed on each worker outside the strategy."""
    import keras
    import tensorflow as tf

    if s.data.validation is None:
        return dict
    dataset = s.data.validation.evaluate()
    mean_loss = keras.metrics.Mean(name="loss")

    @tf.function
    def update(x: Any, y: Any) -> None:
        pred = s.model(x, training=False)
        loss = tf.cast(losses.batch(y, pred), tf.float32)
        if s.model.losses:
            loss += tf.add_n(s.model.losses)
        mean_loss.update_state(loss, sample_weight=tf.cast(tf.shape(x)[0], tf.float32))
        for metric in losses.metrics:
            metric.update_state(y, pred)

    def run() -> dict[str, float]:
        for metric in [mean_loss, *losses.metrics]:
            metric.reset_state()
        for x, y in dataset:
            update(x, y)
        return {f"val_{m.name}": float(m.result()) for m in [mean_loss, *losses.metrics]}

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
