"""``archspec import`` of Keras models written by hand, the way keras.io's examples and guides
write them: Sequential with and without an Input, nested and shared models, masked text models,
seq2seq states, bidirectional and convolutional recurrent layers, attention, several inputs
and outputs (lists and dicts), frozen layers, mixed precision, CNN odds and raw tensor
operations. Each goes through the CLI (``archspec import model.keras -o spec.yaml``, then
``archspec summary``), and the spec written equals the model: totals and their split, output
shapes, every layer's shape, and, built with the model's weights, the same outputs. What
archspec cannot express is refused by name (exit 2), never dropped."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from click.testing import CliRunner

from archspec.api import compile_text
from archspec.cli import main
from import_round_trip import check_outputs, check_summary

keras = pytest.importorskip("keras")
layers, ops = keras.layers, keras.ops


# ----------------------------------------------------------------------------- Sequential, nesting, sharing

def sequential_built_later() -> Any:
    """No Input: the shape comes from build()."""
    model = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3)], name="mlp")
    model.build((None, 5))
    return model


def sequential_input_shape() -> Any:
    """``input_shape=`` on the first layer (Keras 2 style, still accepted)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras: "prefer using an Input(shape) object"
        return keras.Sequential([layers.Dense(8, activation="relu", input_shape=(5,)), layers.Dropout(0.2),
                                 layers.Dense(3, activation="softmax")])


def mnist_convnet() -> Any:
    """keras.io "Simple MNIST convnet", smaller."""
    return keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax")])


def sequentials_inside_functional() -> Any:
    """An augmentation Sequential and a feature Sequential called inside a Functional model."""
    image = keras.Input((10, 10, 3), name="image")
    augment = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)], name="augment")
    features = keras.Sequential([layers.Conv2D(4, 3, padding="same", activation="relu"),
                                 layers.GlobalAveragePooling2D()], name="features")
    return keras.Model(image, layers.Dense(2)(features(layers.Rescaling(1 / 255.0)(augment(image)))))


def siamese_contrastive() -> Any:
    """keras.io "Image similarity estimation using a Siamese Network with a contrastive loss":
    one Functional tower called on two images; the distance by layers (not a Lambda)."""
    image = keras.Input((12, 12, 1))
    x = layers.BatchNormalization()(image)
    x = layers.Conv2D(4, 3, activation="tanh")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Flatten()(layers.BatchNormalization()(x))
    tower = keras.Model(image, layers.Dense(6, activation="tanh")(x))
    left, right = keras.Input((12, 12, 1), name="left"), keras.Input((12, 12, 1), name="right")
    diff = layers.Subtract()([tower(left), tower(right)])
    x = layers.BatchNormalization()(layers.Multiply()([diff, diff]))
    return keras.Model([left, right], layers.Dense(1, activation="sigmoid")(x))


def siamese_triplet() -> Any:
    """keras.io "Image similarity estimation using a Siamese Network with a triplet loss": a
    Sequential embedding on anchor, positive and negative; two distances out."""
    embedding = keras.Sequential([keras.Input((8,)), layers.Dense(6, activation="relu"), layers.Dense(4)],
                                 name="embedding")
    anchor, positive, negative = (keras.Input((8,), name=n) for n in ("anchor", "positive", "negative"))
    a = embedding(anchor)
    return keras.Model([anchor, positive, negative], [layers.Subtract(name="ap")([a, embedding(positive)]),
                                                      layers.Subtract(name="an")([a, embedding(negative)])])


def shared_lstm_two_lengths() -> Any:
    """The functional API guide's shared layers: one Embedding and one LSTM over two sequences
    of different lengths."""
    a, b = keras.Input((6,), dtype="int32", name="a"), keras.Input((9,), dtype="int32", name="b")
    embed, lstm = layers.Embedding(30, 8), layers.LSTM(5)
    x = layers.Concatenate()([lstm(embed(a)), lstm(embed(b))])
    return keras.Model([a, b], layers.Dense(1, activation="sigmoid")(x))


# ----------------------------------------------------------------------------- text and recurrent layers

