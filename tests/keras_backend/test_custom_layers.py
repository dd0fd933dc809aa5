"""Numerical proofs for archspec's own Keras layers (archspec/keras_backend/custom_layers.py).

Every layer is checked against a direct NumPy computation written with plain loops, against
the Keras layer it generalises where there is one, for its shape and parameter formulas, and
for a save/load round trip in a fresh interpreter.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from archspec.keras_backend.custom_layers import (  # noqa: E402  (after the importorskip)
    LocallyConnected1D,
    LocallyConnected2D,
    LPPooling1D,
    LPPooling2D,
    LPPooling3D,
    MinPooling1D,
    MinPooling2D,
    MinPooling3D,
    SpatialPadding,
    TiledConv2D,
)

ATOL = 1e-5
RNG = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    """Random float32 numbers in [-1, 1)."""
    return RNG.uniform(-1.0, 1.0, size=shape).astype("float32")


def run(layer: keras.layers.Layer, x: np.ndarray) -> np.ndarray:
    """Call ``layer`` eagerly on ``x`` and return a NumPy array."""
    return keras.ops.convert_to_numpy(layer(x))


def tf_same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis: the odd pixel goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def np_windows(x: np.ndarray, window: tuple[int, ...], strides: tuple[int, ...], padding: str, fill: float):
    """Return the output's spatial shape and ``(output index, window (B, *window, C))`` pairs.

    The windows are cut from a copy of ``x`` padded with ``fill`` as TensorFlow pads 'same'.
    """
    pads = [(0, 0)] * x.ndim
    if padding == "same":
        for axis, (k, s) in enumerate(zip(window, strides), start=1):
            pads[axis] = tf_same_pads(x.shape[axis], k, s)
    padded = np.pad(x.astype("float64"), pads, constant_values=fill)
    out = tuple((padded.shape[a + 1] - k) // s + 1 for a, (k, s) in enumerate(zip(window, strides)))
    windows = []
    for index in np.ndindex(*out):
        region = tuple(slice(i * s, i * s + k) for i, k, s in zip(index, window, strides))
        windows.append((index, padded[(slice(None), *region, slice(None))]))
    return out, windows


def np_assemble(out: tuple[int, ...], values: dict, batch: int, channels: int) -> np.ndarray:
    """Put per-position (B, C) results into an array (B, *out, C)."""
    result = np.zeros((batch, *out, channels))
    for index, value in values.items():
        result[(slice(None), *index)] = value
    return result


def np_pool(x: np.ndarray, window, strides, padding: str, reduce: Callable, fill: float) -> np.ndarray:
    """Generic pooling by loops; ``reduce`` maps (B, *window, C) to (B, C)."""
    out, windows = np_windows(x, window, strides, padding, fill)
    return np_assemble(out, {index: reduce(w) for index, w in windows}, x.shape[0], x.shape[-1])


def np_locally_connected(x, kernel, bias, window, strides) -> np.ndarray:
    """Unshared convolution by loops over output positions (Keras 2 weight layout)."""
    out, windows = np_windows(x, window, strides, "valid", 0.0)
    values = {index: w.reshape(x.shape[0], -1) @ kernel[p] for p, (index, w) in enumerate(windows)}
    result = np_assemble(out, values, x.shape[0], kernel.shape[-1])
    return result if bias is None else result + bias


def np_tiled(x, kernel, bias, strides, padding) -> np.ndarray:
    """Tiled convolution by loops: position (i, j) uses kernel and bias [i % t_h, j % t_w]."""
    t_h, t_w, k_h, k_w = kernel.shape[:4]
    out, windows = np_windows(x, (k_h, k_w), strides, padding, 0.0)
    result = np.zeros((x.shape[0], *out, kernel.shape[-1]))
    for (i, j), w in windows:
        result[:, i, j] = np.einsum("bhwc,hwcf->bf", w, kernel[i % t_h, j % t_w])
        if bias is not None:
            result[:, i, j] += bias[i % t_h, j % t_w]
    return result


def with_random_weights(layer: keras.layers.Layer, x: np.ndarray) -> list[np.ndarray]:
    """Build ``layer`` on ``x`` and give it random weights (the bias too, so it is tested)."""
    layer.build(x.shape)
    weights = [rand(*w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


# --- LocallyConnected ---------------------------------------------------------------------

LC_CASES = [  # (class, input shape without batch, kernel_size, strides, use_bias, activation)
    (LocallyConnected1D, (10, 3), 3, 1, True, None),
    (LocallyConnected1D, (11, 2), 4, 3, False, None),
    (LocallyConnected2D, (7, 6, 3), 3, 1, True, None),
    (LocallyConnected2D, (8, 7, 2), (2, 3), (2, 1), True, "relu"),
    (LocallyConnected2D, (9, 9, 1), 3, 3, False, None),
]


@pytest.mark.parametrize("cls, shape, kernel_size, strides, use_bias, activation", LC_CASES)
def test_locally_connected_matches_numpy(cls, shape, kernel_size, strides, use_bias, activation) -> None:
    """Each output position applies its own kernel row block and bias."""
    layer = cls(4, kernel_size, strides=strides, use_bias=use_bias, activation=activation)
    x = rand(2, *shape)
    weights = with_random_weights(layer, x)
    bias = weights[1] if use_bias else None
    expected = np_locally_connected(x, weights[0], bias, layer.kernel_size, layer.strides)
    if activation == "relu":
        expected = np.maximum(expected, 0)
    np.testing.assert_allclose(run(layer, x), expected, atol=ATOL)


@pytest.mark.parametrize(
    "cls, conv_cls, shape, kernel_size, strides",
    [
        (LocallyConnected1D, keras.layers.Conv1D, (12, 3), 3, 2),
        (LocallyConnected2D, keras.layers.Conv2D, (8, 9, 3), (3, 2), 1),
        (LocallyConnected2D, keras.layers.Conv2D, (9, 8, 2), 3, (2, 3)),
    ],
)
def test_locally_connected_with_one_shared_kernel_equals_conv(
    cls, conv_cls, shape, kernel_size, strides
) -> None:
    """Copying one kernel and bias to every position gives an ordinary convolution."""
    x = rand(2, *shape)
    conv = conv_cls(5, kernel_size, strides=strides)
    conv.build(x.shape)
    kernel, bias = rand(*conv.kernel.shape), rand(5)
    conv.set_weights([kernel, bias])
    layer = cls(5, kernel_size, strides=strides)
    layer.build(x.shape)
    positions = layer.kernel.shape[0]
    shared = np.broadcast_to(kernel.reshape(1, -1, 5), layer.kernel.shape)
    layer.set_weights([shared, np.broadcast_to(bias, layer.bias.shape)])
    assert positions > 1
    np.testing.assert_allclose(run(layer, x), run(conv, x), atol=ATOL)


def test_locally_connected_rejects_dynamic_sizes_and_same_padding() -> None:
    """One kernel per position needs static sizes; other paddings belong to the compiler."""
    with pytest.raises(ValueError, match="static spatial dims"):
        LocallyConnected2D(2, 3)(keras.Input((None, 8, 3)))
    with pytest.raises(ValueError, match="padding"):
        LocallyConnected2D(2, 3, padding="same")


# --- TiledConv2D --------------------------------------------------------------------------

TILED_CASES = [  # (input shape, kernel_size, tiles, strides, padding, use_bias)
    ((7, 8, 3), 3, 2, 1, "valid", True),
    ((9, 7, 2), (2, 3), (2, 3), 2, "same", True),
    ((8, 8, 1), 3, (3, 1), (2, 1), "same", False),
    ((6, 10, 2), (3, 2), (1, 2), (1, 3), "valid", True),
]


@pytest.mark.parametrize("shape, kernel_size, tiles, strides, padding, use_bias", TILED_CASES)
def test_tiled_conv_matches_numpy(shape, kernel_size, tiles, strides, padding, use_bias) -> None:
    """Output position (i, j) uses kernel and bias [i mod t_h, j mod t_w]."""
    layer = TiledConv2D(4, kernel_size, tiles=tiles, strides=strides, padding=padding, use_bias=use_bias)
    x = rand(2, *shape)
    weights = with_random_weights(layer, x)
    expected = np_tiled(x, weights[0], weights[1] if use_bias else None, layer.strides, padding)
    np.testing.assert_allclose(run(layer, x), expected, atol=ATOL)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2])
def test_tiled_conv_with_one_tile_equals_conv2d(padding: str, strides: int) -> None:
    """tiles: 1 is Conv2D with the same kernel and bias."""
    x = rand(2, 9, 8, 3)
    conv = keras.layers.Conv2D(5, 3, strides=strides, padding=padding)
    conv.build(x.shape)
    kernel, bias = rand(3, 3, 3, 5), rand(5)
    conv.set_weights([kernel, bias])
    layer = TiledConv2D(5, 3, tiles=1, strides=strides, padding=padding)
    layer.build(x.shape)
    layer.set_weights([kernel[None, None], bias[None, None]])
    np.testing.assert_allclose(run(layer, x), run(conv, x), atol=ATOL)


# --- MinPooling and LPPooling -------------------------------------------------------------

POOL_CASES = [  # (rank, input shape, pool_size, strides, padding)
    (1, (10, 3), 3, None, "valid"),
    (1, (11, 2), 3, 2, "same"),
    (2, (7, 8, 3), 2, None, "valid"),
    (2, (7, 9, 2), 3, (1, 2), "same"),
    (2, (8, 7, 2), (2, 3), (3, 2), "same"),
    (3, (5, 6, 4, 2), 2, None, "valid"),
    (3, (5, 7, 4, 2), (3, 2, 2), (2, 1, 3), "same"),
]
MIN_CLASSES = {1: MinPooling1D, 2: MinPooling2D, 3: MinPooling3D}
LP_CLASSES = {1: LPPooling1D, 2: LPPooling2D, 3: LPPooling3D}
MAX_CLASSES = {1: keras.layers.MaxPooling1D, 2: keras.layers.MaxPooling2D, 3: keras.layers.MaxPooling3D}


@pytest.mark.parametrize("rank, shape, pool_size, strides, padding", POOL_CASES)
def test_min_pooling_matches_numpy_and_negated_max_pooling(
    rank, shape, pool_size, strides, padding
) -> None:
    """Window minimum (padding ignored), identical to -MaxPooling(-x)."""
    x = rand(2, *shape)
    layer = MIN_CLASSES[rank](pool_size, strides=strides, padding=padding)
    axes = tuple(range(1, rank + 1))
    expected = np_pool(x, layer.pool_size, layer.strides, padding, lambda w: np.nanmin(w, axis=axes), np.nan)
    np.testing.assert_allclose(run(layer, x), expected, atol=ATOL)
    max_pool = MAX_CLASSES[rank](pool_size, strides=strides, padding=padding)
    np.testing.assert_allclose(run(layer, x), -run(max_pool, -x), atol=ATOL)


@pytest.mark.parametrize("p", [1, 2, 3.5])
@pytest.mark.parametrize("rank, shape, pool_size, strides, padding", POOL_CASES)
def test_lp_pooling_matches_numpy(p, rank, shape, pool_size, strides, padding) -> None:
    """(sum of |x|^p over the window)^(1/p), padded positions adding 0."""
    x = rand(2, *shape)
    layer = LP_CLASSES[rank](p, pool_size, strides=strides, padding=padding)
    axes = tuple(range(1, rank + 1))
    def norm(w: np.ndarray) -> np.ndarray:
        return (np.abs(w) ** p).sum(axis=axes) ** (1 / p)

    expected = np_pool(x, layer.pool_size, layer.strides, padding, norm, 0.0)
    np.testing.assert_allclose(run(layer, x), expected, atol=ATOL)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_lp_pooling_with_p1_on_nonnegative_input_is_sum_pooling(padding: str) -> None:
    """p = 1 on x >= 0 is sum pooling: a depthwise convolution with a ones kernel."""
    x = np.abs(rand(2, 9, 7, 3))
    sum_pool = keras.layers.DepthwiseConv2D(3, strides=2, padding=padding, use_bias=False)
    sum_pool.build(x.shape)
    sum_pool.set_weights([np.ones((3, 3, 3, 1), "float32")])
    lp_pool = LPPooling2D(1, 3, strides=2, padding=padding)
    np.testing.assert_allclose(run(lp_pool, x), run(sum_pool, x), atol=ATOL)


def test_l2_pooling_by_hand() -> None:
    """Four 2x2 windows whose L2 norms are 5, 5, 0 and 2."""
    x = np.array([[1, 2, 3, 0], [2, 4, 0, -4], [0, 0, 1, -1], [0, 0, 1, 1]], "float32")
    result = run(LPPooling2D(2, 2), x[None, :, :, None])
    np.testing.assert_allclose(result[0, :, :, 0], [[5, 5], [0, 2]], atol=ATOL)


def test_l2_pooling_gradient_is_finite_on_zero_windows() -> None:
    """An all-zero window (common after ReLU) must not make the gradient NaN."""
    layer, x = LPPooling2D(2, 2), np.zeros((1, 4, 4, 1), "float32")
    x[0, 0, 0, 0] = 1.0  # one nonzero window, three all-zero ones
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(x)
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(layer(variable))
        gradient = tape.gradient(total, variable).numpy()
    elif keras.backend.backend() == "jax":
        import jax

        gradient = np.asarray(jax.grad(lambda v: layer(v).sum())(x))
    else:
        pytest.skip("gradient check written for the tensorflow and jax backends")
    assert np.all(np.isfinite(gradient))
    assert gradient[0, 0, 0, 0] == pytest.approx(1.0)  # d|x|/dx for the lone nonzero element


def test_lp_pooling_rejects_p_below_one() -> None:
    """p < 1 is not a norm."""
    with pytest.raises(ValueError, match="`p` must be a number >= 1"):
        LPPooling2D(0.5)


# --- SpatialPadding -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["reflect", "symmetric"])
@pytest.mark.parametrize(
    "shape, padding",
    [((6, 2), ((2, 3),)), ((5, 6, 2), ((1, 2), (3, 0))), ((4, 5, 3, 1), ((1, 1), (2, 0), (0, 2)))],
)
def test_spatial_padding_matches_np_pad(mode: str, shape, padding) -> None:
    """numpy's reflect (edge not repeated) and symmetric (edge repeated)."""
    x = rand(2, *shape)
    expected = np.pad(x, ((0, 0), *padding, (0, 0)), mode=mode)
    np.testing.assert_allclose(run(SpatialPadding(padding, mode), x), expected, atol=0)


