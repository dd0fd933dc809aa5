"""The commands as a user runs them: exit codes, the JSON contract, no TensorFlow for analysis."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from archspec.cli import main
from archspec.spec.schema import published_schema
from conftest import ROOT

RESNET_LIKE = """\
archspec: 1
name: small_resnet
input: [32, 32, 3]
blocks:
  Basic:
    params: {filters: required, strides: 1}
    layers:
      - Conv2D: {filters: $filters, kernel_size: 3, strides: $strides, padding: same, use_bias: false}
      - BatchNormalization
      - ReLU
      - Conv2D: {filters: $filters, kernel_size: 3, padding: same, use_bias: false}
      - BatchNormalization: {}
        name: body
      - Conv2D: {filters: $filters, kernel_size: 1, strides: $strides, use_bias: false}
        inputs: in
        name: shortcut
      - Add: {}
        inputs: [shortcut, body]
      - ReLU
layers:
  - Conv2D: {filters: 16, kernel_size: 3, padding: same}
  - Basic: {filters: 16}
    name: stage1
  - Basic: {filters: 32, strides: 2}
    name: stage2
    expect: [16, 16, 32]
  - GlobalAveragePooling2D
  - Dense: {units: 10, activation: softmax}
"""


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archspec.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture()
def resnet(tmp_path: Path) -> Path:
    path = tmp_path / "small_resnet.yaml"
    path.write_text(RESNET_LIKE)
    return path


def test_validate_is_silent_on_success() -> None:
    result = CliRunner().invoke(main, ["validate", str(ROOT / "specs" / "lenet5.yaml")])
    assert result.exit_code == 0 and result.output == ""


def test_summary_json_contract_agrees_with_keras(resnet: Path) -> None:
    from archspec.api import compile_spec
    from archspec.keras_backend.model_builder import build_model, keras_name

    result = CliRunner().invoke(main, ["summary", str(resnet), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    for key in ("name", "inputs", "output_shapes", "total_params", "trainable_params", "non_trainable_params",
                "layers"):
        assert key in data
    model = build_model(compile_spec(resnet).graph)
    assert data["total_params"] == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert (data["trainable_params"], data["non_trainable_params"]) == (trainable, model.count_params() - trainable)
    assert data["output_shapes"] == [list(model.output.shape[1:])]
    for layer in data["layers"]:
        assert set(layer) >= {"name", "type", "inputs", "output_shape", "params", "trainable_params", "line"}
        assert layer["output_shape"] == list(model.get_layer(keras_name(layer["name"])).output.shape[1:])
    assert data["inputs"] == {"input": [32, 32, 3]}
    shortcut = next(l for l in data["layers"] if l["name"] == "stage2/shortcut")
    assert shortcut["inputs"] == ["stage1/re_lu_2"] and shortcut["line"] == 14


def test_table_has_block_subtotals_and_depth(resnet: Path) -> None:
    full = CliRunner().invoke(main, ["summary", str(resnet)]).output
    assert "stage1 (Basic)" in full and "  shortcut (Conv2D)" in full
    collapsed = CliRunner().invoke(main, ["summary", str(resnet), "--depth", "0"]).output
    assert "stage2 (Basic)" in collapsed and "shortcut (Conv2D)" not in collapsed
    assert full.splitlines()[-8:-4] == collapsed.splitlines()[-8:-4]  # the same totals
    assert CliRunner().invoke(main, ["summary", str(resnet), "--depth", "1"]).output == full  # one level deep


def test_markdown(resnet: Path) -> None:
    out = CliRunner().invoke(main, ["summary", str(resnet), "--format", "markdown"]).output
    assert out.startswith("### small_resnet") and "| **stage1** | Basic |" in out


def test_build_saves_a_loadable_model(resnet: Path, tmp_path: Path) -> None:
    target = tmp_path / "net.keras"
    result = CliRunner().invoke(main, ["build", str(resnet), "-o", str(target), "--verify"])
    assert result.exit_code == 0, result.output
    code = ("import keras, sys; m = keras.saving.load_model(sys.argv[1]); "
            "print(m.name, m.count_params(), m.get_layer('stage2.shortcut').name)")
    loaded = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert loaded.stdout.split() == ["small_resnet", "20362", "stage2.shortcut"], loaded.stderr


def test_build_refuses_other_suffix(resnet: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", str(resnet), "-o", str(tmp_path / "net.h5")])
    assert result.exit_code == 2 and "must end in .keras" in result.output


def test_layers_lists_and_describes() -> None:
    listing = CliRunner().invoke(main, ["layers"]).output
    assert "Conv2D" in listing and "TiledConv2D" in listing
    one = CliRunner().invoke(main, ["layers", "Conv2D"])
    assert one.exit_code == 0 and "dilation_rate" in one.output
    wrong = CliRunner().invoke(main, ["layers", "Conv2d"])
    assert wrong.exit_code == 2 and "did you mean 'Conv2D'?" in wrong.output


def test_input_override_propagates_unknown_sizes(resnet: Path) -> None:
    out = CliRunner().invoke(main, ["summary", str(resnet), "--input", "64x?x3", "--format", "json"]).output
    data = json.loads(out)
    assert data["inputs"]["input"] == [64, None, 3]
    assert next(l for l in data["layers"] if l["name"] == "stage2/body")["output_shape"] == [32, None, 32]


def test_set_override(resnet: Path) -> None:
    result = CliRunner().invoke(main, ["summary", str(resnet), "--set", "layers.4.Dense.units=7", "--format", "json"])
    assert json.loads(result.output)["output_shapes"] == [[7]]


def test_missing_file_is_a_user_error() -> None:
    result = CliRunner().invoke(main, ["validate", "no/such/spec.yaml"])
    assert result.exit_code == 2 and "no such file" in result.output


def test_checked_in_schema_is_current() -> None:
    checked_in = json.loads((ROOT / "schemas" / "archspec.schema.json").read_text())
    assert checked_in == published_schema(), "regenerate: archspec schema -o schemas/archspec.schema.json --force"


def test_schema_is_valid_and_documented() -> None:
    schema = published_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for name, layer in schema["$defs"]["layer"].items():
        assert layer["description"], name
        for arg, sub in layer["properties"].items():
            assert sub.get("description"), f"{name}.{arg}"
    jsonschema.validate(__import__("yaml").safe_load((ROOT / "specs" / "lenet5.yaml").read_text()), schema)


def test_analysis_commands_never_import_tensorflow(tmp_path: Path, resnet: Path) -> None:
    poison = tmp_path / "poison"
    # The light install (pip install -e .) has PyYAML, jsonschema and click: no NumPy or Pillow either.
    for module in ("tensorflow", "keras", "numpy", "PIL"):
        (poison / module).mkdir(parents=True)
        (poison / module / "__init__.py").write_text(f"raise ImportError('{module} imported')\n")
    env = {**os.environ, "PYTHONPATH": f"{poison}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for args in (["validate", str(resnet)], ["summary", str(resnet)], ["summary", str(resnet), "--format", "json"],
                 ["layers"], ["layers", "Conv2D"], ["schema"], ["explain", str(resnet)], ["graph", str(resnet)],
                 ["diff", str(resnet), str(resnet)]):
        result = subprocess.run([sys.executable, "-m", "archspec.cli", *args], capture_output=True, text=True,
                                env=env, cwd=ROOT)
        assert result.returncode == 0, (args, result.stderr)


def test_summary_answers_quickly(resnet: Path) -> None:
    start = time.perf_counter()
    result = run("summary", str(resnet))
    elapsed = time.perf_counter() - start
    assert result.returncode == 0
    assert elapsed < 5, f"cold summary took {elapsed:.2f}s"  # generous bound; see benchmarks/ for real numbers


def test_missing_extra_names_what_to_install(resnet: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)  # as if the tf extra were not installed
    result = CliRunner().invoke(main, ["build", str(resnet), "-o", str(tmp_path / "n.keras")])
    assert result.exit_code == 1
    assert result.output.startswith("this command needs keras, which is not installed; install the 'tf' extra")


def test_layers_as_json() -> None:
    one = CliRunner().invoke(main, ["layers", "Conv2D", "--format", "json"])
    schema = json.loads(one.output)["Conv2D"]
    assert one.exit_code == 0 and schema["required"] == ["filters", "kernel_size"]
    assert set(json.loads(CliRunner().invoke(main, ["layers", "--format", "json"]).output)) == \
        set(published_schema()["$defs"]["layer"])
    wrong = CliRunner().invoke(main, ["layers", "Conv2d", "--format", "json"])
    assert wrong.exit_code == 2 and wrong.output.startswith("unknown layer kind 'Conv2d'; did you mean 'Conv2D'?")


def test_schema_command_writes_the_published_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    assert CliRunner().invoke(main, ["schema", "-o", str(target)]).exit_code == 0
    assert json.loads(target.read_text()) == published_schema()
    assert json.loads(CliRunner().invoke(main, ["schema"]).output) == published_schema()


# ------------------------------------------------------------------ --input, a value of the command line
def test_input_of_the_wrong_rank_is_blamed_on_the_command_line(resnet: Path) -> None:
    for command in ("summary", "build", "graph", "explain"):
        result = CliRunner().invoke(main, [command, str(resnet), "--input", "64x64"])
        assert result.exit_code == 2, (command, result.output)
        assert result.output.startswith("<command line>: --input 64x64: Conv2D 'conv2d_1': "), command
        assert f", at {resnet}:21:5; " in result.output and "the spec's own input (32x32x3) fits" in result.output


def test_input_too_small_for_the_network_is_blamed_on_the_command_line() -> None:
    result = CliRunner().invoke(main, ["summary", str(ROOT / "specs" / "lenet5.yaml"), "--input", "8x8x1"])
    assert result.exit_code == 2 and result.output.startswith("<command line>: --input 8x8x1: ")
    assert "the spec's own input (32x32x1) fits" in result.output


def test_input_that_is_not_a_shape_is_a_usage_error(resnet: Path) -> None:
    for text, problem in (("abc", "'abc' is not a shape"), ("0x32x3", "'0x32x3' has a size below 1"),
                          ("64xx3", "'64xx3' is not a shape")):
        result = CliRunner().invoke(main, ["summary", str(resnet), "--input", text])
        assert result.exit_code == 2 and f"Invalid value for '--input': {problem}" in result.output


def test_input_needs_a_single_input() -> None:
    result = CliRunner().invoke(main, ["summary", str(ROOT / "examples" / "two-inputs-two-outputs.yaml"),
                                       "--input", "8x8x3"])
    assert result.exit_code == 2
    assert result.output.startswith("<command line>: --input sets the shape of a single input, but this spec has 2")


def test_a_spec_broken_by_itself_keeps_its_own_error_location(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(RESNET_LIKE.replace("  - GlobalAveragePooling2D\n", "  - Flatten\n  - Conv2D: {filters: 2, "
                                        "kernel_size: 1}\n"))
    result = CliRunner().invoke(main, ["summary", str(path), "--input", "64x64x3"])
    assert result.exit_code == 2 and result.output.startswith(f"{path}:")


# ------------------------------------------------------------------ warnings
WARNED = """archspec: 1
name: w
input: [16, 16, 3]
layers:
  - DepthwiseConv2D: {kernel_size: 3, strides: [1, 2]}
  - GlobalAveragePooling2D
