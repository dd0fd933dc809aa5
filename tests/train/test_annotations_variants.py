"""COCO files as the tools that write them do (CVAT, Label Studio, Roboflow, FiftyOne,
labelme2coco): a generator of variants of one small data set, each read or refused as
docs/training.md says, masks checked against pycocotools' own decoding."""
from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from archspec.errors import UserError
from archspec.train.annotations.ground_truth import coco_ground_truth
from archspec.train.annotations.load import load_objects
from archspec.train.annotations.masks import encode_mask

H, W = 30, 50  # the images' size: another than any model input here


def _blob(y: slice, x: slice) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[y, x] = 1
    return mask


def _uncompressed(mask: np.ndarray) -> dict[str, Any]:
    """Column-major run lengths starting with zeros: COCO's crowd RLE with counts as a list."""
    flat = mask.flatten(order="F")
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": [H, W], "counts": np.diff(np.concatenate([[0], edges])).astype(int).tolist()}


def base_document() -> dict[str, Any]:
    """Two annotated images, one negative; categories with ids 4 and 9 (not from 1), a supercategory."""
    return {
        "info": {"description": "variants"}, "licenses": [],
        "images": [{"id": 1, "file_name": "a.png", "width": W, "height": H},
                   {"id": 2, "file_name": "sub/b.png", "width": W, "height": H},
                   {"id": 3, "file_name": "empty.png", "width": W, "height": H}],
        "categories": [{"id": 9, "name": "dog", "supercategory": "animal"},
                       {"id": 4, "name": "cat", "supercategory": "animal"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 4, "bbox": [2.5, 3.25, 20.0, 10.5], "iscrowd": 0,
             "segmentation": [[2.5, 3.25, 22.5, 3.25, 22.5, 13.75, 2.5, 13.75]], "area": 210.0},
            {"id": 11, "image_id": 1, "category_id": 9, "bbox": [30, 15, 15, 10], "iscrowd": 0,
             "segmentation": encode_mask(_blob(slice(15, 25), slice(30, 45)))},
            {"id": 12, "image_id": 2, "category_id": 9, "bbox": [5, 5, 10, 10], "iscrowd": 0,
             "segmentation": [[5, 5, 15, 5, 15, 15, 5, 15]]},
        ],
    }


