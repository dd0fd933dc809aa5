"""Multi-worker keypoints training on object data: each worker reads its slice of every global
batch (the slices together are the one-process batch, augmented alike), and two workers train
the weights one process trains."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archspec.errors import UserError

SOURCE = {"builtin": "shapes", "samples": 12, "size": 16, "objects": 2}

_RUN = """
import json, sys
import numpy as np
sys.path.insert(0, {tests!r})
from train_testkit import dense_map
from archspec.train.runner import train_model
config = {{"task": "keypoints", "epochs": 1, "deterministic": False, {strategy}
          "data": {{"source": {source!r}, "batch_size": 4, "validation_split": 0.34,
                   "augment": [{{"RandomFlip": {{"mode": "horizontal"}}}}]}}}}
result = train_model(dense_map((16, 16, 3), 3, None), config, {out!r}, verbose=0)
np.savez({out!r} + ".npz", *result.model.get_weights())
print(json.dumps(result.metrics))
"""


def test_worker_slices_make_up_the_one_process_batches() -> None:
    from archspec.train.annotations.dataset import object_dataset
    from archspec.train.annotations.load import load_objects

    data = load_objects(SOURCE, "keypoints")
    common = dict(augment=[{"RandomFlip": {"mode": "horizontal"}}], shuffle=True, seed=3, indices=np.arange(10))
    whole = list(object_dataset(data, (16, 16, 3), 4, drop_remainder=True, **common))
    slices = [list(object_dataset(data, (16, 16, 3), 4, shard=(2, i), **common)) for i in range(2)]
    assert len(whole) == 2 and all(len(s) == 2 for s in slices)   # 10 images: two whole batches of 4
    for b, (images, targets) in enumerate(whole):
        parts = [slices[i][b] for i in range(2)]
        np.testing.assert_array_equal(images, np.concatenate([p[0] for p in parts]))
        for name in ("keypoints", "boxes", "image_index"):
            np.testing.assert_array_equal(targets[name], np.concatenate([p[1][name] for p in parts]))


def _free_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return int(free.getsockname()[1])


def test_two_workers_train_keypoints_on_object_data_as_one_process(tmp_path: Path) -> None:
    tests = str(Path(__file__).parent)
    ports = [_free_port(), _free_port()]
    jobs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                     "task": {"type": "worker", "index": index}}
        code = _RUN.format(tests=tests, strategy='"strategy": "multi-worker",', source=SOURCE,
                           out=str(tmp_path / f"worker{index}"))
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TF_CPP_MIN_LOG_LEVEL": "3"}
        jobs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True))
    code = _RUN.format(tests=tests, strategy="", source=SOURCE, out=str(tmp_path / "single"))
    jobs.append(subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        finished = [job.communicate(timeout=300) for job in jobs]
    finally:
        for job in jobs:
            job.kill()
    for job, (_, err) in zip(jobs, finished):
        assert job.returncode == 0, err[-2000:]
    chief = json.loads(finished[0][0].strip().splitlines()[-1])
    assert all(0.0 <= chief[name] <= 1.0 for name in ("val_pck", "val_oks_ap", "val_oks_ap50"))
    assert json.loads((tmp_path / "worker0" / "data.json").read_text())["samples"] == {"train": 8, "validation": 4}
    assert not (tmp_path / "worker1" / "metrics.json").exists()
    weights = [np.load(tmp_path / f"{name}.npz") for name in ("worker0", "worker1", "single")]
    for key in weights[0].files:
        np.testing.assert_array_equal(weights[0][key], weights[1][key])
        np.testing.assert_allclose(weights[0][key], weights[2][key], rtol=1e-5, atol=1e-6)


def test_multi_worker_detection_needs_a_head_as_one_process_does(tmp_path: Path) -> None:
    from archspec.train.runner import train_model
    from train_testkit import dense_map

    config = {"task": "detection", "strategy": "multi-worker", "data": {"source": SOURCE}}
    with pytest.raises(UserError, match="train.task: detection needs the spec's head: section"):
        train_model(dense_map((16, 16, 3), 8, None), config, tmp_path / "run", verbose=0)
