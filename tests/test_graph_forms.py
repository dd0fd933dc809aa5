"""Graph forms: blocks with several inputs, shared layers and shared block instances, and
layers with several outputs, from the spec to Keras (shapes, params per layer and in total,
and shared weights really shared: one Keras layer object, called once per application)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from archspec.api import Compiled, compile_text
from archspec.cli import main
from archspec.errors import SpecErrors, Stage

UP_BLOCK = """archspec: 1
name: up
input: [16, 16, 3]
blocks:
  Up:
    params: {filters: required}
    inputs: [x, skip]
    layers:
      - UpSampling2D: {size: 2}
        inputs: x
      - Concatenate: {}
        inputs: [previous, skip]
      - Conv2D: {filters: $filters, kernel_size: 3, padding: same}
layers:
  - Conv2D: {filters: 4, kernel_size: 3, padding: same}
    name: down
  - MaxPooling2D: {pool_size: 2}
  - Conv2D: {filters: 8, kernel_size: 3, padding: same}
    name: bottom
  - Up: {filters: 4}
    inputs: BINDING
    expect: [16, 16, 4]
"""

SIAMESE = """archspec: 1
name: siamese
inputs:
  left: [12, 12, 1]
  right: [12, 12, 1]
blocks:
  Tower:
    layers:
      - Conv2D: {filters: 4, kernel_size: 3}
      - BatchNormalization
      - GlobalAveragePooling2D
      - Dense: {units: 5}
layers:
  - Tower: {}
    name: tower_l
    inputs: left
  - share: tower_l
    name: tower_r
    inputs: right
  - Dense: {units: 3}
    name: head_l
    inputs: tower_l
  - share: head_l
    name: head_r
    inputs: tower_r
  - Concatenate: {}
    inputs: [head_l, head_r]
"""

SEQ2SEQ = """archspec: 1
name: seq2seq
inputs:
  source: [7, 5]
  target: [6, 5]
outputs: [out, enc:state_c]
layers:
  - LSTM: {units: 8, return_state: true}
    name: enc
    inputs: source
  - LSTM: {units: 8, return_sequences: true}
    name: dec
    inputs: [target, enc:1, enc:state_c]
  - Dense: {units: 4}
    name: out
"""


def _errors(text: str) -> list:
    with pytest.raises(SpecErrors) as caught:
        compile_text(text, "net.yaml")
    return caught.value.errors


def _built(compiled: Compiled) -> Any:
    from archspec.keras_backend.model_builder import build_model, verify

    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == []
    p = compiled.analysis.params
    assert model.count_params() == p.total
    return model


# ------------------------------------------------------------------ blocks with several inputs
@pytest.mark.parametrize("binding", ["{x: bottom, skip: down}", "{skip: down, x: bottom}", "[bottom, down]"])
def test_a_block_binds_its_inputs_by_name_or_position(binding: str) -> None:
    analysis = compile_text(UP_BLOCK.replace("BINDING", binding)).analysis
    up = analysis.info("up_1/up_sampling2d_1"), analysis.info("up_1/concatenate_1")
    assert up[0].node.inputs == ("bottom",) and up[1].node.inputs == ("up_1/up_sampling2d_1", "down")
    assert up[1].out_shape == (16, 16, 12)
    assert analysis.info("up_1/conv2d_1").params.total == 3 * 3 * 12 * 4 + 4


def test_a_two_input_block_builds_in_keras() -> None:
    _built(compile_text(UP_BLOCK.replace("BINDING", "{x: bottom, skip: down}")))


@pytest.mark.parametrize("binding, message", [
    ("{x: bottom}", "block 'Up' needs the input 'skip'"),
    ("{x: bottom, skp: down}", "block 'Up' has no input 'skp'; did you mean 'skip'?"),
    ("[bottom, down, down]", "block 'Up' takes 2 inputs (x, skip) but receives 3"),
    ("bottom", "block 'Up' takes 2 inputs (x, skip) but receives 1"),
    ("{x: bottom, skip: dwn}", "unknown name 'dwn'; did you mean 'down'?"),
])
def test_wrong_bindings_are_located_errors(binding: str, message: str) -> None:
    errors = _errors(UP_BLOCK.replace("BINDING", binding))
    assert message in [e.message + (f"; {e.hint}" if "did you mean" in (e.hint or "") else "") for e in errors]
    assert all(e.loc.line == 21 for e in errors)


ONE_INPUT = """archspec: 1
name: one
input: [8]
blocks:
  Residual:
    layers:
      - Dense: {units: 8}
      - Add: {}
        inputs: [in, previous]
