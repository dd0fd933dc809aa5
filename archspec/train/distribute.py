"""Strategies, precision and seeds: the runtime a run trains in.

``default``: one device. ``mirrored``: ``tf.distribute.MirroredStrategy`` over all local GPUs
(over the logical CPU devices when there is no GPU but several CPU devices are configured,
as Keras's own CI tests it). ``multi-worker``: ``MultiWorkerMirroredStrategy`` configured
from ``TF_CONFIG``; Keras 3's ``fit`` does not run under it (keras-team/keras#20585), so
``multiworker`` has a small training loop of its own.
"""
from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from archspec.errors import UserError
from archspec.train.config import TrainConfig

log = logging.getLogger("archspec.train")


@dataclass
class Runtime:
    strategy: Any
    name: str
    replicas: int
    policy: str
    is_chief: bool = True
    worker: tuple[int, int] | None = None  # (workers, this worker's index)

    def per_replica(self, global_batch: int) -> int:
        return global_batch // max(self.replicas, 1)


def make_strategy(name: str) -> tuple[Any, tuple[int, int] | None, bool]:
    """(strategy, (workers, index) for multi-worker, is_chief)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy(), None, True
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy(), None, True
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        if len(cpus) < 2:
            log.warning("warning: --strategy mirrored found no GPU; training on one CPU replica")
        return tf.distribute.MirroredStrategy(cpus, cross_device_ops=tf.distribute.ReductionToOneDevice()), None, True
    workers, index, is_chief = worker_role(os.environ.get("TF_CONFIG"))
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return strategy, (workers, index), is_chief


def is_other_worker(strategy: str) -> bool:
    """A multi-worker worker that is not the chief: it trains but writes no run directory (the
    chief's, the same ``--out`` on a shared file system, may already hold the chief's files)."""
    if strategy != "multi-worker" or not os.environ.get("TF_CONFIG"):
        return False
    try:
        return not worker_role(os.environ["TF_CONFIG"])[2]
    except UserError:
        return False  # a bad TF_CONFIG is reported where the strategy is made, after the spec's own checks


def worker_role(config: str | None) -> tuple[int, int, bool]:
    """(workers, this worker's index, is it the chief) from the text of ``TF_CONFIG``.

    >>> worker_role('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}')
    (2, 1, False)
    >>> worker_role('{"cluster": {"chief": ["a:1"], "worker": ["b:1"]}, "task": {"type": "chief", "index": 0}}')
    (2, 0, True)
    """
    if not config:
        raise UserError("--strategy multi-worker needs the TF_CONFIG environment variable",
                        'set TF_CONFIG=\'{"cluster": {"worker": ["host1:port", "host2:port"]}, '
                        '"task": {"type": "worker", "index": 0}}\' on each worker')
    try:
        task = json.loads(config)["task"]
        cluster = json.loads(config)["cluster"]
        workers = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
        index = int(task.get("index", 0)) + (1 if task.get("type") == "worker" and "chief" in cluster else 0)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise UserError(f"TF_CONFIG is not valid ({exc})", "it needs 'cluster' and 'task' entries") from None
    is_chief = task.get("type") == "chief" or (task.get("type") == "worker" and index == 0)
    return workers, index, is_chief


def setup_runtime(cfg: TrainConfig, strategy: tuple[Any, tuple[int, int] | None, bool] | None = None) -> Runtime:
    """Create the strategy (first: multi-worker needs it before any other TF op), then seed."""
    import keras
    import tensorflow as tf

    made = strategy or make_strategy(cfg.strategy)
    keras.utils.set_random_seed(cfg.seed)
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    policy = "float32"
    if cfg.mixed_precision:
        gpu = bool(tf.config.list_physical_devices("GPU"))
        policy = "mixed_float16" if gpu else "mixed_bfloat16"
        if not gpu:
            log.warning("warning: mixed precision on CPU uses bfloat16, which is usually slower than float32 "
                        "unless the CPU has AMX or AVX512-BF16")
    return Runtime(made[0], cfg.strategy, int(made[0].num_replicas_in_sync), policy,
                   is_chief=made[2], worker=made[1])


@contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Set Keras's global dtype policy for building the model; put the old one back after."""
    import keras

    old = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(old)


def effective_steps_per_execution(requested: int, steps_per_epoch: int) -> int:
    """The largest divisor of the epoch's steps not above the request: an execution
    never runs into the next epoch's batches.

    >>> effective_steps_per_execution(8, 28), effective_steps_per_execution(4, 28)
    (7, 4)
    """
    for n in range(min(requested, steps_per_epoch), 0, -1):
        if steps_per_epoch % n == 0:
            return n
    return 1
