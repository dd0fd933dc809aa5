"""Object data on its way to the model: letterbox and its inverse, augmentation moving boxes,
masks and keypoints with the pixels, the padded tensors of object_dataset, and the COCO ground
truth pycocotools scores."""
from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import pytest

from archspec.errors import Location, SpecErrors
from archspec.train.annotations.letterbox import Letterbox, letterbox
from archspec.train.annotations.load import load_objects
from archspec.train.annotations.augment_objects import ObjectAugment
from archspec.train.annotations.dataset import object_dataset, pad_targets
from archspec.train.annotations.ground_truth import coco_ground_truth
from archspec.train.annotations.masks import masks_to_boxes
from archspec.train.annotations.records import ImageObjects

SHAPES = {"builtin": "shapes", "samples": 12, "size": 40, "channels": 3, "objects": 4}


@pytest.fixture(scope="module")
def shapes() -> Any:
    return load_objects(SHAPES, "instance_segmentation")


@pytest.fixture(scope="module")
def poses() -> Any:
    return load_objects(SHAPES, "keypoints")


def _wide_image() -> tuple[np.ndarray, ImageObjects]:
    """A 30 x 60 image with one bright 10 x 20 rectangle, its mask and two keypoints."""
    image = np.zeros((30, 60, 3), np.float32)
    image[10:20, 20:40] = 1.0
    mask = (image[..., 0] > 0).astype(np.uint8)[None]
    keypoints = np.array([[[20, 10, 2], [40, 20, 1], [0, 0, 0]]], np.float32)
    return image, ImageObjects(np.array([[20, 10, 40, 20]], np.float32), np.zeros(1, np.int32),
                               np.array([5], np.int64), mask, keypoints)


def test_letterbox_keeps_the_aspect_pads_grey_and_inverts_exactly() -> None:
    image, objects = _wide_image()
    out, moved, box = letterbox(image, objects, (48, 48))
    assert box == Letterbox(scale=0.8, pad_x=0.0, pad_y=12.0)
    assert out.shape == (48, 48, 3) and np.all(out[:12] == 0.5) and np.all(out[36:] == 0.5)
    assert moved.boxes.tolist() == [[16, 20, 32, 28]]
    assert np.array_equal(masks_to_boxes(moved.masks), moved.boxes)  # the mask moved with the box
    assert np.all(out[moved.masks[0] > 0] > 0.8) and np.all(out[21:27, 17:31] == 1.0)  # and with the pixels
    assert moved.keypoints.tolist() == [[[16, 20, 2], [32, 28, 1], [0, 0, 0]]]  # absent stays at 0, 0
    assert np.allclose(box.to_image(moved.boxes), objects.boxes)
    assert np.allclose(box.points_to_image(moved.keypoints[:, :2]), objects.keypoints[:, :2])
    tall, _, tall_box = letterbox(np.ones((90, 30, 1), np.float32), objects, (32, 64))
    assert tall_box == Letterbox(scale=32 / 90, pad_x=26.0, pad_y=0.0) and tall.shape == (32, 64, 1)


@pytest.mark.parametrize("input_size", [(32, 32), (48, 80), (64, 40)])
def test_letterbox_of_any_size_fills_exactly_the_scaled_region(input_size: tuple[int, int]) -> None:
    rng = np.random.default_rng(input_size[0])
    for height, width in rng.integers(3, 700, size=(12, 2)):
        box = Letterbox.fit((height, width), input_size)
        out = letterbox(np.ones((height, width, 1), np.float32), ImageObjects.empty(), input_size)[0]
        inside = box.to_input(np.array([0, 0, width, height]))
        assert out.shape == (*input_size, 1)
        # one side fills the input; the other is padded evenly, up to a whole pixel of padding and the
        # half pixel the scaled size is rounded by
        assert np.isclose(max(inside[2] / input_size[1], inside[3] / input_size[0]), 1.0, atol=1e-5)
        assert abs(inside[0] - (input_size[1] - inside[2])) <= 1.5
        assert abs(inside[1] - (input_size[0] - inside[3])) <= 1.5
        x1, y1, x2, y2 = (int(round(float(v))) for v in inside)
        assert np.all(out[y1:y2, x1:x2] == 1.0) and np.isclose(out.sum(), (x2 - x1) * (y2 - y1) +
                                                               0.5 * (out.size - (x2 - x1) * (y2 - y1)), atol=1e-3)


