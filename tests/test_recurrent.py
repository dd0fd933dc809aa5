"""Sequence layers: MACs against a direct count, initial states and extra outputs, and the
wrapped layer's arguments checked at their own place."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from archspec.api import compile_text
from archspec.errors import SpecErrors
from layer_samples import spec_for

STEPS, FEATURES = 5, 3


class Counter:
    """Matrix products that count their multiply-accumulates: (1 x a) @ (a x b) is a*b."""

    def __init__(self) -> None:
        self.macs = 0

    def matmul(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        self.macs += x.shape[-1] * w.shape[-1]
        return x @ w


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _simple_rnn_step(c: Counter, x, h, weights, units):
    kernel, recurrent, bias = weights
    return np.tanh(c.matmul(x, kernel) + c.matmul(h, recurrent) + bias), ()


def _lstm_step(c: Counter, x, h, weights, units, state):
    kernel, recurrent, bias = weights
    z = c.matmul(x, kernel) + c.matmul(h, recurrent) + bias
    i, f, g, o = (z[k * units:(k + 1) * units] for k in range(4))
    cell = _sigmoid(f) * state + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(cell), cell


def _gru_step(c: Counter, x, h, weights, units, reset_after):
    kernel, recurrent, bias = weights
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    xz = c.matmul(x, kernel) + b_in
    split = [slice(k * units, (k + 1) * units) for k in range(3)]
    if reset_after:
        hz = c.matmul(h, recurrent) + b_rec
        z, r = _sigmoid(xz[split[0]] + hz[split[0]]), _sigmoid(xz[split[1]] + hz[split[1]])
        candidate = np.tanh(xz[split[2]] + r * hz[split[2]])
    else:
        hz = c.matmul(h, recurrent[:, :2 * units])
        z, r = _sigmoid(xz[split[0]] + hz[split[0]]), _sigmoid(xz[split[1]] + hz[split[1]])
        candidate = np.tanh(xz[split[2]] + c.matmul(r * h, recurrent[:, 2 * units:]))
    return z * h + (1 - z) * candidate


def numpy_forward(kind: str, args: dict, weights: list, sequence: np.ndarray) -> tuple[np.ndarray, int]:
    """Keras's cell equations written out over the steps; returns the last state and the
    multiply-accumulates the kernel and recurrent products took."""
    counter, units = Counter(), args["units"]
    h, cell = np.zeros(units), np.zeros(units)
    for x in sequence:
        if kind == "SimpleRNN":
            h, _ = _simple_rnn_step(counter, x, h, weights, units)
        elif kind == "LSTM":
            h, cell = _lstm_step(counter, x, h, weights, units, cell)
        else:
            h = _gru_step(counter, x, h, weights, units, args.get("reset_after", True))
    return h, counter.macs


RNN_CASES = [("SimpleRNN", {"units": 4}), ("LSTM", {"units": 4}), ("GRU", {"units": 3}),
             ("GRU", {"units": 3, "reset_after": False})]


@pytest.mark.parametrize("kind, args", RNN_CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(RNN_CASES)])
def test_rnn_macs_are_the_products_of_the_cell_keras_runs(kind: str, args: dict) -> None:
    """The cell written out in numpy with Keras's weights gives Keras's output, and the
    products it takes are the MACs the analysis counts."""
    from archspec.keras_backend.model_builder import build_model

    compiled = compile_text(spec_for(kind, [STEPS, FEATURES], args))
    model = build_model(compiled.graph)
    sequence = np.random.default_rng(1).normal(size=(STEPS, FEATURES)).astype("float32")
    expected = model.predict(sequence[None], verbose=0)[0]
    weights = [w.numpy() for w in model.get_layer("layer").weights]
    last, macs = numpy_forward(kind, args, weights, sequence)
    np.testing.assert_allclose(last, expected, rtol=1e-4, atol=1e-5)
    assert compiled.analysis.info("layer").macs == macs


def test_bidirectional_counts_both_directions() -> None:
    one = compile_text(spec_for("LSTM", [STEPS, FEATURES], {"units": 4})).analysis.info("layer")
    both = compile_text(spec_for("Bidirectional", [STEPS, FEATURES],
                                 {"layer": {"LSTM": {"units": 4}}})).analysis.info("layer")
    assert (both.macs, both.params.total, both.out_shape) == (2 * one.macs, 2 * one.params.total, (8,))


def _window_starts(size: int, kernel: int, stride: int, padding: str) -> list[int]:
    """Where each window starts on one axis: slid by the stride over the input and the zeros
    TensorFlow adds for 'same' (the odd one after), while it fits."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0) if padding == "same" else 0
    before, after = total // 2, total - total // 2
    starts, start = [], -before
    while start + kernel - 1 <= size - 1 + after:
        starts.append(start)
        start += stride
    return starts


