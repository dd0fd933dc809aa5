"""The modern-CNN kinds beyond the shared Keras harness (tests/test_layers_keras.py):
every Keras activation name, archspec's layers against the keras.applications layers they
stand for (same weights, same outputs), and the refusals that keep a spec from a wrong shape."""
from __future__ import annotations

import numpy as np
import pytest

from archspec.api import compile_text
from archspec.errors import SpecErrors
from archspec.layers.args import ACTIVATIONS, SHAPE_CHANGING_ACTIVATIONS
from layer_samples import spec_for

NOT_BY_NAME = {"threshold"}  # keras.activations.threshold has two required arguments


def _spec(layers: str, shape: str = "[6, 5, 8]") -> str:
    return f"archspec: 1\nname: t\ninput: {shape}\nlayers:\n{layers}"


def test_every_keras_activation_name_is_accepted() -> None:
    from keras.src.activations import ALL_OBJECTS_DICT

    assert set(ACTIVATIONS) | set(SHAPE_CHANGING_ACTIVATIONS) == set(ALL_OBJECTS_DICT) - NOT_BY_NAME
    assert len(ACTIVATIONS) == len(set(ACTIVATIONS))
    for name in ACTIVATIONS:  # wherever `activation:` is, and as an Activation layer
        analysis = compile_text(_spec(f"  - Dense: {{units: 3, activation: {name}}}\n"
                                      f"  - Activation: {{activation: {name}}}\n")).analysis
        assert analysis.output_shapes()[0] == (6, 5, 3)
    assert compile_text(_spec("  - Activation: {activation: glu}\n")).analysis.output_shapes()[0] == (6, 5, 4)


def test_the_names_left_out_still_cannot_be_called_by_name() -> None:
    import keras

    x = np.ones((1, 4), "float32")
    for name in NOT_BY_NAME:
        with pytest.raises(TypeError):
            keras.activations.get(name)(x)
    # why glu is an Activation layer only: Keras's Dense reports the unhalved shape
    dense = keras.layers.Dense(4, activation="glu")
    assert dense.compute_output_shape((None, 3)) == (None, 4)
    assert tuple(dense(x[:, :3]).shape) == (1, 2)


@pytest.mark.parametrize("layers, words", [
    ("  - Dense: {units: 4, activation: glu}\n", "glu only as an Activation layer"),
    ("  - Activation: {activation: threshold}\n", "threshold needs arguments"),
    ("  - Conv2D: {filters: 3, kernel_size: 1}\n  - Activation: {activation: glu}\n", "3 positions (odd)"),
    ("  - GLU: {axis: 0}\n", "0 is the batch axis"),
    ("  - Normalization: {mean: 1.0}\n", "give variance too"),
    ("  - Normalization: {mean: [1.0, 2.0], variance: [1.0]}\n", "as many variances as means"),
    ("  - Normalization: {mean: [1.0, 2.0], variance: [1.0, 1.0]}\n", "2 means for an axis of 8 positions"),
    ("  - Normalization: {axis: null, mean: [1.0], variance: [1.0]}\n", "axis is null"),
    ("  - Normalization: {axis: [-1, 3]}\n", "names one axis twice"),
    ("  - LayerScale: {init_values: 0.1, projection_dim: 4}\n", "projection_dim 4 differs from the input's 8"),
    ("  - LayerScale: {projection_dim: 8}\n", "init_values"),
    ("  - StochasticDepth: {drop_path_rate: 1.0}\n", "drop_path_rate"),
    ("  - RMSNormalization: {axis: [1, -1]}\n", "scales the last axes, in order"),
    ("  - RMSNormalization: {axis: 1}\n", "scales the last axes, in order"),
    ("  - Resizing: {height: 4, width: 4, crop_to_aspect_ratio: true, pad_to_aspect_ratio: true}\n", "choose one"),
    ("  - RandomHue: {factor: 0.1}\n", "works on 3 channels (RGB), but the input [6, 5, 8] has 8"),
    ("  - RepeatVector: {n: 2}\n", "expects a 1-D input"),
])
def test_refusals_name_the_rule(layers: str, words: str) -> None:
    with pytest.raises(SpecErrors) as caught:
        compile_text(_spec(layers), path="net.yaml")
    assert words in caught.value.format(all_errors=True)
    assert caught.value.format().startswith("net.yaml:")


