"""The explorer on a tiny trained run: LeNet-5 on builtin:digits for one short epoch. The
prediction equals `predict`'s, each feature map's numbers equal the model's own layer outputs,
the tile grid has the size the response says, and history.csv comes back as numbers."""
from __future__ import annotations

import base64
import contextlib
import io
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("keras")
from starlette.testclient import TestClient  # noqa: E402

from archspec.studio.safety import Address  # noqa: E402
from archspec.studio.server import create_app  # noqa: E402
from archspec.studio.workspace import Workspace  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PORT = 8765


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from click.testing import CliRunner

    from archspec.cli import main

    out = tmp_path_factory.mktemp("studio") / "lenet"
    result = CliRunner().invoke(main, ["train", str(ROOT / "specs" / "lenet5.yaml"), "--data", "builtin:digits",
                                       "--epochs", "1", "--steps-per-epoch", "4", "--set", "train.data.batch_size=16",
                                       "--set", "train.deterministic=false", "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    yield out
    from tensorflow.python.framework import config
    config.disable_op_determinism()


@contextlib.contextmanager
def studio_client(run: Path, port: int) -> Iterator[TestClient]:
    """The studio's app on a run folder as `archspec serve RUN --port PORT` serves it (the other
    explorer tests' client too)."""
    with TestClient(create_app(Workspace.open(run), Address("127.0.0.1", port)),
                    base_url=f"http://127.0.0.1:{port}") as c:
        yield c


@pytest.fixture(scope="module")
def client(lenet_run: Path) -> Iterator[TestClient]:
    with studio_client(lenet_run, PORT) as c:
        yield c


def digit_png() -> bytes:
    """The first of scikit-learn's digits, white on black as the page's canvas draws, 64x64."""
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = (load_digits().images[0] * 255 / 16).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((64, 64)).convert("RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def post(client: TestClient, url: str, body: Any) -> Any:
    return client.post(url, content=json.dumps(body), headers={"content-type": "application/json"})


def decoded(url: str, mode: str | None = None) -> np.ndarray:
    """A data URL's PNG as an array, in its own mode or converted to ``mode`` ("RGB")."""
    from PIL import Image

    assert url.startswith("data:image/png;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    return np.asarray(picture.convert(mode) if mode else picture)


@pytest.fixture(scope="module")
def predicted(client: TestClient) -> dict[str, Any]:
    response = post(client, "/api/predict", {"image": data_url(digit_png())})
    assert response.status_code == 200, response.text
    return response.json()


def test_session_and_run_describe_the_run(client: TestClient) -> None:
    session = client.get("/api/session").json()
    assert session["mode"] == "run" and session["current"] == "spec.yaml" and session["writable"] is False
    run = client.get("/api/run").json()
    assert run["task"] == "classification" and run["input_shape"] == [32, 32, 1] and run["spec_name"] == "lenet5"
    assert run["classes"] is None or len(run["classes"]) == 10
    layers = {layer["name"]: layer for layer in run["layers"]}
    assert layers["c1"] == {"name": "c1", "type": "Conv2D", "shape": [28, 28, 6], "stage": "28x28"}
    assert layers["output"]["stage"] == ""


def test_prediction_is_what_predict_gives(lenet_run: Path, predicted: dict[str, Any], tmp_path: Path) -> None:
    from archspec.train.inference import load_run_model, model_file, predict_images
    from archspec.train.rundir import RunDir

    run = RunDir.open(lenet_run)
    image = tmp_path / "digit.png"
    image.write_bytes(digit_png())
    [expected] = predict_images(load_run_model(run, model_file(run)), "classification", [str(image)], None)
    top = predicted["prediction"]["top"]
    assert len(top) == 5 and [str(c) for c, _ in top] == [str(c) for c, _ in expected.top(5)]
    assert np.allclose([p for _, p in top], [p for _, p in expected.top(5)], atol=1e-6)


def test_feature_maps_are_the_conv_layers_outputs(lenet_run: Path, predicted: dict[str, Any]) -> None:
    import keras

    from archspec.train.inference import load_image, load_run_model, model_file
    from archspec.train.rundir import RunDir

    run = RunDir.open(lenet_run)
    model = load_run_model(run, model_file(run))
    maps = predicted["feature_maps"]
    assert [m["layer"] for m in maps] == ["c1", "c3"]
    pixels = load_image(io.BytesIO(digit_png()), (32, 32, 1))
    for fmap, rf in zip(maps, (5, 14)):
        own = np.asarray(keras.Model(model.inputs, model.get_layer(fmap["layer"]).output)(pixels))[0]
        assert fmap["shape"] == list(own.shape) and fmap["channels"] == own.shape[-1]
        assert np.isclose(fmap["min"], own.min(), atol=1e-5) and np.isclose(fmap["max"], own.max(), atol=1e-5)
        assert fmap["rf"] == rf and fmap["gap"] == 1
        h, w = fmap["tile"]
        rows = -(-fmap["channels"] // fmap["columns"])
        grid = decoded(fmap["png"])
        assert grid.shape == (rows * (h + 1), fmap["columns"] * (w + 1), 3)
        y, x, channel = np.unravel_index(int(own.argmax()), own.shape)  # the layer's largest value
        row, col = divmod(int(channel), fmap["columns"])
        assert tuple(grid[row * (h + 1) + y, col * (w + 1) + x]) == (253, 231, 37)  # viridis's top colour


def test_filters_are_the_first_convolutions(predicted: dict[str, Any]) -> None:
    grid = decoded(predicted["filters_png"])
    factor = 24 // 5
    assert grid.shape == (2 * (5 * factor + 1), 3 * (5 * factor + 1))  # 6 gray 5x5 filters, 3 to a row


@pytest.mark.parametrize("image, message", [("data:text/plain;base64,aGk=", "must be a data URL"),
                                            ("data:image/png;base64,@@@", "damaged"),
                                            ("data:image/png;base64," + base64.b64encode(b"not a png").decode(),
                                             "not a picture")])
def test_a_bad_image_is_a_400(client: TestClient, image: str, message: str) -> None:
    response = post(client, "/api/predict", {"image": image})
    assert response.status_code == 400 and message in response.json()["error"]


def test_history_gives_the_epochs_as_numbers(client: TestClient, lenet_run: Path) -> None:
    body = client.get("/api/history").json()
    assert body["columns"][0] == "epoch" and "loss" in body["columns"] and "val_accuracy" in body["columns"]
    assert len(body["rows"]) == 1 and body["rows"][0][0] in (0, 1)
    assert all(isinstance(v, float) for v in body["rows"][0][1:])
    assert body["mtime"] == (lenet_run / "history.csv").stat().st_mtime


def test_a_runs_spec_is_not_saved(client: TestClient, lenet_run: Path) -> None:
    before = (lenet_run / "spec.yaml").read_text()
    response = post(client, "/api/save", {"path": "spec.yaml", "text": "x", "base_version": None, "force": True})
    assert response.status_code == 400 and "record of what was trained" in response.json()["error"]
    assert (lenet_run / "spec.yaml").read_text() == before