@pytest.mark.parametrize("value", [0.0, -np.inf, np.inf, 2.5])
def test_spatial_padding_constant_fills_with_its_value(value: float) -> None:
    """mode 'constant' is np.pad's, with any value (the infinities front max and min pooling)."""
    x = rand(2, 4, 5, 3, 2)
    padding = ((1, 0), (0, 2), (2, 1))
    expected = np.pad(x, ((0, 0), *padding, (0, 0)), constant_values=value)
    np.testing.assert_array_equal(run(SpatialPadding(padding, "constant", value), x), expected)


def test_spatial_padding_checks_pad_sizes() -> None:
    """Reflect pads must be smaller than the axis; symmetric pads at most its length."""
    with pytest.raises(ValueError, match="smaller than its length 4"):
        SpatialPadding(((4, 0), (0, 0)), "reflect")(keras.Input((4, 6, 1)))
    assert SpatialPadding(((4, 0), (0, 0)), "symmetric")(keras.Input((4, 6, 1))).shape == (None, 8, 6, 1)
    with pytest.raises(ValueError, match="mode"):
        SpatialPadding(((1, 1),), "edge")


# --- shapes and parameter counts ----------------------------------------------------------

def lc_params(out_positions: int, window: int, cin: int, filters: int) -> int:
    """out_positions * (window * cin * filters) + out_positions * filters."""
    return out_positions * window * cin * filters + out_positions * filters


