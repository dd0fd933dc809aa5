"""The Head section of ``archspec summary`` for the zoo's detectors, word for word (goldens in
tests/golden/heads; after a deliberate change: ARCHSPEC_REGEN_GOLDEN=1 pytest tests/test_head_summary.py,
then read the diff): each level's stride, grid, cells and anchors, or an anchor-free level's object
sizes; the assignment training uses; an instance head's prototype masks."""
from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from archspec.api import compile_text
from archspec.cli import main
from archspec.errors import SpecErrors
from archspec.heads.head import head_from_json
from conftest import ROOT

GOLDEN = ROOT / "tests" / "golden" / "heads"
DETECTORS = ["yolo-tiny", "yolo-tiny-af", "yolo-tiny-seg"]


def _head_section(output: str) -> str:
    return output[output.index("\nHead: ") + 1:]


@pytest.mark.parametrize("spec", DETECTORS)
def test_the_head_section_of_each_zoo_detector(spec: str) -> None:
    result = CliRunner().invoke(main, ["summary", str(ROOT / "specs" / f"{spec}.yaml")])
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"{spec}.txt"
    if os.environ.get("ARCHSPEC_REGEN_GOLDEN"):
        golden.write_text(_head_section(result.output))
    assert _head_section(result.output) == golden.read_text()


def test_the_json_carries_the_same_facts_and_reads_back() -> None:
    runner = CliRunner()
    free = json.loads(runner.invoke(main, ["summary", str(ROOT / "specs" / "yolo-tiny-af.yaml"), "--format",
                                           "json"]).output)["head"]
    assert [lv["object_sides"] for lv in free["levels"]] == [[0.0, 20.0], [20.0, None]]
    assert free["level_sizes"] == [20.0] and head_from_json(free).level_sizes == (20.0,)
    seg = json.loads(runner.invoke(main, ["summary", str(ROOT / "specs" / "yolo-tiny-seg.yaml"), "--format",
                                          "json"]).output)["head"]
    assert (seg["prototype_grid"], seg["prototype_stride"], seg["coefficients"], seg["anchor_ratio"]) == \
        ([16, 16], 4, 16, 4.0)
    assert head_from_json(seg).prototype_grid == (16, 16)


def test_set_level_sizes_moves_the_ranges_and_a_wrong_count_is_refused_at_its_line() -> None:
    text = (ROOT / "specs" / "yolo-tiny-af.yaml").read_text()
    moved = compile_text(text.replace("level_sizes: [20]", "level_sizes: [40]"), "af.yaml").head
    assert moved.object_sides == [(0.0, 40.0), (40.0, float("inf"))]
    default = compile_text(text.replace("level_sizes: [20]", "box_weight: 1.0"), "af.yaml").head
    assert default.level_sizes is None and default.object_sides[0] == (0.0, 32.0)  # 4 x stride 8
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "level_sizes: [20]" in row)
    with pytest.raises(SpecErrors) as caught:
        compile_text(text.replace("level_sizes: [20]", "level_sizes: [20, 40]"), "af.yaml")
    error = caught.value.errors[0]
    assert (error.loc.line, error.message) == (line, "train.detection.level_sizes [20, 40] for 2 levels")
