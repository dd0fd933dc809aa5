"""Anchor-free detection on hand-made boxes: FCOS's level and centre-sampled points, a perfect
prediction's loss, decoding to the same NMS, the losses head_losses gives, and Keras fitting a
two-level model with them."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from archspec.errors import UserError  # noqa: E402
from archspec.heads.head import Head, Level, example_head  # noqa: E402
from archspec.train.detection.decode import decode, select  # noqa: E402
from archspec.train.detection.loss import head_losses  # noqa: E402
from archspec.train.detection.point_loss import PointLevelLoss, point_terms  # noqa: E402
from archspec.train.detection.points import assign_points, level_bounds  # noqa: E402

# One image, four slots: a 16x16 object centred at (21, 11), a 4x4 one at (31, 31), a 40x40 one, padding.
BOXES = np.array([[[13, 3, 29, 19], [29, 29, 33, 33], [20, 20, 60, 60], [0, 0, 0, 0]]], np.float32)
CLASSES = np.array([[1, 0, 2, -1]], np.int32)
BOUNDS = level_bounds([8, 16])  # longer sides up to 32 px on p3 (stride 8), beyond on p4 (stride 16)


def _positives(grid: tuple[int, int], stride: int, bounds: tuple[float, float]) -> dict[tuple[int, int], int]:
    """{(row, column): object slot} of the positive points of one level."""
    t = assign_points(tf.constant(BOXES), tf.constant(CLASSES), grid, stride, bounds)
    positive, objects = t.positive.numpy()[0], t.objects.numpy()[0]
    return {divmod(int(p), grid[1]): int(objects[p]) for p in np.flatnonzero(positive)}


def test_each_object_trains_the_level_of_its_size_on_its_centre_points() -> None:
    fine = _positives((8, 8), 8, BOUNDS[0])
    # the 16x16: the points inside it within 1.5 strides of (21, 11): x 20, 28 and y 4, 12
    assert {cell for cell, k in fine.items() if k == 0} == {(0, 2), (0, 3), (1, 2), (1, 3)}
    # the 4x4 holds no point centre: it trains the cell holding its centre
    assert {cell for cell, k in fine.items() if k == 1} == {(3, 3)}
    assert 2 not in fine.values(), "the 40x40 is beyond p3's 32 px"
    coarse = _positives((4, 4), 16, BOUNDS[1])
    # the 40x40 centred at (40, 40): x and y 24, 40, 56 are inside and within 24 px
    assert set(coarse) == {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)} and set(coarse.values()) == {2}


def test_a_point_two_objects_claim_trains_the_smaller() -> None:
    boxes = np.array([[[0, 0, 30, 30], [8, 8, 24, 24]]], np.float32)   # the small one inside the large one
    t = assign_points(tf.constant(boxes), tf.constant([[0, 1]]), (8, 8), 8, (0.0, 1e9))
    objects = t.objects.numpy()[0].reshape(8, 8)
    assert objects[1, 1] == 1 and objects[2, 2] == 1, "shared points go to the 16x16"
    assert objects[0, 0] == 0 and t.positive.numpy()[0].reshape(8, 8)[0, 0]
    assert t.classes.numpy()[0].reshape(8, 8)[1, 1] == 1


def _inverse_softplus(y: np.ndarray) -> np.ndarray:
    return np.log(np.expm1(y))


def perfect_level(grid: tuple[int, int], stride: int, bounds: tuple[float, float],
                  labels: np.ndarray = CLASSES, classes: int = 3) -> np.ndarray:
    """Logits (1, H, W, 4 + C) that decode every positive point to its object, with its class sure
    (a point outside its object, the 4x4's, reaches it as nearly as positive distances can)."""
    t = assign_points(tf.constant(BOXES), tf.constant(labels), grid, stride, bounds)
    rows, cols = grid
    pred = np.full((rows * cols, 4 + classes), -12.0, np.float32)
    pred[:, :4] = _inverse_softplus(np.full(4, 0.5))
    for p in np.flatnonzero(t.positive.numpy()[0]):
        x, y = (p % cols + 0.5) * stride, (p // cols + 0.5) * stride
        x1, y1, x2, y2 = t.boxes.numpy()[0, p]
        pred[p, :4] = _inverse_softplus(np.maximum(np.array([x - x1, y - y1, x2 - x, y2 - y]) / stride, 0.01))
        pred[p, 4 + t.classes.numpy()[0, p]] = 12.0
    return pred.reshape(1, rows, cols, 4 + classes)


def _targets(labels: np.ndarray = CLASSES) -> tf.Tensor:
    return tf.constant(np.concatenate([BOXES, labels[..., None].astype(np.float32)], -1))


def test_a_perfect_prediction_has_almost_no_loss() -> None:
    """The 4x4 object's own cell's centre lies outside it (no positive distances reach it), so p3
    is scored on the 16x16 alone: a target without it."""
    labels = np.array([[1, -1, 2, -1]], np.int32)
    targets = _targets(labels)
    terms = point_terms(targets, tf.constant(perfect_level((8, 8), 8, BOUNDS[0], labels)), (8, 8), 8, 3, BOUNDS[0])
    assert float(terms["matches"]) == 4
    assert float(terms["box"]) < 1e-5 and float(terms["classes"]) < 1e-4
    coarse = point_terms(targets, tf.constant(perfect_level((4, 4), 16, BOUNDS[1], labels)), (4, 4), 16, 3,
                         BOUNDS[1])
    assert float(coarse["matches"]) == 9 and float(coarse["box"]) < 1e-5 and float(coarse["classes"]) < 1e-4
    worse = point_terms(targets, tf.zeros((1, 8, 8, 7)), (8, 8), 8, 3, BOUNDS[0])
    assert float(worse["box"]) > 0.1 and float(worse["classes"]) > 0.1


def test_decoding_and_nms_give_each_object_one_box() -> None:
    head = Head("detection", 3, (64, 64), (Level("p3", 8, (8, 8), 7), Level("p4", 16, (4, 4), 7)))
    outputs = [tf.constant(perfect_level((8, 8), 8, BOUNDS[0])), tf.constant(perfect_level((4, 4), 16, BOUNDS[1]))]
    decoded = decode(outputs, head)
    assert decoded.boxes.shape == (1, 80, 4) and decoded.scores.shape == (1, 80, 3) and decoded.extras.shape[-1] == 0
    found = select(decoded.boxes[0], decoded.scores[0], score_threshold=0.25, iou_threshold=0.6)
    order = np.argsort(found.classes)
    assert found.classes[order].tolist() == [0, 1, 2]
    np.testing.assert_allclose(found.boxes[order[1]], BOXES[0, 0], atol=1e-3)
    np.testing.assert_allclose(found.boxes[order[2]], BOXES[0, 2], atol=1e-3)


def test_head_losses_of_an_anchor_free_head() -> None:
    losses = head_losses(example_head(anchors=False), {"level_sizes": [20]})
    assert [type(loss) for loss in losses] == [PointLevelLoss, PointLevelLoss]
    assert [loss.bounds for loss in losses] == [(0.0, 20.0), (20.0, 1e9)]
    again = PointLevelLoss.from_config(losses[1].get_config())
    assert again.bounds == losses[1].bounds and again.weights == losses[1].weights and again.balance == 1.0
    with pytest.raises(UserError, match="level_sizes"):
        head_losses(example_head(anchors=False), {"level_sizes": [20, 40]})
    # An anchor-free instance-segmentation head trains its boxes the same way (its mask term is
    # added by archspec.train.instances over the same FCOS points).
    from dataclasses import replace
    masked = head_losses(replace(example_head(anchors=False), prototypes="protos", coefficients=4), {})
    assert [type(loss) for loss in masked] == [PointLevelLoss, PointLevelLoss]


def test_keras_fit_with_the_anchor_free_losses_lowers_the_loss() -> None:
    import keras

    keras.utils.set_random_seed(0)
    image = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(8, 3, strides=8, padding="same", activation="relu")(image)
    p3 = keras.layers.Conv2D(7, 1, name="p3")(x)
    p4 = keras.layers.Conv2D(7, 1, name="p4")(keras.layers.MaxPooling2D(2)(x))
    model = keras.Model(image, [p3, p4])
    model.compile(keras.optimizers.Adam(0.01), loss=head_losses(example_head(anchors=False), {}), jit_compile=False)
    images = np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 3)).astype(np.float32)
    targets = np.repeat(_targets().numpy(), 2, axis=0)
    history = model.fit(images, (targets, targets), epochs=3, verbose=0).history["loss"]
    assert np.isfinite(history).all() and history[-1] < history[0]


def test_prior_biases_are_set_on_zero_biased_levels_only() -> None:
    import keras

    from archspec.train.detection.priors import level_prior, set_prior_biases

    head = example_head(anchors=False)
    image = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(4, 3, strides=8, padding="same")(image)
    p3 = keras.layers.Conv2D(7, 1, name="p3")(x)
    p4 = keras.layers.Conv2D(7, 1, name="p4", bias_initializer="ones")(keras.layers.MaxPooling2D(2)(x))
    model = keras.Model(image, [p3, p4])
    assert set_prior_biases(model, head) == ["p3"], "a bias the spec initialised stays its own"
    np.testing.assert_allclose(model.get_layer("p3").bias.numpy(), level_prior(head, head.levels[0]))
    assert float(model.get_layer("p3").bias.numpy()[4]) == pytest.approx(np.log((8 / 64 / 3) / (1 - 8 / 64 / 3)))
    np.testing.assert_allclose(model.get_layer("p4").bias.numpy(), 1.0)
