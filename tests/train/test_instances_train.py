"""Instance segmentation end to end through the real ``archspec`` group, on a tiny YOLACT-style
model and a tiny builtin:shapes: train (box and mask mAP in the history, metrics.json and the
curves; best.keras by val_mask_map), the saved model loads back as the spec's own, and the
callback's mask mAP equals pycocotools run directly on the same predictions."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from object_specs import shapes_train, tiny_detector, tiny_segmenter
from train_testkit import restore_tf_state, write_png  # noqa: F401

TRAIN = shapes_train("instance_segmentation", 24, 8, 0.25)
TINY = tiny_segmenter(TRAIN)


def _cli(*args: str) -> Any:
    from archspec.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("instances")
    spec = folder / "tiny.yaml"
    spec.write_text(TINY)
    out = folder / "run"
    result = _cli("train", str(spec), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "val_mask_map50" in result.stdout
    return out


def test_train_records_box_and_mask_map(run: Path) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["monitor"] == "val_mask_map"
    for name in ("map", "mask_map"):
        assert 0.0 <= metrics[f"val_{name}"] <= metrics[f"val_{name}50"] <= 1.0
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert {"loss", "p3_loss", "p4_loss", "val_loss", "val_map", "val_map50", "val_mask_map",
            "val_mask_map50"} <= set(rows[0])
    assert (run / "curves.png").is_file() and (run / "best.keras").is_file()
    assert 1e-3 < _mask_term(rows[0]) < 0.15 * 5, "the loss is the levels' plus 0.15 x the mask BCE"


def _mask_term(row: dict[str, str]) -> float:
    return float(row["loss"]) - float(row["p3_loss"]) - float(row["p4_loss"])


def test_resume_keeps_the_mask_loss(run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "again"
    shutil.copytree(run, copy)
    result = _cli("train", "--resume", str(copy), "--epochs", "2")
    assert result.exit_code == 0, result.output
    with open(copy / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["1", "2"] and _mask_term(rows[1]) > 1e-3
    assert "val_mask_map" in rows[1]


def test_saved_model_is_the_specs_and_its_mask_map_is_pycocotools(run: Path) -> None:
    """The callback's numbers, recomputed: the saved model's detections with masks scored by
    COCOeval directly (segm), on the run's validation images."""
    import keras
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    from pycocotools import mask as mask_api

    from archspec.api import compile_spec
    from archspec.train.annotations.load import load_objects
    from archspec.train.annotations.dataset import object_dataset
    from archspec.train.annotations.ground_truth import coco_ground_truth
    from archspec.train.instances.predict import detect_instances
    from archspec.train.pipeline import validation_mask

    model = keras.saving.load_model(run / "last.keras", compile=False)
    assert model.output_names == ["p3", "p4", "protos"] and type(model).__name__ == "Functional"  # the spec's own
    assert "compute_loss" not in vars(model), "the mask loss's wrapper is not saved with the model"
    head = compile_spec(run / "spec.yaml").head
    data = load_objects({"builtin": "shapes", "samples": 24, "size": 32}, "instance_segmentation")
    indices = np.flatnonzero(validation_mask(24, 0.25, 0))
    images = np.concatenate([x for x, _ in object_dataset(data, (32, 32, 3), 8, indices=indices)])
    results = []
    for index, found in zip(indices, detect_instances(model, images, head, {})):
        for box, score, k, mask in zip(found.boxes, found.scores, found.classes, found.masks):
            rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
            results.append({"image_id": data.image_ids[index], "category_id": data.categories[int(k)].id,
                            "score": float(score), "segmentation": {"size": rle["size"],
                                                                    "counts": rle["counts"].decode()}})
    truth = COCO()
    truth.dataset = {"info": {}, **coco_ground_truth(data, (32, 32, 3), indices)}
    truth.createIndex()
    evaluation = COCOeval(truth, truth.loadRes(results), "segm")
    evaluation.params.imgIds = [data.image_ids[i] for i in indices]
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["val_mask_map"] == pytest.approx(max(0.0, evaluation.stats[0]), abs=1e-9)
    assert metrics["val_mask_map50"] == pytest.approx(max(0.0, evaluation.stats[1]), abs=1e-9)