def _covers(objects: ImageObjects) -> None:
    """Every box holds its mask and its visible keypoints."""
    for k in range(len(objects)):
        rows, cols = np.nonzero(objects.masks[k])
        x1, y1, x2, y2 = objects.boxes[k]
        assert cols.min() >= x1 - 1 and cols.max() + 1 <= x2 + 1 and rows.min() >= y1 - 1 and rows.max() + 1 <= y2 + 1


def test_a_horizontal_flip_moves_pixels_boxes_masks_and_swaps_left_and_right(shapes: Any, poses: Any) -> None:
    flip = ObjectAugment(flip_x=True, names=("RandomFlip",))
    image, objects, _ = letterbox(shapes.load_image(0), shapes.objects(0), (40, 40))
    for seed in range(8):  # some draws flip, some do not: both must stay consistent
        flipped, moved = flip.apply(image, objects, np.random.default_rng(seed))
        if np.array_equal(flipped, image):
            continue
        assert np.allclose(flipped, image[:, ::-1], atol=1e-5)
        assert np.array_equal(moved.masks, objects.masks[:, :, ::-1])
        assert np.allclose(moved.boxes[:, [2, 0]], 40 - objects.boxes[:, [0, 2]])
        _covers(moved)
        break
    else:
        pytest.fail("no draw flipped")
    keypoints = poses.objects(0).keypoints
    _, turned = flip.apply(image, poses.objects(0), np.random.default_rng(seed), flip_pairs=(0, 2, 1))
    assert np.allclose(turned.keypoints[:, 1, 0], 40 - keypoints[:, 2, 0])  # the new bottom-left was bottom-right
    assert np.all(turned.keypoints[:, 1, 0] < turned.keypoints[:, 2, 0])


def test_zoom_and_translation_move_everything_together_and_drop_what_leaves(shapes: Any, poses: Any) -> None:
    augment = ObjectAugment.from_entries([{"RandomZoom": {"height_factor": [-0.6, 0.4]}},
                                          {"RandomTranslation": {"height_factor": 0.3, "width_factor": 0.3}},
                                          {"RandomBrightness": {"factor": 0.1}}])
    for i in range(12):
        image, objects, _ = letterbox(shapes.load_image(i), shapes.objects(i), (40, 40))
        out, moved = augment.apply(image, objects, np.random.default_rng(i))
        _, pose = augment.apply(image, letterbox(image, poses.objects(i), (40, 40))[1], np.random.default_rng(i))
        _covers(moved)
        assert out.shape == (40, 40, 3) and 0 <= out.min() and out.max() <= 1
        for k in range(len(moved)):  # shapes are bright on black: the moved mask still lies on its shape
            assert out[..., 0][moved.masks[k] > 0].mean() > 0.3
        visible = pose.keypoints[..., 2] > 0
        assert np.all(pose.keypoints[~visible][:, :2] == 0)
        assert np.all((pose.keypoints[visible][:, :2] >= 0) & (pose.keypoints[visible][:, :2] < 40))
    away = ObjectAugment.from_entries([{"RandomTranslation": {"height_factor": [0.95, 0.95],
                                                              "width_factor": [0.95, 0.95]}}])
    image, objects, _ = letterbox(poses.load_image(0), poses.objects(0), (40, 40))
    out, gone = away.apply(image, objects, np.random.default_rng(0))
    assert len(objects) and not len(gone) and gone.keypoints.shape == (0, 3, 3) and out[:37, :37].max() == 0.5