def masked_lstm_classifier() -> Any:
    """Embedding(mask_zero=True) -> stacked LSTMs over sequences of any length (the masks Keras
    records as operations are propagated again by the built model)."""
    tokens = keras.Input((None,), dtype="int32")
    x = layers.Embedding(40, 8, mask_zero=True)(tokens)
    x = layers.LSTM(6, return_sequences=True)(x)
    return keras.Model(tokens, layers.Dense(1, activation="sigmoid")(layers.LSTM(6)(x)))


def bidirectional_lstm_imdb() -> Any:
    """keras.io "Bidirectional LSTM on IMDB", smaller; the second with merge_mode="sum"."""
    tokens = keras.Input((12,), dtype="int64")
    x = layers.Embedding(40, 8)(tokens)
    x = layers.Bidirectional(layers.LSTM(6, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(4), merge_mode="sum")(x)
    return keras.Model(tokens, layers.Dense(1, activation="sigmoid")(x))


def bidirectional_merge_modes_and_states() -> Any:
    """Bidirectional GRU (ave), SimpleRNN (mul), and an LSTM with its four states."""
    seq = keras.Input((7, 3))
    a = layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode="ave")(seq)
    b = layers.Bidirectional(layers.SimpleRNN(4, return_sequences=True), merge_mode="mul")(seq)
    out, fh, fc, bh, bc = layers.Bidirectional(layers.LSTM(4, return_state=True))(seq)
    states = layers.Concatenate()([fh, fc, bh, bc])
    return keras.Model(seq, [layers.Concatenate()([a, b]), out, states])


def char_seq2seq() -> Any:
    """keras.io "Character-level recurrent sequence-to-sequence model": the encoder's states
    start the decoder (initial_state), sequences of any length."""
    encoder_inputs = keras.Input((None, 7), name="encoder_inputs")
    _, h, c = layers.LSTM(8, return_state=True, name="encoder")(encoder_inputs)
    decoder_inputs = keras.Input((None, 9), name="decoder_inputs")
    decoded, _, _ = layers.LSTM(8, return_sequences=True, return_state=True, name="decoder")(
        decoder_inputs, initial_state=[h, c])
    return keras.Model([encoder_inputs, decoder_inputs], layers.Dense(9, activation="softmax")(decoded))


def shared_embedding_gru_seq2seq() -> Any:
    """One masked Embedding for source and target; the encoder GRU's state starts the decoder."""
    source, target = keras.Input((None,), dtype="int32", name="source"), keras.Input((None,), dtype="int32",
                                                                                  name="target")
    embed = layers.Embedding(30, 8, mask_zero=True, name="shared_embedding")
    _, state = layers.GRU(6, return_state=True, name="encoder")(embed(source))
    decoded = layers.GRU(6, return_sequences=True, name="decoder")(embed(target), initial_state=state)
    return keras.Model([source, target], layers.Dense(30, name="logits")(decoded))


def recurrent_variants() -> Any:
    """GRU(reset_after=False), a backwards GRU with hard_sigmoid, SimpleRNN(relu), an LSTM with
    dropouts and unit_forget_bias=False; the initial state of another from a Dense."""
    seq, context = keras.Input((6, 4), name="seq"), keras.Input((3,), name="context")
    a = layers.GRU(5, reset_after=False, return_sequences=True)(seq)
    b = layers.GRU(5, go_backwards=True, return_sequences=True, recurrent_activation="hard_sigmoid")(seq)
    c = layers.SimpleRNN(5, return_sequences=True, activation="relu")(seq)
    d = layers.LSTM(5, return_sequences=True, dropout=0.1, recurrent_dropout=0.1, unit_forget_bias=False)(seq)
    e = layers.GRU(5, return_sequences=True)(seq, initial_state=layers.Dense(5, activation="tanh")(context))
    return keras.Model([seq, context], layers.Add()([a, b, c, d, e]))


def next_frame_conv_lstm() -> Any:
    """keras.io "Next-frame prediction with Conv-LSTM", smaller: ConvLSTM2D over frames of any
    count, then Conv3D."""
    frames = keras.Input((None, 8, 8, 1))
    x = layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(frames)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(4, (1, 1), padding="same", return_sequences=True, activation="relu")(x)
    return keras.Model(frames, layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(x))


