"""Every kind of mistake in a spec gives a located message with a hint, exit code 2, no traceback.

The exact text lives in tests/golden/errors/<spec>.txt. To accept new wording after a
deliberate change: ARCHSPEC_REGEN_GOLDEN=1 pytest tests/test_errors_golden.py, then read the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.api import compile_spec, compile_text
from archspec.cli import main
from archspec.errors import ArchspecError, Location, RunFailure, SpecError, SpecErrors, Stage, UserError
from archspec.spec.load import load_text
from archspec.train.config import resolve_config
from conftest import ROOT

BAD = sorted((ROOT / "tests" / "bad_specs").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "errors"


@pytest.mark.parametrize("spec", BAD, ids=[p.stem for p in BAD])
def test_bad_spec_message(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    relative = str(spec.relative_to(ROOT))
    result = CliRunner().invoke(main, ["validate", "--all-errors", relative])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    golden = GOLDEN / f"{spec.stem}.txt"
    if os.environ.get("ARCHSPEC_REGEN_GOLDEN"):
        golden.write_text(result.output)
    assert result.output == golden.read_text()
    first = result.output.splitlines()[0]
    assert first.startswith(f"{relative}:"), "every message starts with file:line:col"
    assert "; " in first, "every message carries a hint after '; '"


def test_only_the_most_relevant_error_without_all_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["validate", "tests/bad_specs/many_errors.yaml"])
    lines = result.output.splitlines()
    assert result.exit_code == 2
    assert len(lines) == 2 and "--all-errors" in lines[1]


def _errors(path: str) -> list:
    with pytest.raises(SpecErrors) as caught:
        compile_spec(ROOT / "tests" / "bad_specs" / path)
    return caught.value.errors


def test_every_error_carries_the_stage_that_found_it() -> None:
    stages = {error.stage for spec in BAD for error in _errors(spec.name)}
    assert None not in stages
    assert {Stage.FILE, Stage.STRUCTURE, Stage.ARGUMENTS, Stage.GRAPH, Stage.SHAPES, Stage.EXPECTATIONS,
            Stage.LIMITS} <= stages


def test_earlier_stages_first_then_file_order() -> None:
    errors = _errors("stage_order.yaml")
    assert [(e.stage, e.loc.line) for e in errors] == [(Stage.STRUCTURE, 9), (Stage.ARGUMENTS, 11), (Stage.GRAPH, 8)]


BASE = "archspec: 1\nname: net\ninput: [28, 28, 1]\nlayers:\n  - Flatten\n  - Dense: {units: 10}\n"


def _first(text: str) -> str:
    with pytest.raises(SpecErrors) as caught:
        compile_text(text, "net.yaml")
    return caught.value.errors[0].format()


def test_the_train_section_is_worded_alike_by_validate_and_by_train() -> None:
    doc = load_text(BASE + "train:\n  epochs: 0\n  data:\n    source: {builtin: digits}\n", "net.yaml")
    with pytest.raises(SpecErrors) as caught:
        resolve_config(doc.data["train"], locate=doc.loc)
    by_train = caught.value.format()
    assert by_train == _first(doc.text) == ("net.yaml:8:11: 'train.epochs' must be >= 1; received: 0; "
                                            "number of epochs (default 10)")


@pytest.mark.parametrize("fragment, message", [
    ("limits: {max_params: -1}\n", "'limits.max_params' must be >= 0; received: -1; most parameters allowed"),
    ("train: {data: {source: {nzp: a.npz}}}\n",
     "'train.data.source' needs one of the keys builtin, npz, images, tfrecord, coco, yolo; received: {'nzp': 'a.npz'}; "
     "did you mean 'npz'?"),
    ("train: {data: {source: {npz: 3}}}\n", "'train.data.source.npz' must be text, not the number 3; "
                                            "path of the .npz file"),
    ("train: {optimizer: {Adam: {}, SGD: {}}}\n", "'train.optimizer' must be a mapping of at most 1 entry"),
    ("outputs: []\n", "'outputs' is empty"),
])
def test_schema_errors_say_what_and_use_the_schema_description_as_hint(fragment: str, message: str) -> None:
    assert message in _first(BASE + fragment)


@pytest.mark.parametrize("repeat, message", [
    ("-1", "'layers.1.repeat' must be >= 0; received: -1; an integer >= 0"),
    ("abc", "'layers.1.repeat' must be an integer >= 0 or a $reference or ${expression}; received: 'abc'"),
])
def test_one_of_reports_the_form_meant_or_every_form(repeat: str, message: str) -> None:
    assert message in _first(BASE + f"    repeat: {repeat}\n")


@pytest.mark.parametrize("entry, hint", [
    ("Dropout: 0.5", "write Dropout: {rate: 0.5}"),
    ("Dense: 10", "write Dense: {units: 10}"),
    ("Activation: relu", "write Activation: {activation: relu}"),
    ("Conv2D: [8, 3]", "write Conv2D: {filters: ..., kernel_size: ...}, with its arguments by name"),
    ("Flatten: 3", "Flatten takes no arguments: write - Flatten"),
])
def test_a_value_where_the_arguments_go_names_the_argument_it_meant(entry: str, hint: str) -> None:
    message = _first(BASE + f"  - {entry}\n")
    assert "must be a mapping, not" in message and message.endswith(f"; {hint}")


def test_a_block_given_a_value_names_its_required_param() -> None:
    text = BASE.replace("layers:\n", "blocks:\n  Unit:\n    params: {k: 3, filters: required}\n    layers:\n"
                        "      - Conv2D: {filters: $filters, kernel_size: $k}\nlayers:\n") + "  - Unit: 8\n"
    assert _first(text).endswith("write Unit: {filters: 8}")


@pytest.mark.parametrize("layer, close", [
    ("Dense: {units: 2, activation: ReLU}", "relu"), ("Activation: {activation: Softmax}", "softmax"),
    ("Conv2D: {filters: 2, kernel_size: 3, padding: Same}", "same"),
])
def test_named_choices_suggest_the_right_spelling(layer: str, close: str) -> None:
    assert _first(BASE.replace("  - Flatten\n", f"  - {layer}\n  - Flatten\n")).endswith(f"did you mean '{close}'?")


@pytest.mark.parametrize("error", [
    SpecError("m", "h", Location("f", 1, 2)), UserError("m", "h"), RunFailure("m", "h"),
    SpecErrors([SpecError("m", "h", Location("f", 1, 2)), SpecError("n", "h", Location("f", 3, 1))]),
])
def test_every_error_type_formats_with_one_signature(error: ArchspecError) -> None:
    assert error.format().split("\n")[0] == error.format(all_errors=False).split("\n")[0]
    assert error.format(all_errors=True).startswith(("f:1:2: m; h", "m; h"))
