"""What both training loops share (Keras's ``fit`` in ``runner``, our own step in
``multiworker``): the session prepared before the first step, the run's start-up files and
log lines, and the result.
"""
from __future__ import annotations

import logging
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from archspec.errors import Location, UserError
from archspec.train.checkpoint import Checkpoint
from archspec.train.config import TrainConfig, config_to_dict
from archspec.train.datasets import DataBundle, ModelIO, build_data
from archspec.train.distribute import Runtime, effective_steps_per_execution
from archspec.train.objects import build_loss, build_metrics, build_optimizer
from archspec.train.rundir import RunDir
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
    steps, spe = epoch_steps(cfg, data.train, drop_remainder, "training samples")
    monitor = cfg.monitor or ("val_loss" if data.validation is not None else "loss")
    if compile:
        compile_for_task(model, cfg, runtime, io, activation, steps, spe, locate)
    return Session(cfg, runtime, model, data, steps, spe, activation, monitor)


def epoch_steps(cfg: TrainConfig, train: Any, drop_remainder: bool, what: str) -> tuple[int, int]:
    """Steps per epoch (at most one pass over ``train``, a pipeline with ``batches_per_epoch``)
    and the steps per execution that divide them; UserError when the data makes no full batch."""
    natural = train.batches_per_epoch(drop_remainder)
    if natural == 0:
        raise UserError(f"{train.size} {what} make no full batch of {cfg.data.batch_size}",
                        "lower train.data.batch_size")
    steps = min(cfg.steps_per_epoch or natural, natural)
    return steps, effective_steps_per_execution(cfg.steps_per_execution, steps)


def compile_for_task(model: Any, cfg: TrainConfig, runtime: Runtime, io: ModelIO, activation: str | None,
                     steps: int, spe: int, locate: Callable[[tuple], Location | None]) -> None:
    """Compile with the spec's (or the task's default) optimizer, loss and metrics, in scope."""
    with runtime.strategy.scope():
        model.compile(optimizer=build_optimizer(cfg, steps * cfg.epochs, locate),
                      loss=build_loss(cfg, activation, locate),
                      metrics=build_metrics(cfg, io.output_shape[-1], activation, locate),
                      jit_compile=cfg.jit_compile, steps_per_execution=spe)
        model.optimizer.build(model.trainable_variables)


def effective_settings(s: Session) -> dict[str, Any]:
    batch = s.cfg.data.batch_size
    return {"strategy": s.runtime.name, "replicas": s.runtime.replicas, "global_batch": batch,
            "per_replica_batch": s.runtime.per_replica(batch), "jit_compile": getattr(s.model, "jit_compile", False),
            "dtype_policy": s.runtime.policy, "steps_per_epoch": s.steps,
            "steps_per_execution": s.steps_per_execution, "seed": s.cfg.seed,
            "deterministic": s.cfg.deterministic, "monitor": s.monitor}


def input_text(summary: dict[str, Any], resize_setting: bool | None) -> str:
    """What the data log line says about the model input: a resize only when one happens.

    >>> input_text({"model_input": [32, 32, 1], "data_image_sizes": [[8, 8]], "resized": True}, None)
    'resized from 8x8 to 32x32x1 (resize: builtin default)'
    >>> input_text({"model_input": [64, 64, 3], "data_image_sizes": [[64, 64]], "resized": False}, None)
    'input 64x64x3'
    >>> input_text({"model_input": [8, 8, 3], "data_image_sizes": [[9, 9], [10, 12], [12, 9], [20, 20]],
    ...             "resized": True}, True)
    'resized from 4 sizes (9x9, 10x12, 12x9, ...) to 8x8x3'
    >>> input_text({"model_input": [64, 64, 3], "data_image_sizes": [[48, 80]], "resized": True,
    ...             "resize": "letterbox (aspect kept, grey 0.5 padding)"}, None)
    'letterboxed from 48x80 to 64x64x3 (aspect kept, grey 0.5 padding)'
    """
    shape = "x".join(map(str, summary["model_input"]))
    if not summary.get("resized"):
        return f"input {shape}"
    sizes = ["x".join(map(str, size)) for size in summary["data_image_sizes"]]
    origin = sizes[0] if len(sizes) == 1 else \
        f"{len(sizes)} sizes ({', '.join(sizes[:3])}{', ...' if len(sizes) > 3 else ''})"
    if str(summary.get("resize", "")).startswith("letterbox"):  # object data: aspect kept, padded
        return f"letterboxed from {origin} to {shape} (aspect kept, grey 0.5 padding)"
    default = " (resize: builtin default)" if resize_setting is None else ""
    return f"resized from {origin} to {shape}{default}"


def log_start(s: Session, run: RunDir) -> None:
    d, e = s.data.summary, effective_settings(s)
    log.info("data: %s, %d training / %d validation samples, %s", d["source"], d["samples"]["train"],
             d["samples"]["validation"], input_text(d, s.cfg.data.resize))
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
