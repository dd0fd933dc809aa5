"""yolo: folders as Ultralytics, Roboflow, CVAT and Label Studio export them: their layouts,
class names from data.yaml or classes.txt, label files with blank lines, boxes past the edge by
rounding, segments for -seg data, negatives; and object images that cannot be decoded."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from archspec.errors import UserError
from archspec.train.annotations.load import load_objects

H, W = 20, 40


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((H, W, 3), 60, np.uint8)).save(path)


def _label(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _raises(source: dict, task: str = "detection") -> str:
    with pytest.raises(UserError) as caught:
        load_objects(source, task)
    assert caught.value.exit_code == 2
    return caught.value.format()


def test_ultralytics_split_layout_names_two_folders_up_and_blank_lines(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "coco8"
    for split in ("train", "val"):
        _image(root / "images" / split / "a.jpg")
        _image(root / "images" / split / "negative.jpg")   # no label file: an image without objects
        _label(root / "labels" / split / "a.txt", "1 0.5 0.5 0.5 0.5\n\n  \n0 0.25 0.25 0.5 0.5\n\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: {0: cat, 1: dog}\n")
    train = load_objects({"yolo": str(root / "images" / "train")}, "detection")
    assert train.class_names == ("cat", "dog") and train.image_names == ("a.jpg", "negative.jpg")
    assert train.objects(0).boxes.tolist() == [[10, 5, 30, 15], [0, 0, 20, 10]] and train.objects(0).ids.tolist() == [1, 4]
    assert len(train.objects(1)) == 0
    with caplog.at_level(logging.WARNING, "archspec.train"):
        whole = load_objects({"yolo": str(root)}, "detection")
    assert len(whole) == 4 and "reads the images of images/train, images/val together" in caplog.text
    assert f"--data yolo:{root / 'images' / 'train'} --validation-data yolo:{root / 'images' / 'val'}" in caplog.text


def test_label_studio_classes_txt_and_a_class_out_of_its_range(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                                                 ) -> None:
    _image(tmp_path / "images" / "a.png")
    _label(tmp_path / "labels" / "a.txt", "0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n")
    (tmp_path / "classes.txt").write_text("person\ncar\n\n")
    assert _raises({"yolo": str(tmp_path)}) == f"{tmp_path}/labels/a.txt:2: class 2 is not one of the 2 classes " \
                                               "(0..1); fix or remove it; the data is checked before training starts"
    _label(tmp_path / "labels" / "a.txt", "1 0.5 0.5 0.2 0.2\n")
    _label(tmp_path / "labels" / "b.txt", "1 0.5 0.5 0.2 0.2\n")  # its image is b.heic: not read
    with caplog.at_level(logging.WARNING, "archspec.train"):
        assert load_objects({"yolo": str(tmp_path)}, "detection").class_names == ("person", "car")
    assert f"1 label file(s) have no image and are not read (e.g. {tmp_path}/labels/b.txt; images are read as " \
           ".bmp .gif .jpeg .jpg .png .tif .tiff .webp)" in caplog.text


def test_roboflow_layout_is_named_with_the_split_to_give(tmp_path: Path) -> None:
    for split in ("train", "valid"):
        _image(tmp_path / split / "images" / "a.jpg")
        _label(tmp_path / split / "labels" / "a.txt", "0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "data.yaml").write_text("train: ../train/images\nval: ../valid/images\nnc: 2\nnames: [a, b]\n")
    assert _raises({"yolo": str(tmp_path)}) == f"{tmp_path} has no images/ folder; {tmp_path} holds the splits " \
                                               f"train, valid (Roboflow's layout): give one, e.g. yolo:{tmp_path / 'train'}"
    data = load_objects({"yolo": str(tmp_path / "train")}, "detection")  # data.yaml beside the splits
    assert data.class_names == ("a", "b")


@pytest.mark.parametrize("line, boxes", [
    ("0 0.99 0.5 0.04 0.5", [[38.8, 5, 40, 15]]),      # its right edge 0.4 pixels past: clipped
    ("0 0.5 0.49 0.5 1.0", [[10, 0, 30, 19.8]]),        # 0.2 pixels above the top: clipped
])
def test_boxes_past_the_edge_by_rounding_are_clipped(tmp_path: Path, line: str, boxes: list) -> None:
    _image(tmp_path / "images" / "a.png")
    _label(tmp_path / "labels" / "a.txt", line + "\n")
    assert np.allclose(load_objects({"yolo": str(tmp_path)}, "detection").objects(0).boxes, boxes)


def test_coordinates_above_one_and_boxes_clearly_outside_are_refused(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.png")
    _label(tmp_path / "labels" / "a.txt", "0 0.5 0.5 1.2 0.5\n0 0.9 0.5 0.4 0.2\n0 0.5 0.5 0.2 0.2 0.3\n")
    labels = tmp_path / "labels" / "a.txt"
    assert _raises({"yolo": str(tmp_path)}).splitlines()[1:] == [
        f"  {labels}:1: values outside [0, 1]: 0.5 0.5 1.2 0.5",
        f"  {labels}:2: box cx 0.9 cy 0.5 w 0.4 h 0.2 extends past the image (edges [0.7, 0.4, 1.1, 0.6])",
        f"  {labels}:3: 6 fields; a box is 5 (cls cx cy w h), a polygon 7 or more (cls x1 y1 x2 y2 x3 y3 ...)"]


def test_segments_of_seg_data_are_masks_and_their_boxes(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.png")
    _image(tmp_path / "images" / "b.png")
    _label(tmp_path / "labels" / "a.txt", "0 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n\n0 0 0 0.2 0 0.2 0.5\n")
    data = load_objects({"yolo": str(tmp_path)}, "instance_segmentation")
    objects = data.objects(0)
    assert objects.boxes.tolist() == [[10, 5, 30, 15], [0, 0, 8, 10]] and objects.masks.shape == (2, H, W)
    assert objects.masks[0, 5:15, 10:30].all() and objects.masks[0].sum() == 200
    assert data.objects(1).masks.shape == (0, H, W)  # b has no label file: a negative


def test_no_label_file_at_all_is_refused(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.png")
    assert _raises({"yolo": str(tmp_path)}).startswith(
        f"none of the 1 images of yolo:{tmp_path} has a label file (the first would be {tmp_path}/labels/a.txt)")


def test_an_object_image_that_cannot_be_decoded_stops_training_naming_it(tmp_path: Path) -> None:
    """A truncated JPEG passes the header check; reading its pixels in the tf.data pipeline fails
    with its name, which the runner's error translation turns into a data error (exit 2)."""
    from archspec.train.annotations.dataset import object_dataset
    from archspec.train.failures import translate_error

    path = tmp_path / "images" / "a.jpg"
    path.parent.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)).save(path, quality=95)
    path.write_bytes(path.read_bytes()[:-300])
    _label(tmp_path / "labels" / "a.txt", "0 0.5 0.5 0.2 0.2\n")
    data = load_objects({"yolo": str(tmp_path)}, "detection")
    with pytest.raises(Exception) as caught:
        list(object_dataset(data, (32, 32, 3), batch_size=1))
    error = translate_error(caught.value, None)  # type: ignore[arg-type]
    assert isinstance(error, UserError) and error.exit_code == 2
    assert error.message.startswith(f"cannot decode the image file {path} (an image of yolo:{tmp_path}): ")
