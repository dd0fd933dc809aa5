"""A tiny spec with blocks through the CLI: `activations` takes the names `summary` prints,
and `train SPEC --resume RUN` accepts the run's own spec and refuses another network."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from train_testkit import restore_tf_state, write_png  # noqa: F401

SPEC = """\
archspec: 1
name: tiny-blocks
input: [8, 8, 1]
blocks:
  Unit:
    params: {filters: required}
    layers:
      - Conv2D: {filters: $filters, kernel_size: 3, padding: same, use_bias: false}
        name: conv
      - BatchNormalization
      - ReLU
layers:
  - Unit: {filters: 4}
    name: stage
    repeat: 2
  - MaxPooling2D: {pool_size: 2}
    name: pool
  - Unit: {filters: 6}
    name: head
  - Flatten
  - Dense: {units: 10, activation: softmax}
    name: out
"""


def _cli(*args: str) -> Any:
    from archspec.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "tiny.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def run(spec: Path) -> Path:
    out = spec.parent / "run"
    result = _cli("train", str(spec), "--data", "builtin:digits", "--epochs", "1", "--steps-per-epoch", "2",
                  "--set", "train.deterministic=false", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "input 8x8x1" in result.stderr and "resized" not in result.stderr  # digits are 8x8 already
    yield out
    from tensorflow.python.framework import config
    config.disable_op_determinism()


@pytest.fixture(scope="module")
def digit(spec: Path) -> Path:
    from sklearn.datasets import load_digits

    path = spec.parent / "digit.png"
    write_png(path, (load_digits().images[3] * 255 / 16).astype(np.uint8))
    return path


@pytest.mark.parametrize("request_, drawn", [
    ("stage_1/conv", "stage_1/conv"),                                 # summary's block/layer name
    ("stage_1.conv", "stage_1/conv"),                                 # the Keras spelling still works
    ("conv", "stage_1/conv, stage_2/conv, head/conv"),                # a name inside blocks
    ("stage_*/re_lu_1,pool", "stage_1/re_lu_1, stage_2/re_lu_1, pool"),  # a glob, then a plain name
    ("", "stage_2/re_lu_1, head/re_lu_1"),                            # default: one per resolution
])
def test_activations_take_the_names_summary_prints(run: Path, digit: Path, tmp_path: Path, request_: str,
                                                   drawn: str) -> None:
    out = tmp_path / "maps.png"
    layers = ["--layers", request_] if request_ else []
    result = _cli("activations", str(run), str(digit), "-o", str(out), *layers, "--no-filters")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"feature maps: {out} ({drawn})"
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("request_, message", [
    ("stage_1/cnv", "no layer named 'stage_1/cnv'; did you mean 'stage_1/conv'?"),
    ("out", "layer 'out' has no feature map"),
])
def test_activations_name_errors(run: Path, digit: Path, tmp_path: Path, request_: str, message: str) -> None:
    result = _cli("activations", str(run), str(digit), "-o", str(tmp_path / "m.png"), "--layers", request_)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_resume_accepts_the_runs_own_spec(run: Path, spec: Path, tmp_path: Path) -> None:
    reformatted = tmp_path / "same.yaml"  # another file, comments and layout: the same network
    reformatted.write_text("# the same network\n" + SPEC.replace("{filters: 4}", "{filters: 4}   # four"))
    result = _cli("train", str(reformatted), "--data", "builtin:digits", "--out", str(run), "--resume", str(run))
    assert result.exit_code == 0, result.output  # the command that started the run, repeated with --resume
    assert "the run already completed 1 epoch; pass --epochs N to train longer" in result.stderr
    result = _cli("train", str(reformatted), "--out", str(tmp_path / "elsewhere"), "--resume", str(run))
    assert result.exit_code == 2 and "is not the run being resumed" in result.stderr


def test_resume_refuses_another_network_at_its_line(run: Path, tmp_path: Path) -> None:
    changed = tmp_path / "wider.yaml"
    changed.write_text(SPEC.replace("{filters: 6}", "{filters: 8}"))
    result = _cli("train", str(changed), "--resume", str(run))
    assert result.exit_code == 2, result.output
    lines = SPEC.splitlines()
    conv, use = lines.index("      - Conv2D: {filters: $filters, kernel_size: 3, padding: same, use_bias: false}") + 1, \
        lines.index("  - Unit: {filters: 6}") + 1
    assert f"wider.yaml:{conv}:9: --resume: layer 'head/conv' (in Unit 'head' at line {use}): filters is 8 here " \
           "but 6 in the run" in result.stderr
    assert "start a new run without --resume" in result.stderr
