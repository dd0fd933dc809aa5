"""Detection's pieces on hand-made boxes: CIoU against its formula written out, the YOLOv5
assignment, a perfect prediction's loss, decoding, NMS, and box mAP against pycocotools."""
from __future__ import annotations

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from archspec.heads.head import Head, Level  # noqa: E402
from archspec.train.detection.assign import match_level  # noqa: E402
from archspec.train.detection.boxes import ciou  # noqa: E402
from archspec.train.detection.decode import decode, select  # noqa: E402
from archspec.train.detection.loss import level_terms  # noqa: E402

ANCHORS = [[8.0, 8.0], [16.0, 16.0], [70.0, 70.0]]


def ciou_direct(a: np.ndarray, b: np.ndarray) -> float:
    """Zheng et al. 2020, eq. 10-11, for two boxes (cx, cy, w, h)."""
    ax1, ay1, ax2, ay2 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx1, by1, bx2, by2 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    iou = inter / (a[2] * a[3] + b[2] * b[3] - inter)
    c2 = (max(ax2, bx2) - min(ax1, bx1)) ** 2 + (max(ay2, by2) - min(ay1, by1)) ** 2
    rho2 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
    v = 4 / math.pi ** 2 * (math.atan(b[2] / b[3]) - math.atan(a[2] / a[3])) ** 2
    alpha = v / (1 - iou + v) if v else 0.0
    return iou - rho2 / c2 - alpha * v


def test_ciou_equals_the_formula_written_out() -> None:
    rng = np.random.default_rng(3)
    pred = np.concatenate([rng.uniform(0, 10, (50, 2)), rng.uniform(0.5, 6, (50, 2))], 1)
    true = np.concatenate([rng.uniform(0, 10, (50, 2)), rng.uniform(0.5, 6, (50, 2))], 1)
    got = ciou(tf.constant(pred[:, :2]), tf.constant(pred[:, 2:]), tf.constant(true[:, :2]), tf.constant(true[:, 2:]))
    want = [ciou_direct(p, t) for p, t in zip(pred, true)]
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)
    same = ciou(tf.constant(true[:, :2]), tf.constant(true[:, 2:]), tf.constant(true[:, :2]), tf.constant(true[:, 2:]))
    np.testing.assert_allclose(same.numpy(), 1.0, atol=1e-5)


def _one_object() -> tuple[np.ndarray, np.ndarray]:
    """Batch of one image, two slots: a 16x16 object centred at (21, 11); padding."""
    boxes = np.array([[[13, 3, 29, 19], [0, 0, 0, 0]]], np.float32)
    return boxes, np.array([[1, -1]], np.int32)


def test_assignment_matches_anchors_by_ratio_and_the_two_nearest_neighbour_cells() -> None:
    boxes, classes = _one_object()
    m = match_level(tf.constant(boxes), tf.constant(classes), (8, 8), 8, ANCHORS)
    valid = m.valid.numpy()
    assert valid.shape == (1, 2, 3, 3)
    assert not valid[0, 1].any(), "padding matches nothing"
    assert valid[0, 0].tolist() == [[True] * 3, [True] * 3, [False] * 3], "70x70 is more than 4x 16x16"
    # centre (2.625, 1.375) cells: its own (row 1, col 2), the right neighbour, the upper one
    assert m.cell.numpy()[0, 0, 0].tolist() == [[1, 2], [1, 3], [0, 2]]
    np.testing.assert_allclose(m.target_xy.numpy()[0, 0, 0], [[0.625, 0.375], [-0.375, 0.375], [0.625, 1.375]])
    np.testing.assert_allclose(m.target_wh.numpy()[0, 0, 0], [[2.0, 2.0]] * 3)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def perfect_prediction() -> np.ndarray:
    """Logits (1, 8, 8, 3 x 7) of 2 classes that decode to the object exactly where it is matched."""
    boxes, classes = _one_object()
    m = match_level(tf.constant(boxes), tf.constant(classes), (8, 8), 8, ANCHORS)
    pred = np.full((1, 8, 8, 3, 7), -12.0, np.float32)
    for a in range(3):
        for k in range(3):
            if not m.valid.numpy()[0, 0, a, k]:
                continue
            row, col = m.cell.numpy()[0, 0, a, k]
            xy = m.target_xy.numpy()[0, 0, a, k]
            wh = m.target_wh.numpy()[0, 0, a, k] / (np.array(ANCHORS[a]) / 8)
            pred[0, row, col, a, :2] = _logit((xy + 0.5) / 2)
            pred[0, row, col, a, 2:4] = _logit(np.sqrt(wh) / 2)
            pred[0, row, col, a, 4] = 12.0
            pred[0, row, col, a, 5 + classes[0, 0]] = 12.0
    return pred.reshape(1, 8, 8, 21)


def test_a_perfect_prediction_has_almost_no_loss() -> None:
    boxes, classes = _one_object()
    targets = tf.constant(np.concatenate([boxes, classes[..., None].astype(np.float32)], -1))
    terms = level_terms(targets, tf.constant(perfect_prediction()), (8, 8), 8, ANCHORS, 2)
    assert float(terms["matches"]) == 6
    assert float(terms["box"]) < 1e-5
    assert float(terms["objectness"]) < 1e-4 and float(terms["classes"]) < 1e-4
    worse = level_terms(targets, tf.zeros((1, 8, 8, 21)), (8, 8), 8, ANCHORS, 2)
    assert all(float(worse[k]) > 0.1 for k in ("box", "objectness", "classes"))


def test_decoding_finds_the_object_and_nms_keeps_one_box_per_object() -> None:
    head = Head("detection", 2, (64, 64), (Level("p3", 8, (8, 8), 21, tuple(map(tuple, ANCHORS))),))
    decoded = decode([tf.constant(perfect_prediction())], head)
    assert decoded.boxes.shape == (1, 192, 4) and decoded.scores.shape == (1, 192, 2)
    found = select(decoded.boxes[0], decoded.scores[0], score_threshold=0.25, iou_threshold=0.6)
    assert len(found) == 1 and found.classes.tolist() == [1]
    np.testing.assert_allclose(found.boxes[0], [13, 3, 29, 19], atol=1e-3)
    assert float(decoded.scores[0, found.indices[0], 1]) == pytest.approx(found.scores[0])


def test_nms_is_per_class() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 1, 10, 11], [30, 30, 40, 40]], np.float32)
    scores = np.array([[0.9, 0.0], [0.8, 0.0], [0.0, 0.7], [0.6, 0.0]], np.float32)
    found = select(boxes, scores, score_threshold=0.1, iou_threshold=0.5)
    assert found.indices.tolist() == [0, 2, 3], "the overlapping box of another class stays"
    assert found.classes.tolist() == [0, 1, 0]
    assert len(select(boxes, scores, score_threshold=0.85)) == 1


def test_a_head_with_anchors_gets_yolov5_losses() -> None:
    from archspec.heads.head import example_head
    from archspec.train.detection.loss import LevelLoss, head_losses

    losses = head_losses(example_head(), {})
    assert [type(loss) for loss in losses] == [LevelLoss, LevelLoss] and [loss.balance for loss in losses] == [4.0, 1.0]
