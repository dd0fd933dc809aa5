"""Mask mAP on a tiny synthetic set whose answers are known, and the overlay picture."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archspec.train.instances.metrics import coco_average_precision, instance_results
from archspec.train.instances.overlay import enlargement, instance_colour, overlay_instances, write_overlay

pytest.importorskip("pycocotools")
SIZE = 40


def _square(x: int, y: int, side: int) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[y:y + side, x:x + side] = 1
    return mask


def _truth(objects: list[tuple[int, int, np.ndarray]]) -> dict[str, Any]:
    """COCO ground truth of (image id, category id, mask) triples, as coco_ground_truth writes it."""
    from pycocotools import mask as mask_api

    annotations = []
    for n, (image, category, mask) in enumerate(objects):
        rle = mask_api.encode(np.asfortranarray(mask))
        annotations.append({"id": n + 1, "image_id": image, "category_id": category, "iscrowd": 0,
                            "area": float(mask.sum()), "bbox": [float(v) for v in mask_api.toBbox(rle)],
                            "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
    return {"images": [{"id": i, "width": SIZE, "height": SIZE} for i in (1, 2)],
            "categories": [{"id": 3, "name": "circle"}, {"id": 8, "name": "square"}],
            "annotations": annotations}


def _results(image: int, masks: list[np.ndarray], classes: list[int], scores: list[float]) -> list[dict]:
    from archspec.train.instances.rle import mask_box

    boxes = np.array([[b[0], b[1], b[0] + b[2], b[1] + b[3]] for b in map(mask_box, masks)], np.float32)
    return instance_results(image, boxes, np.array(scores), np.array(classes), np.stack(masks).astype(bool), [3, 8])


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    return _truth([(1, 3, _square(2, 2, 10)), (1, 8, _square(20, 20, 10)), (2, 8, _square(5, 25, 10))])


def test_perfect_masks_score_one(truth: dict[str, Any]) -> None:
    found = _results(1, [_square(2, 2, 10), _square(20, 20, 10)], [0, 1], [0.9, 0.8]) + \
        _results(2, [_square(5, 25, 10)], [1], [0.7])
    scores = coco_average_precision(truth, found, "segm")
    assert scores["map"] == pytest.approx(1.0) and scores["map50"] == pytest.approx(1.0)
    assert scores["per_class"] == {"circle": pytest.approx(1.0), "square": pytest.approx(1.0)}
    assert coco_average_precision(truth, found, "bbox")["map"] == pytest.approx(1.0)


def test_mask_iou_sets_the_thresholds_passed(truth: dict[str, Any]) -> None:
    # A 10x10 square shifted by 2 columns: IoU 80/120 = 0.667 passes 0.50, 0.55, 0.60, 0.65 of ten thresholds.
    shifted = _results(1, [_square(4, 2, 10), _square(20, 20, 10)], [0, 1], [0.9, 0.8]) + \
        _results(2, [_square(5, 25, 10)], [1], [0.7])
    scores = coco_average_precision(truth, shifted, "segm")
    assert scores["per_class"]["circle"] == pytest.approx(0.4)
    assert scores["per_class"]["square"] == pytest.approx(1.0)
    assert scores["map"] == pytest.approx(0.7) and scores["map50"] == pytest.approx(1.0)


def test_wrong_class_missed_objects_and_no_detections(truth: dict[str, Any]) -> None:
    wrong = _results(1, [_square(2, 2, 10)], [1], [0.9])  # the circle called a square: a false positive
    scores = coco_average_precision(truth, wrong, "segm")
    assert scores["map"] == 0.0 and scores["map50"] == 0.0
    half = _results(2, [_square(5, 25, 10)], [1], [0.9])  # one of the two squares found, no circle
    assert coco_average_precision(truth, half, "segm")["per_class"]["square"] == pytest.approx(0.5, abs=0.01)
    empty = coco_average_precision(truth, [], "segm")
    assert empty == {"map": 0.0, "map50": 0.0, "per_class": {"circle": 0.0, "square": 0.0}}


def test_overlay_colours_each_instance_and_writes_a_png(tmp_path: Path) -> None:
    from PIL import Image

    image = np.full((16, 16, 1), 0.2, np.float32)
    masks = np.zeros((2, 16, 16), bool)
    masks[0, 2:6, 2:6] = True
    masks[1, 9:14, 8:15] = True
    boxes = np.array([[2, 2, 6, 6], [8, 9, 15, 14]], np.float32)
    picture = overlay_instances(image, masks, boxes, ["circle 0.91", "square 0.55"])
    factor = enlargement(16, 16)
    assert picture.shape == (16 * factor, 16 * factor, 3) and picture.dtype == np.uint8
    for k, (row, col) in enumerate([(4, 4), (12, 11)]):   # mask centres: grey tinted halfway to the colour
        expected = np.round(0.5 * 0.2 * 255 + 0.5 * np.array(instance_colour(k)))
        np.testing.assert_allclose(picture[row * factor, col * factor], expected, atol=1)
    assert tuple(picture[0, 0]) == (51, 51, 51)  # outside every instance: the image itself
    masks[1, 5, 5] = True   # an overlap: the best instance (the first) is tinted last, on top
    on_top = overlay_instances(image, masks, boxes, ["circle 0.91", "square 0.55"])[5 * factor, 5 * factor]
    under = 0.5 * 0.2 * 255 + 0.5 * np.array(instance_colour(1))
    np.testing.assert_allclose(on_top, np.round(0.5 * under + 0.5 * np.array(instance_colour(0))), atol=1)
    masks[1, 5, 5] = False
    assert tuple(picture[9 * factor, 15 * factor - 1]) == instance_colour(1)  # the box's right edge
    path = write_overlay(tmp_path / "out.png", image, masks, boxes, ["circle 0.91", "square 0.55"])
    with Image.open(path) as written:
        assert written.size == (16 * factor, 16 * factor) and written.mode == "RGB"


def test_instance_map_scores_boxes_and_masks_from_one_pass(truth: dict[str, Any]) -> None:
    from archspec.train.instances.evaluation import Detections, InstanceMap, epoch_logs
    from archspec.train.instances.rle import mask_box

    def found(image: int) -> Detections:
        masks = [_square(2, 2, 10), _square(20, 20, 10)] if image == 1 else [_square(5, 27, 10)]
        boxes = np.array([[b[0], b[1], b[0] + b[2], b[1] + b[3]] for b in map(mask_box, masks)], np.float32)
        return Detections(boxes, np.full(len(masks), 0.9 if image == 1 else 0.8, np.float32),
                          np.array([0, 1] if image == 1 else [1], np.int32), np.stack(masks).astype(bool))

    calls = []

    def detect(images: np.ndarray) -> list[Detections]:
        calls.append(images.shape)
        return [found(int(v)) for v in images[:, 0, 0, 0]]

    # Two batches of one image each; the image's pixel value says which COCO image it is.
    batches = [(np.full((1, 4, 4, 1), i + 1.0, np.float32), {"image_index": np.array([i])}) for i in (0, 1)]
    evaluation = InstanceMap(detect, lambda: batches, truth, image_ids=[1, 2], category_ids=[3, 8])
    logs = epoch_logs(evaluation.scores())
    assert calls == [(1, 4, 4, 1), (1, 4, 4, 1)]
    # Image 2's square is 2 rows low: IoU 80/120 passes 4 of 10 thresholds, for boxes and masks alike;
    # above those, the squares' precision is 1 up to recall 0.5 and 0 after: 51 of COCO's 101 recall points.
    assert logs["val_map50"] == pytest.approx(1.0) and logs["val_mask_map50"] == pytest.approx(1.0)
    assert logs["val_map"] == pytest.approx((1 + 0.4 + 0.6 * 51 / 101) / 2)
    assert logs["val_mask_map"] == pytest.approx(logs["val_map"])
