"""Image files as users bring them (grey and CMYK JPEGs, RGBA, palette and 16-bit PNGs, phone
photos with an EXIF orientation), read alike by every loader: COCO and YOLO object data, image
folders (the tf.data pipeline), predict, and the studio explorer's shared helpers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from archspec.train.annotations.image_files import header_size, image_pixels, read_image
from archspec.train.annotations.load import load_objects
from archspec.train.inference import image_size, load_image, load_letterboxed, read_image_file

SIZE = (12, 20)  # (height, width) of every image here


def _ramp16() -> np.ndarray:
    return (np.arange(SIZE[0] * SIZE[1]).reshape(SIZE) * 270).astype(np.uint16)


def _write(folder: Path, kind: str) -> tuple[Path, np.ndarray]:
    """An image file of one kind and the (H, W, 3) RGB float pixels it holds (upright)."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.zeros((*SIZE, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[:6, :, 2] = 200, np.arange(SIZE[1])[None] * 10, 255
    if kind == "grey.jpg":
        Image.fromarray(rgb[..., 1]).save(folder / kind, quality=100)
        expected = np.repeat(rgb[..., 1:2], 3, -1) / 255.0
    elif kind == "rgba.png":
        Image.fromarray(np.dstack([rgb, np.full(SIZE, 7, np.uint8)]), "RGBA").save(folder / kind)
        expected = rgb / 255.0  # alpha dropped, not composited
    elif kind == "palette.png":
        Image.fromarray(rgb).quantize(8).save(folder / kind, transparency=0)
        with Image.open(folder / kind) as image:
            expected = np.asarray(image.convert("RGBA"))[..., :3] / 255.0
    elif kind == "grey16.png":
        Image.fromarray(_ramp16()).save(folder / kind)
        expected = np.repeat((_ramp16() / 65535.0)[..., None], 3, -1)
    elif kind == "cmyk.jpg":
        Image.fromarray(rgb).convert("CMYK").save(folder / kind, quality=100)
        with Image.open(folder / kind) as image:
            expected = np.asarray(image.convert("RGB")) / 255.0
    else:  # "turned.jpg": stored sideways, EXIF orientation 8 (turn 90 degrees counter-clockwise)
        exif = Image.Exif()
        exif[0x0112] = 8
        Image.fromarray(np.ascontiguousarray(np.rot90(rgb, -1))).save(folder / kind, exif=exif, quality=100)
        with Image.open(folder / kind) as image:
            expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB")) / 255.0
    return folder / kind, expected.astype(np.float32)


KINDS = ["grey.jpg", "rgba.png", "palette.png", "grey16.png", "cmyk.jpg", "turned.jpg"]
TOLERANCE = {"grey.jpg": 3 / 255, "cmyk.jpg": 3 / 255, "turned.jpg": 6 / 255}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_file_reads_as_its_upright_rgb_pixels(tmp_path: Path, kind: str) -> None:
    path, expected = _write(tmp_path, kind)
    pixels = read_image(path)
    assert header_size(path) == SIZE and pixels.shape == (*SIZE, 3) and pixels.dtype == np.float32
    assert np.abs(pixels - expected).max() <= TOLERANCE.get(kind, 1e-6)
    if kind == "grey16.png":  # scaled by the bit depth: not clipped at 255, and finer than 8 bits
        assert pixels.max() > 0.9 and len(np.unique(pixels)) > 200


