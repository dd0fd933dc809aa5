"""Instance masks: assembly, crop, targets, loss and upsampling against NumPy; RLE against pycocotools."""
from __future__ import annotations

import numpy as np
import pytest

from archspec.train.instances import rle
from train_testkit import restore_tf_state  # noqa: F401  (autouse fixture)

tf = pytest.importorskip("tensorflow")


def _np_region(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pixel centres inside each box, written out pixel by pixel."""
    out = np.zeros((len(boxes), height, width), np.float32)
    for n, (x1, y1, x2, y2) in enumerate(boxes):
        for row in range(height):
            for col in range(width):
                out[n, row, col] = x1 <= col + 0.5 < x2 and y1 <= row + 0.5 < y2
    return out


def _np_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with half-pixel centres and edge clamping (what tf.image.resize does)."""
    h, w = image.shape

    def axis(out: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, size - 1)
        low = np.floor(pos).astype(int)
        return low, np.minimum(low + 1, size - 1), pos - low

    r0, r1, fr = axis(height, h)
    c0, c1, fc = axis(width, w)
    top = image[r0][:, c0] * (1 - fc) + image[r0][:, c1] * fc
    bottom = image[r1][:, c0] * (1 - fc) + image[r1][:, c1] * fc
    return top * (1 - fr[:, None]) + bottom * fr[:, None]


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"protos": rng.normal(size=(6, 8, 5)).astype(np.float32),
            "coeffs": rng.normal(size=(3, 5)).astype(np.float32),
            "boxes": np.array([[0.0, 0.0, 8.0, 6.0], [1.2, 2.5, 4.4, 5.9], [6.4, 0.3, 7.4, 1.0]], np.float32)}


def test_assembly_and_crop_against_numpy(arrays: dict[str, np.ndarray]) -> None:
    from archspec.train.instances.masks import assemble_masks, crop_masks

    logits = assemble_masks(arrays["coeffs"], arrays["protos"]).numpy()
    expected = np.stack([arrays["protos"] @ c for c in arrays["coeffs"]])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    cropped = crop_masks(tf.constant(logits), arrays["boxes"]).numpy()
    region = _np_region(arrays["boxes"], 6, 8)
    np.testing.assert_allclose(cropped, expected * region, rtol=1e-5, atol=1e-5)
    assert region[0].all() and region[1].sum() == 3 * 4 and region[2].sum() == 1


def test_instance_masks_upsample_then_crop(arrays: dict[str, np.ndarray]) -> None:
    from archspec.train.instances.masks import instance_masks

    boxes = arrays["boxes"] * 4
    masks = instance_masks(arrays["coeffs"], arrays["protos"], boxes, (24, 32)).numpy()
    logits = np.stack([arrays["protos"] @ c for c in arrays["coeffs"]])
    large = np.stack([_np_bilinear(m, 24, 32) for m in logits])
    expected = (large > 0) & (_np_region(boxes, 24, 32) > 0)
    assert masks.dtype == bool and masks.shape == (3, 24, 32)
    assert np.mean(masks != expected) < 1e-3  # ties at exactly 0 may round either way


def test_mask_targets_average_areas() -> None:
    from archspec.train.instances.masks import mask_targets

    masks = np.zeros((2, 3, 8, 8), np.uint8)
    masks[0, 1, 0:4, 0:2] = 1   # half of the top-left 4x4 cell
    masks[1, 0] = 1
    small = mask_targets(masks, (2, 2)).numpy()
    assert small.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(small[0, 1], [[0.5, 0], [0, 0]])
    np.testing.assert_allclose(small[1, 0], np.ones((2, 2)))
    assert small[0, 0].sum() == 0


def test_mask_loss_is_zero_for_perfect_coefficients_and_counts_only_inside_boxes() -> None:
    from archspec.train.instances.masks import mask_loss

    target = np.zeros((2, 8, 8), np.float32)
    target[0, 1:4, 1:5] = 1
    target[1, 5:8, 4:8] = 1
    boxes = np.array([[1, 1, 5, 4], [4, 5, 8, 8]], np.float32)
    protos = np.stack([2 * target[0] - 1, 2 * target[1] - 1], axis=-1)      # (8, 8, 2)
    perfect = np.array([[30.0, 0.0], [0.0, 30.0]], np.float32)
    per_image = np.stack([protos, protos])
    assert float(mask_loss(perfect, per_image, target, boxes)) < 1e-9
    # A wrong prediction outside the box costs nothing: YOLACT's crop.
    outside = per_image.copy()
    outside[0, 0, 0, 0] = 5.0
    assert float(mask_loss(perfect, outside, target, boxes)) < 1e-9
    # Zero coefficients: BCE of logit 0 is ln 2 at every pixel, whatever the area.
    zero = mask_loss(np.zeros((2, 2), np.float32), per_image, target, boxes)
    np.testing.assert_allclose(float(zero), np.log(2.0), rtol=1e-6)
    # Padding rows (weight 0) do not count.
    padded = mask_loss(np.array([[30.0, 0.0], [0.0, 0.0]], np.float32), per_image, target, boxes,
                       weights=np.array([1.0, 0.0], np.float32))
    assert float(padded) < 1e-9
    assert float(mask_loss(perfect, per_image, target, boxes, weights=np.zeros(2, np.float32))) == 0.0


