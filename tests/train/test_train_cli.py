"""The commands end to end through the real ``archspec`` group: LeNet-5 on digits, then
evaluate, predict, export (each export loaded back), activations, and the exit codes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from train_testkit import ROOT, restore_tf_state, write_png  # noqa: F401

LENET = str(ROOT / "specs" / "lenet5.yaml")


def _cli(*args: str) -> Any:
    from archspec.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "lenet"
    result = _cli("train", LENET, "--data", "builtin:digits", "--epochs", "1", "--steps-per-epoch", "8",
                  "--set", "train.data.batch_size=32", "--set", "train.deterministic=false", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "resized from 8x8 to 32x32x1 (resize: builtin default)" in result.stderr
    assert "batch 32 global" in result.stderr
    assert "completed after epoch 1: val_accuracy" in result.stdout
    yield out
    from tensorflow.python.framework import config
    config.disable_op_determinism()


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.datasets import load_digits

    path = tmp_path_factory.mktemp("img") / "digit.png"
    write_png(path, (load_digits().images[0] * 255 / 16).astype(np.uint8))
    return path


def test_train_writes_the_resolved_spec(lenet_run: Path) -> None:
    import yaml

    spec = yaml.safe_load((lenet_run / "spec.yaml").read_text())
    assert spec["name"] == "lenet5" and spec["train"]["data"]["source"] == {"builtin": "digits"}
    assert spec["train"]["data"]["batch_size"] == 32 and spec["train"]["epochs"] == 1
    assert json.loads((lenet_run / "run.json").read_text())["command"]


def test_evaluate_says_which_model_data_and_samples(lenet_run: Path) -> None:
    result = _cli("evaluate", str(lenet_run))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"model: {lenet_run / 'best.keras'} (after epoch 1)"
    assert lines[1] == "data: builtin:digits, the run's validation split (20% held out with seed 0): 359 samples"
    assert {line.split(":")[0] for line in lines[2:]} == {"accuracy", "loss"}
    result = _cli("evaluate", str(lenet_run), "--json", "--data", "builtin:digits", "--model", "last")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["model"] == str(lenet_run / "last.keras") and report["epoch"] == 1
    assert report["data"] == {"source": "builtin:digits", "part": "all samples", "samples": 1797}
    assert set(report["metrics"]) == {"accuracy", "loss"}


def test_class_counts_must_match_the_output_units(lenet_run: Path, tmp_path: Path) -> None:
    message = "builtin:shapes has 3 classes (circle, square, triangle) but the model's output has 10 units"
    result = _cli("evaluate", str(lenet_run), "--data", "builtin:shapes")
    assert result.exit_code == 2 and message in result.stderr, result.output
    result = _cli("train", LENET, "--data", "builtin:shapes", "--out", str(tmp_path / "run"))
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "give the last layer 3 units" in result.stderr and not (tmp_path / "run").exists()


def test_predict_and_activations(lenet_run: Path, digit_png: Path, tmp_path: Path) -> None:
    result = _cli("predict", str(lenet_run), str(digit_png), "--top-k", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{digit_png}: ") and result.stdout.count("(0.") == 2
    maps = tmp_path / "maps.png"
    result = _cli("activations", str(lenet_run), str(digit_png), "-o", str(maps))
    assert result.exit_code == 0, result.output
    assert f"feature maps: {maps} (c1, s2, c3, s4)" in result.stdout  # one layer per resolution
    for path in (maps, tmp_path / "maps-filters.png"):
        assert path.read_bytes()[:4] == b"\x89PNG"
    result = _cli("predict", str(lenet_run), str(digit_png), "--masks-dir", str(tmp_path / "masks"))
    assert result.exit_code == 2 and "this run's task is classification" in result.stderr


def test_activations_never_overwrite_the_image_or_an_earlier_picture(lenet_run: Path, digit_png: Path,
                                                                     tmp_path: Path) -> None:
    before = digit_png.read_bytes()
    result = _cli("activations", str(lenet_run), str(digit_png), "-o", str(digit_png), "--force")
    assert result.exit_code == 2 and "is an input of this command" in result.stderr
    assert digit_png.read_bytes() == before
    maps = tmp_path / "again.png"
    maps.write_bytes(b"keep")
    result = _cli("activations", str(lenet_run), str(digit_png), "-o", str(maps), "--no-filters")
    assert result.exit_code == 2 and "already exists" in result.stderr and maps.read_bytes() == b"keep"
    result = _cli("activations", str(lenet_run), str(digit_png), "-o", str(maps), "--no-filters", "--force")
    assert result.exit_code == 0 and maps.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite", "onnx"])
def test_export_loads_back_with_the_same_predictions(lenet_run: Path, tmp_path: Path, fmt: str) -> None:
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        pytest.importorskip("onnxruntime")
    out = tmp_path / {"savedmodel": "sm", "tflite": "m.tflite", "onnx": "m.onnx"}[fmt]
    result = _cli("export", str(lenet_run), "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "verified: predictions match Keras" in result.stdout
    assert out.exists() and not list(tmp_path.glob(".*tmp*"))


def test_resume_refuses_changed_settings(lenet_run: Path) -> None:
    result = _cli("train", "--resume", str(lenet_run), "--batch-size", "8")
    assert result.exit_code == 2
    assert "the settings given differ from the run's: train.data.batch_size: 8 (the run has 32)" in result.stderr
    assert "only --epochs may change" in result.stderr
    result = _cli("train", LENET, "--resume", str(lenet_run), "--data", "builtin:shapes")
    assert result.exit_code == 2
    assert "train.data.source: {'builtin': 'shapes'} (the run has {'builtin': 'digits'})" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--data", "images:/no/such/folder"], "the image folder /no/such/folder does not exist"),
    (["--data", "mnist"], "--data 'mnist' is not KIND:VALUE"),
    (["--data", "builtin:digits", "--set", "train.data.batchsize=3"], "train.data.batchsize"),
])
def test_bad_input_exits_2_with_a_message(args: list[str], message: str, tmp_path: Path) -> None:
    result = _cli("train", LENET, *args, "--out", str(tmp_path / "run"))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()  # no empty run directory left behind


def test_a_diverging_run_exits_1(tmp_path: Path) -> None:
    result = _cli("train", LENET, "--data", "builtin:digits", "--steps-per-epoch", "3", "--epochs", "2",
                  "--set", "train.optimizer={SGD: {learning_rate: .inf}}", "--set", "train.deterministic=false",
                  "--out", str(tmp_path / "run"))
    assert result.exit_code == 1, result.output
    assert "training diverged in epoch 1" in result.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["status"] == "failed"


def test_run_commands_need_a_run_directory(tmp_path: Path) -> None:
    result = _cli("evaluate", str(tmp_path))
    assert result.exit_code == 2 and "has no train_config.json" in result.stderr
