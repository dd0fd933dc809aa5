"""Keypoints from object data: target heatmaps against the direct formula, peaks grouped into one
instance per object, OKS AP over several instances per image against pycocotools, and a short
run from a COCO keypoints file with train, evaluate and predict."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from archspec.train.pose.heatmaps import render_heatmaps
from archspec.train.pose.metrics import PoseSet, oks_ap
from archspec.train.pose.scoring import object_poses, score_poses
from archspec.train.pose.settings import pose_settings
from train_testkit import dense_map, restore_tf_state, write_png  # noqa: F401


def test_heatmaps_are_the_maximum_of_each_labelled_keypoints_gaussian() -> None:
    rng = np.random.default_rng(5)
    points = np.concatenate([rng.uniform(0, 48, (2, 3, 4, 2)), rng.integers(0, 3, (2, 3, 4, 1))], -1)
    points[1, 2] = 0.0                     # a padding object
    points[0, 0, 1] = [50.0, 10.0, 2.0]    # outside the 48 px wide input: nothing drawn
    maps = render_heatmaps(points, (32, 48), (16, 24), sigma=1.5)
    assert maps.shape == (2, 16, 24, 4)
    rows, cols = np.mgrid[0:16, 0:24] + 0.5
    for b in range(2):
        for k in range(4):
            expected = np.zeros((16, 24))
            for m in range(3):
                x, y, v = points[b, m, k]
                if v > 0 and 0 <= x < 48 and 0 <= y < 32:  # hidden (1) and visible (2) both drawn
                    gauss = np.exp(-((cols - x / 2) ** 2 + (rows - y / 2) ** 2) / (2 * 1.5 ** 2))
                    expected = np.maximum(expected, gauss)
            np.testing.assert_allclose(maps[b, ..., k], expected, atol=1e-6)
    outside = render_heatmaps(np.array([[[[50.0, 10.0, 2.0]]]]), (32, 48), (16, 24), sigma=1.5)
    assert not outside.any()               # its tail would reach the last column if it were drawn


# two images of two objects each, one more of one object; K = 3 keypoints in 64x64 input pixels
BOXES = np.array([[[4, 4, 28, 30], [36, 8, 60, 40]], [[10, 30, 40, 60], [0, 0, 0, 0]],
                  [[2, 2, 30, 26], [34, 30, 62, 62]]], np.float32)
CLASSES = np.array([[0, 0], [0, -1], [0, 0]], np.int32)
TRUTH = np.array([[[[10, 10, 2], [20, 12, 2], [16, 24, 1]], [[42, 14, 2], [54, 20, 2], [48, 34, 0]]],
                  [[[16, 36, 2], [30, 40, 2], [24, 54, 2]], [[0, 0, 0]] * 3],
                  [[[8, 8, 2], [22, 6, 2], [14, 20, 2]], [[40, 36, 2], [56, 40, 2], [48, 56, 2]]]], np.float32)
OFFSETS = np.array([[[[1.0, 0.0], [0.0, -2.0], [1.5, 1.5]], [[-3.0, 0.0], [0.0, 0.0], [0.0, 0.0]]],
                    [[[0.5, 0.5], [4.0, 0.0], [0.0, 1.0]], [[0.0, 0.0]] * 3],
                    [[[0.0, 0.0], [0.0, 0.0], [1.5, 1.5]], [[6.0, -6.0], [1.0, 1.0], [-1.0, 0.0]]]], np.float32)


def _predicted() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Heatmaps (32x32 for the 64x64 input) peaked at the truth moved by OFFSETS, 0.9 high."""
    moved = TRUTH.copy()
    moved[..., :2] += OFFSETS
    moved[..., 2] = np.where(CLASSES[..., None] >= 0, 2.0, 0.0)   # every keypoint of a real object predicted
    maps = 0.9 * render_heatmaps(moved, (64, 64), (32, 32), sigma=1.5)
    return maps, {"boxes": BOXES, "classes": CLASSES, "keypoints": TRUTH, "image_index": np.array([4, 7, 9])}


def test_peaks_are_grouped_into_one_instance_per_object() -> None:
    maps, targets = _predicted()
    poses = object_poses(maps, targets, (64, 64))
    assert poses.images.tolist() == [4, 4, 7, 9, 9]
    assert poses.truth.tolist() == TRUTH[CLASSES >= 0].tolist()
    want = (TRUTH[..., :2] + OFFSETS)[CLASSES >= 0]
    assert np.abs(poses.predicted[..., :2] - want).max() < 0.15      # sub-pixel peaks, 2 input px per heatmap px
    assert np.all((poses.scores > 0.7) & (poses.scores <= 0.9))     # the peak pixels' values, 0.9 at most
    assert poses.areas.tolist() == [24 * 26, 24 * 32, 30 * 30, 28 * 24, 28 * 32]  # each box's own area
    assert poses.boxes[1].tolist() == [36, 8, 24, 32]


