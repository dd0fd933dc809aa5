"""The spec's head: section: its checks against the shapes (goldens in tests/bad_specs/head_*.yaml),
its Head section in summary (text and JSON), and its values read back from JSON."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from archspec.api import analyse_spec, compile_spec, compile_text
from archspec.cli import main
from archspec.errors import SpecErrors
from archspec.heads.head import head_from_json
from conftest import ROOT

YOLO = ROOT / "specs" / "yolo-tiny.yaml"

ANCHOR_FREE = """archspec: 1
name: free
input: [32, 64, 3]
layers:
  - Conv2D: {filters: 8, kernel_size: 3, strides: 4, padding: same}
    name: s4
  - Conv2D: {filters: 6, kernel_size: 1}
    name: p2
outputs: [p2]
head: {type: detection, levels: [p2], classes: 2}
"""


def test_yolo_tiny_head_resolves_strides_grids_and_anchors() -> None:
    head = compile_spec(YOLO).head
    assert head is not None and not head.anchor_free
    assert [(lv.name, lv.stride, lv.grid, lv.cells, lv.boxes) for lv in head.levels] == \
        [("p3", 8, (8, 8), 64, 192), ("p4", 16, (4, 4), 16, 48)]
    assert head.per_box == 5 + head.classes and head.boxes_per_image == 240
    assert head_from_json(head.as_json()) == head


def test_anchor_free_head_on_a_rectangular_input() -> None:
    head = compile_text(ANCHOR_FREE, "free.yaml").head
    assert head.anchor_free and head.per_box == 6
    assert (head.levels[0].stride, head.levels[0].grid, head.levels[0].boxes) == (4, (8, 16), 128)


def test_a_spec_without_head_has_none() -> None:
    assert compile_spec(ROOT / "specs" / "lenet5.yaml").head is None


def test_summary_prints_the_head_section_in_text_markdown_and_json() -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["summary", str(YOLO)])
    assert text.exit_code == 0, text.output
    tail = text.output.splitlines()[-6:]  # title, 3 table rows, the assignment, the box count
    assert tail[0].startswith("Head: detection, 3 classes, 2 levels, 8 channels per box")
    assert tail[2].split() == ["p3", "8", "8x8", "64", "8x8,", "14x14,", "20x20", "192"]
    assert tail[-1] == "  boxes per image: 240 (before score threshold and NMS)"
    markdown = runner.invoke(main, ["summary", str(YOLO), "--format", "markdown"])
    assert "  boxes per image: 240 (before score threshold and NMS)" in markdown.output
    data = json.loads(runner.invoke(main, ["summary", str(YOLO), "--format", "json"]).output)
    assert data["head"]["levels"][1] == {"name": "p4", "stride": 16, "grid": [4, 4], "cells": 16, "channels": 24,
                                         "anchors": [[26.0, 26.0], [36.0, 36.0], [48.0, 48.0]], "boxes": 48}
    assert analyse_spec(YOLO).head == compile_spec(YOLO).head


def test_head_errors_are_collected_and_located() -> None:
    bad = ANCHOR_FREE.replace("filters: 6", "filters: 5").replace("levels: [p2]", "levels: [p2, p9]")
    with pytest.raises(SpecErrors) as caught:
        compile_text(bad, "free.yaml")
    messages = [(str(e.loc), e.message) for e in caught.value.errors]
    assert messages == [("free.yaml:10:34", "level 'p2' has 5 channels but the head needs 6: 4 + 2 classes"),
                        ("free.yaml:10:38", "level 'p9' is not an output of the model")]


def test_instance_segmentation_counts_mask_coefficients_and_needs_prototypes() -> None:
    seg = ANCHOR_FREE.replace("filters: 6", "filters: 14").replace(
        "outputs: [p2]", "  - Conv2D: {filters: 8, kernel_size: 1}\n    name: protos\n    inputs: s4\noutputs: [p2, protos]")
    head = compile_text(seg.replace("type: detection", "type: instance_segmentation, prototypes: protos"),
                        "seg.yaml").head
    assert (head.coefficients, head.per_box, head.prototypes) == (8, 14, "protos")
    with pytest.raises(SpecErrors, match="needs its prototype masks"):
        compile_text(seg.replace("type: detection", "type: instance_segmentation"), "seg.yaml")
    with pytest.raises(SpecErrors, match="only for type: instance_segmentation"):
        compile_text(seg.replace("type: detection", "type: detection, prototypes: protos"), "seg.yaml")


@pytest.mark.parametrize("spec", ["yolo-tiny", "yolo-tiny-af", "yolo-tiny-seg"])
def test_one_var_sizes_the_head_and_its_levels(spec: str) -> None:
    """The zoo's detectors count classes once (vars.classes): --set vars.classes=5 resizes the
    head and the level layers' channels alike, and every expect: still holds."""
    head = analyse_spec(ROOT / "specs" / f"{spec}.yaml", ["vars.classes=5"]).head
    assert head is not None and head.classes == 5
    assert all(lv.channels == len(lv.anchors or [None]) * head.per_box for lv in head.levels)


def test_head_classes_names_a_var_that_must_exist() -> None:
    with pytest.raises(SpecErrors) as caught:
        compile_text(ANCHOR_FREE.replace("classes: 2", "classes: $nclasses"), "free.yaml")
    message = caught.value.errors[0].format()
    assert message.startswith("free.yaml:10:") and "head.classes '$nclasses'" in message, message