def video_time_distributed() -> Any:
    """TimeDistributed Conv2D, pooling and Flatten per frame, then an LSTM; ConvLSTM1D and
    Conv1DTranspose on a second input."""
    clip, signal = keras.Input((4, 10, 10, 3), name="clip"), keras.Input((3, 10, 2), name="signal")
    x = layers.TimeDistributed(layers.Conv2D(4, 3, activation="relu"))(clip)
    x = layers.TimeDistributed(layers.MaxPooling2D())(x)
    x = layers.LSTM(6)(layers.TimeDistributed(layers.Flatten())(x))
    y = layers.Conv1DTranspose(2, 3, strides=2)(layers.ConvLSTM1D(3, 3)(signal))
    return keras.Model([clip, signal], [layers.Dense(2)(x), y])


def masking_tagger() -> Any:
    """Masking -> LSTM -> TimeDistributed(Dense): a padded-sequence tagger."""
    seq = keras.Input((5, 3))
    x = layers.LSTM(6, return_sequences=True)(layers.Masking(mask_value=0.0)(seq))
    return keras.Model(seq, layers.TimeDistributed(layers.Dense(2, activation="softmax"))(x))


def masks_through_merge_and_attention() -> Any:
    """Two masked Embeddings concatenated (Keras merges their masks), self-attention, then
    masked pooling and a GRU."""
    a, b = keras.Input((6,), dtype="int32", name="a"), keras.Input((6,), dtype="int32", name="b")
    x = layers.Concatenate()([layers.Embedding(20, 4, mask_zero=True)(a), layers.Embedding(20, 4, mask_zero=True)(b)])
    x = layers.Dense(5)(x)
    attended = layers.MultiHeadAttention(2, 3)(x, x)
    return keras.Model([a, b], [layers.GlobalAveragePooling1D()(attended), layers.GRU(3)(x)])


# ----------------------------------------------------------------------------- attention

def transformer_classifier_functional() -> Any:
    """keras.io "Text classification with Transformer", its TransformerBlock written with the
    functional API (layers and `x + y`), smaller."""
    tokens = keras.Input((10,), dtype="int32")
    x = layers.Embedding(50, 8)(tokens)
    attended = layers.Dropout(0.1)(layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attended]))
    ffn = layers.Dense(8)(layers.Dense(16, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(x + ffn)
    x = layers.Dropout(0.1)(layers.GlobalAveragePooling1D()(x))
    x = layers.Dense(8, activation="relu")(x)
    return keras.Model(tokens, layers.Dense(2, activation="softmax")(x))


def attention_variants() -> Any:
    """MultiHeadAttention with key and value other than the query (value_dim), causal
    self-attention, attention_axes over a grid with output_shape; Attention (concat scores,
    use_scale) and AdditiveAttention."""
    query, value, key = keras.Input((5, 8), name="query"), keras.Input((7, 6), name="value"), \
        keras.Input((7, 4), name="key")
    grid = keras.Input((4, 5, 8), name="grid")
    cross = layers.MultiHeadAttention(2, 4, value_dim=3, name="cross")(query, value, key=key)
    causal = layers.MultiHeadAttention(2, 4, name="causal")(query, query, use_causal_mask=True)
    axes = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2), output_shape=6, name="axes")(grid, grid)
    projected = layers.Dense(8)(value)
    dot = layers.Attention(use_scale=True, score_mode="concat")([query, projected])
    additive = layers.AdditiveAttention(use_scale=False)([query, projected, projected])
    return keras.Model([query, value, key, grid],
                       [cross, causal, axes, layers.Concatenate()([dot, additive])])


def einsum_and_layer_norm_axes() -> Any:
    """EinsumDense over the last axis of a 4-D tensor; LayerNormalization over two axes."""
    x = keras.Input((4, 6, 5))
    y = layers.EinsumDense("abcd,de->abce", output_shape=(4, 6, 3), bias_axes="e")(x)
    return keras.Model(x, [layers.LayerNormalization(axis=[2, 3])(y),
                           layers.LayerNormalization(axis=[-2, -1], center=False)(x)])