"""


def test_warnings_go_to_stderr_with_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WARNED)
    commands = (["validate", str(path)], ["summary", str(path)], ["build", str(path), "-o", str(tmp_path / "w.keras")])
    for args in commands:
        result = subprocess.run([sys.executable, "-m", "archspec.cli", *args], capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr.startswith(f"{path}:5:48: warning: DepthwiseConv2D 'depthwise_conv2d_1': "), args
        assert ": warning:" not in result.stdout


# ------------------------------------------------------------------ TensorFlow's start-up noise
NOISE = ("absl::InitializeLog", "cudart_stub", "cuInit", "cpu_feature_guard", "oneDNN custom operations")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of the test suite's TensorFlow settings."""
    drop = {"TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "ARCHSPEC_VERBOSE"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def test_tensorflow_commands_print_no_start_up_noise(tmp_path: Path) -> None:
    result = subprocess.run(["archspec", "build", "examples/residual-block.yaml", "-o", str(tmp_path / "x.keras")],
                            capture_output=True, text=True, cwd=ROOT, env=_clean_env())
    assert result.returncode == 0, result.stderr
    assert not [marker for marker in NOISE if marker in result.stderr], result.stderr
    assert result.stdout.startswith("saved ")


def test_verbose_leaves_tensorflow_logging_alone() -> None:
    code = ("import os, sys; from archspec.cli import main; main(sys.argv[1:] + ['layers'], standalone_mode=False); "
            "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))")
    cases = {"quiet": ([], {}), "flag": (["--verbose"], {}), "variable": ([], {"ARCHSPEC_VERBOSE": "1"})}
    level = {name: subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT,
                                  env=_clean_env(**env)).stdout.splitlines()[-1] for name, (argv, env) in cases.items()}
    assert level == {"quiet": "3", "flag": "None", "variable": "None"}


def test_errors_written_while_tensorflow_imports_are_not_lost(capfd: pytest.CaptureFixture[str]) -> None:
    from archspec.tensorflow_noise import stderr_captured

    with stderr_captured():
        os.write(2, b"start-up chatter\n")
    with pytest.raises(ImportError), stderr_captured():
        os.write(2, b"libcudart.so: cannot open shared object file\n")
        raise ImportError("broken installation")
    assert capfd.readouterr().err == "libcudart.so: cannot open shared object file\n"