def conv_lstm_direct_count(frames: list, filters: int, kernel: int, stride: int, padding: str) -> int:
    """Every tap of every window, counted one by one at each step: the input convolution's
    C_in -> 4F products and the recurrent 'same' convolution's F -> 4F."""
    steps, *spatial, channels = frames
    positions = itertools.product(*[_window_starts(s, kernel, stride, padding) for s in spatial])
    taps = list(itertools.product(range(kernel), repeat=len(spatial)))
    macs = 0
    for _position in positions:
        for _tap in taps:
            macs += channels * 4 * filters + filters * 4 * filters
    return steps * macs


@pytest.mark.parametrize("frames, args", [
    ([3, 7, 6, 2], {"filters": 2, "kernel_size": 3, "strides": 1, "padding": "valid"}),
    ([3, 7, 6, 2], {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ([4, 9, 2], {"filters": 2, "kernel_size": 2, "strides": 1, "padding": "same"}),
])
def test_conv_lstm_macs_match_a_direct_count(frames: list, args: dict) -> None:
    kind = f"ConvLSTM{len(frames) - 2}D"
    info = compile_text(spec_for(kind, frames, args)).analysis.info("layer")
    assert info.macs == conv_lstm_direct_count(frames, args["filters"], args["kernel_size"], args["strides"],
                                               args["padding"])


def test_time_distributed_is_t_times_one_step() -> None:
    step = compile_text(spec_for("Conv2D", [9, 8, 2], {"filters": 4, "kernel_size": 3})).analysis.info("layer")
    every = compile_text(spec_for("TimeDistributed", [6, 9, 8, 2],
                                  {"layer": {"Conv2D": {"filters": 4, "kernel_size": 3}}})).analysis.info("layer")
    assert (every.macs, every.params, every.out_shape) == (6 * step.macs, step.params, (6,) + step.out_shape)


# ---------------------------------------------------------------- states in and out
ENCODER_DECODER = """archspec: 1
name: encdec
inputs: {source: [7, 3], target: [5, 2]}
layers:
  - LSTM: {units: 4, return_state: true}
    name: enc
    inputs: source
  - LSTM: {units: 4, return_sequences: true}
    name: dec
    inputs: [target, enc:state_h, enc:state_c]
"""


def test_initial_states_are_passed_to_keras() -> None:
    """The decoder starts from the encoder's states: its output follows the source."""
    from archspec.keras_backend.model_builder import build_model, verify

    compiled = compile_text(ENCODER_DECODER)
    assert compiled.analysis.output_shapes() == [(5, 4)]
    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == []
    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(1, 7, 3)), rng.normal(size=(1, 5, 2))
    first = model.predict([source, target], verbose=0)
    second = model.predict([source + 1, target], verbose=0)
    assert not np.allclose(first, second)


@pytest.mark.parametrize("states, message", [
    ("[target, enc:state_h]", "takes its sequence and then 2 initial state(s) (state_h, state_c) but receives 1"),
    ("[target, source, enc:state_c]", "initial state_h must be [4] but receives [7, 3]"),
])
def test_wrong_initial_states_are_named(states: str, message: str) -> None:
    with pytest.raises(SpecErrors) as raised:
        compile_text(ENCODER_DECODER.replace("[target, enc:state_h, enc:state_c]", states))
    assert message in str(raised.value)


def test_bidirectional_without_merge_has_a_backward_output() -> None:
    text = ("archspec: 1\nname: b\ninput: [6, 3]\nlayers:\n"
            "  - Bidirectional: {layer: {GRU: {units: 2, return_state: true}}, merge_mode: null}\n    name: bi\n"
            "  - Concatenate: {}\n    inputs: [bi, bi:backward, bi:forward_state, bi:backward_state]\n")
    compiled = compile_text(text)
    kind = compiled.analysis.info("bi").kind
    extras = kind.extra_outputs(compiled.graph.node("bi").args, [(6, 3)], (2,))
    assert [name for name, _ in extras] == ["backward", "forward_state", "backward_state"]
    assert compiled.analysis.output_shapes() == [(8,)]


# ---------------------------------------------------------------- the wrapped layer's arguments
WRAPPED = "archspec: 1\nname: w\ninput: [6, 3]\nlayers:\n  - Bidirectional:\n      layer:\n        {inner}\n"


@pytest.mark.parametrize("inner, where, message", [
    ("LSTM: {units: 4, untis: 3}", "7:26", "Bidirectional 'bidirectional_1' (its layer LSTM): unknown argument "
                                           "'untis'; did you mean 'units'?"),
    ("LSTM: {units: -4}", "7:23", "(its layer LSTM): 'units' must be a positive integer; received: -4"),
    ("LSTM: {return_sequences: true}", "7:9", "(its layer LSTM): missing required argument 'units'"),
    ("LSTMM: {units: 4}", "7:9", "unknown layer kind 'LSTMM' in 'layer'; did you mean 'LSTM'?"),
    ("Dense: {units: 4}", "7:9", "Bidirectional wraps a recurrent layer"),
])
def test_a_wrapped_layer_is_checked_where_it_is_written(inner: str, where: str, message: str) -> None:
    with pytest.raises(SpecErrors) as raised:
        compile_text(WRAPPED.format(inner=inner), "w.yaml")
    text = str(raised.value)
    assert f"w.yaml:{where}: " in text and message in text, text


def test_a_layer_wrapped_twice_is_checked_at_the_innermost_place() -> None:
    text = ("archspec: 1\nname: w\ninput: [2, 6, 3]\nlayers:\n  - TimeDistributed:\n      layer:\n"
            "        Bidirectional: {layer: {GRU: {units: 2, reset_afterr: false}}}\n")
    with pytest.raises(SpecErrors) as raised:
        compile_text(text, "w.yaml")
    assert "w.yaml:7:49: TimeDistributed 'time_distributed_1' (its layer Bidirectional) (its layer GRU): unknown " \
           "argument 'reset_afterr'; did you mean 'reset_after'?" in str(raised.value)


def test_the_wrapped_layers_shape_error_blames_the_layer_argument() -> None:
    text = spec_for("TimeDistributed", [3, 4, 4, 2], {"layer": {"Conv2D": {"filters": 2, "kernel_size": 5}}})
    with pytest.raises(SpecErrors) as raised:
        compile_text(text)
    assert "the wrapped Conv2D: output height would be 0" in str(raised.value)


def test_the_published_schema_describes_layer_as_one_entry() -> None:
    import jsonschema
    import yaml

    from archspec.spec.schema import published_schema

    schema = published_schema()
    written = schema["$defs"]["layer"]["Bidirectional"]["properties"]["layer"]["anyOf"]
    assert written[0] == {"$ref": "#/$defs/layer_entry"}  # or a $reference, as every value
    validator = jsonschema.Draft202012Validator(schema)
    good = yaml.safe_load(WRAPPED.format(inner="LSTM: {units: 4}"))
    bad = yaml.safe_load(WRAPPED.format(inner="LSTM: {units: 4, untis: 3}"))
    assert list(validator.iter_errors(good)) == [] and list(validator.iter_errors(bad)) != []
    assert json.dumps(schema)  # the recursive entry stays a plain JSON document