def test_unknown_axis_sizes() -> None:
    analysis = compile_text(_spec("  - Activation: {activation: glu}\n  - GLU: {axis: 1}\n", "[null, 6, 8]")).analysis
    assert analysis.output_shapes()[0] == (None, 6, 4)
    with pytest.raises(SpecErrors, match="whose size is unknown"):
        compile_text(_spec("  - Normalization: {axis: 1}\n", "[null, 6, 8]"))


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _build(kind: str, ins: list, args: dict):
    from archspec.keras_backend.model_builder import build_model

    return build_model(compile_text(spec_for(kind, ins, args)).graph)


def test_layer_scale_takes_convnext_weights(rng) -> None:
    from keras.src.applications.convnext import LayerScale

    model = _build("LayerScale", [5, 5, 6], {"init_values": 1e-6})
    ours = model.get_layer("layer")
    theirs = LayerScale(1e-6, 6, name="layer")
    theirs.build((None, 5, 5, 6))
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights] == [(6,)]
    assert ours.weights[0].name == "gamma" and ours.trainable_weights == ours.weights
    gamma = rng.normal(size=(6,)).astype("float32")
    theirs.set_weights([gamma])
    ours.set_weights(theirs.get_weights())
    x = rng.normal(size=(2, 5, 5, 6)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.asarray(theirs(x)))


def test_stochastic_depth_is_convnexts(rng) -> None:
    from keras.src.applications.convnext import StochasticDepth

    model = _build("StochasticDepth", [4, 3], {"drop_path_rate": 0.5, "seed": 3})
    x = rng.normal(size=(64, 4, 3)).astype("float32") + 3.0
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)  # identity at inference
    np.testing.assert_array_equal(np.asarray(StochasticDepth(0.5)(x, training=False)), x)
    dropped = np.asarray(model.get_layer("layer")(x, training=True))
    per_sample = {tuple(np.unique(np.round(d / s, 5))) for d, s in zip(dropped, x)}
    assert per_sample == {(0.0,), (2.0,)}  # a sample is dropped whole or kept and scaled by 1/(1 - rate)


def test_custom_scale_layer_is_inception_resnets(rng) -> None:
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    model = _build("CustomScaleLayer", [[3, 3, 4], [3, 3, 4]], {"scale": 0.17})
    x, r = (rng.normal(size=(2, 3, 3, 4)).astype("float32") for _ in range(2))
    np.testing.assert_allclose(model.predict([x, r], verbose=0), np.asarray(CustomScaleLayer(0.17)([x, r])),
                               rtol=0, atol=0)


def test_glu_is_kerass_activation(rng) -> None:
    import keras

    model = _build("Activation", [3, 6], {"activation": "glu"})
    x = rng.normal(size=(2, 3, 6)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(keras.activations.glu(x)), atol=1e-7)


def test_normalization_counts_as_keras_applications(rng) -> None:
    """EfficientNet's Normalization is adapted (3 means, 3 variances, a count), ConvNeXt's has
    its mean and variance given: no weights."""
    efficientnet = compile_text(spec_for("Normalization", [224, 224, 3], {})).analysis
    assert (efficientnet.params.trainable, efficientnet.params.non_trainable) == (0, 7)
    mean, variance = [123.675, 116.28, 103.53], [3409.976, 3262.693, 3291.891]
    model = _build("Normalization", [4, 4, 3], {"mean": mean, "variance": variance})
    assert model.count_params() == 0
    x = rng.uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), (x - mean) / np.sqrt(variance), rtol=1e-5)


def test_archspec_layers_save_and_load(tmp_path, rng) -> None:
    import keras

    text = _spec("  - GLU\n  - LayerScale: {init_values: 0.5}\n  - StochasticDepth: {drop_path_rate: 0.2}\n"
                 "  - Identity: {}\n    name: shortcut\n  - Activation: {activation: mish}\n    inputs: shortcut\n"
                 "  - CustomScaleLayer: {scale: 0.2}\n    inputs: [shortcut, activation_1]\n", "[5, 8]")
    from archspec.keras_backend.model_builder import build_model

    model = build_model(compile_text(text).graph)
    path = tmp_path / "net.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
