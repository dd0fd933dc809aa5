"""kill -9 and --resume give the uninterrupted run's weights bit for bit; distributed runs agree.

Every training here runs in a fresh interpreter (tests/train/train_jobs.py): a real SIGKILL,
logical CPU devices configured before TensorFlow starts, two worker processes on localhost.
"""
from __future__ import annotations

import json
import shutil
import signal
import socket
from pathlib import Path

import numpy as np

from train_testkit import restore_tf_state, run_job, start_job, weights  # noqa: F401


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_kill_9_then_resume_is_bit_identical_and_survives_a_truncated_checkpoint(tmp_path: Path) -> None:
    full, killed = tmp_path / "full", tmp_path / "killed"
    reference = start_job("resume-full", str(full))
    kill = run_job("resume-kill", str(killed))
    assert kill.returncode == -signal.SIGKILL, kill.stdout + kill.stderr
    checkpoints = sorted(p.name for p in (killed / "checkpoints").iterdir())
    assert checkpoints == ["epoch-0001.json", "epoch-0001.npz", "epoch-0002.json", "epoch-0002.npz"]
    assert json.loads((killed / "metrics.json").read_text())["epoch"] == 2
    assert not [p for p in killed.rglob(".*tmp*")], "a temporary file was left behind"

    # A copy whose newest checkpoint is cut short: resume must fall back to epoch 1.
    truncated = tmp_path / "truncated"
    shutil.copytree(killed, truncated)
    npz = truncated / "checkpoints" / "epoch-0002.npz"
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])

    resumed = start_job("resume-continue", str(killed))
    fallback = run_job("resume-continue", str(truncated))
    for process in (reference, resumed):
        out, _ = process.communicate(timeout=240)
        assert process.returncode == 0, out
    assert fallback.returncode == 0, fallback.stdout + fallback.stderr
    assert "epoch-0002 is damaged" in fallback.stderr

    want = weights(full / "final.npz")
    assert _same(weights(killed / "final.npz"), want)
    assert _same(weights(truncated / "final.npz"), want)
    history = (killed / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2", "3", "4"]
    assert history == (full / "history.csv").read_text().splitlines()
    run = json.loads((killed / "run.json").read_text())
    assert [r["from_epoch"] for r in run["resumes"]] == [2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_workers_match_each_other_and_single_process_runs(tmp_path: Path) -> None:
    ports = [_free_port(), _free_port()]
    workers = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                     "task": {"type": "worker", "index": index}}
        workers.append(start_job("worker", str(tmp_path / f"worker{index}"), env={"TF_CONFIG": json.dumps(tf_config)}))
    mirrored = run_job("mirrored", str(tmp_path / "mirrored"))
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    for worker, out in zip(workers, outputs):
        assert worker.returncode == 0, out
    assert mirrored.returncode == 0, mirrored.stdout + mirrored.stderr
    assert "replicas 2" in mirrored.stdout

    chief, other = weights(tmp_path / "worker0" / "final.npz"), weights(tmp_path / "worker1" / "final.npz")
    assert _same(chief, other)
    # One process, two replicas, the same global batch and arithmetic: exactly equal.
    assert _same(chief, weights(tmp_path / "mirrored" / "final.npz"))
    # One replica sums the batch in another order: equal to rounding.
    for a, b in zip(chief, weights(tmp_path / "mirrored" / "default" / "final.npz")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # Only the chief writes the run directory.
    assert (tmp_path / "worker0" / "metrics.json").is_file()
    assert not (tmp_path / "worker1" / "metrics.json").exists()
    effective = json.loads((tmp_path / "worker0" / "run.json").read_text())["effective"]
    assert (effective["replicas"], effective["global_batch"], effective["per_replica_batch"]) == (2, 64, 32)
