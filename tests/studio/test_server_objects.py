"""The explorer on object runs: a detection run (a tiny YOLO-style detector, one short epoch on
builtin:shapes, its head's objectness then raised so that it finds boxes whatever it sees), and
instance segmentation and keypoints on models built in the test. The prediction is the picture
and the boxes `archspec predict` gives for the same image file (letterboxed as training was, the
boxes in the dropped image's pixels), and the feature maps are of that same letterboxed input."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("keras")
from starlette.testclient import TestClient  # noqa: E402

from object_specs import shapes_train, tiny_detector, tiny_segmenter  # noqa: E402
from test_server_explorer import data_url, decoded, post, studio_client  # noqa: E402

PORT = 8766
CLASSES = ["circle", "square", "triangle"]
DETECTOR = tiny_detector(shapes_train("detection", 12, 4, 0.25, "detection: {max_detections: 4}"))


def raise_objectness(model: Any, levels: tuple[str, ...], per_box: int, anchors: int, by: float = 12.0) -> None:
    """Every box of every level an object of class 0 or 1 (which depends on the image): the head's
    objectness and first two class biases raised, so an undertrained model still finds boxes."""
    for name in levels:
        layer = model.get_layer(name)
        kernel, bias = layer.get_weights()
        for a in range(anchors):
            bias[a * per_box + 4] += by
            bias[a * per_box + 5: a * per_box + 7] += by
        layer.set_weights([kernel, bias])


def detection_run(base: Path) -> Path:
    """The detection run, trained once per test session (the browser test's module reuses it)."""
    out = base / "studio-detection-run"
    if (out / "forced").is_file():
        return out
    from click.testing import CliRunner

    from archspec.cli import main
    from archspec.train.inference import load_run_model, model_file
    from archspec.train.rundir import RunDir

    base.mkdir(parents=True, exist_ok=True)
    spec = base / "tiny-detector.yaml"
    spec.write_text(DETECTOR)
    result = CliRunner().invoke(main, ["train", str(spec), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = RunDir.open(out)
    model = load_run_model(run, model_file(run))
    raise_objectness(model, ("p3", "p4"), 8, 2)
    for name in ("best.keras", "last.keras"):
        model.save(out / name)
    (out / "forced").write_text("the head's objectness raised\n")
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield detection_run(tmp_path_factory.getbasetemp())
    from tensorflow.python.framework import config
    config.disable_op_determinism()


@pytest.fixture(scope="module")
def client(run: Path) -> Iterator[TestClient]:
    with studio_client(run, PORT) as c:
        yield c


def scene() -> np.ndarray:
    """A 96 wide, 64 high grey picture with a bright square and a dark disc: not the input's
    aspect (letterboxed into 32x32: a third of the size, 5 px of grey above and below)."""
    rng = np.random.default_rng(3)
    pixels = np.full((64, 96, 3), 110, np.uint8) + rng.integers(0, 20, (64, 96, 1), dtype=np.uint8)
    pixels[10:40, 12:42] = 235
    yy, xx = np.mgrid[0:64, 0:96]
    pixels[(yy - 36) ** 2 + (xx - 70) ** 2 < 14 ** 2] = 20
    return pixels


def png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def predicted(client: TestClient) -> dict[str, Any]:
    response = post(client, "/api/predict", {"image": data_url(png(scene()))})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_run_says_it_is_letterboxed_and_drawn(client: TestClient) -> None:
    run = client.get("/api/run").json()
    assert run["task"] == "detection" and run["letterboxed"] is True and run["picture"] is True
    assert run["classes"] == CLASSES and run["input_shape"] == [32, 32, 3]


def test_the_picture_is_the_dropped_image_with_the_boxes_drawn_on_it(predicted: dict[str, Any]) -> None:
    prediction = predicted["prediction"]
    assert prediction["task"] == "detection" and prediction["image_size"] == [64, 96]
    scale = prediction["scale"]
    assert scale == 5                                                  # the shorter side enlarged to 320 px
    picture = decoded(prediction["picture_png"], "RGB")
    assert picture.shape == (64 * scale, 96 * scale, 3)
    image = scene().repeat(scale, axis=0).repeat(scale, axis=1)
    boxes = prediction["detections"]
    assert len(boxes) == 4 and all(b["class"] in CLASSES[:2] and b["score"] >= 0.25 for b in boxes)
    assert [b["score"] for b in boxes] == sorted((b["score"] for b in boxes), reverse=True)
    drawn = np.zeros(picture.shape[:2], bool)
    for b in boxes:
        x1, y1, x2, y2 = b["box"]
        assert 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 64, "in the dropped image's pixels"
        left, right = int(x1 * scale), min(int(x2 * scale), 96 * scale - 1)
        top, bottom = int(y1 * scale), min(int(y2 * scale), 64 * scale - 1)
        middle = (top + bottom) // 2
        assert (picture[middle, left] != image[middle, left]).any(), "the box's left edge is drawn"
        assert (picture[bottom, (left + right) // 2] != image[bottom, (left + right) // 2]).any()
        drawn[max(0, top - 20):bottom + 3, max(0, left - 2):right + 3] = True    # the box and its label
    assert drawn.mean() < 0.9 and (picture[~drawn] == image[~drawn]).all(), "elsewhere the image itself"


def test_it_is_what_archspec_predict_finds_and_draws(run: Path, predicted: dict[str, Any], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from archspec.cli import main

    (tmp_path / "scene.png").write_bytes(png(scene()))
    result = CliRunner().invoke(main, ["predict", str(run), str(tmp_path / "scene.png"), "--pictures-dir",
                                       str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "out" / "detections.json").read_text())["detections"]
    shown = predicted["prediction"]["detections"]
    assert [r["class"] for r in rows] == [b["class"] for b in shown]
    assert np.allclose([r["score"] for r in rows], [b["score"] for b in shown], atol=1e-4)
    x, y, w, h = np.array([r["bbox"] for r in rows]).T
    assert np.allclose(np.stack([x, y, x + w, y + h], 1), [b["box"] for b in shown], atol=0.02)
    from PIL import Image
    with Image.open(tmp_path / "out" / "scene.detections.png") as written:
        assert (np.asarray(written.convert("RGB")) == decoded(predicted["prediction"]["picture_png"], "RGB")).all()


def test_the_feature_maps_are_of_the_letterboxed_input(run: Path, predicted: dict[str, Any]) -> None:
    import keras

    from archspec.keras_backend.model_builder import keras_name
    from archspec.train.inference import load_image, load_letterboxed, load_run_model, model_file
    from archspec.train.rundir import RunDir

    model = load_run_model(RunDir.open(run), model_file(RunDir.open(run)))
    letterboxed, box = load_letterboxed(io.BytesIO(png(scene())), (32, 32, 3))
    assert (box.pad_x, box.pad_y) == (0.0, 5.0) and np.allclose(letterboxed[0, :5], 0.5)   # grey bands
    stretched = load_image(io.BytesIO(png(scene())), (32, 32, 3))
    maps = predicted["feature_maps"]
    assert len(maps) == 6 and {"s8", "p3", "p4"} <= {m["layer"] for m in maps}     # every convolution
    differs = []
    for fmap in maps:
        own = keras.Model(model.inputs, model.get_layer(keras_name(fmap["layer"])).output)
        boxed, plain = np.asarray(own(letterboxed))[0], np.asarray(own(stretched))[0]
        assert fmap["shape"] == list(boxed.shape)
        assert np.isclose(fmap["min"], boxed.min(), atol=1e-5) and np.isclose(fmap["max"], boxed.max(), atol=1e-5)
        differs.append(not (np.isclose(fmap["min"], plain.min(), atol=1e-5)
                            and np.isclose(fmap["max"], plain.max(), atol=1e-5)))
    assert any(differs), "a stretched input would give other maps"


# ------------------------------------------------------------ instance segmentation and keypoints
SEGMENTER = tiny_segmenter()


def explorer_of(task: str, model: Any, **fields: Any) -> Any:
    """An explorer on a model built here (no run folder): what ``Explorer.open`` makes of a run."""
    from archspec.studio.explorer import Explorer

    return Explorer(Path("."), task, model, CLASSES, None, None, [], None, True, **fields)


def test_instance_masks_are_tinted_over_the_image_as_predict_draws_them(tmp_path: Path) -> None:
    from PIL import Image

    from archspec.api import compile_spec
    from archspec.keras_backend.model_builder import build_model
    from archspec.train.instances.predict import predict_instance_files

    spec = tmp_path / "segmenter.yaml"
    spec.write_text(SEGMENTER)
    compiled = compile_spec(spec)
    model = build_model(compiled.graph)
    raise_objectness(model, ("p3", "p4"), 12, 2)
    for name, channels in (("p3", [8, 9, 10, 11, 20, 21, 22, 23]), ("p4", [8, 9, 10, 11, 20, 21, 22, 23]),
                           ("protos", [0, 1, 2, 3])):      # positive coefficients and prototypes: masks fill boxes
        kernel, bias = model.get_layer(name).get_weights()
        bias[channels] += 3.0
        model.get_layer(name).set_weights([kernel, bias])
    explorer = explorer_of("instance_segmentation", model, head=compiled.head, settings={"max_detections": 3})
    prediction = explorer.predict_json(data_url(png(scene())))["prediction"]
    assert prediction["image_size"] == [64, 96] and len(prediction["detections"]) == 3
    (tmp_path / "scene.png").write_bytes(png(scene()))
    rows = predict_instance_files(model, compiled.head, {"max_detections": 3}, [str(tmp_path / "scene.png")],
                                  CLASSES, [], tmp_path, 0.25)
    assert [(r["class"], r["area"]) for r in rows] == [(d["class"], d["area"]) for d in prediction["detections"]]
    assert any(r["area"] > 0 for r in rows)
    picture = decoded(prediction["picture_png"], "RGB")
    with Image.open(rows[0]["picture"]) as written:
        assert (np.asarray(written) == picture).all()
    assert picture.shape == (320, 480, 3)


def test_keypoints_are_drawn_with_their_skeleton_where_they_are_on_the_image() -> None:
    import keras

    from archspec.train.pose.settings import pose_settings

    # a 32x32 heatmap stub whose keypoint k peaks at input pixel (8.5 + 8k, 16.5) whatever the image
    yy, xx = np.mgrid[0:32, 0:32] + 0.5
    heatmaps = np.stack([np.exp(-((xx - 8.5 - 8 * k) ** 2 + (yy - 16.5) ** 2) / 4.0) for k in range(3)], -1)
    image = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(32 * 32 * 3, kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(heatmaps.ravel()))
    model = keras.Model(image, keras.layers.Reshape((32, 32, 3))(dense(keras.layers.GlobalAveragePooling2D()(image))))
    pose = pose_settings({"skeleton": [[0, 1], [1, 2]]}, 3, ["head", "hand", "foot"])
    explorer = explorer_of("keypoints", model, pose=pose)
    prediction = explorer.predict_json(data_url(png(scene())))["prediction"]
    points = np.array([(k["x"], k["y"]) for k in prediction["keypoints"]])
    assert [k["name"] for k in prediction["keypoints"]] == ["head", "hand", "foot"]
    # back through the letterbox (a third of the size, 5 px of grey above): x * 3, (y - 5) * 3
    np.testing.assert_allclose(points, [((8.5 + 8 * k) * 3, (16.5 - 5) * 3) for k in range(3)], atol=0.3)
    scale = prediction["scale"]
    picture = decoded(prediction["picture_png"], "RGB")
    assert prediction["image_size"] == [64, 96] and picture.shape == (64 * scale, 96 * scale, 3)
    enlarged = scene().repeat(scale, axis=0).repeat(scale, axis=1)
    changed = (picture != enlarged).any(-1)
    for x, y in [*points, (points[0] + points[1]) / 2]:   # a dot on each keypoint, the skeleton between them
        assert changed[int(y * scale), int(x * scale)]
    assert changed.mean() < 0.2