def test_predict_overlays_instances_and_writes_rle_in_image_pixels(run: Path, tmp_path: Path) -> None:
    from PIL import Image
    from pycocotools import mask as mask_api

    from archspec.api import compile_spec
    from archspec.train.inference import load_run_model
    from archspec.train.instances.predict import predict_instance_files
    from archspec.train.rundir import RunDir

    image = tmp_path / "scene.png"
    write_png(image, np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8))
    result = _cli("predict", str(run), str(image), "--pictures-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    listing = json.loads((tmp_path / "out" / "detections.json").read_text())
    assert listing["images"] == [str(image)]
    with Image.open(tmp_path / "out" / "scene.detections.png") as picture:
        assert picture.size == (56 * 8, 40 * 8) and picture.mode == "RGB"
    # Every box the model has (threshold 0), to see masks mapped back through the letterbox.
    model = load_run_model(RunDir(run), run / "last.keras")
    rows = predict_instance_files(model, compile_spec(run / "spec.yaml").head, {"max_detections": 5}, [str(image)],
                                  ["circle", "square", "triangle"], [1, 2, 3], tmp_path, 0.0)
    assert len(rows) == 5
    for row in rows:
        rle = row["segmentation"]
        assert rle["size"] == [40, 56] and int(mask_api.area(rle)) == row["area"]
        mask = mask_api.decode(rle)
        x, y, w, h = row["bbox"]
        ys, xs = np.nonzero(mask)
        if len(xs):  # a mask lies inside its box (to the pixel the letterbox's rounding allows)
            assert xs.min() >= np.floor(x) - 1 and xs.max() <= x + w + 1
            assert ys.min() >= np.floor(y) - 1 and ys.max() <= y + h + 1


def test_evaluate_prints_box_and_mask_map(run: Path) -> None:
    result = _cli("evaluate", str(run))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("box mAP@[.5:.95] ") and lines[5].startswith("mask mAP@[.5:.95] ")
    assert [line.split(":")[0].strip() for line in lines[6:]] == ["circle", "square", "triangle"]
    scores = json.loads(_cli("evaluate", str(run), "--json").output)
    metrics = json.loads((run / "metrics.json").read_text())
    assert scores["mask"]["map50"] == pytest.approx(metrics["val_mask_map50"], abs=1e-6)


def test_instance_segmentation_on_a_head_without_prototypes_is_refused_at_its_line(tmp_path: Path) -> None:
    boxes_only = tiny_detector(TRAIN)   # a detection head under train.task: instance_segmentation
    spec = tmp_path / "boxes.yaml"
    spec.write_text(boxes_only)
    result = _cli("train", str(spec), "--out", str(tmp_path / "run"))
    assert result.exit_code == 2
    line = boxes_only.splitlines().index("  task: instance_segmentation") + 1
    assert f"boxes.yaml:{line}:9: train.task: instance_segmentation needs a head with prototype masks; this " \
           "head is type: detection" in result.output
    assert not (tmp_path / "run" / "train_config.json").exists()


def test_multi_worker_takes_instance_segmentation_and_asks_for_its_cluster(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """It trains there (tests/train/test_detection_multiworker.py); without TF_CONFIG it says so."""
    monkeypatch.delenv("TF_CONFIG", raising=False)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    result = _cli("train", str(spec), "--out", str(tmp_path / "run"), "--set", "train.strategy=multi-worker")
    assert result.exit_code == 2
    assert "--strategy multi-worker needs the TF_CONFIG environment variable" in result.output
    assert not (tmp_path / "run" / "train_config.json").exists()