def write_variant(folder: Path, change: Callable[[dict], Any] | None = None, json_name: str = "instances.json",
                  image_dir: str = "") -> Path:
    """The base data set (images as PNG files) with ``change`` applied to its document."""
    document = copy.deepcopy(base_document())
    if change:
        change(document)
    for image in base_document()["images"]:
        path = folder / image_dir / image["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((H, W, 3), 100, np.uint8)).save(path)
    path = folder / json_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def annotation(document: dict, aid: int) -> dict:
    return next(a for a in document["annotations"] if a["id"] == aid)


def refused(path: Path, task: str = "detection", **source: Any) -> str:
    with pytest.raises(UserError) as caught:
        load_objects({"coco": str(path), **source}, task)
    assert caught.value.exit_code == 2
    return caught.value.format()


def reference_mask(document: dict, aid: int) -> np.ndarray:
    coco = COCO()
    coco.dataset = copy.deepcopy(document)
    coco.createIndex()
    return coco.annToMask(coco.anns[aid])


# ---- crowd regions -------------------------------------------------------------------------------

@pytest.mark.parametrize("compressed", [False, True])
def test_crowd_rle_is_ignored_in_training_and_marked_crowd_in_the_ground_truth(tmp_path: Path,
                                                                             compressed: bool) -> None:
    crowd = _blob(slice(2, 12), slice(30, 48))
    rle = encode_mask(crowd) if compressed else _uncompressed(crowd)
    entry = {"id": 13, "image_id": 2, "category_id": 4, "bbox": [30, 2, 18, 10], "iscrowd": 1, "segmentation": rle}

    def add(document: dict) -> None:
        document["annotations"].append(entry)
    path = write_variant(tmp_path, add)
    document = json.loads(path.read_text())
    data = load_objects({"coco": str(path)}, "instance_segmentation")
    objects = data.objects(1)
    assert objects.ids.tolist() == [12]  # not a training target
    assert objects.crowd_boxes.tolist() == [[30, 2, 48, 12]] and objects.crowd_classes.tolist() == [0]
    assert np.array_equal(objects.crowd_masks[0], reference_mask(document, 13))
    truth = coco_ground_truth(data, (64, 64))
    assert sorted(a["iscrowd"] for a in truth["annotations"]) == [0, 0, 0, 1]
    detection = load_objects({"coco": str(path)}, "detection").objects(1)  # a detection data set reads it too
    assert detection.ids.tolist() == [12] and len(detection.crowd_boxes) == 1 and detection.masks is None


# ---- segmentations -------------------------------------------------------------------------------

@pytest.mark.parametrize("segmentation", ["missing", [], [[]], None])
def test_detection_needs_no_segmentation(tmp_path: Path, segmentation: Any) -> None:
    def strip(document: dict) -> None:
        for ann in document["annotations"]:
            if segmentation == "missing":
                ann.pop("segmentation")
            else:
                ann["segmentation"] = segmentation
    path = write_variant(tmp_path, strip)
    assert load_objects({"coco": str(path)}, "detection").objects(0).boxes.tolist() == \
        [[2.5, 3.25, 22.5, 13.75], [30, 15, 45, 25]]
    assert refused(path, "instance_segmentation").startswith("3 problems")  # every object needs a mask there
    if segmentation == [[]]:
        assert "annotation 10 (image 1 'a.png'): no segmentation: instance segmentation needs a mask for every " \
               "object" in refused(path, "instance_segmentation")


def test_several_polygons_of_one_object_are_one_mask(tmp_path: Path) -> None:
    def split(document: dict) -> None:
        annotation(document, 12)["segmentation"] = [[5, 5, 15, 5, 15, 9, 5, 9], [], [5, 11, 15, 11, 15, 15, 5, 15]]
    path = write_variant(tmp_path, split)
    mask = load_objects({"coco": str(path)}, "instance_segmentation").objects(1).masks[0]
    document = json.loads(path.read_text())  # pycocotools takes no empty polygon: its reference without it
    annotation(document, 12)["segmentation"] = [p for p in annotation(document, 12)["segmentation"] if p]
    assert np.array_equal(mask, reference_mask(document, 12)) and mask[5:9, 5:15].all() and not mask[10].any()


@pytest.mark.parametrize("polygon, message", [
    ([3, 3, 9, 9], "polygon has 2 points; it needs at least 3"),
    ([3, 3], "polygon has 1 point; it needs at least 3"),
    ([3, 3, 9, "9", 1, 1], "polygon is not a list of numbers"),
])
def test_malformed_polygons_are_refused(tmp_path: Path, polygon: list, message: str) -> None:
    path = write_variant(tmp_path, lambda d: annotation(d, 10).update(segmentation=[[0, 0, 4, 0, 4, 4], polygon]))
    assert refused(path, "instance_segmentation").startswith(
        f"instances.json: annotation 10 (image 1 'a.png'): {message}; fix or remove it")


# ---- boxes ---------------------------------------------------------------------------------------

def test_zero_size_boxes_are_left_out_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def flatten(document: dict) -> None:
        annotation(document, 10)["bbox"] = [2.5, 3.25, 0.0, 10.5]   # a click without a drag
        annotation(document, 12)["bbox"] = [W + 0.4, 5, 0.5, 10]     # on the edge: zero wide once clipped
    with caplog.at_level(logging.WARNING, "archspec.train"):
        data = load_objects({"coco": str(write_variant(tmp_path, flatten))}, "detection")
    assert data.objects(0).ids.tolist() == [11] and len(data.objects(1)) == 0
    assert "2 annotation(s) with a zero-width or zero-height bbox left out (as Ultralytics and Detectron2 leave " \
           "them out): 10 (image 1 'a.png'), 12 (image 2 'sub/b.png')" in caplog.text


@pytest.mark.parametrize("bbox, clipped", [
    ([30, 15, W - 30 + 0.3, 10], [30, 15, W, 25]),          # x + w = width + 0.3: rounding, clipped
    ([-0.8, -0.2, 20, H + 0.9], [0, 0, 19.2, H]),
])
def test_boxes_past_the_edge_within_a_pixel_are_clipped(tmp_path: Path, bbox: list, clipped: list) -> None:
    path = write_variant(tmp_path, lambda d: annotation(d, 11).update(bbox=bbox))
    assert np.allclose(load_objects({"coco": str(path)}, "detection").objects(0).boxes[1], clipped)


def test_boxes_clearly_outside_are_refused(tmp_path: Path) -> None:
    path = write_variant(tmp_path, lambda d: annotation(d, 11).update(bbox=[30, 15, W - 30 + 1.5, 10]))
    assert refused(path).startswith("instances.json: annotation 11 (image 1 'a.png'): bbox (as x1, y1, x2, y2) "
                                    "[30, 15, 51.5, 25] extends past the 50x30 image (by 1.5 pixels; the tolerance "
                                    "is 1)")
    bad = write_variant(tmp_path, lambda d: annotation(d, 11).update(bbox=[30, 15, float("nan"), 10]))
    assert "bbox [30, 15, nan, 10] is not [x, y, width, height] (four finite numbers)" in refused(bad)


# ---- categories and images -----------------------------------------------------------------------

def test_category_ids_in_any_order_and_a_category_without_annotations(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    def roboflow(document: dict) -> None:  # Roboflow lists the data set itself as category 0
        document["categories"].insert(0, {"id": 0, "name": "pets", "supercategory": "none"})
    with caplog.at_level(logging.WARNING, "archspec.train"):
        data = load_objects({"coco": str(write_variant(tmp_path, roboflow))}, "detection")
    assert data.class_names == ("pets", "cat", "dog") and [c.id for c in data.categories] == [0, 4, 9]
    assert data.objects(0).classes.tolist() == [1, 2]
    assert "1 of its 3 categories have no annotations: 0 'pets' (they stay classes" in caplog.text


def test_images_without_annotations_are_negatives(tmp_path: Path) -> None:
    data = load_objects({"coco": str(write_variant(tmp_path))}, "instance_segmentation")
    assert len(data) == 3 and data.image_names[2] == "empty.png"
    empty = data.objects(2)
    assert empty.boxes.shape == (0, 4) and empty.masks.shape == (0, H, W)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["images"][1].update(id=1), "2 problems in the annotations of coco:"),
    (lambda d: annotation(d, 12).update(id=10),
     "instances.json: annotation 10 (the 3rd in the list) repeats the id of the 1st; annotation ids must be unique"),
    (lambda d: annotation(d, 11).pop("id"),
     "instances.json: the 2nd annotation has no integer id (None); give every annotation a unique integer id"),
    (lambda d: d["images"][0].update(width="50"),
     "instances.json: image 1 'a.png': width and height must be positive integers (received width '50', height 30)"),
])
def test_ids_must_be_unique_integers(tmp_path: Path, change: Callable, message: str) -> None:
    text = refused(write_variant(tmp_path, change))
    if message.startswith("2 problems"):  # the second image's annotation then names no image
        assert text.splitlines()[1:] == [
            "  instances.json: image 1 'sub/b.png': repeats the id of image 'a.png'; image ids must be unique "
            "(annotations name their image by it)", "  instances.json: annotation 12: unknown image_id 2"]
    else:
        assert text.startswith(f"{message}; fix or remove it")


