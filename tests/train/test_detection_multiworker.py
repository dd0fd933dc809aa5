"""Detection and instance segmentation under ``--strategy multi-worker``.

The loss rule, for every head kind (anchors, anchors with masks, FCOS points with masks): a
replica's loss with the counts of matches summed over the replicas makes, over the replicas,
the one-process loss of the whole batch (two replicas simulated in this process).

Then one real run through the CLI: two local workers (TF_CONFIG on free localhost ports) train
a YOLOv5-style instance segmenter (its levels' losses are detection's) for one epoch while this
process trains it alone: the workers end with the same weights, those of the one process, the
chief's history has its loss and val_loss, and its run directory the epoch's box and mask mAP.
About 15 s of CPU a worker, most of it TensorFlow's import and the step's trace.

Tolerance: the workers' weights are equal (the all-reduced gradients are the same on both);
against one process they agree to rtol 1e-5 / atol 1e-6 (the batch's sums are added in
another order: per worker, then across the two), as in the other multi-worker tests. SGD, so
that the weights follow the gradients' size (Adam's first steps are near lr x sign).
"""
from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from object_specs import shapes_train, tiny_detector, tiny_segmenter
from train_testkit import restore_tf_state  # noqa: F401  (the one-process runs train in this process)

ROOT = Path(__file__).resolve().parents[2]


def _train(task: str) -> str:
    """One epoch on 12 shapes, 4 a batch, by SGD (the weights follow the gradients' size)."""
    return shapes_train(task, 12, 4, 0.34, "optimizer: {SGD: {learning_rate: 0.05}}",
                        augment="[{RandomFlip: {mode: horizontal}}]")


DETECTOR = tiny_detector(_train("detection"))
# anchor-free (FCOS points) with 4 mask coefficients after the 3 class scores; prototypes at stride 4
SEGMENTER = tiny_segmenter(_train("instance_segmentation"), anchors=False)
ANCHORED_SEGMENTER = tiny_segmenter(_train("instance_segmentation"))

# The real CLI; the weights the run ends with are saved beside it (a non-chief writes no files).
_RUN = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
import numpy as np
import archspec.train.runner as runner
from archspec.cli import main
train_model = runner.train_model

def keep_weights(*args, **kwargs):
    result = train_model(*args, **kwargs)
    np.savez({weights!r}, *result.model.get_weights())
    return result

runner.train_model = keep_weights
main({args!r}, standalone_mode=False)
sys.exit(0 if Path({weights!r}).is_file() else 1)  # the CLI reports an error and returns
"""


def _free_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return int(free.getsockname()[1])


def _start(args: list[str], weights: Path, tf_config: dict[str, Any] | None) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    code = _RUN.format(root=str(ROOT), weights=str(weights), args=["train", *args])
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _cluster(args_of: Any, weights_of: Any, meanwhile: Any = None) -> Any:
    """Two workers (``args_of(index)``, ``weights_of(index)``) to the end; ``meanwhile()`` runs here
    while they train (its result is returned)."""
    ports = [_free_port(), _free_port()]
    jobs = [_start(args_of(i), weights_of(i), {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                               "task": {"type": "worker", "index": i}}) for i in range(2)]
    try:
        result = meanwhile() if meanwhile is not None else None
        finished = [job.communicate(timeout=300) for job in jobs]
    finally:
        for job in jobs:
            job.kill()
    for job, (out, err) in zip(jobs, finished):
        assert job.returncode == 0, (out + err)[-3000:]
    return result


def _one_process(*args: str) -> list[np.ndarray]:
    """``archspec train ARGS`` in this process (while the workers run); the weights it ends with."""
    from click.testing import CliRunner

    import archspec.train.runner as runner
    from archspec.cli import main

    kept: list[list[np.ndarray]] = []
    train_model = runner.train_model

    def keep_weights(*a: Any, **k: Any) -> Any:
        result = train_model(*a, **k)
        kept.append(result.model.get_weights())
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "train_model", keep_weights)
        patch.delenv("TF_CONFIG", raising=False)
        result = CliRunner().invoke(main, ["train", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return kept[0]


def _history(run: Path) -> list[dict[str, float]]:
    with open(run / "history.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def _weights(path: Path) -> list[np.ndarray]:
    saved = np.load(path)
    return [saved[key] for key in saved.files]


def _same_training(multi: Path, single: Path, rows: int) -> None:
    """The chief's history (loss, val_loss) is the one-process run's, epoch for epoch."""
    ours, theirs = _history(multi), _history(single)
    assert len(ours) == rows and len(theirs) >= rows
    for mine, reference in zip(ours, theirs[:rows]):
        for key in ("loss", "val_loss"):
            np.testing.assert_allclose(mine[key], reference[key], rtol=1e-5, err_msg=key)


def _close(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


class TwoReplicas:
    """``batch_total`` of two replicas in lockstep, without a cluster: a first pass records each
    replica's counts in call order, the second hands each call their sum (an all-reduce)."""

    def __init__(self) -> None:
        self.counts: list[list[Any]] = [[], []]
        self.replica, self.replay, self.calls = 0, False, 0

    def batch_total(self, count: Any) -> tuple[Any, float]:
        if not self.replay:
            self.counts[self.replica].append(count)
            return count, 1.0
        self.calls += 1
        return self.counts[0][self.calls - 1] + self.counts[1][self.calls - 1], 2.0