def test_augmentations_that_cannot_move_objects_are_refused_at_their_line() -> None:
    where = lambda path: Location("net.yaml", 10 + path[-1], 7)  # noqa: E731
    with pytest.raises(SpecErrors) as caught:
        ObjectAugment.from_entries(["RandomRotation", {"RandomTranslation": {"height_factor": 0.1,
                                                                             "fill_mode": "reflect"}},
                                    {"RandomFlip": {"mode": "vertical"}}], keypoints=True, locate=where)
    assert [e.format() for e in caught.value.errors] == [
        "net.yaml:10:7: augment: RandomRotation: does not move boxes, masks and keypoints with the image; use "
        "RandomFlip, RandomZoom, RandomTranslation, RandomBrightness, RandomContrast for object tasks",
        "net.yaml:11:7: augment: RandomTranslation: argument 'fill_mode' is not read for object tasks; use "
        "height_factor, width_factor (uncovered pixels are grey, never reflected)",
        "net.yaml:12:7: augment: RandomFlip: a vertical flip would turn keypoint names upside down; use mode: "
        "horizontal (left/right keypoints are swapped)"]
    with pytest.raises(SpecErrors, match="a zoom factor of -1 or less leaves no image"):
        ObjectAugment.from_entries([{"RandomZoom": {"height_factor": [-1, 0]}}])


def test_object_dataset_pads_batches_and_repeats_by_seed(shapes: Any) -> None:
    dataset = object_dataset(shapes, (48, 48, 1), batch_size=5, augment=[{"RandomFlip": {"mode": "horizontal"}}],
                             shuffle=True, max_objects=6, seed=3, indices=[0, 2, 4, 6, 8, 10, 11])
    assert int(dataset.cardinality()) == 2
    first = [(x.numpy(), {k: v.numpy() for k, v in t.items()}) for x, t in dataset]
    second = [t["image_index"].numpy().tolist() for _, t in dataset]
    images, targets = first[0]
    assert images.shape == (5, 48, 48, 1) and images.dtype == np.float32
    assert {k: (v.shape, v.dtype.name) for k, v in targets.items()} == {
        "boxes": ((5, 6, 4), "float32"), "classes": ((5, 6), "int32"), "masks": ((5, 6, 48, 48), "uint8"),
        "image_index": ((5,), "int32")}
    order = [int(i) for _, t in first for i in t["image_index"]]
    assert sorted(order) == [0, 2, 4, 6, 8, 10, 11] and order != second[0] + second[1]  # each epoch reshuffles
    again = object_dataset(shapes, (48, 48, 1), 5, [{"RandomFlip": {"mode": "horizontal"}}], True, 6, seed=3,
                           indices=[0, 2, 4, 6, 8, 10, 11])
    assert np.array_equal(next(iter(again))[0].numpy(), images)  # a seed repeats the run
    for b in range(5):
        index = int(targets["image_index"][b])
        count = len(shapes.objects(index))
        assert np.all(targets["classes"][b, :count] >= 0) and np.all(targets["classes"][b, count:] == -1)
        assert np.all(targets["boxes"][b, count:] == 0) and not targets["masks"][b, count:].any()
        _covers(ImageObjects(targets["boxes"][b, :count], targets["classes"][b, :count], np.zeros(count, np.int64),
                             targets["masks"][b, :count]))


def test_images_without_objects_are_batched_with_padding_only(tmp_path: Any) -> None:
    from test_annotations_data import _write_yolo

    root = _write_yolo(tmp_path, {"one": "1 0.1 0.1 0.9 0.1 0.9 0.9 0.1 0.9\n"})  # two images have no label file
    data = load_objects({"yolo": str(root)}, "instance_segmentation")
    augment = [{"RandomFlip": {"mode": "horizontal"}}, {"RandomZoom": {"height_factor": 0.3}}]
    _, targets = next(iter(object_dataset(data, (16, 16, 3), 3, augment, max_objects=2)))
    assert targets["classes"].numpy().tolist() == [[-1, -1], [1, -1], [-1, -1]]
    assert targets["masks"].numpy()[[0, 2]].sum() == 0 and targets["masks"].numpy()[1, 0].sum() > 0


