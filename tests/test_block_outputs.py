"""Blocks with several outputs (``outputs: [a, b]``: a use's name is the first, ``use:b`` or
``use:1`` another), from the spec to Keras, shared copies included."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from archspec.api import Compiled, compile_text
from archspec.errors import SpecErrors

ENCODERS = """archspec: 1
name: encoders
inputs:
  a: [7, 3]
  b: [7, 3]
outputs: [enc_a, enc_a:pooled, enc_b, enc_b:2, head]
blocks:
  Encoder:
    outputs: [seq, rnn:state_c, pooled]
    layers:
      - Conv1D: {filters: 6, kernel_size: 3, padding: same}
      - LSTM: {units: 5, return_sequences: true, return_state: true}
        name: rnn
      - Dense: {units: 4}
        name: seq
        inputs: rnn
      - GlobalAveragePooling1D: {}
        name: pooled
layers:
  - Encoder: {}
    name: enc_a
    inputs: a
    expect: [7, 4]
  - share: enc_a
    name: enc_b
    inputs: b
  - Concatenate: {}
    inputs: [enc_a:rnn:state_c, enc_b:1]
    name: head
"""


@pytest.fixture(scope="module")
def encoders() -> Compiled:
    return compile_text(ENCODERS)


def test_a_use_gives_each_declared_output(encoders: Compiled) -> None:
    analysis = encoders.analysis
    assert analysis.graph.outputs == ("enc_a/seq", "enc_a/pooled", "enc_b/seq", "enc_b/pooled", "head")
    assert analysis.output_shapes() == [(7, 4), (4,), (7, 4), (4,), (10,)]
    assert analysis.info("head").node.inputs == ("enc_a/rnn:state_c", "enc_b/rnn:state_c")
    assert analysis.graph.blocks[("enc_a",)].output == "enc_a/seq"
    assert analysis.graph.blocks[("enc_b",)].output == "enc_b/seq"  # the shared copy declares the same


def test_the_block_row_shows_the_first_output(encoders: Compiled) -> None:
    from archspec.analysis.passes import run_passes
    from archspec.analysis.report import rows

    block_rows = {r.name: r for r in rows(run_passes(encoders.analysis)) if r.is_block}
    assert block_rows["enc_a"].shape == (7, 4) and block_rows["enc_a"].output == "enc_a/seq"


def _built(compiled: Compiled) -> Any:
    from archspec.keras_backend.model_builder import build_model, verify

    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == []
    assert model.count_params() == compiled.analysis.params.total
    return model


def test_a_block_with_several_outputs_builds_in_keras(encoders: Compiled) -> None:
    model = _built(encoders)
    assert [tuple(o.shape[1:]) for o in model.outputs] == [(7, 4), (4,), (7, 4), (4,), (10,)]
    own = (3 * 3 * 6 + 6) + 4 * 5 * (6 + 5 + 1) + (5 * 4 + 4)  # enc_a's weights, once
    assert encoders.analysis.params.total == own
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    seq_a, pooled_a, seq_b, pooled_b, head = (np.asarray(t) for t in model([x, x], training=False))
    np.testing.assert_allclose(seq_a, seq_b, rtol=1e-6)  # one encoder's weights on the same input
    np.testing.assert_allclose(pooled_a, seq_a.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(head[:, :5], head[:, 5:], rtol=1e-6)  # both cell states


@pytest.mark.parametrize("written, message", [
    ("enc_b:3", "'enc_b' (block 'Encoder') has no output '3': its outputs are enc_b:seq (0), "
                "enc_b:rnn:state_c (1), enc_b:pooled (2)"),
    ("enc_b:sq", "'enc_b' (block 'Encoder') has no output 'sq': its outputs are enc_b:seq (0), "
                 "enc_b:rnn:state_c (1), enc_b:pooled (2)"),
])
def test_an_unknown_output_of_a_use_lists_the_declared_ones(written: str, message: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        compile_text(ENCODERS.replace("enc_b:1]", f"{written}]"), "net.yaml")
    [error] = caught.value.errors
    assert error.message == message and error.loc.line == 28


def test_a_declared_output_must_name_an_entry_of_the_block() -> None:
    with pytest.raises(SpecErrors) as caught:
        compile_text(ENCODERS.replace("[seq, rnn:state_c, pooled]", "[seq, sqe, pooled, seq]"), "net.yaml")
    messages = [(e.message, e.loc.line) for e in caught.value.errors]
    unknown = [m for m, line in messages if m.startswith("unknown name 'sqe' in block") and line == 9]
    assert len(unknown) == 1  # one report for the place, not one per use (enc_a, enc_b)
    assert ("block 'Encoder': output 'seq' is declared twice", 9) in messages


def test_expect_on_a_use_checks_its_first_output_even_by_index() -> None:
    text = ENCODERS.replace("[seq, rnn:state_c, pooled]", "[rnn:2, seq, pooled]").replace(
        "[enc_a, enc_a:pooled, enc_b, enc_b:2, head]", "[enc_a:1, enc_a:pooled, enc_b:1, enc_b:2, head]").replace(
        "[enc_a:rnn:state_c, enc_b:1]", "[enc_a, enc_b]")
    compiled = compile_text(text.replace("expect: [7, 4]", "expect: [5]"))
    assert compiled.analysis.info("head").node.inputs == ("enc_a/rnn:state_c", "enc_b/rnn:state_c")
    with pytest.raises(SpecErrors) as caught:
        compile_text(text, "net.yaml")
    [error] = caught.value.errors
    assert error.message == "'enc_a/rnn:state_c' outputs [5] but expect says [7, 4]" and error.loc.line == 23
