"""``archspec import``: every Keras Applications model and hand-written models (shared layers,
several inputs and outputs, recurrent and attention layers) import to specs whose analysis
equals the model and whose built model, with the model's weights, computes the same outputs;
what archspec cannot express is refused by name, and nothing in a .keras file is run."""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from archspec.cli import main
from archspec.errors import ArchspecError
from archspec.importer.run import ImportResult
from import_round_trip import check_round_trip, check_summary, import_keras_model

keras = pytest.importorskip("keras")

SMALL = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 75}  # the smallest input each allows
# The smallest model of each family goes through the whole round trip with weights; the others
# through the summary's equality, which needs the model's shapes but no weight values.
WITH_WEIGHTS = {"ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionV3",
                "InceptionResNetV2", "MobileNet", "MobileNetV2", "MobileNetV3Small", "NASNetMobile", "ResNet50",
                "ResNet50V2", "VGG16", "Xception"}
# Each application is built and imported once per module; the imports later tests read are kept
# (the others, with their analyses, are freed).
IMPORTED: dict[str, ImportResult] = {}
READ_LATER = {"ResNet50", "EfficientNetB0"}


def application_names() -> list[str]:
    from archspec.importer.keras_config import application_names as names

    return names()


def application(name: str, weights: bool) -> Any:
    """The application at its test size; without weights, its variables are never filled."""
    from archspec.importer.keras_config import unfilled_variables

    size = SMALL.get(name, 32)
    make = getattr(keras.applications, name)
    if weights:
        return make(weights=None, input_shape=(size, size, 3))
    with unfilled_variables():
        return make(weights=None, input_shape=(size, size, 3))


@pytest.mark.parametrize("name", application_names())
def test_every_application_round_trips(name: str) -> None:
    model = application(name, weights=name in WITH_WEIGHTS)
    if name in WITH_WEIGHTS:
        result = check_round_trip(model, f"applications:{name}")
    else:
        result = import_keras_model(model, f"applications:{name}")
        check_summary(model, result.compiled)
    assert result.lines <= result.lines_without_blocks
    if name in READ_LATER:
        IMPORTED[name] = result
    keras.backend.clear_session()


def imported_application(name: str) -> ImportResult:
    if name not in IMPORTED:  # the test above did not run (-k)
        IMPORTED[name] = import_keras_model(application(name, weights=False), f"applications:{name}")
    return IMPORTED[name]


def test_resnet50_becomes_blocks_named_as_keras_names_them() -> None:
    result = imported_application("ResNet50")
    text = result.text
    assert "  - ConvBlock: {filters: 64}\n    name: conv2_block2\n" in text
    assert "      - Conv2D: {filters: \"${4 * filters}\", kernel_size: 1}\n        name: _3_conv\n" in text
    assert result.lines_without_blocks - result.lines > 200
    assert "# 2 blocks of repeated layers save" in text


def test_lines_saved_is_one_count_of_whole_files(tmp_path: Path) -> None:
    """Blocks saved = lines of the file --no-blocks writes less the lines of the file written,
    comments included; the spec's comment and the command's message both say that number."""
    blocked, flat = tmp_path / "r50.yaml", tmp_path / "flat.yaml"
    said = run("import", "applications:ResNet50", "--input", "32x32x3", "-o", str(blocked))
    assert said.exit_code == 0, said.output
    assert run("import", "applications:ResNet50", "--input", "32x32x3", "--no-blocks", "-o", str(flat)).exit_code == 0
    saved = flat.read_text().count("\n") - blocked.read_text().count("\n")
    assert saved > 200
    assert f"# 2 blocks of repeated layers save {saved:,} lines ({flat.read_text().count(chr(10)):,} without them).\n" \
        in blocked.read_text()
    assert f"blocks saved {saved:,} lines" in said.output
    assert blocked.read_text() == imported_application("ResNet50").text  # --input 32x32x3 is the test's size


def test_input_size_of_an_application_and_its_errors(tmp_path: Path) -> None:
    out = tmp_path / "m.yaml"
    assert run("import", "applications:MobileNet", "--input", "96x96x3", "-o", str(out)).exit_code == 0
    assert "input: [96, 96, 3]\n" in out.read_text()
    assert "Total params: 4,253,864" in run("summary", str(out)).output  # Keras's count for MobileNet
    small = run("import", "applications:VGG16", "--input", "8x8x3")
    assert small.exit_code == 2 and "Keras cannot build VGG16 for --input 8x8x3: Input size must be at least 32" \
        in small.output and "Traceback" not in small.output
    assert run("import", "applications:VGG16", "--input", "8xx3").exit_code == 2  # summary's --input syntax
    source = tmp_path / "m.keras"
    siamese().save(source)
    saved = run("import", str(source), "--input", "12")
    assert saved.exit_code == 2 and "--input is for applications:NAME" in saved.output


def test_initializers_left_out_are_counted_on_stderr_and_listed(tmp_path: Path) -> None:
    out = tmp_path / "b0.yaml"
    said = run("import", "applications:EfficientNetB0", "--input", "32x32x3", "-o", str(out))
    assert said.exit_code == 0, said.output
    count = int(re.search(r"left out (\d+) initializers archspec cannot name", said.output).group(1))
    listed = [line for line in out.read_text().splitlines() if line.startswith("#   ") and "VarianceScaling" in line]
    assert listed and count == sum(map(layers_named, listed)) == imported_application("EfficientNetB0").left_out


def layers_named(comment: str) -> int:
    """
    >>> layers_named("#   x: a, b, c and 4 more"), layers_named("#   x: a, b")
    (7, 2)
    """
    names = comment.rsplit(": ", 1)[1]
    more = re.search(r" and (\d+) more$", names)
    shown = names[:more.start()] if more else names
    return len(shown.split(", ")) + (int(more.group(1)) if more else 0)


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
    assert "    inputs: [target, encoder:state_h, encoder:state_c]\n" in lstm  # named as the analysis names them


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
