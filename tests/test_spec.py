"""The loader (YAML 1.2, positions, safety) and the expression language."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.api import compile_text
from archspec.cli import main
from archspec.errors import SpecErrors
from archspec.spec.expressions import ExpressionError, evaluate
from archspec.spec.load import load_text


@pytest.mark.parametrize("text, value", [
    ("1e-3", 0.001), ("1.5E+2", 150.0), ("no", "no"), ("yes", "yes"), ("off", "off"), ("true", True),
    ("False", False), ("null", None), ("~", None), ("010", 10), ("0o10", 8), ("0x1F", 31), (".inf", float("inf")),
    ("1_000", "1_000"), ("'3'", "3"),
])
def test_yaml_12_scalars(text: str, value: object) -> None:
    assert load_text(f"v: {text}\n").data["v"] == value


def test_positions_of_values_and_keys() -> None:
    doc = load_text("a:\n  b: [1, 2]\n  c: {d: x}\n")
    assert (doc.loc(("a", "b", 1)).line, doc.loc(("a", "b", 1)).col) == (2, 10)
    assert (doc.key_loc(("a", "c")).line, doc.key_loc(("a", "c")).col) == (3, 3)
    assert doc.loc(("a", "c", "d", "missing")).line == 3  # falls back to the nearest ancestor


def test_anchors_and_merge_keys() -> None:
    doc = load_text("base: &b {filters: 8, kernel_size: 3}\nconv: {<<: *b, filters: 16}\n")
    assert doc.data["conv"] == {"filters": 16, "kernel_size": 3}


@pytest.mark.parametrize("text", [
    "v: !!python/object/apply:os.system ['true']\n", "v: !!python/name:os.system ''\n", "v: !custom 3\n",
    "v: !!binary aGk=\n",
])
def test_tags_are_refused(text: str) -> None:
    with pytest.raises(SpecErrors, match="is not allowed"):
        load_text(text)


def test_duplicate_keys_are_errors_at_the_second_key() -> None:
    with pytest.raises(SpecErrors) as info:
        load_text("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert info.value.errors[0].loc.line == 4


@pytest.mark.parametrize("expr, env, value", [
    ("$f", {"f": 64}, 64), ("${f * 4}", {"f": 64}, 256), ("${f // 3}", {"f": 64}, 21), ("${f / 2}", {"f": 64}, 32.0),
    ("${max(f, 2 ** 7)}", {"f": 64}, 128), ("${round(f * 0.75)}", {"f": 64}, 48),
    ("${'same' if s == 1 else 'valid'}", {"s": 1}, "same"), ("${f > 10 and f < 100}", {"f": 64}, True),
    ("${$f + 1}", {"f": 1}, 2), ("block_${i}", {"i": 3}, "block_3"), ("$flag", {"flag": False}, False),
])
def test_expressions(expr: str, env: dict, value: object) -> None:
    assert evaluate(expr, env) == value


@pytest.mark.parametrize("expr", [
    "${__import__('os')}", "${f.__class__}", "${[1, 2]}", "${lambda: 1}", "${open('x')}", "${f[0]}",
    "${(x := 3)}", "${2 ** 1000}", "${1 / 0}", "${}", "${f +}", "${g}",
])
def test_unsafe_or_broken_expressions_are_refused(expr: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expr, {"f": 2})


def test_block_params_repeat_and_nesting() -> None:
    text = """\
archspec: 1
name: nested
vars: {width: 4}
input: [16, 16, 3]
blocks:
  Unit:
    params: {filters: required}
    layers:
      - Conv2D: {filters: $filters, kernel_size: 3, padding: same}
  Stage:
    params: {filters: required, n: 2}
    layers:
      - Unit: {filters: $filters}
        repeat: $n
      - MaxPooling2D
layers:
  - Stage: {filters: "${width * 2}", n: 3}
    name: s1
    expect: [8, 8, 8]
  - Stage: {filters: 16}
  - Flatten
"""
    compiled = compile_text(text)
    names = [n.name for n in compiled.graph.nodes]
    assert names[:4] == ["s1/unit_1/conv2d_1", "s1/unit_2/conv2d_1", "s1/unit_3/conv2d_1", "s1/max_pooling2d_1"]
    assert "stage_1/unit_2/conv2d_1" in names
    assert compiled.analysis.output_shapes() == [(4 * 4 * 16,)]


def test_block_that_uses_itself_is_an_error() -> None:
    text = ("archspec: 1\nname: loop\ninput: [8]\nblocks:\n  B:\n    layers:\n      - B: {}\n"
            "layers:\n  - B: {}\n")
    with pytest.raises(SpecErrors, match="uses itself"):
        compile_text(text)


def test_named_inputs_and_two_outputs() -> None:
    text = """\
archspec: 1
name: two_heads
inputs: {image: [8, 8, 1], meta: [4]}
outputs: [cls, reg]
layers:
  - Flatten: {}
    inputs: image
  - Concatenate: {}
    inputs: [previous, meta]
  - Dense: {units: 3, activation: softmax}
    name: cls
  - Dense: {units: 1}
    inputs: concatenate_1
    name: reg
"""
    compiled = compile_text(text)
    assert compiled.analysis.output_shapes() == [(3,), (1,)]
    assert compiled.graph.node("concatenate_1").inputs == ("flatten_1", "meta")


def test_repeat_zero_leaves_the_entry_out() -> None:
    text = """\
archspec: 1
name: r0
vars: {n: 1}
input: [8, 8, 2]
blocks:
  Stage:
    params: {blocks: required}
    layers:
      - Conv2D: {filters: 4, kernel_size: 3, padding: same}
        name: first
      - Conv2D: {filters: 4, kernel_size: 3, padding: same}
        name: rest
        repeat: ${blocks - 1}
      - Add: {}
        inputs: [first, rest]
