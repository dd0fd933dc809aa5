"""A layer kind is one record, and that is enough: a kind registered here, in this module
only, shows up correctly in every surface (summary table and JSON, explain, the receptive
field, graph, layers, the JSON Schema, docs/layers.md), and leaves with no trace.

It also checks what registration refuses, the records' own examples, and that the checked-in
docs/layers.md is what the registry generates.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import jsonschema
import pytest
from click.testing import CliRunner

from archspec.analysis.explain import explain, render
from archspec.analysis.receptive import receptive_fields
from archspec.api import compile_text
from archspec.cli import main
from archspec.docs import layers_reference
from archspec.errors import SpecErrors
from archspec.layers import args as A
from archspec.layers.catalog import all_families, all_kinds, macs_convention
from archspec.layers.equations import Equation, Line, Product, factor
from archspec.layers.registry import (Args, Family, FieldRule, LayerKind, Params, Shape, Window, register_families,
                                      register_kinds, unregister_family, unregister_kind)
from archspec.spec.schema import published_schema
from conftest import ROOT
from explain_agreement import check_agreement

# ---------------------------------------------------------------- the throwaway kind
SAMPLERS = Family("test_samplers", "Test samplers", "#a1b2c3", "test samplers")


def _shape(args: Args, ins: Sequence[Shape]) -> Shape:
    return tuple(None if s is None else -(-s // args["step"]) for s in ins[0][:-1]) + (ins[0][-1],)


def _scales(ins: Sequence[Shape]) -> Product:
    return Product((factor("C", ins[0][-1]),))


def _params(args: Args, ins: Sequence[Shape], out: Shape) -> Params:
    return Params(_scales(ins).value)


def _macs(args: Args, ins: Sequence[Shape], out: Shape) -> int:
    return _scales(ins).value * out[0] * out[1]


def _window(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
    return Window((1, 1), (args["step"],) * 2, (0, 0))


def _explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    scales = _scales(ins)
    return [Equation("H' = W'", "ceil(H / step)", f"ceil({ins[0][0]} / {args['step']})", ("shape", (0, 1))),
            Equation("params", scales.symbols, scales.numbers, ("params",), "one learned scale per channel"),
            Equation("MACs", f"{scales.symbols}*H'*W'", f"{scales.numbers}*{out[0]}*{out[1]}", ("macs",))]


def _build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
    raise AssertionError("the surfaces under test never build a model")


SAMPLER = LayerKind("EveryOtherScaled2D", SAMPLERS, "Keeps every step-th row and column, scaled per channel.",
                    (A.integer("step", "Keep one position in this many.", 2),), _shape, _build, _params, _macs,
                    _window, rank=3, explain=_explain, field_rule=FieldRule.WINDOW, example=(((8, 8, 3),), {}))

SPEC = """archspec: 1
name: sampled
input: [32, 32, 3]
layers:
  - Conv2D: {filters: 4, kernel_size: 3, padding: same}
  - EveryOtherScaled2D: {step: 2}
    name: every_other
  - Flatten
