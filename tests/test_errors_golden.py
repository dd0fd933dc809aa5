"""Every kind of mistake in a spec gives a located message with a hint, exit code 2, no traceback.

The exact text lives in tests/golden/errors/<spec>.txt. To accept new wording after a
deliberate change: ARCHSPEC_REGEN_GOLDEN=1 pytest tests/test_errors_golden.py, then read the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.cli import main
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
