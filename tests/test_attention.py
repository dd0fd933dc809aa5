"""Attention kinds and ViT pieces beyond the shared samples (tests/samples_attention.py): the MAC
convention against a direct count of Keras's own einsums, the scores as a second output, the
receptive field of attention, errors at their line, EinsumDense's unknown sizes as Keras has them,
saving and loading the ViT layers, and vit-b16.yaml made small against a hand-written Keras ViT."""
from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from archspec.api import compile_spec, compile_text
from archspec.analysis.receptive import receptive_fields
from archspec.cli import main
from archspec.zoo import zoo_dir
from layer_samples import SAMPLES, spec_for

VIT = zoo_dir() / "vit-b16.yaml"


def einsum_macs(equation: str, *shapes: tuple) -> int:
    """Multiply-accumulates of one einsum, counted by hand: one per combination of every letter's
    positions; the first letter of the first operand is the batch axis, of size 1 here."""
    sizes: dict[str, int] = {}
    for spec, shape in zip(equation.split("->")[0].split(","), shapes):
        sizes.update({letter: int(n) for letter, n in zip(spec, shape)})
    return math.prod(sizes.values())


def analysed_macs(kind: str, ins: list, args: dict) -> int:
    return compile_text(spec_for(kind, ins, args)).analysis.layers[0].macs


def one_batch(shapes: list) -> list:
    return [np.random.default_rng(i).normal(size=(1, *s)).astype("float32") for i, s in enumerate(shapes)]


@pytest.mark.parametrize("ins, args", SAMPLES["MultiHeadAttention"])
def test_multi_head_macs_are_keras_einsums_counted_directly(ins: list, args: dict) -> None:
    import keras

    q, v, k = (ins + ins[-1:] * 2)[:3] if len(ins) > 1 else ins * 3
    layer = keras.layers.MultiHeadAttention(**{a: args[a] for a in args if a not in ("use_causal_mask",)})
    query, value, key = one_batch([q, v, k])
    layer(query, value, key)
    dense = [(layer.query_dense, query), (layer.key_dense, key), (layer.value_dense, value)]
    if args.get("use_gate"):
        dense.append((layer._gate_dense, query))
    projected = {name: sub(x) for name, (sub, x) in zip(("q", "k", "v"), dense)}
    scores = np.einsum(layer._dot_product_equation, projected["k"], projected["q"])
    combined = np.einsum(layer._combine_equation, scores, projected["v"])
    direct = sum(einsum_macs(sub.equation, x.shape, sub.kernel.shape) for sub, x in dense)
    direct += einsum_macs(layer.output_dense.equation, combined.shape, layer.output_dense.kernel.shape)
    direct += einsum_macs(layer._dot_product_equation, projected["k"].shape, projected["q"].shape)
    direct += einsum_macs(layer._combine_equation, scores.shape, projected["v"].shape)
    assert analysed_macs("MultiHeadAttention", ins, args) == direct


@pytest.mark.parametrize("kind", ["Attention", "AdditiveAttention"])
def test_luong_and_additive_macs_counted_directly(kind: str) -> None:
    for ins, args in SAMPLES[kind]:
        q, v, k = (ins + ins[-1:])[:3] if len(ins) > 1 else ins * 3
        *lead, tq, d = q
        tv, dv = v[-2], v[-1]
        pairs = math.prod(lead) * tq * tv
        weighted_scores = args.get("score_mode", "dot") == "dot" if kind == "Attention" else \
            args.get("use_scale", True)  # q.k products, or sum(scale * tanh(q + k)): d multiplies per pair
        assert analysed_macs(kind, ins, args) == pairs * d * weighted_scores + pairs * dv, (ins, args)


