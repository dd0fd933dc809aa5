"""``archspec import``: every Keras Applications model and hand-written models (shared layers,
several inputs and outputs, recurrent and attention layers) import to specs whose analysis
equals the model and whose built model, with the model's weights, computes the same outputs;
what archspec cannot express is refused by name, and nothing in a .keras file is run."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.cli import main
from archspec.errors import ArchspecError
from import_round_trip import check_round_trip, check_summary, import_keras_model

keras = pytest.importorskip("keras")

SMALL = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 75}  # the smallest input each allows
# One model of each family (the smallest) goes through the whole round trip with weights; the
# others through the summary's equality, which needs the model built but not run.
WITH_WEIGHTS = {"ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionV3",
                "InceptionResNetV2", "MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large",
                "NASNetMobile", "ResNet50", "ResNet50V2", "VGG16", "Xception"}


def application_names() -> list[str]:
    from archspec.importer.keras_config import application_names as names

    return names()


@pytest.mark.parametrize("name", application_names())
def test_every_application_round_trips(name: str) -> None:
    size = SMALL.get(name, 32)
    model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3))
    if name in WITH_WEIGHTS:
        result = check_round_trip(model, f"applications:{name}")
    else:
        result = import_keras_model(model, f"applications:{name}")
        check_summary(model, result.text)
    assert result.lines <= result.lines_without_blocks
    keras.backend.clear_session()


def test_resnet50_becomes_blocks_named_as_keras_names_them() -> None:
    model = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3))
    result = import_keras_model(model, "applications:ResNet50")
    text = result.text
    assert "  - ConvBlock: {filters: 64}\n    name: conv2_block2\n" in text
    assert "      - Conv2D: {filters: \"${4 * filters}\", kernel_size: 1}\n        name: _3_conv\n" in text
    assert result.lines_without_blocks - result.lines > 200
    assert "# 2 blocks of repeated layers save" in text


def siamese() -> object:
    """A tower model applied to two inputs (shared weights), then a distance head."""
    inp = keras.Input((12,))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inp)
    tower = keras.Model(inp, keras.layers.Dense(4, name="embed")(hidden), name="tower")
    left, right = keras.Input((12,), name="left"), keras.Input((12,), name="right")
    a, b = tower(left), tower(right)
    diff = keras.layers.Subtract(name="diff")([a, b])
    return keras.Model([left, right], keras.layers.Dense(1, activation="sigmoid", name="score")(diff))


def two_in_two_out() -> object:
    image, meta = keras.Input((16, 16, 3), name="image"), keras.Input((5,), name="meta")
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv")(image)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    shared = keras.layers.Dense(4, name="proj")
    joined = keras.layers.Concatenate(name="join")([shared(x), shared(keras.layers.Dense(4, name="m")(meta))])
    trunk = keras.layers.Dense(8, activation="relu", name="trunk")(joined)
    return keras.Model([image, meta], [keras.layers.Dense(3, activation="softmax", name="cls")(trunk),
                                       keras.layers.Dense(2, name="box")(trunk)])


def encoder_decoder() -> object:
    """An LSTM encoder's states start the decoder LSTM (return_state: several outputs)."""
    source, target = keras.Input((7, 6), name="source"), keras.Input((5, 6), name="target")
    _, h, c = keras.layers.LSTM(8, return_state=True, name="encoder")(source)
    decoded = keras.layers.LSTM(8, return_sequences=True, name="decoder")(target, initial_state=[h, c])
    return keras.Model([source, target], keras.layers.Dense(6, name="out")(decoded))


