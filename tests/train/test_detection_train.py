"""Detection end to end through the real ``archspec`` group, on a tiny detector and a tiny
builtin:shapes: train (val_map, val_map50 in the history, metrics.json and the curves) and resume
in one module fixture (each run traces the train step, the suite's dearest part), predict (a picture per image and COCO-style JSON), evaluate (mAP overall and per class), and the
mAP of the callback against pycocotools run directly."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from object_specs import shapes_train, tiny_detector
from train_testkit import restore_tf_state, write_png  # noqa: F401

TINY = tiny_detector(shapes_train("detection", 16, 8, 0.25))


def _cli(*args: str) -> Any:
    from archspec.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def first_epoch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A 1-epoch run's folder and its metrics.json as that run left it."""
    folder = tmp_path_factory.mktemp("detection")
    spec = folder / "tiny.yaml"
    spec.write_text(TINY)
    out = folder / "run"
    result = _cli("train", str(spec), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "val_map50" in result.stdout
    return out, json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def run(first_epoch: tuple[Path, dict[str, Any]]) -> Path:
    """The same run resumed for a second epoch: what the later tests read."""
    out, _ = first_epoch
    result = _cli("train", "--resume", str(out), "--epochs", "2")
    assert result.exit_code == 0, result.output
    return out


def test_train_records_val_map_in_history_metrics_and_monitor(first_epoch: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = first_epoch
    assert metrics["epoch"] == 1
    assert metrics["monitor"] == "val_map" and 0.0 <= metrics["val_map"] <= metrics["val_map50"] <= 1.0
    assert (out / "curves.png").is_file() and (out / "best.keras").is_file()
    data = json.loads((out / "data.json").read_text())
    assert data["class_names"] == ["circle", "square", "triangle"] and data["samples"] == {"train": 12,
                                                                                           "validation": 4}


def test_resume_trains_one_more_epoch(run: Path) -> None:
    assert json.loads((run / "metrics.json").read_text())["epoch"] == 2
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2], "the resumed epoch follows the first in one history"
    assert {"loss", "p3_loss", "p4_loss", "val_loss", "val_map", "val_map50"} <= set(rows[0])


def test_predict_draws_boxes_and_writes_coco_json(run: Path, tmp_path: Path) -> None:
    image = tmp_path / "scene.png"
    write_png(image, np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8))
    result = _cli("predict", str(run), str(image), "--pictures-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    listing = json.loads((tmp_path / "out" / "detections.json").read_text())
    assert listing["images"] == [str(image)]
    for row in listing["detections"]:
        x, y, w, h = row["bbox"]
        assert 0 <= x <= x + w <= 56 and 0 <= y <= y + h <= 40, "boxes in the image's own pixels"
        assert row["class"] in ("circle", "square", "triangle") and row["score"] >= 0.25
    from PIL import Image
    with Image.open(tmp_path / "out" / "scene.detections.png") as picture:
        assert picture.size == (56 * 8, 40 * 8), "enlarged by a whole factor"
    again = _cli("predict", str(run), str(image), "--pictures-dir", str(tmp_path / "out"))
    assert again.exit_code == 2 and "choose another folder with --pictures-dir, or pass --force" in again.output


def test_evaluate_prints_map_overall_and_per_class(run: Path) -> None:
    result = _cli("evaluate", str(run))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith(", 4 images") and lines[1].startswith("box mAP@[.5:.95] ")
    assert [line.split(":")[0].strip() for line in lines[2:]] == ["circle", "square", "triangle"]
    scores = json.loads(_cli("evaluate", str(run), "--json").output)
    assert scores["map"] == pytest.approx(json.loads((run / "metrics.json").read_text())["val_map"], abs=1e-6) \
        or (run / "best.keras").stat().st_mtime < (run / "last.keras").stat().st_mtime


def test_callback_map_equals_pycocotools_run_directly(run: Path) -> None:
    """The mAP path (detect -> COCO results -> COCOeval) against COCOeval called here by hand."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from archspec.train.config import config_from_dict
    from archspec.train.detection.predict import evaluate_detection, run_head
    from archspec.train.detection.session import box_map
    from archspec.train.inference import load_run_model
    from archspec.train.rundir import RunDir

    rundir = RunDir.open(run)
    cfg = config_from_dict(json.loads((run / "train_config.json").read_text()))
    model = load_run_model(rundir, run / "last.keras")
    part, scores = evaluate_detection(rundir, cfg, model, None)
    evaluation = box_map(model, run_head(rundir), cfg.replace(detection={"score_threshold": 0.0}), part)
    rows, _ = evaluation.results()
    assert rows, "an untrained model still scores every box above 0"
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = dict(evaluation.ground_truth)
        truth.createIndex()
        coco = COCOeval(truth, truth.loadRes(rows), "bbox")
        coco.evaluate()
        coco.accumulate()
        coco.summarize()
    ours = evaluation.scores()
    assert ours["map"] == pytest.approx(max(0.0, coco.stats[0])) and ours["map50"] == pytest.approx(
        max(0.0, coco.stats[1]))
    assert 0.0 <= scores["map"] <= 1.0
