"""The analysis against Keras itself: shapes (with unknown sizes), params, activation bytes,
the padding 'same' applies on each side, and receptive fields measured with gradients."""
from __future__ import annotations

import numpy as np
import pytest
from analysis_support import analysis_of, spec, text_analysis

from archspec.analysis.memory import memory
from archspec.analysis.receptive import receptive_fields
from archspec.api import compile_spec, parse_input_shape
from archspec.keras_backend.model_builder import build_model, keras_name, verify

keras = pytest.importorskip("keras")

UNKNOWN = """
archspec: 1
name: unknown_dims
input: {shape}
layers:
  - Conv2D: {{filters: 4, kernel_size: 3, strides: 2, padding: same}}
  - Conv2D: {{filters: 4, kernel_size: 3, dilation_rate: 2}}
    name: dilated
  - MaxPooling2D: {{pool_size: 3, strides: 2}}
  - ZeroPadding2D: {{padding: [[1, 2], [0, 1]]}}
  - Cropping2D: {{cropping: 1}}
  - Conv2DTranspose: {{filters: 4, kernel_size: 3, strides: 2}}
    name: up
  - UpSampling2D: {{size: 2}}
  - SeparableConv2D: {{filters: 6, kernel_size: 3, padding: same}}
    name: sep
  - Concatenate: {{}}
    inputs: [sep, sep]
  - Conv2D: {{filters: 2, kernel_size: 1}}
    name: head
  - Add: {{}}
    inputs: [head, head]
  - GlobalAveragePooling2D: {{}}
  - Dense: {{units: 3}}
"""


@pytest.mark.parametrize("shape", ["[null, null, 3]", "[40, null, 3]", "[null, 37, 3]", "[41, 37, 3]"])
def test_unknown_sizes_propagate_exactly_as_keras(shape):
    analysis = text_analysis(UNKNOWN.format(shape=shape))
    model = build_model(analysis.graph)
    assert verify(model, analysis) == []   # every layer's shape (None included) and params
    assert tuple(model.output.shape[1:]) == analysis.output_shapes()[0]


@pytest.mark.parametrize("name,override", [("resnet50", "?x?x3"), ("resnet50", "97x?x3"), ("inception", "?x50x3")])
def test_input_override_with_unknown_size_matches_keras(name, override):
    analysis = compile_spec(spec(name), input_shape=parse_input_shape(override)).analysis
    model = build_model(analysis.graph)
    assert verify(model, analysis) == []


def test_every_kind_in_kinds_spec_agrees_with_keras_layer_by_layer():
    analysis = analysis_of("kinds")
    model = build_model(analysis.graph)
    assert verify(model, analysis) == []
    mem = memory(analysis, batch=2, dtype="float16")
    for info in analysis.layers:
        shape = model.get_layer(keras_name(info.node.name)).output.shape[1:]
        assert mem.output_bytes[info.node.name] == int(np.prod(shape)) * 2 * 2


@pytest.mark.parametrize("size,kernel,stride,dilation", [(32, 3, 2, 1), (33, 3, 2, 1), (16, 4, 2, 1), (15, 5, 3, 1),
                                                         (17, 3, 1, 2), (10, 7, 4, 1)])
def test_same_padding_sides_are_what_keras_applies(size, kernel, stride, dilation):
    """Conv2D(padding='same') equals our explicit (before, after) zero padding + 'valid'."""
    from archspec.layers.arithmetic import same_pads

    before, after = same_pads(size, kernel, stride, dilation)
    x = np.random.default_rng(0).normal(size=(1, size, size, 2)).astype("float32")
    same = keras.layers.Conv2D(3, kernel, strides=stride, dilation_rate=dilation, padding="same")
    valid = keras.layers.Conv2D(3, kernel, strides=stride, dilation_rate=dilation, padding="valid")
    ys = same(x)
    valid.build((1, size + before + after, size + before + after, 2))
    valid.set_weights(same.get_weights())
    yv = valid(np.pad(x, ((0, 0), (before, after), (before, after), (0, 0))))
    np.testing.assert_allclose(np.asarray(ys), np.asarray(yv), rtol=1e-5, atol=1e-5)


GRADIENT = """
archspec: 1
name: rf_probe
input: [48, 48, 1]
layers:
  - Conv2D: {filters: 1, kernel_size: 3, padding: same, use_bias: false}
    name: a
  - AveragePooling2D: {pool_size: 2}
    name: b
  - Conv2D: {filters: 1, kernel_size: 3, dilation_rate: 2, padding: same, use_bias: false}
    name: c
  - Conv2D: {filters: 1, kernel_size: 3, strides: 2, padding: same, use_bias: false}
    name: d
  - Conv2D: {filters: 1, kernel_size: 1, use_bias: false}
    inputs: b
    name: skip
  - Conv2D: {filters: 1, kernel_size: 1, strides: 2, use_bias: false}
    name: skip_down
  - Add: {}
    inputs: [d, skip_down]
    name: e
  - ZeroPadding2D: {padding: [[2, 0], [1, 0]]}
    name: f
  - Conv2D: {filters: 1, kernel_size: [3, 5], use_bias: false}
    name: g
"""


def _measured(model, layer: str, position: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """First input position and extent of the gradient of one output position (all weights 1)."""
    import tensorflow as tf

    probe = keras.Model(model.input, model.get_layer(layer).output)
    x = tf.ones((1, 48, 48, 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = probe(x)[0, position[0], position[1], 0]
    grad = np.asarray(tape.gradient(y, x))[0, :, :, 0]
    rows, cols = np.nonzero(grad)
    return (int(rows.min()), int(cols.min())), (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))


@pytest.mark.parametrize("layer,position", [("a", (10, 10)), ("b", (5, 7)), ("c", (6, 6)), ("d", (3, 4)),
                                            ("e", (3, 3)), ("g", (5, 5))])
def test_receptive_field_matches_gradients(layer, position):
    """Inside the image, the gradient's support is the field: start -P + o*j, size RF."""
    analysis = text_analysis(GRADIENT)
    model = build_model(analysis.graph)
    for w in model.weights:
        w.assign(np.ones(w.shape, dtype="float32"))
    field = receptive_fields(analysis)[layer]
    start, extent = _measured(model, keras_name(layer), position)
    for axis in range(2):
        assert start[axis] == -field.padding[axis] + position[axis] * field.stride[axis]
        assert extent[axis] == field.size[axis]