layers:
  - Stage: {blocks: $n}
"""
    compiled = compile_text(text)
    assert [n.name for n in compiled.graph.nodes] == ["stage_1/first", "stage_1/add_1"]
    assert compiled.graph.node("stage_1/add_1").inputs == ("stage_1/first", "stage_1/first")


def test_outputs_may_name_a_layer_inside_a_block() -> None:
    text = """\
archspec: 1
name: probe
input: [8, 8, 1]
outputs: [stage/features, head]
blocks:
  Stage:
    layers:
      - Conv2D: {filters: 4, kernel_size: 3}
        name: features
      - GlobalMaxPooling2D
layers:
  - Stage: {}
    name: stage
  - Dense: {units: 2}
    name: head
"""
    assert compile_text(text).analysis.output_shapes() == [(6, 6, 4), (2,)]


@pytest.mark.parametrize("args, hint", [
    ("Conv2D: {filters: 4, kernel_size: 3, data_format: channels_first}", "channels-last only"),
    ("LeakyReLU: {alpha: 0.2}", "Keras 3 calls it negative_slope"),
])
def test_keras_arguments_not_taken_get_a_specific_hint(args: str, hint: str) -> None:
    with pytest.raises(SpecErrors, match=hint):
        compile_text(f"archspec: 1\nname: n\ninput: [8, 8, 2]\nlayers:\n  - {args}\n")


@pytest.mark.parametrize("name", ["in", "previous", "input"])
def test_reserved_and_input_names_cannot_name_a_layer(name: str) -> None:
    with pytest.raises(SpecErrors, match=f"'{name}' is a reserved name"):
        compile_text(f"archspec: 1\nname: n\ninput: [4]\nlayers:\n  - Dense: {{units: 2}}\n    name: {name}\n")


@pytest.mark.parametrize("text, line, col, message", [
    ("a: 1\nl:\n  - C: {f: 8, k: 3\n  - F\n", 3, 8, "this '{' is never closed; add '}' where the mapping ends; "
                                                    "the parser reached the end of the file"),
    ("a: [2, 3\nl:\n  - F\n", 1, 4, "this '[' is never closed; add ']' where the list ends; the parser reached "
                                    "line 2, column 2"),
    ("a: {k: [3, 3}\n", 1, 8, "this '[' is never closed"),
    ("a: 1\nn: \"net\ni: [1]\n", 2, 4, "this quote (\") is never closed"),
    ("a: 1\nn: 'net\ni: [1]\n", 2, 4, "this quote (') is never closed"),
    ("a: {f: 8 k: 3}\n", 1, 11, "expected ',' or '}', but got ':'; separate the items of the '{' opened at line 1, "
                                "column 4 with commas"),
])
def test_yaml_syntax_errors_point_at_what_to_fix(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        load_text(text, "t.yaml")
    error = caught.value.errors[0]
    assert (error.loc.line, error.loc.col) == (line, col) and message in error.format()


SPEC = "archspec: 1\nname: net\nvars: {classes: 10}\ninput: [8]\nlayers:\n  - Dense: {units: $classes}\n"


@pytest.mark.parametrize("override, message", [
    ("vars.clases=100", "--set vars.clases=100: 'vars' has no key 'clases'; did you mean 'classes'?"),
    ("nme=x", "the spec has no key 'nme'; did you mean 'name'?"),
    ("layers.0.Dense.activaton=relu", "'layers.0.Dense' has no key 'activaton'; did you mean 'activation'?"),
    ("layers.3.Dense.units=2", "'layers' is a list of 1 items; there is no item 3; use an index from 0 to 0"),
    ("vars.classes.n=2", "'vars.classes' is the value 10, which has no keys"),
    ("vars.width=2", "its keys are classes; to add one, set it as a whole: --set 'vars={...}'"),
    ("train.optimizer.Adam.learning_rate=0.1", "--set 'train.optimizer.Adam={learning_rate: 0.1}'"),
])
def test_a_set_path_that_names_nothing_is_an_error(override: str, message: str) -> None:
    text = SPEC + ("train: {optimizer: {Adam: {}}}\n" if "Adam" in override else "")
    with pytest.raises(SpecErrors) as caught:
        compile_text(text, "net.yaml", [override])
    error = caught.value.errors[0]
    assert str(error.loc) == "<command line>" and message in error.format()


@pytest.mark.parametrize("override, path, value", [
    ("vars.classes=3", ("vars", "classes"), 3),
    ("train.epochs=3", ("train", "epochs"), 3),                    # a key the schema defines, new to the file
    ("train.data.batch_size=8", ("train", "data", "batch_size"), 8),
    ("layers.0.Dense.use_bias=false", ("layers", 0, "Dense", "use_bias"), False),
    ("layers.0.repeat=2", ("layers", 0, "repeat"), 2),
])
def test_a_set_path_may_name_a_key_of_the_file_or_of_the_schema(override: str, path: tuple, value: object) -> None:
    data = compile_text(SPEC, "net.yaml", [override]).document.data
    for key in path:
        data = data[key]
    assert data == value


def test_a_set_typo_exits_2_on_the_command_line(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(SPEC)
    result = CliRunner().invoke(main, ["validate", str(spec), "--set", "vars.clases=100"])
    assert result.exit_code == 2
    assert result.output == ("<command line>: --set vars.clases=100: 'vars' has no key 'clases'; "
                             "did you mean 'classes'?\n")
