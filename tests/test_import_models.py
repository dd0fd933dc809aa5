"""``archspec import`` of small hand-written models, one per family of layers the Keras
Applications do not use: wrapped layers, convolutional and plain recurrent layers with their
states, attention without projections, EinsumDense, ConvNeXt's LayerScale and StochasticDepth,
Normalization and the preprocessing layers. Each round-trips: the imported spec's summary
equals the model, and the model archspec builds, with the model's weights, computes its outputs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from import_round_trip import check_round_trip

keras = pytest.importorskip("keras")
layers = keras.layers


def time_distributed() -> Any:
    """TimeDistributed over Conv2D, a pooling and Dense: a clip of frames, one step at a time."""
    clip = keras.Input((3, 8, 8, 2), name="clip")
    x = layers.TimeDistributed(layers.Conv2D(4, 3, activation="relu"), name="frame_conv")(clip)
    x = layers.TimeDistributed(layers.GlobalAveragePooling2D(), name="frame_pool")(x)
    return keras.Model(clip, layers.TimeDistributed(layers.Dense(5), name="frame_dense")(x))


def conv_lstm() -> Any:
    """ConvLSTM2D over frames, its last states beside its output (return_state)."""
    clip = keras.Input((3, 6, 6, 2), name="clip")
    x = layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="clstm1")(clip)
    out, h, c = layers.ConvLSTM2D(2, 3, return_state=True, name="clstm2")(x)
    return keras.Model(clip, [layers.Add(name="with_cell")([out, c]), h])


def simple_rnn_and_gru_states() -> Any:
    """Stacked SimpleRNNs, and a GRU whose state (return_state) feeds a Dense beside its output."""
    seq = keras.Input((6, 4), name="seq")
    x = layers.SimpleRNN(5, return_sequences=True, name="rnn1")(seq)
    x = layers.SimpleRNN(5, return_sequences=True, go_backwards=True, name="rnn2")(x)
    out, state = layers.GRU(4, return_state=True, reset_after=False, name="gru")(x)
    return keras.Model(seq, [out, layers.Dense(2, name="from_state")(state)])


def plain_attention() -> Any:
    """Attention (scaled, with its scores) and AdditiveAttention of a query over keys and values."""
    query, value = keras.Input((5, 8), name="query"), keras.Input((7, 8), name="value")
    key = layers.Dense(8, name="key")(value)
    dot, scores = layers.Attention(use_scale=True, name="dot")([query, value, key], return_attention_scores=True)
    additive = layers.AdditiveAttention(name="additive")([query, value])
    joined = layers.Concatenate(name="join")([dot, additive])
    return keras.Model([query, value], [joined, scores])


def einsum_dense() -> Any:
    tokens = keras.Input((4, 6), name="tokens")
    x = layers.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d", activation="relu", name="proj")(tokens)
    return keras.Model(tokens, layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), name="heads")(x))


def layer_scale_and_stochastic_depth() -> Any:
    """ConvNeXt's residual: a LayerScale branch through StochasticDepth (identity at inference)."""
    from keras.src.applications.convnext import LayerScale, StochasticDepth

    image = keras.Input((6, 6, 8), name="image")
    x = layers.DepthwiseConv2D(3, padding="same", name="dw")(image)
    x = layers.LayerNormalization(epsilon=1e-6, name="ln")(x)
    x = LayerScale(1e-6 * 1e5, 8, name="scale")(x)
    x = StochasticDepth(0.1, name="drop_path")(x)
    return keras.Model(image, layers.Add(name="residual")([image, x]))


def preprocessing() -> Any:
    """Normalization with its statistics, then Resizing, CenterCrop, Rescaling and augmentation
    layers (identity at inference)."""
    image = keras.Input((12, 10, 3), name="image")
    x = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.1, 0.2, 0.3], name="norm")(image)
    x = layers.Resizing(16, 16, name="resize")(x)
    x = layers.CenterCrop(12, 12, name="crop")(x)
    x = layers.Rescaling(2.0, offset=-1.0, name="rescale")(x)
    x = layers.RandomFlip("horizontal", name="flip")(x)
    x = layers.RandomRotation(0.1, name="rotate")(x)
    x = layers.RandomZoom(0.2, name="zoom")(x)
    return keras.Model(image, layers.Conv2D(2, 3, name="conv")(x))