@pytest.mark.parametrize("ins, args", SAMPLES["EinsumDense"])
def test_einsum_dense_macs_counted_directly(ins: list, args: dict) -> None:
    import keras

    layer = keras.layers.EinsumDense(**args)
    x = one_batch([ins])[0]
    layer(x)
    equation = args["equation"]
    if "..." in equation:  # name the elided axes with spare letters, as einsum itself would
        spare = "".join(c for c in "zyxwvu" if c not in equation)
        n = len(ins) + 1 - len(equation.split(",")[0].replace("...", ""))
        equation = equation.replace("...", spare[:n])
    assert analysed_macs("EinsumDense", ins, args) == einsum_macs(equation, x.shape, layer.kernel.shape)


def test_einsum_dense_keeps_an_unknown_size_as_keras_reports_it() -> None:
    import keras

    args = {"equation": "abc,cd->abd", "output_shape": [None, 6], "bias_axes": "d"}
    info = compile_text(spec_for("EinsumDense", [5, 8], args)).analysis.layers[0]
    keras_out = keras.layers.EinsumDense(**args)(keras.Input((5, 8))).shape
    assert info.out_shape == tuple(keras_out[1:]) == (None, 6)
    assert info.params.total == 8 * 6 + 6 and info.macs is None  # MACs need the output's size


SCORES = """archspec: 1
name: scores
inputs: {{x: [6, 8], y: [{length}, 8]}}
layers:
  - {kind}: {{{args}return_attention_scores: true}}
    name: att
    inputs: [x, y]
  - Flatten: {{}}
    name: flat
    inputs: att:attention_scores
outputs: [att, flat]
"""


@pytest.mark.parametrize("kind, args, scores", [("MultiHeadAttention", "num_heads: 2, key_dim: 4, ", (2, 6, 6)),
                                                ("Attention", "", (6, 9)), ("AdditiveAttention", "", (6, 9))])
def test_scores_are_the_second_output(kind: str, args: str, scores: tuple) -> None:
    from archspec.keras_backend.model_builder import build_model, verify

    compiled = compile_text(SCORES.format(kind=kind, args=args, length=scores[-1]))
    assert compiled.analysis.output_shapes() == [(6, 8), (math.prod(scores),)]
    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == []
    out, flat = model.predict(one_batch([[6, 8], [scores[-1], 8]]), verbose=0)
    assert out.shape == (1, 6, 8) and flat.shape == (1, math.prod(scores))


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cross_attention_scores_are_refused_at_their_line(tmp_path) -> None:
    spec = tmp_path / "cross.yaml"
    spec.write_text(SCORES.format(kind="MultiHeadAttention", args="num_heads: 2, key_dim: 4, ", length=9))
    result = run("validate", str(spec))
    assert result.exit_code == 2
    assert f"{spec}:5:" in result.output and "return_attention_scores needs a query and key of one length" \
        in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("kind, args, words", [
    ("EinsumDense", {"equation": "abc,cd", "output_shape": 4}, "is not of a form EinsumDense takes"),
    ("EinsumDense", {"equation": "abc,cd->abd", "output_shape": [5, 6], "bias_axes": "x"}, "bias axis 'x'"),
    ("EinsumDense", {"equation": "abc,cd->abd", "output_shape": [None, None]}, "kernel's axis 'd'"),
    ("EinsumDense", {"equation": "abcd,de->abce", "output_shape": [5, 8, 6]}, "names 4 axes"),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 4, "attention_axes": [2]}, "attention_axes [2] must name"),
    ("SelectToken", {"index": 6}, "index 6 is outside the 6 tokens"),
])
def test_bad_arguments_are_errors_at_their_line(tmp_path, kind: str, args: dict, words: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(spec_for(kind, [6, 8] if kind != "EinsumDense" else [5, 8], args))
    result = run("validate", str(spec))
    assert result.exit_code == 2 and words in result.output and f"{spec}:" in result.output, result.output


CROSS = """archspec: 1
name: cross
inputs: {query: [16, 8], context: [20, 8]}
layers:
  - Conv1D: {filters: 8, kernel_size: 5}
    name: context_conv
    inputs: context
  - MultiHeadAttention: {num_heads: 2, key_dim: 4}
    name: att
    inputs: [query, context_conv]
"""


def test_attention_sees_every_position_of_every_input() -> None:
    analysis = compile_text(CROSS).analysis
    fields = receptive_fields(analysis)
    # the value's positions each see 5 inputs, 16 of them together 5 + 15 = 20; the query's 16
    assert fields["att"].whole and fields["att"].size == (20,)


def test_vit_pieces_save_and_load_in_safe_mode(tmp_path) -> None:
    import keras

    import archspec  # noqa: F401  (registers archspec's layers with Keras)
    from archspec.keras_backend.model_builder import build_model

    text = ("archspec: 1\nname: pieces\ninput: [4, 6]\nlayers:\n  - ClassToken: {}\n  - PositionEmbedding: {}\n"
            "    name: table\n  - SelectToken: {index: -1}\n")
    model = build_model(compile_text(text).graph)
    model.set_weights([np.random.default_rng(3).normal(size=w.shape) for w in model.get_weights()])
    model.save(tmp_path / "pieces.keras")
    loaded = keras.saving.load_model(tmp_path / "pieces.keras", safe_mode=True)
    x = one_batch([[4, 6]])[0]
    assert np.array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    # the last token is the last input token plus its position vector
    table = model.get_layer("table").get_weights()[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), x[:, -1] + table[:, -1], rtol=1e-6)