def sequence_classifier() -> object:
    tokens = keras.Input((10,), name="tokens")
    x = keras.layers.Embedding(50, 8, name="embed")(tokens)
    x = keras.layers.Bidirectional(keras.layers.GRU(6, return_sequences=True), name="bigru")(x)
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(x, x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(tokens, keras.layers.Dense(3, activation="softmax", name="cls")(x))


HAND_WRITTEN = {"siamese": siamese, "two_in_two_out": two_in_two_out, "encoder_decoder": encoder_decoder,
                "sequence_classifier": sequence_classifier}


@pytest.mark.parametrize("name", list(HAND_WRITTEN))
def test_hand_written_models_round_trip(name: str, tmp_path: Path) -> None:
    model = HAND_WRITTEN[name]()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    from archspec.importer.run import import_model

    text = import_model(str(path)).text
    assert text == check_round_trip(model, str(path)).text
    keras.backend.clear_session()


def test_shared_layers_are_shares_and_several_inputs_are_named() -> None:
    text = import_keras_model(siamese()).text
    assert "inputs:\n  left: [12]\n  right: [12]\n" in text
    assert "  - share: hidden\n    name: hidden_call2\n    inputs: right\n" in text
    assert "  - share: embed\n    name: embed_call2\n" in text
    assert "    inputs: [embed, embed_call2]\n" in text
    lstm = import_keras_model(encoder_decoder()).text
    assert "    inputs: [target, encoder:1, encoder:2]\n" in lstm


def save_config(tmp_path: Path, layers: list, name: str = "bad") -> Path:
    """A .keras file holding only a config.json: a Functional model from ``layers``."""
    config = {"module": "keras", "class_name": "Functional", "config": {
        "name": name, "layers": [{"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [None, 4]},
                                  "inbound_nodes": []}] + layers,
        "input_layers": ["x", 0, 0], "output_layers": [layers[-1]["name"], 0, 0]}}
    path = tmp_path / f"{name}.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    return path


def call_on(name: str) -> list:
    return [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, 0]}}], "kwargs": {}}]


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_lambda_is_refused_by_name_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w')"  # what would happen if the file's Python were run
    path = save_config(tmp_path, [{"module": "keras.layers", "class_name": "Lambda", "name": "evil",
                                   "config": {"name": "evil", "function": {"class_name": "__lambda__",
                                                                           "config": {"code": code}}},
                                   "inbound_nodes": call_on("x")}])
    result = run("import", str(path))
    assert result.exit_code == 2
    assert "Lambda 'evil' holds Python code, which archspec never runs" in result.output
    assert not marker.exists()


@pytest.mark.parametrize("layer, message", [
    ({"module": "mypkg", "class_name": "Warp", "name": "warp", "config": {}},
     "Warp 'warp' (from mypkg): archspec has no layer kind for the Keras class Warp"),
    ({"module": "keras.layers", "class_name": "Dense", "name": "d", "config": {"units": 2, "kernel_constraint": {
        "class_name": "NonNeg", "config": {}}}}, "Dense 'd': Keras argument kernel_constraint="),
    ({"module": "keras.src.ops.numpy", "class_name": "Divide", "name": "div", "config": {}},
     "the operation Divide 'div' (keras.src.ops.numpy) is applied to tensors directly"),
])
def test_what_archspec_cannot_express_is_named(tmp_path: Path, layer: dict, message: str) -> None:
    path = save_config(tmp_path, [{**layer, "inbound_nodes": call_on("x")}])
    result = run("import", str(path))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_not_a_keras_file(tmp_path: Path) -> None:
    path = tmp_path / "net.keras"
    path.write_text("not a zip")
    result = run("import", str(path))
    assert result.exit_code == 2 and "is not a .keras file" in result.output
    assert "no Keras Applications model named 'ResNet5'; did you mean 'ResNet50'" in \
        run("import", "applications:ResNet5").output


def test_cli_writes_refuses_to_overwrite_and_prints(tmp_path: Path) -> None:
    source = tmp_path / "m.keras"
    two_in_two_out().save(source)
    out = tmp_path / "m.yaml"
    first = run("import", str(source), "-o", str(out))
    assert first.exit_code == 0, first.output
    assert "layers in" in first.output and out.read_text().startswith("# Imported from")
    again = run("import", str(source), "-o", str(out))
    assert again.exit_code == 2 and "--force" in again.output
    assert run("import", str(source), "-o", str(out), "--force").exit_code == 0
    printed = run("import", str(source), "-o", "-")
    assert "archspec: 1\n" in printed.output
    assert run("summary", str(out)).exit_code == 0


def test_import_of_a_keras_file_does_not_import_keras(tmp_path: Path) -> None:
    import subprocess
    import sys

    source = tmp_path / "m.keras"
    two_in_two_out().save(source)
    code = ("import sys; from archspec.importer.run import import_model; import_model(sys.argv[1]); "
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'keras imported'")
    subprocess.run([sys.executable, "-c", code, str(source)], check=True)


def test_errors_are_archspec_errors(tmp_path: Path) -> None:
    from archspec.importer.run import import_model

    with pytest.raises(ArchspecError):
        import_model(str(tmp_path / "missing.keras"))