SHAPE_CASES = [  # (layer factory, input shape without batch, expected params)
    (lambda: LocallyConnected1D(4, 3, strides=2), (11, 3), lc_params(5, 3, 3, 4)),
    (lambda: LocallyConnected2D(6, (3, 2), strides=(2, 1)), (9, 7, 3), lc_params(4 * 6, 6, 3, 6)),
    (lambda: LocallyConnected2D(6, 2, use_bias=False), (5, 5, 2), 16 * 4 * 2 * 6),
    (lambda: TiledConv2D(8, 3, tiles=2), (10, 9, 3), 2 * 2 * (3 * 3 * 3 * 8 + 8)),
    (
        lambda: TiledConv2D(5, (3, 1), tiles=(3, 2), strides=2, padding="same"),
        (7, 9, 4),
        3 * 2 * (3 * 1 * 4 * 5 + 5),
    ),
    (lambda: MinPooling1D(3, padding="same"), (10, 2), 0),
    (lambda: MinPooling2D((2, 3), strides=1), (6, 7, 2), 0),
    (lambda: LPPooling1D(2, 4, strides=3), (13, 2), 0),
    (lambda: LPPooling2D(3, 3, strides=2, padding="same"), (7, 8, 2), 0),
    (lambda: MinPooling3D((2, 1, 3), strides=(1, 2, 1)), (5, 4, 6, 2), 0),
    (lambda: LPPooling3D(1.5, 2, padding="same"), (5, 3, 4, 2), 0),
    (lambda: SpatialPadding(((1, 0), (0, 2)), "constant", -np.inf), (3, 4, 2), 0),
    (lambda: SpatialPadding(((1, 2),), "symmetric"), (5, 2), 0),
    (lambda: SpatialPadding(((1, 2), (0, 3), (2, 2)), "reflect"), (3, 4, 5, 2), 0),
]


