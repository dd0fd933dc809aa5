"""What the analysis passes give `archspec summary`: typed results, columns, JSON fields,
totals, one meaning of depth (shared with `graph`), and MACs over unknown sizes."""
from __future__ import annotations

import json

from analysis_support import ZOO, analysis_of, spec, text_analysis
from click.testing import CliRunner

from archspec.analysis import report
from archspec.analysis.passes import MergeNote, run_passes
from archspec.analysis.render.model import drawing
from archspec.api import analyse_spec, compile_spec
from archspec.cli import main
from archspec.layers.arithmetic import tensor_bytes


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(start))


def test_columns_render_from_the_passes():
    text = report.table(run_passes(analysis_of("vgg16"), 8, "float16"))
    header = _line(text, "Layer (type)")
    assert header.split()[-4:] == ["RF", "Eff.", "stride", "Activations"]
    pool5 = _line(text, "pool (MaxPooling2D)   [7, 7")
    assert pool5.split()[-4:] == ["212", "32", "392.00", "KiB"]       # 7*7*512 * 8 samples * 2 bytes
    assert "404 (all)" in _line(text, "fc1")


def test_json_contract():
    result = CliRunner().invoke(main, ["summary", str(spec("resnet50")), "--format", "json"])
    data = json.loads(result.output)
    for key in ("total_macs", "param_bytes", "activation_bytes", "training_activation_bytes",
                "inference_activation_bytes", "inference_peak_layer", "memory_convention", "notes"):
        assert key in data
    assert "summary_lines" not in data and "macs_unknown" not in data
    layer = next(x for x in data["layers"] if x["name"] == "conv1")
    assert layer["receptive_field"] == [7, 7] and layer["effective_stride"] == [2, 2]
    assert layer["effective_padding"] == [3, 3]
    assert layer["activation_bytes"] == 112 * 112 * 64 * 4 and layer["macs"] == 118_013_952
    assert data["param_bytes"] == 25_636_712 * 4


def test_passes_return_typed_results_of_the_analysis_they_get():
    analysis = analysis_of("lenet5")
    result = run_passes(analysis, 4, "float16")
    assert result.analysis is analysis and result.notes == ()
    assert set(result.fields) == set(analysis.graph.inputs) | {i.node.name for i in analysis.layers}
    assert (result.batch_size, result.dtype, result.param_bytes) == (4, "float16", 61_706 * 2)
    for info in analysis.layers:   # one number, whichever surface shows it
        assert result.memory.output_bytes[info.node.name] == tensor_bytes(info.out_shape, 4, "float16")


def test_api_takes_the_text_of_a_spec_as_well_as_its_path():
    path = spec("lenet5")
    from_text = analyse_spec("editor.yaml", text=path.read_text(), batch_size=2)
    from_file = analyse_spec(path, batch_size=2)
    assert from_text.analysis.graph.file == "editor.yaml"
    assert report.to_json_dict(from_text)["layers"] == report.to_json_dict(from_file)["layers"]


def test_input_override_reaches_every_pass():
    result = CliRunner().invoke(main, ["summary", str(spec("inception")), "--input", "?x?x3", "--format", "json"])
    data = json.loads(result.output)
    assert data["layers"][0]["output_shape"] == [None, None, 32]
    assert data["layers"][0]["effective_padding"] == [None, None]       # 'same' with stride 2, size unknown
    assert data["layers"][0]["receptive_field"] == [7, 7]
    assert data["training_activation_bytes"] == (120 + 10) * 4     # only the head has known sizes
    assert "stem" in data["memory_unknown_sizes"]


# ------------------------------------------------------------------ MACs over unknown sizes
def test_macs_of_unknown_sizes_are_not_counted_and_named():
    result = CliRunner().invoke(main, ["summary", str(spec("inception")), "--input", "?x?x3", "--format", "json"])
    data = json.loads(result.output)
    unknown = [x["name"] for x in data["layers"] if x["macs"] is None]
    assert "stem" in unknown and data["macs_unknown"] == unknown
    head = next(x for x in data["layers"] if x["type"] == "Dense")
    assert head["macs"] == 120 * 10 and data["total_macs"] == 120 * 10   # the known part only
    assert sum(x["macs"] for x in data["layers"] if x["macs"] is not None) == data["total_macs"]
    table = CliRunner().invoke(main, ["summary", str(spec("inception")), "--input", "?x?x3"]).output
    assert "Total MACs: ≥ 1,200 (1.20K); FLOPs: ≥ 2,400" in table
    assert f"(MACs of {len(unknown)} layer(s) not counted, their sizes are unknown: stem, mixed_a/branch1x1, " in table
    top = CliRunner().invoke(main, ["summary", str(spec("inception")), "--input", "?x?x3", "--depth", "0"]).output
    assert f"(MACs of {len(unknown)} layer(s) not counted, their sizes are unknown: stem, mixed_a, mixed_b)" in top
    assert _line(table, "stem (Conv2D)").split()[6] == "?"    # [?, ?, 32] takes three