layers:
  - Dense: {units: 8}
    name: a
  - Residual: {}
    inputs: BINDING
"""


@pytest.mark.parametrize("binding", ["a", "[a]", "{in: a}"])
def test_a_one_input_block_binds_in(binding: str) -> None:
    analysis = compile_text(ONE_INPUT.replace("BINDING", binding)).analysis
    assert analysis.info("residual_1/add_1").node.inputs == ("a", "residual_1/dense_1")


def test_a_one_input_block_refuses_two() -> None:
    [error] = _errors(ONE_INPUT.replace("BINDING", "[a, input]"))
    assert error.message == "block 'Residual' takes one input but receives 2"
    assert error.hint == "join the inputs with a merge layer first, or declare the block's inputs: [a, b]"


def test_a_layer_refuses_a_mapping_of_inputs() -> None:
    [error] = _errors(UP_BLOCK.replace("BINDING", "[bottom, down]").replace("        inputs: x\n",
                                                                      "        inputs: {a: x}\n"))
    assert error.message.startswith("a layer's inputs are a name or a list") and error.hint == "write inputs: [x]"


def test_a_declared_input_cannot_be_reserved_or_a_member_name() -> None:
    reserved = _errors(UP_BLOCK.replace("[x, skip]", "[x, in]").replace("BINDING", "[bottom, down]"))
    assert reserved[0].message == "block 'Up': input 'in' is a reserved name"
    member = _errors(UP_BLOCK.replace("BINDING", "[bottom, down]").replace(
        "      - Conv2D: {filters: $filters", "      - Conv2D: {filters: $filters").replace(
        "inputs: [previous, skip]", "inputs: [previous, skip]\n        name: skip"))
    assert member[0].message.startswith("duplicate name 'skip'")


# ------------------------------------------------------------------ shared layers and instances
@pytest.fixture(scope="module")
def siamese() -> Compiled:
    return compile_text(SIAMESE)


def test_shared_params_are_counted_once_and_every_application_is_a_row(siamese: Compiled) -> None:
    analysis = siamese.analysis
    tower = [i for i in analysis.layers if i.node.scope == ("tower_l",)]
    copies = [i for i in analysis.layers if i.node.scope == ("tower_r",)]
    assert [i.node.shares for i in copies] == [i.node.name for i in tower]
    assert all(i.params.total == 0 for i in copies) and analysis.info("head_r").params.total == 0
    assert [i.macs for i in copies] == [i.macs for i in tower]
    own = sum(i.params.total for i in tower) + analysis.info("head_l").params.total
    assert analysis.params.total == own == (3 * 3 * 4 + 4) + 4 * 4 + (5 * 4 + 5) + (3 * 5 + 3)
    assert analysis.graph.blocks[("tower_r",)].shares == ("tower_l",)


def test_one_keras_layer_serves_every_application(siamese: Compiled) -> None:
    model = _built(siamese)
    names = [layer.name for layer in model.layers]
    assert not any(name.startswith("tower_r") or name == "head_r" for name in names)
    for name in ("tower_l.conv2d_1", "tower_l.batch_normalization_1", "tower_l.dense_1", "head_l"):
        assert len(model.get_layer(name)._inbound_nodes) == 2
    x = np.random.default_rng(0).normal(size=(2, 12, 12, 1)).astype("float32")
    out = np.asarray(model([x, x], training=False))
    np.testing.assert_allclose(out[:, :3], out[:, 3:], rtol=1e-6)  # the same weights on the same input
    y = np.random.default_rng(1).normal(size=(2, 12, 12, 1)).astype("float32")
    assert not np.allclose(np.asarray(model([x, y], training=False))[:, 3:], out[:, 3:])


def _summary(text: str, tmp_path: Path, *options: str) -> str:
    spec = tmp_path / "net.yaml"
    spec.write_text(text)
    result = CliRunner().invoke(main, ["summary", str(spec), *options])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_summary_marks_the_reuse(siamese: Compiled, tmp_path: Path) -> None:
    layers = {layer["name"]: layer for layer in json.loads(_summary(SIAMESE, tmp_path, "--format", "json"))["layers"]}
    assert layers["head_r"]["shares"] == "head_l" and layers["head_r"]["params"] == 0
    assert "shares" not in layers["head_l"]
    table = _summary(SIAMESE, tmp_path)
    assert "tower_r (Tower, shares tower_l)" in table and "conv2d_1 (Conv2D, shared)" in table
    assert "head_r (Dense, shares head_l)" in table


def test_a_shared_layer_can_be_repeated_and_referred_forward() -> None:
    text = """archspec: 1
