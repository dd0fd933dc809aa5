"""Pose metrics: sub-pixel peak decoding on synthetic Gaussians, ground truth read back from
heatmaps, PCK by hand, OKS AP by hand and against pycocotools called directly."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from archspec.errors import Location, SpecErrors
from archspec.train.config import validate_train_section
from archspec.train.pose.decode import decode_peaks
from archspec.train.pose.metrics import PoseSet, oks_ap, pck
from archspec.train.pose.scoring import score_keypoints
from archspec.train.pose.settings import pose_settings
from archspec.train.pose.targets import target_keypoints

YY, XX = np.mgrid[0:32, 0:32] + 0.5


def gaussian(x: float, y: float, sigma: float, height: float = 1.0) -> np.ndarray:
    return height * np.exp(-((XX - x) ** 2 + (YY - y) ** 2) / (2 * sigma * sigma))


@pytest.mark.parametrize("sigma", [1.0, 1.5, 2.0, 3.0])
def test_decoding_finds_gaussian_peaks_within_a_tenth_of_a_pixel(sigma: float) -> None:
    rng = np.random.default_rng(int(sigma * 10))
    centres = rng.uniform(3, 29, size=(40, 2))
    maps = np.stack([gaussian(x, y, sigma, rng.uniform(0.3, 1.2)) for x, y in centres], axis=-1)[None]
    peaks = decode_peaks(maps)
    assert peaks.shape == (1, 40, 3)
    error = np.hypot(*(peaks[0, :, :2] - centres).T)
    assert error.max() < 0.1
    argmax_only = np.hypot(*(np.floor(centres) + 0.5 - centres).T)
    assert argmax_only.max() > 0.3  # the step is what brings the error down


def test_decoding_keeps_the_pixel_centre_where_the_step_cannot_hold() -> None:
    border = gaussian(0.2, 15.3, 1.5)  # its maximum pixel is on the left edge
    flat = np.full((32, 32), -0.3)
    flat[7, 11] = -0.1                  # a negative map: the log is the floor around it
    peaks = decode_peaks(np.stack([border, flat], axis=-1))
    assert peaks[0, 0] == pytest.approx(0.5) and abs(peaks[0, 1] - 15.3) < 0.1
    assert peaks[1].tolist() == pytest.approx([11.5, 7.5, -0.1])


def test_target_keypoints_take_the_nearest_target_peak_and_mark_absent_channels() -> None:
    two = np.maximum(gaussian(5.2, 6.1, 1.5), gaussian(24.7, 20.4, 1.5))
    low = gaussian(10.0, 10.0, 1.5, 0.4)  # below 0.5: not a keypoint
    targets = np.stack([two, two, low], axis=-1)[None]
    predicted = np.array([[[23.0, 21.0, 0.8], [6.0, 6.0, 0.9], [10.0, 10.0, 0.4]]])
    truth = target_keypoints(targets, predicted)
    assert truth[0, 0] == pytest.approx([24.7, 20.4, 2.0], abs=1e-3)
    assert truth[0, 1] == pytest.approx([5.2, 6.1, 2.0], abs=1e-3)
    assert truth[0, 2].tolist() == [0.0, 0.0, 0.0]


def poses(truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None = None, side: float = 64.0,
          area: float = 4096.0) -> PoseSet:
    n = len(truth)
    return PoseSet(truth.astype(np.float32), predicted.astype(np.float32),
                   np.ones(n) if scores is None else scores, np.tile([0.0, 0.0, side, side], (n, 1)),
                   np.full(n, area))


def test_pck_counts_labelled_keypoints_within_the_threshold() -> None:
    truth = np.array([[[10, 10, 2], [30, 30, 2], [50, 50, 1], [5, 5, 0]],
                      [[20, 20, 2], [40, 40, 0], [8, 8, 2], [60, 60, 2]]])
    offsets = np.array([[[3, 0], [2, 2], [0, 3.3], [40, 40]],      # 3, 2.83 in; 3.3 out; unlabelled
                        [[0, 0], [0, 9], [-3.2, 0], [1, 1]]])      # in; unlabelled; 3.2 in (equal); in
    score = pck(poses(truth, truth[..., :2] + offsets), 0.05)     # 0.05 * 64 = 3.2 px
    assert score == pytest.approx(5 / 6)
    assert pck(poses(truth, truth[..., :2] + offsets, side=32.0), 0.05) == pytest.approx(2 / 6)  # 1.6 px
    assert pck(poses(np.zeros((1, 2, 3)), np.zeros((1, 2, 2))), 0.05) is None


def test_oks_ap_of_one_instance_is_the_share_of_thresholds_its_oks_reaches() -> None:
    truth = np.array([[[10, 10, 2], [20, 20, 2], [30, 5, 2]]])
    offsets = np.array([[[3, 0], [0, 1.5], [0, 0]]])
    sigmas = np.array([0.05, 0.08, 0.03])
    area = 1000.0
    d2 = (offsets ** 2).sum(-1)[0]
    oks = np.mean(np.exp(-d2 / (2 * area * (2 * sigmas) ** 2)))
    ap, ap50 = oks_ap(poses(truth, truth[..., :2] + offsets, area=area), sigmas)
    assert 0.5 < oks < 0.95
    assert ap == pytest.approx(np.mean(np.linspace(0.5, 0.95, 10) <= oks))
    assert ap50 == pytest.approx(1.0)


def test_oks_ap_equals_pycocotools_run_on_json_files(tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(3)
    n, k = 12, 5
    truth = np.concatenate([rng.uniform(0, 64, (n, k, 2)), np.full((n, k, 1), 2.0)], axis=-1)
    truth[0, 1, 2] = truth[3, 4, 2] = 0  # unlabelled keypoints
    predicted = truth[..., :2] + rng.normal(0, 2.5, (n, k, 2))
    scores = rng.uniform(0.2, 1.0, n)
    sigmas = np.array([0.026, 0.035, 0.079, 0.072, 0.107])
    ours = oks_ap(poses(truth, predicted, scores), sigmas)

    def flat(points: np.ndarray, flags: np.ndarray) -> list[float]:
        return np.column_stack([points, flags]).ravel().tolist()

    gt = {"images": [{"id": 100 + i, "width": 64, "height": 64} for i in range(n)],
          "categories": [{"id": 7, "name": "thing"}],
          "annotations": [{"id": 1 + i, "image_id": 100 + i, "category_id": 7, "iscrowd": 0, "area": 4096.0,
                           "bbox": [0, 0, 64, 64], "num_keypoints": int((truth[i, :, 2] > 0).sum()),
                           "keypoints": flat(truth[i, :, :2], truth[i, :, 2])} for i in range(n)]}
    dt = [{"image_id": 100 + i, "category_id": 7, "score": float(scores[i]),
           "keypoints": flat(predicted[i], np.ones(k))} for i in range(n)]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(tmp_path / "gt.json"))
        evaluation = COCOeval(coco, coco.loadRes(str(tmp_path / "dt.json")), "keypoints")
        evaluation.params.kpt_oks_sigmas = sigmas
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert 0.0 < ours[0] < 1.0
    assert ours == pytest.approx((evaluation.stats[0], evaluation.stats[1]))


def test_scores_are_measured_in_image_pixels() -> None:
    """A 32x32 heatmap of a 32 high, 64 wide image: a 2 px error across is 4 image pixels, outside
    PCK@0.05 of the longer side (3.2 px); a 2 px error down stays 2 px, inside."""
    target = np.stack([gaussian(10.0, 12.0, 1.5), gaussian(20.0, 12.0, 1.5)], axis=-1)[None]
    shifted = np.stack([gaussian(12.0, 12.0, 1.5), gaussian(20.0, 14.0, 1.5)], axis=-1)[None]
    peaks = decode_peaks(shifted)
    scores = score_keypoints(peaks, target_keypoints(target, peaks), (32, 32), (32, 64), pose_settings({}, 2))
    assert scores["pck"] == 0.5
    assert 0.0 < scores["oks_ap"] <= scores["oks_ap50"] <= 1.0


def test_settings_are_checked_against_the_channels_at_their_lines() -> None:
    def where(path: tuple) -> Location:
        return Location("net.yaml", len(path), 1)

    with pytest.raises(SpecErrors) as caught:
        pose_settings({"sigmas": [0.1], "names": ["a", "b", "c"], "skeleton": [[0, 1], [2, 5]]}, 3,
                      locate=where)
    messages = [(e.message, e.loc) for e in caught.value.errors]
    assert ("train.keypoints.sigmas has 1 values but the model outputs 3 heatmap channels",
            Location("net.yaml", 3, 1)) in messages
    assert ("train.keypoints.skeleton[1] joins keypoint 5 but the model has 3 (0..2)",
            Location("net.yaml", 4, 1)) in messages
    assert len(messages) == 2
    names = pose_settings({}, 2, ("circle", "square", "triangle")).names
    assert names == ("0", "1")


@pytest.mark.parametrize("section", [{"sigmas": [0]}, {"pck": 1.5}, {"skeleton": [[0, 1, 2]]}, {"colour": 1}])
def test_the_schema_refuses_bad_keypoint_settings(section: dict) -> None:
    with pytest.raises(SpecErrors):
        validate_train_section({"task": "keypoints", "keypoints": section})
