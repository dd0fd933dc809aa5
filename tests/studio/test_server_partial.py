"""``api.analyse_partial``, behind the studio's table: everything up to the first broken layer,
whichever stage finds the mistake (YAML, arguments, names, shapes, expect), with the numbers
of the same layers in a spec cut there by hand."""
from __future__ import annotations

from pathlib import Path

import pytest

from archspec.api import analyse_partial, analyse_spec

ROOT = Path(__file__).resolve().parents[2]
LENET = (ROOT / "specs" / "lenet5.yaml").read_text()
RESNET = (ROOT / "specs" / "resnet50.yaml").read_text()
FIRST_FOUR = ["c1", "s2", "c3", "s4"]


def names(text: str) -> list[str] | None:
    result = analyse_partial(text, "net.yaml")
    assert not result.ok and result.errors
    return [i.node.name for i in result.report.analysis.layers] if result.report is not None else None


def test_a_spec_without_errors_is_the_whole_analysis() -> None:
    result = analyse_partial(LENET, "net.yaml")
    assert result.ok and result.errors == ()
    assert result.report.analysis.params == analyse_spec("net.yaml", text=LENET).analysis.params


@pytest.mark.parametrize("mistake, fix", [
    ("  - Flatten ", "  - Conv2D: {filters: 8, kernel_size: 7}\n  # "),                # shapes
    ("  - Flatten ", "  - Flatten: {data_format: sideways}\n  # "),                      # arguments
    ("  - Flatten ", "  - Flaten\n  # "),                                                # unknown layer
    ("  - Flatten ", "  - Dense: {units: 4\n  # "),                                       # YAML: unclosed brace
    ("  - Flatten ", "  - Dense: {units: 4, inputs: nowhere}\n  # "),                     # structure
])
def test_broken_at_layer_5_keeps_the_four_before(mistake: str, fix: str) -> None:
    assert names(LENET.replace(mistake, fix, 1)) == FIRST_FOUR


def test_the_prefix_has_the_numbers_of_the_spec_cut_there() -> None:
    broken = analyse_partial(LENET.replace("  - Flatten ", "  - Flaten\n  # ", 1), "net.yaml").report
    cut = LENET[: LENET.index("  - Flatten ")]
    whole = analyse_spec("cut.yaml", text=cut.replace("expect: [5, 5, 16]", ""))
    assert broken.analysis.params == whole.analysis.params and broken.analysis.macs == whole.analysis.macs
    assert broken.memory.inference_bytes == whole.memory.inference_bytes


def test_an_expectation_or_a_limit_keeps_every_layer() -> None:
    assert len(names(LENET.replace("expect: [10, 10, 16]", "expect: [11, 10, 16]"))) == 8
    assert len(names(LENET.replace("layers:\n", "limits: {max_params: 10}\nlayers:\n", 1))) == 8


def test_the_first_broken_layer_of_the_first_layer_leaves_nothing() -> None:
    assert names(LENET.replace("{filters: 6, kernel_size: 5,", "{filters: 6, kernel_size: 50,", 1)) is None
    assert names("archspec: 1\nname: x\n") is None


def test_a_block_used_many_times_breaks_at_the_use_that_fails() -> None:
    text = ("archspec: 1\nname: t\ninput: [8, 8, 3]\nblocks:\n  Down:\n    layers:\n"
            "      - Conv2D: {filters: 4, kernel_size: 3}\nlayers:\n  - Down\n  - Down\n  - Down\n  - Down\n  - Flatten\n")
    assert names(text) == ["down_1/conv2d_1", "down_2/conv2d_1", "down_3/conv2d_1"]


def test_resnet50_broken_inside_its_first_projection_block() -> None:
    broken = RESNET.replace("      - Conv2D: {filters: $filters, kernel_size: 3, padding: same}\n        name: conv2\n",
                            "      - Conv2D: {filters: $filters, kernel_size: 3}\n        name: conv2\n", 1)
    shown = names(broken)
    assert shown[:4] == ["conv1", "conv1_bn", "conv1_relu", "pool1"]
    assert shown[-1] == "conv2/block1/body" and len(shown) == 14