def test_max_objects_keeps_the_largest(poses: Any) -> None:
    objects = poses.objects(next(i for i in range(12) if len(poses.objects(i)) >= 3))
    padded = pad_targets(objects, 2, (40, 40), poses)
    area = (objects.boxes[:, 2] - objects.boxes[:, 0]) * (objects.boxes[:, 3] - objects.boxes[:, 1])
    assert sorted(padded["boxes"].tolist()) == sorted(objects.boxes[np.argsort(-area)[:2]].tolist())
    assert padded["keypoints"].shape == (2, 3, 3)


def _evaluate(truth: dict[str, Any], kind: str, shift: float = 0.0) -> float:
    """AP at IoU (or OKS) 0.5 of predictions equal to the truth, moved right by ``shift`` pixels."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    reference = COCO()
    reference.dataset = truth
    with contextlib.redirect_stdout(io.StringIO()):
        reference.createIndex()
        found = [{"image_id": a["image_id"], "category_id": a["category_id"], "score": 0.9,
                  "bbox": [a["bbox"][0] + shift, a["bbox"][1], a["bbox"][2], a["bbox"][3]],
                  **({"segmentation": a["segmentation"]} if kind == "segm" else {}),
                  **({"keypoints": a["keypoints"]} if kind == "keypoints" else {})}
                 for a in truth["annotations"] if not a["iscrowd"]]
        scored = COCOeval(reference, reference.loadRes(found), kind)
        scored.params.kpt_oks_sigmas = np.full(3, 0.05)  # COCO's 17 person sigmas do not apply
        scored.evaluate()
        scored.accumulate()
        scored.summarize()
    return float(scored.stats[1])


def test_ground_truth_in_model_input_pixels_scores_its_own_objects_perfectly(shapes: Any, poses: Any) -> None:
    truth = coco_ground_truth(shapes, (64, 64), indices=range(6))
    first = letterbox(shapes.load_image(0), shapes.objects(0), (64, 64))[1]
    boxes = [a["bbox"] for a in truth["annotations"] if a["image_id"] == shapes.image_ids[0]]
    assert np.allclose([[x, y, x + w, y + h] for x, y, w, h in boxes], first.boxes)
    assert [a["id"] for a in truth["annotations"]] == list(range(1, len(truth["annotations"]) + 1))
    assert _evaluate(truth, "bbox") == 1.0 and _evaluate(truth, "segm") == 1.0
    assert _evaluate(truth, "bbox", shift=30.0) < 0.5  # the evaluation can fail
    pose_truth = coco_ground_truth(poses, (64, 64), indices=range(6))
    assert pose_truth["categories"][0]["skeleton"] == [[1, 2], [2, 3], [3, 1]]
    assert _evaluate(pose_truth, "keypoints") == 1.0


def test_crowd_regions_are_marked_in_the_ground_truth(tmp_path: Any) -> None:
    from test_annotations_data import _coco_document, _write_coco

    data = load_objects({"coco": str(_write_coco(tmp_path, _coco_document()))}, "instance_segmentation")
    truth = coco_ground_truth(data, (30, 45), indices=[0])  # 40 x 60 at scale 0.75
    crowd = [a for a in truth["annotations"] if a["iscrowd"]]
    assert len(truth["annotations"]) == 3 and len(crowd) == 1
    assert np.allclose(crowd[0]["bbox"], [1.5, 18.75, 13.5, 9.75]) and crowd[0]["category_id"] == 3
    assert crowd[0]["segmentation"]["size"] == [30, 45]
