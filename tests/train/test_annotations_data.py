"""Object data sources: coco: and yolo: folders written here, builtin:shapes objects, and every
bad-data message (exact), collected before training with the file and annotation id."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from archspec.errors import UserError
from archspec.train.annotations import coco as coco_module
from archspec.train.annotations.load import load_objects
from archspec.train.annotations.masks import encode_mask
from archspec.train.config import parse_data_flag, resolve_config
from archspec.train.sources import load_source
from train_testkit import write_png

SQUARE = [[10, 10, 30, 10, 30, 25, 10, 25]]  # a 20 x 15 rectangle as a polygon


def _rle_uncompressed(mask: np.ndarray) -> dict[str, Any]:
    """Column-major run lengths starting with zeros, as COCO writes crowd masks."""
    flat, counts, current, run = mask.flatten(order="F"), [], 0, 0
    for value in flat:
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": [int(c) for c in counts]}


def _coco_document() -> dict[str, Any]:
    blob = np.zeros((40, 60), np.uint8)
    blob[5:20, 35:55] = 1
    crowd = np.zeros((40, 60), np.uint8)
    crowd[25:38, 2:20] = 1
    person = [12, 12, 2, 20, 14, 2, 0, 0, 0]
    return {
        "images": [{"id": 11, "file_name": "a.png", "width": 60, "height": 40},
                   {"id": 12, "file_name": "sub/b.png", "width": 30, "height": 30}],
        "categories": [{"id": 7, "name": "cat", "keypoints": ["nose", "left_eye", "right_eye"],
                        "skeleton": [[1, 2], [1, 3]]},
                       {"id": 3, "name": "dog", "keypoints": ["nose", "left_eye", "right_eye"], "skeleton": []}],
        "annotations": [
            {"id": 101, "image_id": 11, "category_id": 7, "bbox": [10, 10, 20, 15], "segmentation": SQUARE,
             "keypoints": person, "iscrowd": 0},
            {"id": 102, "image_id": 11, "category_id": 3, "bbox": [35, 5, 20, 15], "segmentation": encode_mask(blob),
             "keypoints": [40, 10, 2, 0, 0, 0, 0, 0, 0], "iscrowd": 0},
            {"id": 103, "image_id": 11, "category_id": 3, "bbox": [2, 25, 18, 13],
             "segmentation": _rle_uncompressed(crowd), "iscrowd": 1},
            {"id": 104, "image_id": 12, "category_id": 7, "bbox": [0, 0, 30.5, 30],
             "segmentation": [[0, 0, 30, 0, 30, 30]],
             "keypoints": [5, 5, 2, 6, 6, 1, 7, 7, 2], "iscrowd": 0},
        ],
    }


def _write_coco(folder: Path, document: dict[str, Any]) -> Path:
    write_png(folder / "a.png", np.full((40, 60, 3), 90, np.uint8))
    write_png(folder / "sub" / "b.png", np.full((30, 30), 200, np.uint8))
    path = folder / "instances.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def coco_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_coco(tmp_path_factory.mktemp("coco"), _coco_document())


def test_coco_categories_by_id_and_masks_as_pycocotools_decodes_them(coco_file: Path) -> None:
    data = load_objects({"coco": str(coco_file)}, "instance_segmentation")
    assert data.class_names == ("dog", "cat") and [c.id for c in data.categories] == [3, 7]
    assert data.sizes == ((40, 60), (30, 30)) and data.image_ids == (11, 12)
    assert data.categories[1].skeleton == ((0, 1), (0, 2))  # COCO's 1-based pairs
    objects = data.objects(0)
    assert objects.ids.tolist() == [101, 102] and objects.classes.tolist() == [1, 0]
    assert objects.boxes.tolist() == [[10, 10, 30, 25], [35, 5, 55, 20]]
    reference = COCO(str(coco_file))  # polygon, compressed and uncompressed RLE: pycocotools' own masks
    for k, aid in enumerate([101, 102]):
        assert np.array_equal(objects.masks[k], reference.annToMask(reference.anns[aid]))
    assert objects.crowd_boxes.tolist() == [[2, 25, 20, 38]]
    assert np.array_equal(objects.crowd_masks[0], reference.annToMask(reference.anns[103]))
    assert data.objects(1).boxes.tolist() == [[0, 0, 30, 30]]  # within the tolerance: clipped
    image = data.load_image(1)
    assert image.shape == (30, 30, 3) and np.allclose(image, 200 / 255)


def test_coco_keypoints_and_images_folder(coco_file: Path) -> None:
    data = load_objects({"coco": str(coco_file)}, "keypoints")
    assert data.keypoint_count == 3 and data.keypoint_names == ("nose", "left_eye", "right_eye")
    keypoints = data.objects(0).keypoints
    assert keypoints.shape == (2, 3, 3) and keypoints[0].tolist() == [[12, 12, 2], [20, 14, 2], [0, 0, 0]]
    assert data.objects(0).masks is None
    moved = load_objects({"coco": str(coco_file), "images": str(coco_file.parent)}, "detection")
    assert moved.objects(1).masks is None and moved.keypoint_count == 0


def _problems(tmp_path: Path, change: Any, task: str = "detection") -> str:
    document = _coco_document()
    change(document)
    with pytest.raises(UserError) as caught:
        load_objects({"coco": str(_write_coco(tmp_path, document))}, task)
    assert caught.value.exit_code == 2
    return caught.value.format()


def _set(index: int, **values: Any) -> Any:
    return lambda document: document["annotations"][index].update(values)


@pytest.mark.parametrize("change, task, message", [
    (_set(0, bbox=[10, 10, -2, 15]), "detection",  # zero width: left out (tests/train/test_annotations_variants.py)
     "instances.json: annotation 101 (image 11 'a.png'): bbox (as x1, y1, x2, y2) [10, 10, 8, 25] has zero or "
     "negative size (width -2, height 15)"),
    (_set(0, bbox=[50, 10, 20, 15]), "detection",
     "instances.json: annotation 101 (image 11 'a.png'): bbox (as x1, y1, x2, y2) [50, 10, 70, 25] extends past "
     "the 60x40 image (by 10 pixels; the tolerance is 1)"),
    (_set(0, category_id=5), "detection", "instances.json: annotation 101 (image 11 'a.png'): unknown category id 5"),
    (_set(0, image_id=99), "detection", "instances.json: annotation 101: unknown image_id 99"),
    (_set(0, segmentation=[[1, 1, 5, 5, 9]]), "instance_segmentation",
     "instances.json: annotation 101 (image 11 'a.png'): polygon has an odd number of coordinates (5)"),
    (_set(0, segmentation=[[1, 1, 5, 5]]), "instance_segmentation",
     "instances.json: annotation 101 (image 11 'a.png'): polygon has 2 points; it needs at least 3"),
    (_set(1, segmentation={"size": [40, 60], "counts": [5, 5]}), "instance_segmentation",
     "instances.json: annotation 102 (image 11 'a.png'): uncompressed RLE counts sum to 10, not 40 x 60 = 2400 pixels"),
    (_set(1, segmentation={"size": [20, 60], "counts": "abc"}), "instance_segmentation",
     "instances.json: annotation 102 (image 11 'a.png'): RLE size [20, 60] is not the image size [40, 60]"),
    (_set(0, segmentation=[]), "instance_segmentation",
     "instances.json: annotation 101 (image 11 'a.png'): no segmentation: instance segmentation needs a mask "
     "for every object"),
    (_set(0, keypoints=[1, 2, 2]), "keypoints",
     "instances.json: annotation 101 (image 11 'a.png'): 3 keypoint values, but category 'cat' has 3 keypoints "
     "(9 values: x, y, v each)"),
    (lambda d: d["images"][0].update(file_name="gone.png"), "detection",
     "gone.png (image 11): the image file is missing"),
    (lambda d: d["images"][1].update(height=31), "detection",
     "sub/b.png (image 12): the file is 30x30 (height x width) but instances.json says 31x30"),
])
def test_each_bad_annotation_is_named_with_its_file_and_id(tmp_path: Path, change: Any, task: str,
                                                            message: str) -> None:
    where = f"{tmp_path}/" if message.startswith(("gone", "sub")) else ""  # image files by their path
    assert _problems(tmp_path, change, task) == f"{where}{message}; fix or remove it; the data is checked before " \
                                                "training starts"


def test_many_problems_show_the_first_ten_and_a_count(tmp_path: Path) -> None:
    def many(document: dict[str, Any]) -> None:
        document["annotations"] += [{"id": 200 + i, "image_id": 11, "category_id": 99, "bbox": [1, 1, 2, 2]}
                                    for i in range(14)]
    lines = _problems(tmp_path, many).splitlines()
    assert lines[0] == (f"14 problems in the annotations of coco:{tmp_path / 'instances.json'} (fix or remove "
                        "them; the data is checked before training starts):")
    assert lines[1] == "  instances.json: annotation 200 (image 11 'a.png'): unknown category id 99"
    assert len(lines) == 12 and lines[-1] == "  ... and 4 more"


def test_malformed_and_oversized_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(UserError) as caught:
        load_objects({"coco": str(path)}, "detection")
    assert caught.value.format() == f"{path}:2:12: malformed JSON: Expecting property name enclosed in double " \
                                    "quotes; fix the file"
    monkeypatch.setattr(coco_module, "MAX_JSON_BYTES", 8)
    with pytest.raises(UserError, match=r"bad.json is 0 MiB; COCO files above 0 MiB are refused"):
        load_objects({"coco": str(path)}, "detection")
    with pytest.raises(UserError, match="no such file"):
        load_objects({"coco": str(tmp_path / "none.json")}, "detection")


def _write_yolo(root: Path, labels: dict[str, str], names: str | None = "names: [circle, square]\n") -> Path:
    for stem, (height, width) in {"one": (20, 40), "deep/two": (30, 30), "three": (10, 10)}.items():
        write_png(root / "images" / f"{stem}.png", np.full((height, width, 3), 50, np.uint8))
    for stem, text in labels.items():
        path = root / "labels" / f"{stem}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if names is not None:
        (root / "data.yaml").write_text(names)
    return root


def test_yolo_boxes_polygons_names_and_images_without_labels(tmp_path: Path) -> None:
    root = _write_yolo(tmp_path, {"one": "0 0.5 0.5 0.5 0.5\n\n1 0.25 0.25 0.5 0.5\n",
                                  "deep/two": "1 0.1 0.1 0.9 0.1 0.9 0.9 0.1 0.9\n"})
    data = load_objects({"yolo": str(root)}, "detection")
    assert data.class_names == ("circle", "square") and data.image_names == ("images/deep/two.png",
                                                                             "images/one.png", "images/three.png")
    assert data.objects(1).boxes.tolist() == [[10, 5, 30, 15], [0, 0, 20, 10]]
    assert data.objects(1).ids.tolist() == [1, 3]  # the label lines
    assert len(data.objects(2)) == 0  # no label file: no objects
    segments = _write_yolo(tmp_path / "segments", {"deep/two": "1 0.1 0.1 0.9 0.1 0.9 0.9 0.1 0.9\n"})
    masks = load_objects({"yolo": str(segments)}, "instance_segmentation").objects(0).masks
    polygon = coco_mask.frPyObjects([[3, 3, 27, 3, 27, 27, 3, 27]], 30, 30)
    assert np.array_equal(masks[0], coco_mask.decode(coco_mask.merge(polygon)))
    assert np.allclose(data.objects(0).boxes, [[3, 3, 27, 27]])


def test_yolo_without_data_yaml_numbers_its_classes(tmp_path: Path) -> None:
    data = load_objects({"yolo": str(_write_yolo(tmp_path, {"one": "2 0.5 0.5 0.5 0.5\n"}, names=None))}, "detection")
    assert data.class_names == ("0", "1", "2")


def test_yolo_bad_lines_are_named_by_file_and_line(tmp_path: Path) -> None:
    root = _write_yolo(tmp_path, {"one": "0 0.5 0.5 0.5\n0 0.5 0.5 0.2 1.5\n4 0.5 0.5 0.2 0.2\n",
                                  "deep/two": "0 0.9 0.5 0.4 0.2\n0 0.1 0.1 0.5 0.5 0.2\n"
                                              "0 0.1 0.1 0.5 0.5 0.3 0.9 0.2\n",
                                  "three": "0 0.5 0.5 0.2 0.2\n"})
    text = UserError.format(_raises(lambda: load_objects({"yolo": str(root)}, "instance_segmentation")))
    labels = root / "labels"
    assert text.splitlines()[1:] == [
        f"  {labels}/deep/two.txt:1: box cx 0.9 cy 0.5 w 0.4 h 0.2 extends past the image (edges "
        "[0.7, 0.4, 1.1, 0.6])",
        f"  {labels}/deep/two.txt:2: 6 fields; a box is 5 (cls cx cy w h), a polygon 7 or more "
        "(cls x1 y1 x2 y2 x3 y3 ...)",
        f"  {labels}/deep/two.txt:3: polygon has an odd number of coordinates (7)",
        f"  {labels}/one.txt:1: 4 fields; a box is 5 (cls cx cy w h), a polygon 7 or more (cls x1 y1 x2 y2 x3 y3 ...)",
        f"  {labels}/one.txt:2: values outside [0, 1]: 0.5 0.5 0.2 1.5",
        f"  {labels}/one.txt:3: class 4 is not one of the 2 classes (0..1)",
        f"  {labels}/three.txt:1: a box line: instance segmentation needs a polygon for every object"]
    text = UserError.format(_raises(lambda: load_objects({"yolo": str(root)}, "detection")))
    assert text.startswith("6 problems") and "a box line" not in text  # boxes are enough to detect


def _raises(call: Any) -> UserError:
    with pytest.raises(UserError) as caught:
        call()
    return caught.value


def test_unreadable_image_and_bad_data_yaml(tmp_path: Path) -> None:
    root = _write_yolo(tmp_path, {}, names="names: 3\n")
    assert "names is 3, not a list of class names" in _raises(lambda: load_objects({"yolo": str(root)},
                                                                                    "detection")).message
    (root / "data.yaml").unlink()
    (root / "images" / "three.png").write_bytes(b"not a png")
    assert _raises(lambda: load_objects({"yolo": str(root)}, "detection")).message.startswith(
        f"{root}/images/three.png: not a readable image (UnidentifiedImageError")


def test_shapes_objects_boxes_hold_their_masks_and_keypoints() -> None:
    data = load_objects({"builtin": "shapes", "samples": 30, "size": 48, "channels": 3}, "instance_segmentation")
    poses = load_objects({"builtin": "shapes", "samples": 30, "size": 48, "channels": 3}, "keypoints")
    counts = [len(data.objects(i)) for i in range(30)]
    assert min(counts) == 1 and max(counts) >= 3 and data.objects(5).ids.tolist() == poses.objects(5).ids.tolist()
    for i in range(30):
        objects, keypoints = data.objects(i), poses.objects(i).keypoints
        for k in range(len(objects)):
            rows, cols = np.nonzero(objects.masks[k])
            x1, y1, x2, y2 = objects.boxes[k]
            assert (x1, y1, x2, y2) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
            # a triangle's corners are sharper than its pixels: within 2 pixels of the pixel-tight box
            assert np.all((keypoints[k, :, 0] >= x1 - 2) & (keypoints[k, :, 0] <= x2 + 2))
            assert np.all((keypoints[k, :, 1] >= y1 - 2) & (keypoints[k, :, 1] <= y2 + 2))
        assert not np.any(objects.masks.sum(axis=0) > 1)  # no overlaps
    assert poses.sizes[0] == (48, 48) and load_objects({"builtin": "shapes"}, "keypoints").sizes[0] == (32, 32)
    assert load_objects({"builtin": "shapes"}, "detection").sizes[0] == (64, 64)


def test_object_sources_in_the_spec_and_on_the_command_line(tmp_path: Path) -> None:
    cfg = resolve_config({"data": {"source": {"coco": "d/a.json", "images": "pics"}}}, base_dir=tmp_path)
    assert cfg.data.source == {"coco": str(tmp_path / "d/a.json"), "images": str(tmp_path / "pics")}
    assert parse_data_flag("yolo:data", base_dir=tmp_path) == {"yolo": str(tmp_path / "data")}
    with pytest.raises(UserError, match="holds object annotations; it cannot train a classification model"):
        load_source({"yolo": str(tmp_path)}, "classification")
    with pytest.raises(UserError, match="object data is for detection, instance_segmentation, keypoints"):
        load_objects({"yolo": str(tmp_path)}, "segmentation")