@pytest.mark.parametrize("make, shape, params", SHAPE_CASES)
def test_compute_output_shape_and_count_params(make, shape, params) -> None:
    """The declared shape is the produced shape, and the weights follow the closed-form count."""
    layer = make()
    x = rand(2, *shape)
    assert layer.compute_output_shape(x.shape) == run(layer, x).shape
    assert layer.count_params() == params


DYNAMIC_CASES = [case for case in SHAPE_CASES if "Locally" not in type(case[0]()).__name__]


@pytest.mark.parametrize("make, shape, params", DYNAMIC_CASES)
def test_dynamic_spatial_dims(make, shape, params) -> None:
    """Layers that allow unknown sizes declare None and still run on any size."""
    layer = make()
    unknown = (None,) * (len(shape) - 1)
    channels = layer.compute_output_shape((2, *shape))[-1]
    assert layer.compute_output_shape((None, *unknown, shape[-1])) == (None, *unknown, channels)
    symbolic = (None, *unknown, shape[-1])
    model = keras.Model(inputs := keras.Input(symbolic[1:]), layer(inputs))
    x = rand(1, *shape)
    assert model.predict(x, verbose=0).shape == layer.compute_output_shape(x.shape)


# --- saving --------------------------------------------------------------------------------

LOAD_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import archspec  # registers archspec's layers once Keras is imported
    import keras
    model = keras.saving.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    outputs = model.predict([data["x2"], data["x1"], data["x3"]], verbose=0)
    for i, output in enumerate(outputs):
        np.testing.assert_allclose(output, data[f"y{i}"], atol=1e-5)
    print("loaded", len(outputs), sorted({type(layer).__name__ for layer in model.layers}))
    """
)


def test_saved_model_loads_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """A .keras file with every layer loads with load_model after ``import archspec`` and predicts the same."""
    image, sequence, volume = keras.Input((9, 8, 3)), keras.Input((12, 2)), keras.Input((5, 6, 4, 2))
    outputs = [
        LocallyConnected2D(4, 3, strides=2, activation="relu", kernel_regularizer="l2")(image),
        TiledConv2D(5, 3, tiles=(2, 3), padding="same", bias_initializer="random_normal")(image),
        MinPooling2D(3, strides=(2, 1), padding="same")(image),
        LPPooling2D(3.0, 2)(SpatialPadding(((1, 2), (3, 1)), "reflect")(image)),
        LocallyConnected1D(3, 4, strides=2, use_bias=False)(sequence),
        MinPooling1D(2)(sequence),
        LPPooling1D(1.5, 3, strides=2, padding="same")(SpatialPadding(((2, 2),), "symmetric")(sequence)),
        MinPooling3D(2, padding="same")(SpatialPadding(((1, 1), (0, 1), (1, 0)), "constant", np.inf)(volume)),
        LPPooling3D(2.0, (2, 3, 2), strides=1)(volume),
        keras.layers.MaxPooling2D(3, 2)(SpatialPadding(((1, 1), (1, 1)), "constant", -np.inf)(image)),
    ]
    model = keras.Model([image, sequence, volume], outputs)
    x2, x1, x3 = rand(3, 9, 8, 3), rand(3, 12, 2), rand(3, 5, 6, 4, 2)
    expected = model.predict([x2, x1, x3], verbose=0)
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x2=x2, x1=x1, x3=x3, **{f"y{i}": y for i, y in enumerate(expected)})
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(tmp_path / "model.keras"), str(tmp_path / "data.npz")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded 10" in result.stdout
    for name in ("LocallyConnected1D", "LocallyConnected2D", "TiledConv2D", "LPPooling2D", "SpatialPadding",
                 "MinPooling3D", "LPPooling3D"):
        assert name in result.stdout