def adapted_normalization() -> Any:
    """Normalization whose statistics come from adapt(): they are its weights, copied in."""
    import numpy as np

    norm = layers.Normalization(name="norm")
    norm.adapt(np.arange(24, dtype="float32").reshape(6, 4))
    features = keras.Input((4,), name="features")
    return keras.Model(features, layers.Dense(2, name="out")(norm(features)))


def unet() -> Any:
    """Down stages, then up stages that each take the stage below and a skip from a down stage:
    runs with two outside inputs, a block declaring ``inputs: [x, skip]``."""
    image = keras.Input((16, 16, 3), name="image")
    x, skips = image, []
    for i, filters in enumerate([4, 6, 8], 1):
        x = layers.Conv2D(filters, 3, padding="same", name=f"down{i}_conv")(x)
        x = layers.BatchNormalization(name=f"down{i}_bn")(x)
        skips.append(layers.Activation("relu", name=f"down{i}_relu")(x))
        x = layers.MaxPooling2D(name=f"down{i}_pool")(skips[-1])
    for i, filters in enumerate([8, 6, 4], 1):
        x = layers.UpSampling2D(name=f"up{i}_upsample")(x)
        x = layers.Concatenate(name=f"up{i}_concat")([x, skips[-i]])
        x = layers.Conv2D(filters, 3, padding="same", name=f"up{i}_conv")(x)
        x = layers.BatchNormalization(name=f"up{i}_bn")(x)
        x = layers.Activation("relu", name=f"up{i}_relu")(x)
    return keras.Model(image, layers.Conv2D(1, 1, name="mask")(x))


MODELS: dict[str, Callable[[], Any]] = {f.__name__: f for f in (
    time_distributed, conv_lstm, simple_rnn_and_gru_states, plain_attention, einsum_dense,
    layer_scale_and_stochastic_depth, preprocessing, adapted_normalization, unet)}
RESULTS: dict[str, Any] = {}  # the imports above, for the tests of their text


@pytest.mark.parametrize("name", list(MODELS))
def test_hand_written_model_round_trips(name: str, tmp_path: Path) -> None:
    """Imported from a saved .keras file (its config.json read as data) as from the model itself."""
    from archspec.importer.run import import_model

    model = MODELS[name]()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    RESULTS[name] = check_round_trip(model, str(path))
    assert import_model(str(path)).text == RESULTS[name].text
    keras.backend.clear_session()


def imported(name: str) -> str:
    from import_round_trip import import_keras_model

    if name not in RESULTS:  # the round trip did not run (-k)
        RESULTS[name] = import_keras_model(MODELS[name](), name)
    return RESULTS[name].text


def test_later_outputs_are_written_by_name() -> None:
    text = imported("conv_lstm")
    assert "    inputs: [clstm2, clstm2:state_c]\n" in text and "outputs: [with_cell, clstm2:state_h]\n" in text
    assert "outputs: [join, dot:attention_scores]\n" in imported("plain_attention")
    assert "outputs: [gru, from_state]\n" in imported("simple_rnn_and_gru_states")
    assert "    name: from_state\n    inputs: gru:state\n" in imported("simple_rnn_and_gru_states")  # a GRU's one state


def test_inputs_keep_the_models_order() -> None:
    assert "inputs:\n  query: [5, 8]\n  value: [7, 8]\n" in imported("plain_attention")


def test_runs_with_a_skip_input_become_a_block_of_two_inputs() -> None:
    text = imported("unet")
    assert "  Up:\n    params: {filters: 8}\n    inputs: [x, skip]\n" in text
    assert "        name: _concat\n        inputs: [_upsample, skip]\n" in text
    assert "  - Up: {filters: 6}\n    name: up2\n    inputs: [up1, down2/_relu]\n" in text
    assert "# 2 blocks of repeated layers save 13 lines (65 without them).\n" in text