# ----------------------------------------------------------------------------- several inputs and outputs

def ticket_classifier_dicts() -> Any:
    """The functional API guide's ticket model, with dict inputs and outputs by name (the spec
    takes them in Keras's order: model.inputs, model.outputs)."""
    title, body, tags = keras.Input((6,), name="title"), keras.Input((4,), name="body"), keras.Input((3,), name="tags")
    x = layers.concatenate([layers.Dense(4)(title), layers.Dense(4)(body), tags])
    return keras.Model(inputs={"title": title, "body": body, "tags": tags},
                       outputs={"priority": layers.Dense(1, name="priority")(x),
                                "department": layers.Dense(3, name="department")(x)})


def outputs_intermediate_and_twice() -> Any:
    """A VAE-style encoder: an intermediate tensor as an output, and one tensor output twice."""
    image = keras.Input((8, 8, 1))
    x = layers.Conv2D(4, 3, activation="relu", strides=2, padding="same")(image)
    hidden = layers.Dense(8, activation="relu", name="hidden")(layers.Flatten()(x))
    z_mean = layers.Dense(2, name="z_mean")(hidden)
    return keras.Model(image, [z_mean, layers.Dense(2, name="z_log_var")(hidden), hidden, z_mean])


# ----------------------------------------------------------------------------- CNN odds

def conv_1d_odds() -> Any:
    """Causal dilated Conv1D, SeparableConv1D, grouped Conv1D, pooling, upsampling, tuple
    cropping and padding, GlobalMaxPooling1D(keepdims=True)."""
    seq = keras.Input((20, 3))
    x = layers.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="relu")(seq)
    x = layers.SeparableConv1D(6, 3, depth_multiplier=2)(x)
    x = layers.Conv1D(6, 3, groups=2, use_bias=False)(x)
    x = layers.UpSampling1D(2)(layers.MaxPooling1D(2)(x))
    x = layers.ZeroPadding1D((2, 1))(layers.Cropping1D((1, 2))(x))
    return keras.Model(seq, layers.GlobalMaxPooling1D(keepdims=True)(x))


def text_cnn() -> Any:
    """keras.io "Text classification from scratch": Embedding, Conv1D with strides, global max."""
    tokens = keras.Input((None,), dtype="int64")
    x = layers.Dropout(0.5)(layers.Embedding(30, 8)(tokens))
    x = layers.Conv1D(8, 3, padding="valid", activation="relu", strides=2)(x)
    x = layers.GlobalMaxPooling1D()(x)
    return keras.Model(tokens, layers.Dense(1, activation="sigmoid", name="predictions")(x))


def conv_3d_odds() -> Any:
    volume = keras.Input((6, 8, 8, 2))
    x = layers.Conv3D(4, 3, padding="same", strides=(1, 2, 2))(volume)
    x = layers.MaxPooling3D((1, 2, 2))(x)
    x = layers.Cropping3D(((1, 0), (0, 1), (0, 0)))(layers.ZeroPadding3D(((0, 1), (1, 0), (1, 1)))(x))
    return keras.Model(volume, layers.GlobalAveragePooling3D()(layers.Conv3DTranspose(2, 3, strides=2)(x)))


def conv_2d_odds() -> Any:
    """SeparableConv2D, DepthwiseConv2D with a multiplier, dilated grouped Conv2D,
    Conv2DTranspose with output_padding, tuple cropping and padding, bilinear UpSampling2D,
    SpatialDropout2D, GaussianNoise, BatchNormalization(axis=1), pooling variants."""
    image = keras.Input((16, 16, 3))
    x = layers.SeparableConv2D(8, 3, padding="same", depth_multiplier=2, activation="relu")(image)
    x = layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, use_bias=False)(x)
    x = layers.Conv2D(8, 3, dilation_rate=2, padding="same", groups=4)(x)
    x = layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, padding="same")(x)
    x = layers.ZeroPadding2D(((1, 0), (2, 1)))(layers.Cropping2D(((1, 2), (0, 1)))(x))
    x = layers.UpSampling2D(size=(2, 1), interpolation="bilinear")(x)
    x = layers.BatchNormalization(axis=1)(layers.GaussianNoise(0.1)(layers.SpatialDropout2D(0.2)(x)))
    pooled = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    return keras.Model(image, [layers.AveragePooling2D((2, 3), strides=(2, 1))(pooled),
                               layers.GlobalAveragePooling2D(keepdims=True)(x)])


