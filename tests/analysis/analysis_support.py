"""Helpers shared by the analysis tests: paths, golden files, compiling test specs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from archspec.analysis.shape_pass import Analysis
from archspec.api import compile_spec, compile_text, parse_input_shape

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "analysis"
ZOO = ROOT / "specs"
UPDATE = bool(os.environ.get("ARCHSPEC_REGEN_GOLDEN"))


def spec(name: str) -> Path:
    """A test spec of ours (tests/golden/analysis/NAME.yaml)."""
    return GOLDEN / f"{name}.yaml"


def analysis_of(name: str, input_shape: str | None = None) -> Analysis:
    shape = parse_input_shape(input_shape) if input_shape else None
    return compile_spec(spec(name), input_shape=shape).analysis


def zoo(name: str) -> Path:
    """A zoo spec, or skip while the zoo does not have it yet."""
    path = ZOO / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"specs/{name}.yaml not written yet")
    return path


def text_analysis(text: str) -> Analysis:
    return compile_text(text, "test.yaml").analysis


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/golden/analysis/NAME; ARCHSPEC_REGEN_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual)
    assert path.exists(), f"{path} is missing (ARCHSPEC_REGEN_GOLDEN=1 writes it)"
    assert actual == path.read_text(), f"{name} differs from its golden file (ARCHSPEC_REGEN_GOLDEN=1 updates it)"