@pytest.mark.parametrize("document, message", [
    ([{"id": 1, "annotations": [], "data": {"image": "a.png"}}],
     "its top level is a list (Label Studio's JSON export is a list of tasks: export as COCO instead)"),
    ({"version": "5.0", "shapes": [], "imagePath": "a.png"},
     "its top level is a LabelMe file of one image (convert it with labelme2coco)"),
    ({"annotations": [], "categories": []}, "its top level is an object without 'images' (keys: annotations, "
                                            "categories)"),
    ("text", "its top level is a str"),
])
def test_a_json_that_is_not_coco_says_what_it_is(tmp_path: Path, document: Any, message: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    assert refused(path) == f"{path} is not a COCO file: {message}; a COCO file is an object with lists 'images', " \
                            "'annotations' and 'categories'"


# ---- where the images are ------------------------------------------------------------------------

def test_sub_folders_absolute_and_foreign_paths_and_backslashes(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                                 ) -> None:
    def names(document: dict) -> None:
        document["images"][0]["file_name"] = str(tmp_path / "a.png")           # absolute, on this machine
        document["images"][1]["file_name"] = "sub\\b.png"                      # written on Windows
        document["images"][2]["file_name"] = "/data/upload/3/empty.png"        # Label Studio's upload path
    with caplog.at_level(logging.INFO, "archspec.train"):
        data = load_objects({"coco": str(write_variant(tmp_path, names))}, "detection")
    assert len(data) == 3 and data.image_names[1] == "sub\\b.png" and data.load_image(2).shape == (H, W, 3)
    assert "1 image(s) found by their base name" in caplog.text


@pytest.mark.parametrize("json_name, image_dir", [
    ("annotations/instances_val2017.json", "val2017"),        # COCO's own layout
    ("annotations/instances_default.json", "images"),         # CVAT's
    ("labels.json", "data"),                                   # FiftyOne's
    ("train.json", "train"),                                   # a split beside its file
])
def test_images_are_found_in_the_usual_export_layouts(tmp_path: Path, json_name: str, image_dir: str) -> None:
    path = write_variant(tmp_path, json_name=json_name, image_dir=image_dir)
    data = load_objects({"coco": str(path)}, "detection")
    assert len(data) == 3 and len(data.objects(0)) == 2


def test_no_image_found_names_the_folders_it_looked_in(tmp_path: Path) -> None:
    path = write_variant(tmp_path / "elsewhere")
    moved = tmp_path / "ann" / "instances.json"
    moved.parent.mkdir()
    moved.write_text(path.read_text())
    text = refused(moved)
    assert text.startswith(f"{moved}: none of its 3 images is found (the first: {moved.parent / 'a.png'}); none of "
                           f"the images is in {moved.parent} (also looked in {moved.parent / 'images'}")
    assert "give their folder as train.data.source: {coco: instances.json, images: DIR}" in text
    assert len(load_objects({"coco": str(moved), "images": str(path.parent)}, "detection")) == 3


# ---- sizes and EXIF orientation ------------------------------------------------------------------

def _turned_photo(path: Path, orientation: int = 6) -> np.ndarray:
    """A JPEG stored W x H whose EXIF says: turn 90 degrees clockwise; returns the upright pixels."""
    stored = np.zeros((W, H, 3), np.uint8)  # stored H'=W rows, W'=H columns
    stored[:5, :, 0] = 255                  # a red band along the stored top edge
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif, quality=100)
    from PIL import ImageOps
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


