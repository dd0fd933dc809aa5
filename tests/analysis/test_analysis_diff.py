"""`archspec diff`: matching by name then position, deltas, totals, both formats."""
from __future__ import annotations

import json

from analysis_support import analysis_of, check_golden, spec, text_analysis
from click.testing import CliRunner

from archspec.analysis.diff import match, to_dict
from archspec.analysis.passes import run_passes
from archspec.cli import main


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["diff", *args])
    assert result.exit_code == 0, result.output
    return result.output.replace(str(spec("x").parent) + "/", "")


def test_golden_table():
    check_golden("diff_lenet5.txt", _run(str(spec("lenet5")), str(spec("lenet5_wide"))))


def test_golden_table_all_rows():
    check_golden("diff_lenet5_all.txt", _run(str(spec("lenet5")), str(spec("lenet5_wide")), "--all"))


def test_golden_json():
    check_golden("diff_lenet5.json", _run(str(spec("lenet5")), str(spec("lenet5_wide")), "--format", "json"))


def test_rows_and_totals():
    a, b = analysis_of("lenet5"), analysis_of("lenet5_wide")
    rows = {(p.a.node.name if p.a else None, p.b.node.name if p.b else None): (p.status, p.how) for p in match(a, b)}
    assert rows[("c1", "c1")] == ("changed", "name")
    assert rows[(None, "batch_normalization_1")] == ("added", "added")
    assert rows[("f6", None)] == ("removed", "removed")
    assert rows[("c5", "c5")] == ("same", "name")
    data = to_dict(run_passes(a), run_passes(b), match(a, b))
    assert data["totals"]["params"] == {"a": 61706, "b": 52786, "delta": -8920}
    assert data["totals"]["non_trainable_params"]["delta"] == 16
    assert sum(row["params_delta"] for row in data["layers"]) == -8920
    assert sum(row["macs_delta"] for row in data["layers"]) == data["totals"]["macs"]["delta"]


CHAIN = """
archspec: 1
name: t
input: [16, 16, 3]
layers:
{layers}
"""


def test_unnamed_layers_pair_by_position_within_their_gap():
    a = text_analysis(CHAIN.format(layers="  - Conv2D: {filters: 8, kernel_size: 3}\n  - ReLU\n"
                                          "  - Conv2D: {filters: 8, kernel_size: 3}\n    name: last"))
    b = text_analysis(CHAIN.format(layers="  - SeparableConv2D: {filters: 8, kernel_size: 3}\n  - ReLU\n"
                                          "  - Conv2D: {filters: 8, kernel_size: 3}\n    name: last"))
    pairs = match(a, b)
    assert [(p.a.node.name, p.b.node.name, p.how) for p in pairs] == [
        ("conv2d_1", "separable_conv2d_1", "position"), ("re_lu_1", "re_lu_1", "name"), ("last", "last", "name")]
    assert pairs[0].status == "changed" and pairs[2].status == "same"


def test_identical_specs():
    out = _run(str(spec("lenet5")), str(spec("lenet5")))
    assert "(no layer differs)" in out and "Params: 61,706 (unchanged)" in out
    data = json.loads(_run(str(spec("vgg16")), str(spec("vgg16")), "--format", "json"))
    assert all(row["status"] == "same" for row in data["layers"])


def test_unknown_macs_are_named_not_counted(tmp_path):
    head = "  - GlobalAveragePooling2D\n  - Dense: {units: 10}\n    name: out"
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(CHAIN.format(layers="  - Conv2D: {filters: 8, kernel_size: 3}\n    name: c\n" + head))
    b.write_text(CHAIN.format(layers="  - Conv2D: {filters: 4, kernel_size: 3}\n    name: c\n" + head))
    data = json.loads(_run(str(a), str(b), "--input", "?x?x3", "--format", "json"))
    assert data["macs_unknown"] == {"a": ["c"], "b": ["c"]}
    assert data["totals"]["macs"] == {"a": 80, "b": 40, "delta": -40}    # the heads only
    assert [(row["a"]["macs"], row["macs_delta"]) for row in data["layers"]] == [(None, None), (0, 0), (80, -40)]
    table = _run(str(a), str(b), "--input", "?x?x3", "--all")
    assert "MACs: 80 -> 40 (-40, -50.00%); not counted, sizes unknown: 1 layer(s) of A, 1 of B" in table
    rows = [line for line in table.splitlines() if line.startswith(("c ", "out "))]
    assert rows[0].endswith("   ?") and rows[1].endswith("   80 -> 40 (-40)")