name: tied
input: [6]
layers:
  - share: step
    repeat: 3
  - Dense: {units: 6}
    name: step
    inputs: input
  - Add: {}
    inputs: [share_3, step]
"""
    compiled = compile_text(text)
    assert [i.node.inputs for i in compiled.analysis.layers if i.node.shares] == \
        [("input",), ("share_1",), ("share_2",)]
    model = _built(compiled)
    assert len(model.get_layer("step")._inbound_nodes) == 4


def test_a_share_whose_input_needs_other_weights_names_both() -> None:
    [error] = _errors(SIAMESE.replace("right: [12, 12, 1]", "right: [12, 12, 2]"))
    assert error.stage is Stage.SHAPES and error.loc.line == 9
    assert error.message == ("Conv2D 'tower_r/conv2d_1' shares the weights of 'tower_l/conv2d_1', which takes "
                             "[12, 12, 1] (40 params), but it takes [12, 12, 2], which would need 76 "
                             "(in 'tower_r', the share: of 'tower_l' at line 17)")


@pytest.mark.parametrize("target, message", [
    ("towr_l", "unknown name 'towr_l'"),
    ("left", "share 'left': 'left' is an input"),
    ("tower_r", "share 'tower_r' depends on itself through 'tower_r'"),
])
def test_share_mistakes(target: str, message: str) -> None:
    errors = _errors(SIAMESE.replace("share: tower_l", f"share: {target}"))
    assert errors[0].message == message


# ------------------------------------------------------------------ several outputs per layer
@pytest.fixture(scope="module")
def seq2seq() -> Compiled:
    return compile_text(SEQ2SEQ)


def test_other_outputs_are_named_and_shaped(seq2seq: Compiled, tmp_path: Path) -> None:
    analysis = seq2seq.analysis
    assert analysis.info("enc").outputs == (("enc", (8,)), ("enc:state_h", (8,)), ("enc:state_c", (8,)))
    assert analysis.info("dec").node.inputs == ("target", "enc:state_h", "enc:state_c")
    assert analysis.graph.outputs == ("out", "enc:state_c")
    assert analysis.output_shapes() == [(6, 4), (8,)]
    doc = json.loads(_summary(SEQ2SEQ, tmp_path, "--format", "json"))
    enc = next(layer for layer in doc["layers"] if layer["name"] == "enc")
    assert [o["name"] for o in enc["outputs"]] == ["enc", "enc:state_h", "enc:state_c"]
    assert "enc:state_c (output 2)" in _summary(SEQ2SEQ, tmp_path)


def test_an_encoder_decoder_builds_with_its_states(seq2seq: Compiled) -> None:
    model = _built(seq2seq)
    assert [tuple(o.shape[1:]) for o in model.outputs] == [(6, 4), (8,)]
    rng = np.random.default_rng(0)
    source, target = (rng.normal(size=(2, *s)).astype("float32") for s in ((7, 5), (6, 5)))
    out, state_c = model([source, target], training=False)
    assert np.asarray(out).shape == (2, 6, 4) and np.asarray(state_c).shape == (2, 8)


@pytest.mark.parametrize("written, message", [
    ("enc:state", "'enc' has no output 'state': its outputs are enc (0), enc:state_h (1), enc:state_c (2)"),
    ("enc:3", "'enc' has no output '3': its outputs are enc (0), enc:state_h (1), enc:state_c (2)"),
    ("source:1", "the input 'source' has one output, so 'source:1' names nothing"),
])
def test_unknown_outputs_list_the_layers_outputs(written: str, message: str) -> None:
    [error] = _errors(SEQ2SEQ.replace("[target, enc:1, enc:state_c]", f"[target, enc:1, {written}]"))
    assert error.message == message and error.loc.line == 13


def test_an_output_past_the_first_of_a_one_output_layer_is_an_error() -> None:
    [error] = _errors(SEQ2SEQ.replace("outputs: [out, enc:state_c]", "outputs: [out, dec:1]"))
    assert error.message == "'dec' has no output '1': its outputs are dec (0)" and error.loc.line == 6
    assert error.hint == "write 'dec' (it returns one tensor)"