def reshapes() -> Any:
    """Reshape with -1, Permute, Flatten in the middle, RepeatVector, Reshape to an image."""
    x = keras.Input((4, 6))
    y = layers.Dense(5)(layers.Flatten()(layers.Permute((2, 1))(layers.Reshape((-1, 3))(x))))
    y = layers.Reshape((3, 5, 1))(layers.RepeatVector(3)(y))
    return keras.Model(x, layers.Flatten()(layers.Conv2D(2, 2)(y)))


def residual_and_squeeze_excitation() -> Any:
    """Two residual blocks (layers.add), then squeeze-excitation by a broadcasting multiply."""
    image = keras.Input((8, 8, 3))
    x = layers.Conv2D(6, 3, padding="same", use_bias=False)(image)
    for _ in range(2):
        shortcut = x
        x = layers.Activation("relu")(layers.BatchNormalization()(layers.Conv2D(6, 3, padding="same")(x)))
        x = layers.add([layers.Conv2D(6, 3, padding="same")(x), shortcut])
    s = layers.Reshape((1, 1, 6))(layers.GlobalAveragePooling2D()(x))
    s = layers.Dense(6, activation="sigmoid")(layers.Dense(2, activation="relu")(s))
    return keras.Model(image, layers.multiply([x, s]))


def normalization_and_activations() -> Any:
    """An adapted Normalization (mean/variance as weights), activation layers (ReLU(max_value=6),
    LeakyReLU, PReLU, ELU, Softmax) and activations by name."""
    norm = layers.Normalization(axis=-1)
    norm.adapt(np.random.default_rng(0).normal(size=(20, 5)).astype("float32"))
    features = keras.Input((5,))
    x = layers.ReLU(max_value=6.0)(layers.Dense(4)(norm(features)))
    x = layers.ELU()(layers.PReLU()(layers.LeakyReLU(negative_slope=0.2)(x)))
    for activation in ("gelu", "swish", "selu", "softplus", "hard_sigmoid", "relu6", "mish", "hard_silu", "tanh"):
        x = layers.Dense(4, activation=activation)(x)
    return keras.Model(features, layers.Softmax()(layers.Activation("log_softmax")(x)))


def regularizers_and_initializers() -> Any:
    """kernel/bias regularizers, named and non-default initializers, use_bias=False, and the
    merge layers."""
    from keras import initializers, regularizers

    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    x = layers.Dense(6, kernel_regularizer=regularizers.l2(1e-4), bias_regularizer=regularizers.L1L2(l1=1e-5, l2=1e-4),
                     kernel_initializer="he_normal", bias_initializer=initializers.Constant(0.1))(a)
    x = layers.Dense(6, use_bias=False, kernel_initializer=initializers.RandomNormal(stddev=0.01))(x)
    merged = [layers.Maximum()([x, b]), layers.Minimum()([x, b]), layers.Average()([x, b]), layers.subtract([x, b])]
    return keras.Model([a, b], layers.Concatenate()(merged))


def group_unit_identity() -> Any:
    image = keras.Input((8, 8, 4))
    x = layers.UnitNormalization()(layers.GroupNormalization(groups=2)(image))
    return keras.Model(image, layers.ActivityRegularization(l1=0.01)(layers.Identity()(x)))


# ----------------------------------------------------------------------------- frozen layers, precision, operations

def frozen_layers() -> Any:
    """trainable=False on a Conv2D and a BatchNormalization: their weights count as non-trainable."""
    image = keras.Input((8, 8, 3))
    conv = layers.Conv2D(4, 3, name="frozen_conv")
    conv.trainable = False
    x = layers.BatchNormalization(trainable=False, name="frozen_bn")(conv(image))
    return keras.Model(image, layers.Dense(2)(layers.GlobalAveragePooling2D()(x)))