def test_oks_ap_of_several_instances_per_image_equals_pycocotools(tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    maps, targets = _predicted()
    poses = object_poses(maps, targets, (64, 64))
    sigmas = np.array([0.05, 0.07, 0.09])
    scores = score_poses(poses, pose_settings({"sigmas": sigmas.tolist(), "pck": 0.1}, 3))
    objects = np.argwhere(CLASSES >= 0)
    gt = {"images": [{"id": i + 1} for i in (4, 7, 9)], "categories": [{"id": 1, "name": "person"}],
          "annotations": []}
    for n, (b, m) in enumerate(objects):
        x1, y1, x2, y2 = BOXES[b, m].tolist()
        gt["annotations"].append({"id": n + 1, "image_id": int(targets["image_index"][b]) + 1, "category_id": 1,
                                  "iscrowd": 0, "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                                  "keypoints": TRUTH[b, m].ravel().tolist(),
                                  "num_keypoints": int((TRUTH[b, m, :, 2] > 0).sum())})
    (tmp_path / "gt.json").write_text(json.dumps(gt))

    def pycocotools_ap(predicted: np.ndarray, confidence: np.ndarray) -> tuple[float, float]:
        dt = [{"image_id": int(targets["image_index"][b]) + 1, "category_id": 1, "score": float(confidence[n]),
               "keypoints": np.column_stack([predicted[n, :, :2], np.ones(3)]).ravel().tolist()}
              for n, (b, _) in enumerate(objects)]
        (tmp_path / "dt.json").write_text(json.dumps(dt))
        with contextlib.redirect_stdout(io.StringIO()):
            truth = COCO(str(tmp_path / "gt.json"))
            evaluation = COCOeval(truth, truth.loadRes(str(tmp_path / "dt.json")), "keypoints")
            evaluation.params.kpt_oks_sigmas = sigmas
            evaluation.evaluate()
            evaluation.accumulate()
            evaluation.summarize()
        return float(evaluation.stats[0]), float(evaluation.stats[1])

    assert (scores["oks_ap"], scores["oks_ap50"]) == pytest.approx(pycocotools_ap(poses.predicted, poses.scores))
    exact, ranked = (TRUTH[..., :2] + OFFSETS)[CLASSES >= 0], 0.9 - 0.01 * np.arange(5)
    expected = pycocotools_ap(exact, ranked)
    assert 0.0 < expected[0] < 1.0
    assert oks_ap(PoseSet(poses.truth, exact, ranked, poses.boxes, poses.areas, poses.images), sigmas) == \
        pytest.approx(expected)
    labelled = TRUTH[CLASSES >= 0][..., 2] > 0
    distance = np.hypot(*OFFSETS[CLASSES >= 0].transpose(2, 0, 1))
    longer = np.maximum(*(poses.boxes[:, 2:].T))
    assert scores["pck"] == pytest.approx((distance <= 0.1 * longer[:, None])[labelled].mean())  # none near it


def _coco_people(folder: Path) -> Path:
    """Six 40 wide, 32 high images of two 'people' each (bright blobs at 3 named keypoints)."""
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i in range(6):
        pixels = np.zeros((32, 40, 3), np.uint8)
        for person, x0 in enumerate((4.0, 22.0)):
            points = np.array([[x0 + 7, 6], [x0 + 2, 18], [x0 + 12, 18]]) + rng.uniform(-2, 2, (3, 2))
            for x, y in points:
                pixels[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 255
            annotations.append({"id": 10 * i + person + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                                "bbox": [x0, 2.0, 14.0, 20.0], "area": 280.0, "num_keypoints": 3,
                                "keypoints": np.column_stack([points, np.full(3, 2)]).ravel().tolist()})
        write_png(folder / f"p{i}.png", pixels)
        images.append({"id": i + 1, "file_name": f"p{i}.png", "width": 40, "height": 32})
    categories = [{"id": 1, "name": "person", "keypoints": ["head", "left_hand", "right_hand"],
                   "skeleton": [[1, 2], [1, 3]]}]
    path = folder / "people.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def _cli(*args: str) -> Any:
    from archspec.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def coco_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from archspec.train.runner import train_model

    folder = tmp_path_factory.mktemp("people")
    config = {"task": "keypoints", "epochs": 2, "deterministic": False,
              "data": {"source": {"coco": str(_coco_people(folder))}, "batch_size": 2, "validation_split": 0.34,
                       "augment": [{"RandomFlip": {"mode": "horizontal"}}]}}
    out = folder / "run"
    train_model(dense_map((32, 32, 3), 3, None), config, out, verbose=0)
    return out


def test_a_coco_keypoints_file_trains_and_reports_pose_metrics(coco_run: Path) -> None:
    metrics = json.loads((coco_run / "metrics.json").read_text())
    for name in ("val_pck", "val_oks_ap", "val_oks_ap50"):
        assert 0.0 <= metrics[name] <= 1.0, name
    data = json.loads((coco_run / "data.json").read_text())
    assert data["keypoint_names"] == ["head", "left_hand", "right_hand"] and data["skeleton"] == [[0, 1], [0, 2]]
    assert data["resized"] and data["heatmap_sigma"] == 2.0 and data["samples"] == {"train": 4, "validation": 2}
    result = _cli("evaluate", str(coco_run), "--json")
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.stdout)
    assert evaluated["data"]["samples"] == 2
    assert evaluated["metrics"]["pck"] == pytest.approx(metrics["val_pck"])
    assert evaluated["metrics"]["oks_ap"] == pytest.approx(metrics["val_oks_ap"])


def test_a_coco_run_predicts_named_keypoints_and_a_picture(coco_run: Path, tmp_path: Path) -> None:
    image = coco_run.parent / "p0.png"
    result = _cli("predict", str(coco_run), str(image), "--json", "--pictures-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    prediction = json.loads(result.stdout.splitlines()[0])
    assert [k["name"] for k in prediction["keypoints"]] == ["head", "left_hand", "right_hand"]
    assert (tmp_path / "p0.pose.png").stat().st_size > 0


def test_a_model_with_other_channels_than_the_datas_keypoints_is_refused(tmp_path: Path) -> None:
    from archspec.errors import UserError
    from archspec.train.runner import train_model

    config = {"task": "keypoints", "epochs": 1, "data": {"source": {"coco": str(_coco_people(tmp_path))}}}
    with pytest.raises(UserError, match="has 3 keypoints .head, left_hand, right_hand. but the model outputs 2"):
        train_model(dense_map((32, 32, 3), 2, None), config, tmp_path / "run", verbose=0)
    assert not (tmp_path / "run" / "train_config.json").exists()



PEAKS = ((20.5, 14.5), (6.5, 26.5))   # input pixels of the stub's fixed keypoints 0 and 2


def _peaked_model() -> Any:
    """A 32x32 input, 32x32x3 heatmap stub: keypoints 0 and 2 peak at input pixels PEAKS whatever the
    image (as a model trained on letterboxed inputs places them), keypoint 1 is the image's red
    channel (a bright blob's centre, wherever it is)."""
    import keras

    yy, xx = np.mgrid[0:32, 0:32] + 0.5
    image = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(image)

    def fixed(x: float, y: float) -> Any:
        heatmap = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 8.0)
        dense = keras.layers.Dense(32 * 32, kernel_initializer="zeros",
                                   bias_initializer=keras.initializers.Constant(heatmap.ravel()))
        return keras.layers.Reshape((32, 32, 1))(dense(pooled))

    red = keras.layers.Conv2D(1, 1, use_bias=False,
                              kernel_initializer=keras.initializers.Constant([[[[1.0], [0.0], [0.0]]]]))(image)
    return keras.Model(image, keras.layers.Concatenate()([fixed(*PEAKS[0]), red, fixed(*PEAKS[1])]))


def test_predict_letterboxes_a_non_square_image_as_training_did(coco_run: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(coco_run, run)
    model = _peaked_model()
    for name in ("best.keras", "last.keras"):
        model.save(run / name)
    yy, xx = np.mgrid[0:24, 0:48] + 0.5   # 48 wide, 24 high: scale 2/3 into 32x32, 8 px grey above and below
    blob = np.exp(-((xx - 33.0) ** 2 + (yy - 9.0) ** 2) / (2 * 3.0 ** 2))
    write_png(tmp_path / "wide.png", (np.stack([blob] * 3, -1) * 255 + 0.5).astype(np.uint8))
    result = _cli("predict", str(run), str(tmp_path / "wide.png"), "--json", "--pictures-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    found = [(k["x"], k["y"]) for k in json.loads(result.stdout.splitlines()[0])["keypoints"]]
    expected = [(x * 1.5, (y - 8.0) * 1.5) for x, y in PEAKS]   # back through the letterbox
    np.testing.assert_allclose([found[0], found[2]], expected, atol=0.05)   # stretched: y 10.9 and 19.9
    np.testing.assert_allclose(found[1], (33.0, 9.0), atol=0.3)
    assert (tmp_path / "wide.pose.png").stat().st_size > 0