@pytest.mark.parametrize("spec", [DETECTOR, ANCHORED_SEGMENTER, SEGMENTER], ids=["anchors", "anchors-masks",
                                                                                "points-masks"])
def test_the_halves_losses_with_global_counts_make_the_whole_batch_loss(spec: str, monkeypatch: Any) -> None:
    """The step's rule on every term (box, class and mask over matches or points; objectness and
    scores over cells): each half's loss with the counts summed over both halves, halved as Keras
    scales a replica's loss, adds up to the one-process loss of the whole batch; with each half's
    own counts (what the step would give without the all-reduce) it does not."""
    import tensorflow as tf

    import archspec.train.detection.loss as level_loss
    import archspec.train.detection.point_loss as point_loss
    import archspec.train.instances.loss as masks_loss
    from archspec.api import compile_text
    from archspec.train.annotations.dataset import object_dataset
    from archspec.train.annotations.load import load_objects
    from archspec.train.detection.data import packed_targets
    from archspec.train.detection.distributed import object_loss
    from archspec.train.detection.loss import head_losses
    from archspec.train.instances.training import mask_loss, output_losses, training_targets

    head = compile_text(spec).head
    task = "instance_segmentation" if head.prototypes else "detection"
    data = load_objects({"builtin": "shapes", "samples": 4, "size": 32, "seed": 5}, task)
    _, targets = next(iter(object_dataset(data, (32, 32, 3), 4)))
    names = [level.name for level in head.levels] + ([head.prototypes] if head.prototypes else [])
    packed = packed_targets(targets, 1)[0]
    y = training_targets(names, head, targets, packed) if head.prototypes else (packed,) * len(names)
    shapes = [(*level.grid, level.channels) for level in head.levels] + ([(8, 8, 4)] if head.prototypes else [])
    scale = tf.constant([1.0, 1.0, 3.0, 3.0])  # the halves' matches score differently
    y_pred = [tf.random.stateless_normal((4, *shape), seed=(1, k)) * tf.reshape(scale, [4, 1, 1, 1])
              for k, shape in enumerate(shapes)]
    weights = {"box_weight": 1.0, "class_weight": 1.0, "mask_weight": 1.0}  # the terms over matches, weighed up
    levels = head_losses(head, weights)
    loss = object_loss(output_losses(names, head, levels) if head.prototypes else levels,
                       mask_loss(names, head, weights) if head.prototypes else None)
    whole = float(loss(y, y_pred))
    replicas = TwoReplicas()
    for module in (level_loss, point_loss, masks_loss):
        monkeypatch.setattr(module, "batch_total", replicas.batch_total)

    def half(r: int) -> Any:
        replicas.replica, replicas.calls = r, 0
        return loss(tuple(t[2 * r:2 * r + 2] for t in y), [p[2 * r:2 * r + 2] for p in y_pred])

    local = [float(half(r)) for r in range(2)]          # each half's own counts
    replicas.replay = True
    shares = [float(half(r)) / 2.0 for r in range(2)]   # the global batch's counts; Keras's 1 / replicas
    assert replicas.calls == len(replicas.counts[1]) > 0
    np.testing.assert_allclose(sum(shares), whole, rtol=1e-6)
    assert abs(sum(local) / 2.0 - whole) > 1e-2 * whole    # the halves hold different numbers of matches


def _train_both_ways(folder: Path, spec_text: str) -> list[np.ndarray]:
    """Two workers train one epoch with the same --out, as the docs say to (only the chief writes
    it; the other worker must not refuse the folder the chief has begun) while this process
    trains it alone; the one-process weights."""
    spec = folder / "tiny.yaml"
    spec.write_text(spec_text)
    single = _cluster(lambda i: [str(spec), "--out", str(folder / "worker0"), "--strategy", "multi-worker"],
                      lambda i: folder / f"worker{i}.npz",
                      lambda: _one_process(str(spec), "--out", str(folder / "single")))
    workers = [_weights(folder / f"worker{i}.npz") for i in range(2)]
    for a, b in zip(*workers):
        np.testing.assert_array_equal(a, b)
    _close(workers[0], single)
    _same_training(folder / "worker0", folder / "single", rows=1)
    return single


def test_two_workers_train_instance_segmentation_as_one_process(tmp_path: Path) -> None:
    """YOLOv5 levels (assignment, CIoU, BCE) and the YOLACT mask loss, one run: the detection
    losses are the levels' own, so this is also the detection run (with masks on top)."""
    _train_both_ways(tmp_path, ANCHORED_SEGMENTER)
    chief = tmp_path / "worker0"
    assert json.loads((chief / "data.json").read_text())["samples"] == {"train": 8, "validation": 4}
    effective = json.loads((chief / "run.json").read_text())["effective"]
    assert (effective["strategy"], effective["replicas"], effective["per_replica_batch"]) == ("multi-worker", 2, 2)
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["monitor"] == "val_mask_map" and metrics["status"] == "completed"
    assert 0.0 <= metrics["val_map"] <= metrics["val_map50"] <= 1.0
    assert 0.0 <= metrics["val_mask_map"] <= metrics["val_mask_map50"] <= 1.0
    assert {"val_map", "val_map50", "val_mask_map", "val_mask_map50"} <= set(_history(chief)[0])
    assert (chief / "best.keras").is_file() and (chief / "last.keras").is_file()