@pytest.mark.parametrize("stated, upright", [((H, W), True), ((W, H), False), (None, True)])
def test_exif_rotated_photos_are_read_as_their_width_and_height_say(tmp_path: Path, stated: Any,
                                                                    upright: bool) -> None:
    def photo(document: dict) -> None:
        entry = document["images"][0]
        entry["file_name"] = "phone.jpg"
        entry.pop("width"), entry.pop("height")
        if stated:
            entry["height"], entry["width"] = stated
        if not upright:  # annotations drawn on the stored W x H picture
            document["annotations"] = [a for a in document["annotations"] if a["image_id"] != 1]
    path = write_variant(tmp_path, photo)
    expected = _turned_photo(tmp_path / "phone.jpg")
    data = load_objects({"coco": str(path)}, "detection")
    pixels = data.load_image(0)
    if upright:
        assert data.sizes[0] == (H, W) and np.abs(pixels * 255 - expected).max() <= 1
        assert pixels[:, -5:, 0].mean() > 0.9  # the stored top edge is now the right edge
    else:
        assert data.sizes[0] == (W, H) and pixels[:5, :, 0].mean() > 0.9


def test_a_size_that_disagrees_with_the_file_is_refused_naming_it(tmp_path: Path) -> None:
    def photo(document: dict) -> None:
        document["images"][0].update(file_name="phone.jpg", width=W + 1, height=H)
    path = write_variant(tmp_path, photo)
    _turned_photo(tmp_path / "phone.jpg")
    assert refused(path).startswith(f"{tmp_path / 'phone.jpg'} (image 1): the file is {H}x{W} (height x width) "
                                    f"upright ({W}x{H} as stored, turned by its EXIF orientation) but "
                                    f"instances.json says {H}x{W + 1}")


def test_a_validation_file_with_other_categories_is_refused(tmp_path: Path) -> None:
    from archspec.train.config import resolve_config
    from archspec.train.detection.data import split_object_data

    train = write_variant(tmp_path / "train")
    swapped = write_variant(tmp_path / "val", lambda d: d.update(categories=[{"id": 9, "name": "cat"},
                                                                           {"id": 4, "name": "dog"}]))
    same = write_variant(tmp_path / "same", lambda d: d["categories"].reverse())  # the order in the file is free
    config = {"task": "detection", "data": {"source": {"coco": str(train)}, "validation": {"coco": str(same)}}}
    train_part, validation = split_object_data(resolve_config(config), (32, 32, 3), 2)
    assert validation is not None and validation.data.class_names == train_part.data.class_names == ("cat", "dog")
    config["data"]["validation"] = {"coco": str(swapped)}
    with pytest.raises(UserError) as caught:
        split_object_data(resolve_config(config), (32, 32, 3), 2)
    assert caught.value.message == (f"coco:{swapped} has the categories 4 'dog', 9 'cat' but the training data "
                                    f"coco:{train} has 4 'cat', 9 'dog'; class 0 would mean another category in each")
