"""What the studio's analysis of each keystroke does not do again: checking arguments already
checked in an earlier lowering of the process, lowering a spec again after only ``expect:``
failed, and analysing again the text whose table was just shown when its picture is asked for.
Every number and message stays what the full pipeline gives."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from archspec import api
from archspec.analysis.report import to_json_dict
from archspec.analysis.passes import run_passes
from archspec.api import analyse_partial, compile_text
from archspec.errors import SpecErrors
from archspec.graph import arguments
from archspec.layers.catalog import all_kinds
from archspec.studio import analysis_view
from conftest import counting

ROOT = Path(__file__).resolve().parents[2]
RESNET = (ROOT / "specs" / "resnet50.yaml").read_text()
STEM = "{filters: 64, kernel_size: 7, strides: 2, padding: 3}"
DENSE = "archspec: 1\nname: d\ninput: [8]\nlayers:\n  - Dense: {units: 4}\n    repeat: 3\n"



def test_arguments_checked_in_one_lowering_are_not_checked_again_in_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arguments, "_CHECKED", {})
    checks = counting(monkeypatch, arguments, "check_args")
    first = compile_text(DENSE).analysis
    assert checks[0] == 1
    second = compile_text(DENSE.replace("name: d", "name: e")).analysis
    assert checks[0] == 1 and [i.node.args for i in second.layers] == [i.node.args for i in first.layers]
    # another record under the same name (a plugin loaded in its place) is checked anew
    dense = all_kinds()["Dense"]
    monkeypatch.setitem(all_kinds(), "Dense", replace(dense))
    compile_text(DENSE)
    assert checks[0] == 2


def test_a_bad_argument_is_refused_in_every_lowering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arguments, "_CHECKED", {})
    for _ in range(2):
        with pytest.raises(SpecErrors) as caught:
            compile_text(DENSE.replace("units: 4", "units: -1"))
        assert [e.message.split(":")[0] for e in caught.value.errors] == [f"Dense 'dense_{k}'" for k in (1, 2, 3)]


def test_an_expect_failure_lowers_once_and_keeps_every_layers_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    edited = RESNET.replace(STEM, STEM.replace("filters: 64", "filters: 6"))
    lowerings = counting(monkeypatch, api, "lower")
    result = analyse_partial(edited, "resnet50.yaml")
    assert lowerings[0] == 1 and not result.ok
    assert [e.message for e in result.errors] == ["'conv1_relu' outputs [112, 112, 6] but expect says [112, 112, 64]",
                                                  "'pool1' outputs [56, 56, 6] but expect says [56, 56, 64]"]
    # the numbers of the same text with its expect: lines made comments, through the whole pipeline
    unexpected = edited.replace("expect:", "# expect:")
    whole = api.analyse_spec("resnet50.yaml", text=unexpected)
    assert to_json_dict(result.report) == to_json_dict(replace(run_passes(whole.analysis), head=whole.head))


def test_the_picture_of_the_text_just_tabled_reuses_its_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    analyses = counting(monkeypatch, analysis_view, "analyse_partial")
    table = analysis_view.analyse_response(DENSE, "d.yaml", ["summary"])
    details = analysis_view.analyse_response(DENSE, "d.yaml", ["explain", "graph_svg"])
    assert analyses[0] == 1 and table["summary"]["total_params"] == 36 + 20 + 20
    assert set(details["explain"]) == {"dense_1", "dense_2", "dense_3"} and "<svg" in details["graph_svg"]
    analysis_view.analyse_response(DENSE, "other.yaml", ["summary"])  # another file's messages name it
    analysis_view.analyse_response(DENSE.replace("units: 4", "units: 5"), "d.yaml", ["summary"])
    assert analyses[0] == 3
