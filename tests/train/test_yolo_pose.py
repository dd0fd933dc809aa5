"""yolo: keypoint labels (Ultralytics' pose layout): data.yaml's kpt_shape, flip_idx and
kpt_names, label lines in image pixels, bad lines named by file and line, and a short keypoints
run trained from a yolo: folder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from archspec.errors import UserError
from archspec.train.annotations.load import load_objects
from train_testkit import dense_map, restore_tf_state, write_png  # noqa: F401

SETTINGS = "names: [person]\nkpt_shape: [3, 3]\nflip_idx: [0, 2, 1]\nkpt_names: {0: [head, hand_a, hand_b]}\n"


def _write(root: Path, labels: dict[str, str], settings: str | None = SETTINGS, size: tuple[int, int] = (20, 40)
           ) -> Path:
    for stem, text in labels.items():
        write_png(root / "images" / f"{stem}.png", np.full((*size, 3), 40, np.uint8))
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"{stem}.txt").write_text(text)
    if settings is not None:
        (root / "data.yaml").write_text(settings)
    return root


def _raises(root: Path) -> UserError:
    with pytest.raises(UserError) as caught:
        load_objects({"yolo": str(root)}, "keypoints")
    return caught.value


def test_pose_lines_give_keypoints_in_image_pixels_with_names_and_flip(tmp_path: Path) -> None:
    root = _write(tmp_path, {"a": "0 0.5 0.5 0.5 0.5 0.5 0.25 2 0.25 0.75 1 0.9 0.9 0\n\n"
                                  "0 0.25 0.25 0.5 0.5 0 0 2 1 1 2 0.5 0.5 2\n", "b": ""})
    data = load_objects({"yolo": str(root)}, "keypoints")
    assert data.keypoint_count == 3 and data.keypoint_names == ("head", "hand_a", "hand_b")
    assert data.keypoint_flip == (0, 2, 1) and data.class_names == ("person",)
    objects = data.objects(0)   # 40 wide, 20 high
    assert objects.boxes.tolist() == [[10, 5, 30, 15], [0, 0, 20, 10]] and objects.ids.tolist() == [1, 3]
    assert objects.keypoints.tolist() == [[[20, 5, 2], [10, 15, 1], [0, 0, 0]],   # v 0: its x, y dropped
                                          [[0, 0, 2], [40, 20, 2], [20, 10, 2]]]
    assert data.objects(1).keypoints.shape == (0, 3, 3)


def test_two_numbers_per_keypoint_are_visible_and_names_default_to_numbers(tmp_path: Path) -> None:
    root = _write(tmp_path, {"a": "0 0.5 0.5 0.5 0.5 0.5 0.25 0.25 0.75\n"}, "kpt_shape: [2, 2]\n")
    data = load_objects({"yolo": str(root)}, "keypoints")
    assert data.keypoint_names == ("0", "1") and data.keypoint_flip == () and data.class_names == ("0",)
    assert data.objects(0).keypoints.tolist() == [[[20, 5, 2], [10, 15, 2]]]


def test_bad_pose_lines_are_named_by_file_and_line(tmp_path: Path) -> None:
    root = _write(tmp_path, {"a": "0 0.5 0.5 0.5 0.5 0.5 0.25 2\n"
                                  "0 0.5 0.5 0.5 0.5 0.5 0.25 2 0.2 0.2 4 0.1 0.1 2\n"
                                  "0 0.5 0.5 0.5 0.5 0.5 1.25 2 0.2 0.2 2 0.1 0.1 2\n"
                                  "1 0.5 0.5 0.5 0.5 0.5 0.5 2 0.2 0.2 2 0.1 0.1 2\n"
                                  "0 0.5 0.5 0.5 0.5 0.5 0.5 2 0.2 x 2 0.1 0.1 2\n"
                                  "0 0.5 0.5 0.5 0.5 0.5 1.25 0 0.2 0.2 2 0.1 0.1 2\n"})   # v 0: x, y not read
    labels = root / "labels" / "a.txt"
    assert UserError.format(_raises(root)).splitlines()[1:] == [
        f"  {labels}:1: 8 fields; with kpt_shape [3, 3] a line is 14 (cls cx cy w h, then x y v per keypoint)",
        f"  {labels}:2: keypoint 1 (hand_a): visibility 4 is not 0, 1 or 2",
        f"  {labels}:3: keypoint 0 (head): x 0.5, y 1.25 outside [0, 1]",
        f"  {labels}:4: class 1 is not one of the 1 classes (0..0)",
        f"  {labels}:5: keypoints are not numbers: '0.5 0.5 2 0.2 x 2 0.1 0.1 2'"]


@pytest.mark.parametrize("settings, message", [
    (None, "data.yaml has no kpt_shape: yolo: keypoint labels need it"),
    ("kpt_shape: [3, 4]\n", "kpt_shape is [3, 4]; a keypoints task needs kpt_shape: [K, 2] or [K, 3]"),
    ("kpt_shape: [3, 3]\nflip_idx: [0, 1, 1]\n", "flip_idx is [0, 1, 1], not a permutation of the 3 keypoints 0..2"),
    ("kpt_shape: [3, 3]\nkpt_names: [[a, b]]\n", "kpt_names is [['a', 'b']], not 3 keypoint names for class 0"),
    ("[1, 2]\n", "data.yaml: not a YAML mapping (a list)"),
])
def test_a_bad_pose_data_yaml_is_refused(tmp_path: Path, settings: str | None, message: str) -> None:
    assert message in _raises(_write(tmp_path, {"a": ""}, settings)).message


def test_a_horizontal_flip_swaps_keypoints_by_flip_idx(tmp_path: Path) -> None:
    from archspec.train.annotations.augment_objects import ObjectAugment
    from archspec.train.annotations.dataset import prepare_image

    # the names say nothing of left and right: only flip_idx can swap the hands
    root = _write(tmp_path, {"a": "0 0.5 0.5 0.8 0.8 0.25 0.25 2 0.25 0.75 2 0.75 0.5 2\n"}, size=(32, 32))
    data = load_objects({"yolo": str(root)}, "keypoints")
    plain = prepare_image(data, 0, (32, 32), 3)[1].keypoints[0]
    flip = ObjectAugment(flip_x=True, names=("RandomFlip",))
    for seed in range(8):
        image, objects, _ = prepare_image(data, 0, (32, 32), 3, flip, np.random.default_rng(seed))
        moved = objects.keypoints[0]
        if moved[0, 0] != plain[0, 0]:   # this draw flipped: x -> 32 - x, then keypoint k takes flip_idx[k]'s place
            mirrored = plain.copy()
            mirrored[:, 0] = 32 - mirrored[:, 0]
            assert np.allclose(moved, mirrored[[0, 2, 1]])
            return
    pytest.fail("no draw flipped")


def test_a_yolo_folder_trains_a_keypoints_model(tmp_path: Path) -> None:
    from archspec.train.config import parse_data_flag
    from archspec.train.runner import train_model

    rng = np.random.default_rng(1)
    lines = {}
    for i in range(6):
        points = rng.uniform(0.2, 0.8, (3, 2))
        side = np.ptp(points, axis=0)
        box = np.concatenate([points.min(0) + side / 2, side + 0.05])
        lines[f"p{i}"] = "0 " + " ".join(f"{v:.4f}" for v in [*box, *np.column_stack([points, np.full(3, 2)]).ravel()])
    root = _write(tmp_path / "people", lines, size=(24, 40))
    source = parse_data_flag(f"yolo:{root}", base_dir=tmp_path)
    config = {"task": "keypoints", "epochs": 1, "deterministic": False,
              "data": {"source": source, "batch_size": 2, "validation_split": 0.34,
                       "augment": [{"RandomFlip": {"mode": "horizontal"}}]}}
    train_model(dense_map((32, 32, 3), 3, None), config, tmp_path / "run", verbose=0)
    data = json.loads((tmp_path / "run" / "data.json").read_text())
    assert data["keypoint_names"] == ["head", "hand_a", "hand_b"] and data["source"] == f"yolo:{root}"
    assert data["samples"] == {"train": 4, "validation": 2}
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert all(0.0 <= metrics[name] <= 1.0 for name in ("val_pck", "val_oks_ap", "val_oks_ap50"))
