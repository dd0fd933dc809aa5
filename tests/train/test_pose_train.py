"""The keypoints task end to end: a short run reports val_pck and val_oks_ap in the history,
metrics.json and curves; evaluate prints them; predict writes coordinates and the pose picture;
bad train.keypoints settings stop the run before its files are written."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from archspec.errors import SpecErrors
from archspec.train.runner import train_model
from train_testkit import dense_map, restore_tf_state, write_png  # noqa: F401

POSE_METRICS = ("val_pck", "val_oks_ap", "val_oks_ap50")


def _config(**keypoints: Any) -> dict[str, Any]:
    return {"task": "keypoints", "epochs": 2, "deterministic": False, "steps_per_epoch": 3,
            "data": {"source": {"builtin": "shapes", "samples": 80, "size": 16}, "batch_size": 16},
            "keypoints": keypoints}


def _cli(*args: str) -> Any:
    from archspec.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def pose_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pose") / "run"
    train_model(dense_map((16, 16, 1), 3, None), _config(skeleton=[[0, 1], [1, 2]], pck=0.1), out, verbose=0)
    return out


def test_a_short_run_reports_pck_and_oks_ap_every_epoch(pose_run: Path) -> None:
    metrics = json.loads((pose_run / "metrics.json").read_text())
    for name in POSE_METRICS:
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["val_oks_ap"] <= metrics["val_oks_ap50"]
    with open(pose_run / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(row[name] != "" for row in rows for name in POSE_METRICS)
    assert (pose_run / "curves.png").stat().st_size > 0


def test_evaluate_prints_pck_and_oks_ap(pose_run: Path) -> None:
    result = _cli("evaluate", str(pose_run), "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert {"loss", "mae", "pck", "oks_ap", "oks_ap50"} <= set(metrics)
    saved = json.loads((pose_run / "metrics.json").read_text())  # the same model and validation split
    assert metrics["pck"] == pytest.approx(saved["val_pck"]) and metrics["oks_ap"] == pytest.approx(saved["val_oks_ap"])


def test_predict_writes_coordinates_in_the_files_pixels_and_a_picture(pose_run: Path, tmp_path: Path) -> None:
    image = tmp_path / "shape.png"
    write_png(image, np.full((48, 32), 200, np.uint8))  # another size than the model's 16x16 input
    result = _cli("predict", str(pose_run), str(image), "--json", "--pictures-dir", str(tmp_path / "pictures"))
    assert result.exit_code == 0, result.output
    prediction = json.loads(result.stdout.splitlines()[0])
    assert [k["name"] for k in prediction["keypoints"]] == ["circle", "square", "triangle"]
    assert all(0 <= k["x"] <= 32 and 0 <= k["y"] <= 48 for k in prediction["keypoints"])
    assert prediction["score"] == pytest.approx(np.mean([k["peak"] for k in prediction["keypoints"]]))
    from PIL import Image
    with Image.open(tmp_path / "pictures" / "shape.pose.png") as picture:
        assert picture.size == (192, 288)  # scaled by 6 to a longer side of at least 256
    refused = _cli("predict", str(pose_run), str(image), "--masks-dir", str(tmp_path / "masks"))
    assert refused.exit_code == 2 and "this run's task is keypoints" in refused.output


def test_the_picture_draws_every_keypoint_weak_ones_hollow_and_thin(tmp_path: Path) -> None:
    from PIL import Image

    from archspec.train.pose.picture import draw_pose, keypoint_colour

    keypoints = np.array([[8.0, 8.0, 0.9], [56.0, 8.0, 0.8], [8.0, 56.0, 0.2]], np.float32)
    path = draw_pose(np.zeros((64, 64, 3), np.float32), keypoints, [(0, 1), (0, 2)], ["a", "b", "c"],
                     tmp_path / "pose.png")
    with Image.open(path) as opened:
        pixels = np.asarray(opened.convert("RGB"))
    assert pixels.shape == (256, 256, 3)  # 64 px scaled by 4
    colour_a = (pixels == keypoint_colour(0, 3)).all(axis=-1)
    assert colour_a[32, 64:192].mean() > 0.9                        # the a-b line at y = 8 * 4
    assert colour_a[32, 32]                                         # a (0.9): a filled dot at its centre
    weak = (pixels == keypoint_colour(2, 3)).all(axis=-1)           # c (0.2): drawn, not dropped
    assert weak[224 - 8:224 + 9, 32 - 8:32 + 9].any()               # its ring around (32, 224)
    assert not weak[224, 32]                                        # hollow
    assert colour_a[120, 24:40].sum() < colour_a[24:40, 120].sum()  # the a-c line (to a weak keypoint) is thinner


def test_bad_keypoint_settings_stop_before_the_run_is_written(tmp_path: Path) -> None:
    with pytest.raises(SpecErrors, match=r"train.keypoints.skeleton\[0\] joins keypoint 3"):
        train_model(dense_map((16, 16, 1), 3, None), _config(skeleton=[[0, 3]]), tmp_path / "run", verbose=0)
    assert not (tmp_path / "run" / "train_config.json").exists()


_MULTI_WORKER_RUN = """
import json, sys
sys.path.insert(0, {tests!r})
from train_testkit import dense_map
from archspec.train.runner import train_model
config = {{"task": "keypoints", "epochs": 1, "deterministic": False, "strategy": "multi-worker", "steps_per_epoch": 2,
          "data": {{"source": {{"builtin": "shapes", "samples": 64, "size": 16}}, "batch_size": 16}}}}
print(json.dumps(train_model(dense_map((16, 16, 1), 3, None), config, {out!r}, verbose=0).metrics))
"""


def test_the_multi_worker_loop_reports_pck_and_oks_ap(tmp_path: Path) -> None:
    """A one-worker cluster in a fresh interpreter (the strategy must come before any other TF op)."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    tf_config = {"cluster": {"worker": [f"127.0.0.1:{port}"]}, "task": {"type": "worker", "index": 0}}
    code = _MULTI_WORKER_RUN.format(tests=str(Path(__file__).parent), out=str(tmp_path / "run"))
    env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(0.0 <= metrics[name] <= 1.0 for name in POSE_METRICS)
    with open(tmp_path / "run" / "history.csv", newline="") as handle:
        assert all(row[name] != "" for row in csv.DictReader(handle) for name in POSE_METRICS)
