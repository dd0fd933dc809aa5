"""What the analysis passes add to `archspec summary`: columns, JSON fields, totals."""
from __future__ import annotations

import json

from analysis_support import analysis_of, spec
from click.testing import CliRunner

from archspec.analysis import report
from archspec.analysis.passes import COLUMNS, run_passes
from archspec.cli import main


def test_columns_render_from_the_passes():
    analysis = run_passes(analysis_of("vgg16"), 8, "float16")
    text = report.table(analysis, None, COLUMNS, 8, "float16")
    header = next(line for line in text.splitlines() if line.startswith("Layer (type)"))
    assert header.split()[-4:] == ["RF", "Eff.", "stride", "Activations"]
    pool5 = next(line for line in text.splitlines() if line.strip().startswith("pool (MaxPooling2D)   [7, 7"))
    assert pool5.split()[-4:] == ["212", "32", "392.00", "KiB"]       # 7*7*512 * 8 samples * 2 bytes
    fc1 = next(line for line in text.splitlines() if line.startswith("fc1"))
    assert "404 (all)" in fc1


def test_json_contract():
    result = CliRunner().invoke(main, ["summary", str(spec("resnet50")), "--format", "json"])
    data = json.loads(result.output)
    for key in ("total_macs", "param_bytes", "activation_bytes", "training_activation_bytes",
                "inference_activation_bytes", "inference_peak_layer", "memory_convention", "notes"):
        assert key in data
    assert "summary_lines" not in data or isinstance(data["summary_lines"], list)
    layer = next(x for x in data["layers"] if x["name"] == "conv1")
    assert layer["receptive_field"] == [7, 7] and layer["effective_stride"] == [2, 2]
    assert layer["effective_padding"] == [3, 3]
    assert layer["activation_bytes"] == 112 * 112 * 64 * 4 and layer["macs"] == 118_013_952
    assert data["param_bytes"] == 25_636_712 * 4


def test_passes_do_not_change_the_analysis_they_get():
    analysis = analysis_of("lenet5")
    assert run_passes(analysis).extra["layer_fields"] and analysis.extra == {}


def test_input_override_reaches_every_pass():
    result = CliRunner().invoke(main, ["summary", str(spec("inception")), "--input", "?x?x3", "--format", "json"])
    data = json.loads(result.output)
    assert data["layers"][0]["output_shape"] == [None, None, 32]
    assert data["layers"][0]["effective_padding"] == [None, None]       # 'same' with stride 2, size unknown
    assert data["layers"][0]["receptive_field"] == [7, 7]
    assert data["training_activation_bytes"] == (120 + 10) * 4     # only the head has known sizes
    assert "stem" in data["memory_unknown_sizes"]