def test_dense_over_unknown_positions_is_not_counted_once():
    analysis = text_analysis("archspec: 1\nname: t\ninput: [null, 8]\nlayers:\n  - Dense: {units: 4}\n")
    assert analysis.layers[0].macs is None and analysis.macs == 0 and analysis.macs_unknown == ("dense_1",)
    assert "Total MACs: unknown; FLOPs: unknown" in report.table(run_passes(analysis))


# ------------------------------------------------------------------ depth
def _visible(rows: list[report.Row], depth: int) -> tuple[list[str], list[str]]:
    """(names of rows drawn as boxes, names of expanded blocks) at ``depth``."""
    boxes = [r.name for r in rows if not r.is_block or r.depth == depth]
    expanded = [r.name for r in rows if r.is_block and r.depth < depth]
    return boxes, expanded


def test_summary_and_graph_agree_on_every_depth():
    result = run_passes(compile_spec(ZOO / "resnet50.yaml").analysis)   # stages of bottleneck blocks
    for depth in (0, 1, 2):
        boxes, expanded = _visible(report.rows(result, depth), depth)
        d = drawing(result.analysis, depth)
        assert boxes == [b.title for b in d.boxes], depth
        assert sorted(expanded) == sorted(path[-1] for path in d.clusters), depth
    assert report.table(result, 2) == report.table(result)   # no block is deeper than 2 levels
    assert len(report.rows(result, 0)) == 1 + 4 + 4 + 2        # input, stem layers, 4 stages, head


def test_collapsed_rows_keep_their_output_rf_and_activations():
    result = run_passes(analysis_of("resnet50"))
    block = _line(report.table(result, 0), "conv3_1 (ConvBlock)")
    last = [i for i in result.analysis.layers if i.node.scope == ("conv3_1",)][-1]
    index = next(k for k, r in enumerate(report.rows(result)) if r.output == last.node.name and not r.is_block)
    last_row = report.table(result).splitlines()[4 + index]        # after the title, header and rules
    field = result.fields[last.node.name]
    assert block.split()[-4:] == last_row.split()[-4:] == [str(field.size[0]), str(field.stride[0]),
                                                           *report.human_bytes(tensor_bytes(last.out_shape)).split()]


def test_the_peak_names_a_visible_row():
    result = run_passes(analysis_of("vgg16"))
    assert result.memory.peak_layer == "block1/conv_2"
    assert "at 'block1/conv_2' (batch 1, float32)" in report.table(result)
    assert "at 'block1' (batch 1, float32)" in report.table(result, 0)
    assert "at 'block1' (batch 1, float32)" in report.markdown(result, 0)


MISALIGNED_IN_A_BLOCK = """archspec: 1
name: m
input: [16, 16, 3]
blocks:
  Shifted:
    layers:
      - Conv2D: {filters: 4, kernel_size: 3, padding: same}
        name: a
      - Conv2D: {filters: 4, kernel_size: 2, padding: same}
        inputs: in
        name: b
      - Add: {}
        inputs: [a, b]
        name: join
      - ReLU
layers:
  - Shifted: {}
    name: unit
  - GlobalAveragePooling2D
"""


def test_footnotes_name_the_visible_row_that_holds_the_merge():
    result = run_passes(text_analysis(MISALIGNED_IN_A_BLOCK))
    assert [(n.layer, n.kind, n.line) for n in result.notes] == [("unit/join", "Add", 12)]
    assert isinstance(result.notes[0], MergeNote) and result.notes[0].message.startswith("misaligned paths")
    full, collapsed = report.table(result), report.table(result, 0)
    assert _line(full, "join (Add)").split()[-4].endswith("*")
    assert f"* unit/join (Add, line 12): {result.notes[0].message}" in full.splitlines()
    assert _line(collapsed, "unit (Shifted)").split()[-4].endswith("*")
    assert f"* unit (Shifted, line 17): unit/join (Add, line 12): {result.notes[0].message}" in collapsed.splitlines()
    assert "join" not in collapsed.replace("unit/join", "")


def test_summary_depth_0_is_the_top_level_and_json_lists_every_layer(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MISALIGNED_IN_A_BLOCK)
    runner = CliRunner()
    top = runner.invoke(main, ["summary", str(path), "--depth", "0"])
    assert top.exit_code == 0 and "unit (Shifted)" in top.output and "join (Add)" not in top.output
    assert runner.invoke(main, ["summary", str(path), "--depth", "1"]).output == runner.invoke(
        main, ["summary", str(path)]).output
    data = json.loads(runner.invoke(main, ["summary", str(path), "--depth", "0", "--format", "json"]).output)
    assert [x["name"] for x in data["layers"]][:3] == ["unit/a", "unit/b", "unit/join"]
    assert data["notes"] == [f"unit/join (Add, line 12): {data['layers'][2]['receptive_field_note']}"]
    refused = runner.invoke(main, ["summary", str(path), "--depth", "-1"])
    assert refused.exit_code == 2 and "--depth" in refused.output