def test_mask_loss_normalises_by_box_area() -> None:
    from archspec.train.instances.masks import mask_loss

    protos = np.zeros((1, 8, 8, 1), np.float32)
    target = np.ones((1, 8, 8), np.float32)
    coeffs = np.zeros((1, 1), np.float32)
    small = mask_loss(coeffs, protos, target, np.array([[0, 0, 2, 2]], np.float32))
    large = mask_loss(coeffs, protos, target, np.array([[0, 0, 8, 8]], np.float32))
    np.testing.assert_allclose(float(small), float(large), rtol=1e-6)


def _random_masks(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = [np.zeros((1, 1), np.uint8), np.ones((3, 1), np.uint8), np.zeros((0, 4), np.uint8)]
    for _ in range(count):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        mask = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        if rng.random() < 0.5:  # one large blob gives long runs (several 5-bit groups)
            mask[:] = 0
            y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
            mask[y:y + int(rng.integers(1, 40)), x:x + int(rng.integers(1, 40))] = 1
        out.append(mask)
    return out


def test_rle_equals_pycocotools() -> None:
    mask_api = pytest.importorskip("pycocotools.mask")
    for mask in _random_masks(120):
        if mask.size == 0:
            assert rle.run_lengths(mask) == []
            continue
        ours = rle.encode(mask)
        theirs = mask_api.encode(np.asfortranarray(mask))
        assert ours["counts"] == theirs["counts"].decode("ascii"), mask
        assert ours["size"] == list(theirs["size"])
        assert int(mask_api.area(theirs)) == int(mask.sum())
        np.testing.assert_array_equal(mask_api.decode({"size": ours["size"], "counts": ours["counts"]}), mask)
        if mask.any():
            np.testing.assert_allclose(rle.mask_box(mask), mask_api.toBbox(theirs))


def test_batch_mask_loss_over_matches_of_every_level() -> None:
    pytest.importorskip("archspec.train.detection.assign")
    from archspec.train.detection.assign import match_level
    from archspec.train.instances.loss import batch_mask_loss

    # A 64x64 input, prototypes at stride 4 (16x16); one square object on 4-pixel edges, one padding slot.
    boxes = np.array([[[8, 16, 32, 40], [0, 0, 0, 0]]], np.float32)
    classes = np.array([[1, -1]], np.int32)
    masks = np.zeros((1, 2, 64, 64), np.uint8)
    masks[0, 0, 16:40, 8:32] = 1
    protos = np.zeros((1, 16, 16, 2), np.float32)
    protos[0, :, :, 0] = -1.0
    protos[0, 4:10, 2:8, 0] = 1.0          # channel 0 is the object's mask at stride 4, as +-1
    protos[0, :, :, 1] = 5.0               # channel 1 is set everywhere: outside the box it is cropped
    anchors = [[(16.0, 16.0), (24.0, 24.0)], [(32.0, 32.0), (48.0, 48.0)]]
    levels = [((8, 8), 8), ((4, 4), 16)]
    matches = [match_level(boxes, classes, grid, stride, a) for (grid, stride), a in zip(levels, anchors)]
    assert all(int(tf.reduce_sum(tf.cast(m.valid, tf.int32))) > 0 for m in matches)

    def predictions(coefficients: list[float]) -> list[np.ndarray]:
        out = []
        for (rows, cols), _ in levels:
            pred = np.zeros((1, rows, cols, 2, 4 + 1 + 3 + 2), np.float32)
            pred[..., -2:] = coefficients
            out.append(pred)
        return out

    perfect = batch_mask_loss(predictions([30.0, 0.0]), matches, protos, masks, boxes, (64, 64))
    assert float(perfect) < 1e-9
    zero = batch_mask_loss(predictions([0.0, 0.0]), matches, protos, masks, boxes, (64, 64))
    np.testing.assert_allclose(float(zero), np.log(2.0), rtol=1e-6)
    # Channel 1 alone: logit 5 on each of the box's 36 pixels, all of them the object's: BCE(5, 1).
    on = batch_mask_loss(predictions([0.0, 1.0]), matches, protos, masks, boxes, (64, 64))
    np.testing.assert_allclose(float(on), np.log1p(np.exp(-5.0)), rtol=1e-5)


def test_point_mask_loss_of_an_anchor_free_level() -> None:
    from archspec.train.detection.points import assign_points
    from archspec.train.instances.loss import batch_point_mask_loss

    boxes = np.array([[[8, 16, 32, 40], [0, 0, 0, 0]]], np.float32)
    classes = np.array([[1, -1]], np.int32)
    masks = np.zeros((1, 2, 64, 64), np.uint8)
    masks[0, 0, 16:40, 8:32] = 1
    protos = np.full((1, 16, 16, 2), -1.0, np.float32)
    protos[0, 4:10, 2:8, 0] = 1.0
    protos[0, :, :, 1] = 5.0
    points = [assign_points(boxes, classes, (8, 8), 8, (0.0, 1e9))]
    assert int(tf.reduce_sum(tf.cast(points[0].positive, tf.int32))) > 0

    def predictions(coefficients: list[float]) -> list[np.ndarray]:
        pred = np.zeros((1, 8, 8, 4 + 3 + 2), np.float32)
        pred[..., -2:] = coefficients
        return [pred]

    assert float(batch_point_mask_loss(predictions([30.0, 0.0]), points, protos, masks, boxes, (64, 64))) < 1e-9
    zero = batch_point_mask_loss(predictions([0.0, 0.0]), points, protos, masks, boxes, (64, 64))
    np.testing.assert_allclose(float(zero), np.log(2.0), rtol=1e-6)
    on = batch_point_mask_loss(predictions([0.0, 1.0]), points, protos, masks, boxes, (64, 64))
    np.testing.assert_allclose(float(on), np.log1p(np.exp(-5.0)), rtol=1e-5)