def transfer_learning_frozen_base() -> Any:
    """The transfer-learning guide: a frozen base model (base.trainable = False) called with
    training=False, a new head."""
    base = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3), layers.BatchNormalization(),
                             layers.ReLU()], name="base")
    base.trainable = False
    image = keras.Input((8, 8, 3))
    x = layers.GlobalAveragePooling2D()(base(image, training=False))
    return keras.Model(image, layers.Dense(2)(layers.Dropout(0.2)(x)))


def frozen_base_of_blocks() -> Any:
    """A frozen base whose stages repeat (conv, batch norm, ReLU): blocks frozen at their uses."""
    image = keras.Input((12, 12, 3))
    x = image
    for stage, filters in enumerate((4, 6, 8), 1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"stage{stage}_conv")(x)
        x = layers.BatchNormalization(name=f"stage{stage}_bn")(x)
        x = layers.ReLU(name=f"stage{stage}_relu")(x)
    base = keras.Model(image, x, name="base")
    base.trainable = False
    inputs = keras.Input((12, 12, 3))
    return keras.Model(inputs, layers.Dense(2, name="head")(layers.GlobalAveragePooling2D()(base(inputs))))


def mixed_float16() -> Any:
    """Saved under the mixed_float16 policy, its last activation in float32 (the mixed-precision guide)."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        features = keras.Input((6,))
        x = layers.Dense(2, name="logits")(layers.Dense(4, activation="relu", name="hidden")(features))
        return keras.Model(features, layers.Activation("softmax", dtype="float32")(x))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def tensor_operations() -> Any:
    """Raw operations Keras records as layers: x + 1, x * y, 2 * y - b, x / 4, -x,
    keras.ops.concatenate, transpose, reshape, x[:, -1] and activation operations."""
    a, b = keras.Input((5, 6), name="a"), keras.Input((5, 6), name="b")
    x = -(ops.relu(a + 1) * b) / 4.0
    x = ops.gelu(x, approximate=False) + ops.sigmoid(2.0 * x - b) * ops.tanh(x)
    x = ops.reshape(ops.transpose(ops.concatenate([x, a], axis=1), (0, 2, 1)), (-1, 10, 6))
    return keras.Model([a, b], [layers.Dense(2)(x[:, -1]), ops.softmax(x), ops.leaky_relu(x[:, 0, :])])


ROUND_TRIPS: dict[str, Callable[[], Any]] = {f.__name__: f for f in (
    sequential_built_later, sequential_input_shape, mnist_convnet, sequentials_inside_functional, siamese_contrastive,
    siamese_triplet, shared_lstm_two_lengths, masked_lstm_classifier, bidirectional_lstm_imdb,
    bidirectional_merge_modes_and_states, char_seq2seq, shared_embedding_gru_seq2seq, recurrent_variants,
    next_frame_conv_lstm, video_time_distributed, masking_tagger, masks_through_merge_and_attention,
    transformer_classifier_functional, attention_variants, einsum_and_layer_norm_axes, ticket_classifier_dicts,
    outputs_intermediate_and_twice, conv_1d_odds, text_cnn, conv_3d_odds, conv_2d_odds, reshapes,
    residual_and_squeeze_excitation, normalization_and_activations, regularizers_and_initializers,
    group_unit_identity, frozen_layers, transfer_learning_frozen_base, frozen_base_of_blocks, mixed_float16,
    tensor_operations)}
# mixed_float16 computes in float16; the spec is built in float32: equal to float16's rounding
TOLERANCE = {"mixed_float16": {"rtol": 2e-3, "atol": 2e-3}}
TEXTS: dict[str, str] = {}  # the specs written, for the tests of their text


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_hand_written_model_round_trips_through_the_cli(name: str, tmp_path: Path) -> None:
    model = ROUND_TRIPS[name]()
    source, spec = tmp_path / f"{name}.keras", tmp_path / f"{name}.yaml"
    model.save(source)
    imported = run("import", str(source), "-o", str(spec))
    assert imported.exit_code == 0, imported.output
    summary = run("summary", str(spec))
    assert summary.exit_code == 0, summary.output
    assert f"Total params: {model.count_params():,}" in summary.output
    TEXTS[name] = spec.read_text()
    compiled = compile_text(TEXTS[name], str(spec))
    check_summary(model, compiled)
    check_outputs(model, compiled, **TOLERANCE.get(name, {}))
    keras.backend.clear_session()


def text_of(name: str, tmp_path: Path) -> str:
    if name not in TEXTS:  # the round trip did not run (-k)
        source = tmp_path / f"{name}.keras"
        ROUND_TRIPS[name]().save(source)
        TEXTS[name] = run("import", str(source)).stdout
    return TEXTS[name]


def test_frozen_layers_are_written_trainable_false(tmp_path: Path) -> None:
    text = text_of("frozen_layers", tmp_path)
    assert "    name: frozen_conv\n    trainable: false\n" in text
    assert "    name: frozen_bn\n    trainable: false\n" in text
    assert text.count("trainable: false") == 2
    base = text_of("transfer_learning_frozen_base", tmp_path)  # a ReLU has no weights to freeze
    assert base.count("trainable: false") == 2  # the conv and the batch norm
    blocks = text_of("frozen_base_of_blocks", tmp_path)  # frozen at the block's uses, not in its members
    assert "  - Stage: {filters: 6}\n    name: stage2\n    trainable: false\n" in blocks
    assert blocks.count("trainable: false") == 3


def test_masks_and_operations_become_no_entries_or_layers(tmp_path: Path) -> None:
    masked = text_of("masks_through_merge_and_attention", tmp_path)
    assert "mask_zero: true" in masked and "not_equal" not in masked and "logical_or" not in masked
    ops_text = text_of("tensor_operations", tmp_path)
    for written in ("- Rescaling: {scale: 1.0, offset: 1.0}\n", "- Rescaling: {scale: -1.0}\n",
                    "- Rescaling: {scale: 0.25}\n", "- Activation: {activation: gelu}\n",
                    "- Concatenate: {axis: 1}\n", "- Permute: {dims: [2, 1]}\n", "- Reshape: {target_shape: [10, 6]}\n",
                    "- SelectToken: {index: -1}\n", "- SelectToken: {}\n", "- Activation: {activation: leaky_relu}\n"):
        assert written in ops_text, written


def test_dict_inputs_and_outputs_take_keras_order(tmp_path: Path) -> None:
    text = text_of("ticket_classifier_dicts", tmp_path)
    assert "inputs:\n  body: [4]\n  tags: [3]\n  title: [6]\n" in text and "outputs: [department, priority]\n" in text


def test_mixed_precision_is_said_in_the_comment(tmp_path: Path) -> None:
    assert "# Computed under the Keras dtype policy mixed_float16 (hidden, logits): archspec builds float32" in \
        text_of("mixed_float16", tmp_path)


# ----------------------------------------------------------------------------- what archspec refuses, by name

class TokenAndPositionEmbedding(layers.Layer):
    """keras.io "Text classification with Transformer"'s subclassed embedding."""

    def __init__(self, maxlen: int, vocab_size: int, embed_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token_emb = layers.Embedding(vocab_size, embed_dim)
        self.pos_emb = layers.Embedding(maxlen, embed_dim)

    def call(self, x: Any) -> Any:
        return self.token_emb(x) + self.pos_emb(ops.arange(0, ops.shape(x)[-1], 1))


def subclassed_layer() -> Any:
    tokens = keras.Input((10,), dtype="int32")
    x = TokenAndPositionEmbedding(10, 50, 8, name="embedding")(tokens)
    return keras.Model(tokens, layers.Dense(2)(layers.GlobalAveragePooling1D()(x)))


def lambda_layer() -> Any:
    x = keras.Input((6,))
    return keras.Model(x, layers.Lambda(lambda t: t * 2, name="double")(x))


def unknown_operation() -> Any:
    x = keras.Input((6,))
    return keras.Model(x, ops.mean(x, axis=-1, keepdims=True))


def approximate_gelu_operation() -> Any:
    x = keras.Input((6,))
    return keras.Model(x, ops.gelu(x))


def hand_made_mask() -> Any:
    tokens = keras.Input((6,), dtype="int32")
    x = layers.Embedding(20, 4)(tokens)
    return keras.Model(tokens, layers.LSTM(3, name="lstm")(x, mask=ops.not_equal(tokens, 0)))


def weight_constraint() -> Any:
    x = keras.Input((6,))
    return keras.Model(x, layers.Dense(2, kernel_constraint=keras.constraints.MaxNorm(3), name="capped")(x))


def unused_input() -> Any:
    used, unused = keras.Input((6,), name="used"), keras.Input((3,), name="spare")
    return keras.Model([used, unused], layers.Dense(2)(used))


REFUSALS = {
    subclassed_layer: "TokenAndPositionEmbedding 'embedding' (from test_import_handwritten): archspec has no "
                      "layer kind for the Keras class TokenAndPositionEmbedding",
    lambda_layer: "Lambda 'double' holds Python code, which archspec never runs",
    unknown_operation: "the operation Mean 'mean' (keras.src.ops.numpy) is applied to tensors directly, in a form "
                       "archspec cannot write",
    approximate_gelu_operation: "the operation Gelu 'gelu' (keras.src.ops.nn) is applied to tensors directly",
    hand_made_mask: "the mask= passed to LSTM 'lstm' compares a tensor by not_equal",
    weight_constraint: "Dense 'capped': Keras argument kernel_constraint=MaxNorm(max_value=3, axis=0) has no archspec "
                       "equivalent (archspec has no weight constraints",
    unused_input: "the model input 'spare' is used by no layer",
}


@pytest.mark.parametrize("factory", list(REFUSALS), ids=lambda f: f.__name__)
def test_what_archspec_cannot_write_is_refused_by_name(factory: Callable[[], Any], tmp_path: Path) -> None:
    source = tmp_path / "model.keras"
    factory().save(source)
    result = run("import", str(source), "-o", str(tmp_path / "spec.yaml"))
    assert result.exit_code == 2, result.output
    assert REFUSALS[factory] in result.output
    assert "Traceback" not in result.output and not (tmp_path / "spec.yaml").exists()
    keras.backend.clear_session()


def test_a_long_chain_of_mask_operations_is_followed_without_recursion(tmp_path: Path) -> None:
    """A crafted config: 1,500 mask operations between an Embedding(mask_zero=True) and the LSTM
    that takes the mask (a real model makes one per merge): dropped, no RecursionError."""
    import json
    import zipfile

    def tensor(name: str) -> dict:
        return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, 0]}}

    def layer(cls: str, name: str, module: str, config: dict, args: list, kwargs: dict | None = None) -> dict:
        return {"module": module, "class_name": cls, "name": name, "config": {"name": name, **config},
                "inbound_nodes": [{"args": args, "kwargs": kwargs or {}}]}

    chain = [layer("NotEqual", "m0", "keras.src.ops.numpy", {}, [tensor("tokens"), 0])]
    chain += [layer("LogicalAnd", f"m{i}", "keras.src.ops.numpy", {}, [tensor(f"m{i - 1}"), tensor("m0")])
              for i in range(1, 1500)]
    model = {"module": "keras", "class_name": "Functional", "config": {"name": "long", "layers": [
        {"class_name": "InputLayer", "name": "tokens", "config": {"batch_shape": [None, 5]}, "inbound_nodes": []},
        layer("Embedding", "embed", "keras.layers", {"input_dim": 10, "output_dim": 3, "mask_zero": True},
              [tensor("tokens")]), *chain,
        layer("LSTM", "lstm", "keras.layers", {"units": 2}, [tensor("embed")], {"mask": tensor("m1499")})],
        "input_layers": ["tokens", 0, 0], "output_layers": ["lstm", 0, 0]}}
    path = tmp_path / "long.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(model))
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert "- LSTM: {units: 2}\n" in result.output and "m1499" not in result.output