SMALL = ["vars.image=32", "vars.patch=8", "vars.width=16", "vars.depth=2", "vars.heads=2", "vars.mlp=24",
         "vars.classes=5"]


def hand_written_vit(image: int, patch: int, width: int, depth: int, heads: int, mlp: int, classes: int):
    """ViT as the paper's equations 1-4 read, written with Keras layers and ops directly."""
    import keras

    from archspec.keras_backend.transformer_layers import ClassToken, PositionEmbedding

    x = inputs = keras.Input((image, image, 3))
    x = keras.layers.Conv2D(width, patch, strides=patch)(x)
    x = keras.layers.Reshape((-1, width))(x)
    x = PositionEmbedding()(ClassToken()(x))
    for _ in range(depth):
        y = keras.layers.LayerNormalization(epsilon=1e-6)(x)
        x = keras.layers.Add()([x, keras.layers.MultiHeadAttention(heads, width // heads)(y, y)])
        y = keras.layers.LayerNormalization(epsilon=1e-6)(x)
        y = keras.layers.Dense(width)(keras.layers.Dense(mlp, activation="gelu")(y))
        x = keras.layers.Add()([x, y])
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x[:, 0]))


def test_vit_spec_made_small_equals_a_hand_written_vit() -> None:
    from archspec.keras_backend.model_builder import build_model

    compiled = compile_spec(VIT, SMALL)
    ours, theirs = build_model(compiled.graph), hand_written_vit(32, 8, 16, 2, 2, 24, 5)
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    assert compiled.analysis.params.total == theirs.count_params()
    theirs.set_weights([np.random.default_rng(i).normal(size=w.shape) * 0.2
                        for i, w in enumerate(theirs.get_weights())])
    ours.set_weights(theirs.get_weights())
    x = one_batch([[32, 32, 3]])[0]
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_vit_b16_macs_and_fields() -> None:
    """torchvision's vit_b_16 page lists 17.56 GFLOPS, its count of multiply-accumulates: the
    projections and patch embedding as dense layers plus QK^T and AV, as ours."""
    analysis = compile_spec(VIT).analysis
    assert analysis.params.total == 86_567_656
    assert round(analysis.macs / 1e9, 2) == 17.56
    heads_products = 12 * (12 * 197 * 197 * 64 * 2)  # layers * (heads * Tq * Tk * (key_dim + value_dim))
    dense = 196 * 16 * 16 * 3 * 768 + 12 * 197 * (4 * 768 * 768 + 2 * 768 * 3072) + 768 * 1000
    assert analysis.macs == heads_products + dense
    # a patch sees 16x16 pixels, a token after the first attention the whole image, and no more after twelve
    fields = receptive_fields(analysis)
    assert fields["patch_embedding"].size == (16, 16) and fields["encoder_1/attention"].whole
    assert fields["head"].whole and fields["head"].size[0] == 224