def test_exif_orientations_all_turn_as_pillow_exif_transpose() -> None:
    stored = Image.fromarray(np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.info["exif"] = exif.tobytes()
        stored.getexif()[0x0112] = orientation
        want = np.asarray(ImageOps.exif_transpose(stored.copy()), np.float32) / 255.0
        assert np.array_equal(image_pixels(stored, 3), want), orientation
        assert np.array_equal(image_pixels(stored, 3, exif=False), np.asarray(stored, np.float32) / 255.0)


@pytest.mark.parametrize("kind", KINDS)
def test_predict_and_the_explorer_read_the_same_pixels(tmp_path: Path, kind: str) -> None:
    path, expected = _write(tmp_path, kind)
    tolerance = TOLERANCE.get(kind, 1e-6)
    assert np.abs(read_image_file(str(path)) - expected).max() <= tolerance
    assert np.abs(load_image(path, (*SIZE, 3))[0] - expected).max() <= tolerance  # its own size: not resized
    with open(path, "rb") as file:  # the explorer's dropped image is an open file
        assert np.abs(load_image(file, (*SIZE, 3))[0] - expected).max() <= tolerance
    grey = load_image(path, (6, 10, 1))
    assert grey.shape == (1, 6, 10, 1) and 0 <= grey.min() and grey.max() <= 1
    boxed, box = load_letterboxed(path, (20, 20, 3))
    assert boxed.shape == (1, 20, 20, 3) and box.scale == 1.0 and box.pad_y == 4.0
    assert image_size(path) == SIZE


def test_yolo_and_coco_read_phone_photos_upright(tmp_path: Path) -> None:
    path, expected = _write(tmp_path / "images", "turned.jpg")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "turned.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    yolo = load_objects({"yolo": str(tmp_path)}, "detection")
    assert yolo.sizes == (SIZE,) and yolo.objects(0).boxes.tolist() == [[5, 3, 15, 9]]
    assert np.abs(yolo.load_image(0) - expected).max() <= TOLERANCE["turned.jpg"]
    document = {"images": [{"id": 1, "file_name": "images/turned.jpg"}], "categories": [{"id": 1, "name": "a"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 3, 10, 6]}]}
    (tmp_path / "coco.json").write_text(json.dumps(document))
    coco = load_objects({"coco": str(tmp_path / "coco.json")}, "detection")
    assert coco.sizes == (SIZE,) and np.abs(coco.load_image(0) - expected).max() <= TOLERANCE["turned.jpg"]


def test_image_folders_turn_exif_photos_upright_in_the_pipeline(tmp_path: Path) -> None:
    from archspec.train.pipeline import Layout, Pipeline
    from archspec.train.sources import check_image_headers, load_source

    turned, expected = _write(tmp_path / "photos" / "cat", "turned.jpg")
    _write(tmp_path / "photos" / "dog", "grey16.png")
    data = load_source({"images": str(tmp_path / "photos")}, "classification", rescale=1 / 255)
    assert check_image_headers(data.paths, SIZE) == [SIZE]  # upright: the turned photo is 12x20 too
    x, y = next(iter(Pipeline(data, Layout("classification", 3), batch_size=2, seed=0, shuffle=False,
                              cache=False).evaluate()))
    assert x.shape == (2, *SIZE, 3) and y.numpy().tolist() == [0, 1]
    assert np.abs(x.numpy()[0] - expected).max() <= TOLERANCE["turned.jpg"]
    assert np.abs(x.numpy()[1] - _write(tmp_path / "again", "grey16.png")[1]).max() <= 1 / 255  # tf: 8 bits


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    assert str(header_size(bad)).startswith("not a readable image (UnidentifiedImageError")
    from archspec.errors import UserError
    with pytest.raises(UserError, match="broken.png: not a readable image"):
        read_image_file(str(bad))
    truncated = tmp_path / "cut.jpg"
    _write(tmp_path, "grey.jpg")[0].rename(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(UserError, match="cut.jpg: not a readable image"):
        read_image_file(str(truncated))


def test_object_data_reads_every_format_image_folders_read() -> None:
    from archspec.train.annotations.image_files import OBJECT_IMAGE_EXTENSIONS
    from archspec.train.sources import IMAGE_EXTENSIONS

    assert set(IMAGE_EXTENSIONS) < set(OBJECT_IMAGE_EXTENSIONS)
