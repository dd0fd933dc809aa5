"""Activation memory (inference peak, training) and the `limits:` budgets."""
from __future__ import annotations

import json

from analysis_support import analysis_of, text_analysis
from click.testing import CliRunner

from archspec.analysis.limits import check_limits
from archspec.analysis.memory import memory
from archspec.analysis.shape_pass import analyse
from archspec.graph.lower import lower
from archspec.layers.arithmetic import tensor_bytes
from archspec.spec.load import load_text
from archspec.cli import main

SKIP = """
archspec: 1
name: skip
input: [8, 8, 2]
layers:
  - Conv2D: {filters: 4, kernel_size: 1}
    name: a
  - Conv2D: {filters: 4, kernel_size: 1}
    name: b
  - Conv2D: {filters: 4, kernel_size: 1}
    name: c
  - Add: {}
    inputs: [a, c]
    name: d
"""


def test_inference_keeps_the_skip_alive_and_frees_the_rest():
    mem = memory(text_analysis(SKIP))
    x, y = 8 * 8 * 2 * 4, 8 * 8 * 4 * 4          # input, every layer output (float32 bytes)
    assert mem.output_bytes == {"input": x, "a": y, "b": y, "c": y, "d": y}
    # a: input + a; b: a (kept for d) + b; c: a + b + c; d: a + c + d
    assert mem.live_bytes == {"a": x + y, "b": 2 * y, "c": 3 * y, "d": 3 * y}
    assert mem.inference_bytes == 3 * y and mem.peak_layer == "c"
    assert mem.training_bytes == x + 4 * y


def test_batch_and_dtype_scale_linearly():
    analysis = analysis_of("vgg16")
    one, many = memory(analysis), memory(analysis, 32, "bfloat16")
    assert many.training_bytes == one.training_bytes * 16 and many.inference_bytes == one.inference_bytes * 16
    assert one.training_bytes == sum(tensor_bytes(s) for s in analysis.shapes.values())  # every tensor, once
    # VGG16's largest working set: two 224x224x64 maps (block1/conv_1 feeding conv_2)
    assert one.inference_bytes == 2 * 224 * 224 * 64 * 4 and one.peak_layer == "block1/conv_2"


def test_unknown_sizes_count_as_zero_and_are_listed():
    mem = memory(text_analysis(SKIP.replace("[8, 8, 2]", "[null, 8, 2]")))
    assert mem.training_bytes == 0 and set(mem.unknown) == {"input", "a", "b", "c", "d"}


def test_summary_json_has_memory_totals_and_per_layer_live_bytes():
    runner = CliRunner()
    with runner.isolated_filesystem():
        with open("s.yaml", "w") as f:
            f.write(SKIP)
        result = runner.invoke(main, ["summary", "s.yaml", "--format", "json", "--batch-size", "4",
                                      "--dtype", "float16"])
    data = json.loads(result.output)
    y = 8 * 8 * 4 * 2 * 4
    assert data["training_activation_bytes"] == data["activation_bytes"] == 8 * 8 * 2 * 2 * 4 + 4 * y
    assert data["inference_activation_bytes"] == 3 * y and data["inference_peak_layer"] == "c"
    assert [row["inference_live_bytes"] for row in data["layers"]] == [8 * 8 * 2 * 2 * 4 + y, 2 * y, 3 * y, 3 * y]
    assert [row["activation_bytes"] for row in data["layers"]] == [y] * 4
    assert "memory_convention" in data


LIMITED = """archspec: 1
name: lenet
input: [32, 32, 1]
limits:
  max_params: {params}
  max_macs: {macs}
  max_activation_bytes: {act}
layers:
  - Conv2D: {{filters: 6, kernel_size: 5}}
  - Flatten: {{}}
  - Dense: {{units: 10}}
"""
PARAMS, MACS, ACT = 156 + 4704 * 10 + 10, 117600 + 47040, 4 * (1024 + 4704 * 2 + 10)


def test_limits_within_budget_pass():
    assert check_limits(text_analysis(LIMITED.format(params=PARAMS, macs=MACS, act=ACT))) == []


def test_each_exceeded_limit_is_an_error_at_its_line():
    text = LIMITED.format(params=PARAMS - 1, macs=MACS - 1, act=ACT - 1)
    errors = check_limits(analyse(lower(load_text(text, "test.yaml"))))  # the stages before the limits check
    assert [(e.loc.line, e.loc.col) for e in errors] == [(5, 15), (6, 13), (7, 25)]
    assert errors[0].format() == ("test.yaml:5:15: limits.max_params: the network has 47,206 parameters, over the "
                                  "limit of 47,205 by 1 (0.0%); raise the limit or shrink the network; the largest "
                                  "layer is Dense 'dense_1' (line 11) with 47,050")
    assert "MACs per sample" in errors[1].message and "bytes of activations" in errors[2].message


def test_validate_fails_with_exit_2_at_the_limit():
    runner = CliRunner()
    with runner.isolated_filesystem():
        with open("l.yaml", "w") as f:
            f.write(LIMITED.format(params=1000, macs=MACS, act=ACT))
        result = runner.invoke(main, ["validate", "l.yaml"])
    assert result.exit_code == 2
    assert result.output.startswith("l.yaml:5:15: limits.max_params: the network has 47,206 parameters")