"""


@pytest.fixture()
def registered():
    register_families(SAMPLERS)
    register_kinds(SAMPLER)
    try:
        yield SAMPLER
    finally:
        unregister_kind(SAMPLER.name)
        unregister_family(SAMPLERS.name)


@pytest.fixture()
def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "sampled.yaml"
    path.write_text(SPEC)
    return str(path)


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_summary_table_and_json(registered, spec_file):
    table = _run("summary", spec_file)
    row_text = next(line for line in table.splitlines() if line.startswith("every_other (EveryOtherScaled2D)"))
    assert row_text.split()[2:7] == ["[16,", "16,", "4]", "4", "1.02K"]  # shape, params, MACs (4*16*16)
    data = json.loads(_run("summary", spec_file, "--format", "json"))
    row = next(layer for layer in data["layers"] if layer["name"] == "every_other")
    assert (row["type"], row["output_shape"], row["params"], row["macs"]) == ("EveryOtherScaled2D", [16, 16, 4], 4,
                                                                             4 * 16 * 16)
    assert (row["receptive_field"], row["effective_stride"]) == ([3, 3], [2, 2])
    assert data["total_params"] == 3 * 3 * 3 * 4 + 4 + 4


def test_explain_and_receptive_field(registered):
    analysis = compile_text(SPEC).analysis
    assert check_agreement(analysis) >= 6
    text = render(explain(analysis, ["every_other"]))
    assert "H' = W' = ceil(H / step) = ceil(32 / 2) = 16" in text
    assert "params = C = 4   (one learned scale per channel)" in text
    assert "j(H) = j(W) = j_in*S = 1*2 = 2" in text
    field = receptive_fields(analysis)["every_other"]
    assert (field.size, field.stride) == ((3, 3), (2, 2))


def test_declared_rank_is_checked_for_it(registered):
    conv = "  - Conv2D: {filters: 4, kernel_size: 3, padding: same}\n"
    text = SPEC.replace("[32, 32, 3]", "[32, 3]").replace(conv, "")
    with pytest.raises(SpecErrors) as caught:
        compile_text(text)
    assert "EveryOtherScaled2D expects a 3-D input [H, W, C] (an image) but receives 2-D [32, 3]" in str(caught.value)


def test_graph_fills_it_with_its_family_colour(registered, spec_file):
    assert SAMPLERS.colour in _run("graph", spec_file, "--format", "svg", "--layout", "builtin")
    mermaid = _run("graph", spec_file, "--format", "mermaid")
    assert "EveryOtherScaled2D" in mermaid and SAMPLERS.colour in mermaid


def test_layers_lists_and_describes_it(registered):
    listing = _run("layers")
    assert f"{SAMPLERS.title}:\n  EveryOtherScaled2D" in listing
    one = _run("layers", "EveryOtherScaled2D")
    assert "Keeps every step-th row" in one and "Family: Test samplers." in one and "default 2" in one
    assert "Example: [8, 8, 3] -> [4, 4, 3] with" not in one  # no arguments given in the example
    assert "Example: [8, 8, 3] -> [4, 4, 3]\n  H' = W' = ceil(H / step) = ceil(8 / 2) = 4" in one
    data = json.loads(_run("layers", "--format", "json"))
    assert data["EveryOtherScaled2D"]["properties"]["step"]["type"] == "integer"


def test_schema_and_docs_have_it(registered):
    schema = published_schema()
    assert schema["$defs"]["layer"]["EveryOtherScaled2D"]["properties"]["step"]["description"]
    jsonschema.validate(__import__("yaml").safe_load(SPEC), schema)
    reference = layers_reference()
    assert "## Test samplers\n\n### EveryOtherScaled2D\n" in reference
    assert "| `step` | a positive integer | default 2 | Keep one position in this many. |" in reference
    assert "test samplers" in macs_convention()


def test_it_leaves_without_a_trace():
    assert "EveryOtherScaled2D" not in all_kinds() and SAMPLERS.name not in all_families()
    assert "EveryOtherScaled2D" not in published_schema()["$defs"]["layer"]
    assert "Test samplers" not in layers_reference()


# ---------------------------------------------------------------- what registration refuses
@pytest.mark.parametrize("change, problem", [
    ({"example": None}, "it has no example"),
    ({"explain": LayerKind.__dataclass_fields__["explain"].default}, "no explain rule"),
    ({"field_rule": FieldRule.POINTWISE}, "a window rule go together"),
    ({"inputs": (2, None)}, "has field_rule merge"),
    ({"family": Family("unregistered", "Nowhere", "#000000", "nothing")}, "family unregistered is not registered"),
])
def test_an_incomplete_record_is_refused(registered, change, problem):
    from dataclasses import replace

    with pytest.raises(RuntimeError, match=problem):
        register_kinds(replace(SAMPLER, name="Incomplete", **change))
    assert "Incomplete" not in all_kinds()


# ---------------------------------------------------------------- the registry itself
def test_every_family_has_a_kind_a_title_and_a_colour():
    used = {kind.family.name for kind in all_kinds().values()}
    for family in all_families().values():
        assert family.name in used, f"family {family.name} has no kinds"
        assert family.title and family.noun and len(family.colour) == 7 and family.colour.startswith("#")


def test_checked_in_layer_reference_is_current():
    checked_in = (ROOT / "docs" / "layers.md").read_text()
    assert checked_in == layers_reference(), "regenerate: python -m archspec.docs > docs/layers.md"
