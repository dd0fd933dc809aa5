"""Every report is linear in the number of layers: counted operations, never clocks.

Each test runs a report at two sizes and compares how often a step ran: passes over the
layers stay constant, per-layer checks run once per distinct layer, and per-block work grows
with the blocks, not with blocks times rows.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Iterator

import pytest

from archspec.analysis import json_text, report
from archspec.analysis.passes import Report, run_passes
from archspec.analysis.render import layout as layout_module
from archspec.analysis.render import drawing, render_drawing
from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.api import analyse_spec, compile_text
from conftest import counting

BLOCK_SPEC = """archspec: 1
name: blocks
input: [8, 8, 4]
blocks:
  cbr:
    layers:
      - Conv2D: {{filters: 4, kernel_size: 3, padding: same}}
      - BatchNormalization
      - ReLU
layers:
  - cbr:
    repeat: {n}
"""

DENSE_SPEC = "archspec: 1\nname: dense\ninput: [8]\nlayers:\n  - Dense: {{units: 4}}\n    repeat: {n}\n"


class CountedLayers(tuple):
    """The analysis's layers, counting how many times a report walks through them."""

    walks = 0

    def __iter__(self) -> Iterator[LayerInfo]:
        type(self).walks += 1
        return super().__iter__()


def _counted(result: Report) -> Report:
    analysis = dataclasses.replace(result.analysis, layers=CountedLayers(result.analysis.layers))
    return dataclasses.replace(result, analysis=analysis)


def _walks(render: Callable[[Report], Any], blocks: int) -> int:
    result = _counted(run_passes(compile_text(BLOCK_SPEC.format(n=blocks)).analysis))
    CountedLayers.walks = 0
    render(result)
    return CountedLayers.walks


@pytest.mark.parametrize("render", [report.table, lambda r: report.table(r, 0), report.markdown, report.to_json],
                         ids=["table", "depth 0", "markdown", "json"])
def test_reports_walk_the_layers_a_fixed_number_of_times(render: Callable[[Report], Any]) -> None:
    # A block's row that summed its own layers by scanning all of them made 4,000 uses quadratic.
    assert _walks(render, 3) == _walks(render, 30) > 0


def test_block_rows_show_the_same_totals_as_their_layers() -> None:
    result = run_passes(compile_text(BLOCK_SPEC.format(n=5)).analysis)
    for row in (r for r in report.rows(result) if r.is_block):
        members = [i for i in result.analysis.layers if i.node.scope[:1] == (row.name,)]
        assert row.params.total == sum(m.params.total for m in members) == 164
        assert row.macs == sum(m.macs or 0 for m in members)
        assert row.output == members[-1].node.name



def test_repeated_layers_are_checked_and_analysed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from archspec.analysis import shape_pass
    from archspec.graph import arguments

    checks = counting(monkeypatch, arguments, "check_args")
    rules = counting(monkeypatch, shape_pass, "layer_rules")
    monkeypatch.setattr(arguments, "_CHECKED", {})  # nothing remembered from earlier lowerings
    analysis = compile_text(DENSE_SPEC.format(n=50)).analysis
    assert len(analysis.layers) == 50
    assert checks[0] == 1
    assert rules[0] == 2  # the first Dense reads the [8] input, the other 49 a [4] one
    assert [i.params.total for i in analysis.layers[:2]] == [36, 20]


def test_a_repeated_layer_with_a_bad_argument_is_refused_at_every_instance() -> None:
    from archspec.errors import SpecErrors

    with pytest.raises(SpecErrors) as caught:
        compile_text(DENSE_SPEC.format(n=3).replace("units: 4", "units: -1"))
    assert [e.message.split(":")[0] for e in caught.value.errors] == [f"Dense 'dense_{k}'" for k in (1, 2, 3)]


def test_the_picture_of_many_blocks_grows_with_the_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    margins = counting(monkeypatch, layout_module, "_margin")

    def count(blocks: int) -> int:
        margins[0] = 0
        analysis = compile_text(BLOCK_SPEC.format(n=blocks)).analysis
        render_drawing(drawing(analysis), analysis, "svg", "builtin")
        return margins[0]
    small, large = count(4), count(40)
    # Linear: 10x the blocks, about 10x the calls; a pass per row over every block would be 100x.
    assert large <= 15 * small


def test_json_text_is_what_json_dumps_writes() -> None:
    values = [{}, [], {"a": []}, [[]], [{}], {"x": float("nan"), "y": [float("inf"), -float("inf"), 1e300, 0.1, -0.0]},
              {"k": (1, 2)}, {1: "a", "b": {2: None, "c": [True, False]}}, "é\u2028\x00\"", 2 ** 70,
              {"deep": {"er": [1, [2, [3, {}]]]}}]
    for value in values:
        assert json_text.dumps(value) == json.dumps(value, indent=2)
    assert json_text.dumps({"layers": (x for x in [1, {"a": 2}])}) == json.dumps({"layers": [1, {"a": 2}]}, indent=2)


@pytest.mark.parametrize("spec", ["resnet50", "unet", "tagger"])
def test_summary_json_is_the_contract_dict_as_json_dumps_writes_it(spec: str) -> None:
    from pathlib import Path

    result = analyse_spec(Path(__file__).resolve().parents[2] / "specs" / f"{spec}.yaml")
    assert report.to_json(result) == json.dumps(report.to_json_dict(result), indent=2)


def test_analysis_info_finds_a_layer_by_name() -> None:
    analysis: Analysis = compile_text(DENSE_SPEC.format(n=3)).analysis
    assert analysis.info("dense_2") is analysis.layers[1]
