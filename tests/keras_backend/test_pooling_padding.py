"""Padding never wins a max or a min: every pooling kind, compiled from a spec, against NumPy.

The reference below is written from the definitions, independently of archspec's rules:
explicit padding (a size per side, or 'full') holds -inf for max pooling, +inf for min
pooling and zeros for average pooling (counted in the mean: PyTorch's count_include_pad=True)
and for L^p pooling; Keras's own 'same' leaves padded positions out of every reduction; the
values of padding_mode reflect/symmetric are data like any other.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from archspec.api import compile_text  # noqa: E402  (after the importorskip)
from archspec.keras_backend.model_builder import build_model  # noqa: E402

RNG = np.random.default_rng(7)
SHAPES = {1: (9, 2), 2: (7, 6, 2), 3: (5, 6, 4, 2)}
FILL = {"Max": -np.inf, "Min": np.inf, "Average": 0.0, "LP": 0.0}
P = 3.0  # the order of the L^p norm in these cases


def spec(kind: str, shape: tuple, args: dict) -> str:
    return (f"archspec: 1\nname: t\ninput: {json.dumps(list(shape))}\nlayers:\n"
            f"  - {kind}: {json.dumps(args)}\n    name: pool\n")


def compiled_output(kind: str, x: np.ndarray, args: dict) -> np.ndarray:
    model = build_model(compile_text(spec(kind, x.shape[1:], args)).graph)
    return keras.ops.convert_to_numpy(model(x))


def reduce(op: str, window: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """One window's value; NaN marks a position Keras's 'same' left out."""
    if op == "Max":
        return np.nanmax(window, axis=axes)
    if op == "Min":
        return np.nanmin(window, axis=axes)
    if op == "Average":
        return np.nanmean(window, axis=axes)
    return np.nansum(np.abs(window) ** P, axis=axes) ** (1 / P)


def tf_same_pads(size: int, pool: int, stride: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + pool - size, 0)
    return total // 2, total - total // 2


def reference(op: str, x: np.ndarray, pools: tuple, strides: tuple, pads: list, fill: float | str) -> np.ndarray:
    """Pooling by loops over output positions, on ``x`` padded by ``pads`` with ``fill``
    (a number, NaN for positions left out, or an np.pad mode)."""
    width = [(0, 0), *pads, (0, 0)]
    padded = (np.pad(x.astype("float64"), width, mode=fill) if isinstance(fill, str)
              else np.pad(x.astype("float64"), width, constant_values=fill))
    out = tuple((padded.shape[a + 1] - k) // s + 1 for a, (k, s) in enumerate(zip(pools, strides)))
    axes = tuple(range(1, len(pools) + 1))
    result = np.zeros((x.shape[0], *out, x.shape[-1]))
    for index in np.ndindex(*out):
        region = tuple(slice(i * s, i * s + k) for i, k, s in zip(index, pools, strides))
        result[(slice(None), *index)] = reduce(op, padded[(slice(None), *region, slice(None))], axes)
    return result


def data(op: str, shape: tuple) -> np.ndarray:
    """Inputs on which zero padding would win: all negative for max, all positive for min,
    of both signs for the mean and the norm."""
    x = RNG.uniform(1.0, 2.0, size=(2, *shape)) if op == "Min" else RNG.uniform(-2.0, -1.0, size=(2, *shape))
    if op in ("Average", "LP"):
        x = x * RNG.choice([-1.0, 1.0], size=x.shape)
    return x.astype("float32")


def explicit_cases(n: int) -> list[tuple[dict, list]]:
    """(padding arguments, the (before, after) pads they mean) for a pool of 3, stride 2."""
    asymmetric = {1: [[0, 2]], 2: [1, [0, 2]], 3: [[2, 0], 1, [0, 1]]}[n]
    return [({"padding": 1}, [(1, 1)] * n),
            ({"padding": asymmetric}, [tuple(p) if isinstance(p, list) else (p, p) for p in asymmetric]),
            ({"padding": "full"}, [(2, 2)] * n)]


CASES = [pytest.param(op, n, args, pads, id=f"{op}{n}D-{json.dumps(args['padding'])}")
         for op in FILL for n in (1, 2, 3) for args, pads in explicit_cases(n)]


@pytest.mark.parametrize("op, n, args, pads", CASES)
def test_explicit_padding_matches_numpy(op: str, n: int, args: dict, pads: list) -> None:
    """-inf for max, +inf for min, zeros counted in the mean, zeros in the norm."""
    x = data(op, SHAPES[n])
    extra = {"p": P} if op == "LP" else {}
    result = compiled_output(f"{op}Pooling{n}D", x, {"pool_size": 3, "strides": 2, **args, **extra})
    expected = reference(op, x, (3,) * n, (2,) * n, pads, FILL[op])
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op", list(FILL))
@pytest.mark.parametrize("n", [1, 2, 3])
def test_keras_same_leaves_padding_out(op: str, n: int) -> None:
    """'same' (padding_mode zeros) is Keras's: padded positions take no part, the mean included."""
    x = data(op, SHAPES[n])
    extra = {"p": P} if op == "LP" else {}
    result = compiled_output(f"{op}Pooling{n}D", x, {"pool_size": 3, "strides": 2, "padding": "same", **extra})
    pads = [tf_same_pads(size, 3, 2) for size in SHAPES[n][:-1]]
    np.testing.assert_allclose(result, reference(op, x, (3,) * n, (2,) * n, pads, np.nan), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["reflect", "symmetric"])
@pytest.mark.parametrize("op", list(FILL))
def test_mirrored_padding_is_data(op: str, mode: str) -> None:
    """With padding_mode reflect/symmetric the mirrored values take part, with 'same' too."""
    x = data(op, SHAPES[2])
    extra = {"p": P} if op == "LP" else {}
    explicit = compiled_output(f"{op}Pooling2D", x, {"pool_size": 3, "strides": 2, "padding": [[2, 1], 1],
                                                    "padding_mode": mode, **extra})
    expected = reference(op, x, (3, 3), (2, 2), [(2, 1), (1, 1)], mode)
    np.testing.assert_allclose(explicit, expected, rtol=1e-5, atol=1e-5)
    same = compiled_output(f"{op}Pooling2D", x, {"pool_size": 3, "strides": 2, "padding": "same",
                                                "padding_mode": mode, **extra})
    pads = [tf_same_pads(size, 3, 2) for size in SHAPES[2][:-1]]
    np.testing.assert_allclose(same, reference(op, x, (3, 3), (2, 2), pads, mode), rtol=1e-5, atol=1e-5)


def test_the_reported_example() -> None:
    """MaxPooling2D {pool_size: 3, strides: 2, padding: 1} on a 4x4 image of -1..-16 (row by
    row): each window's maximum is its top-left real pixel, as PyTorch's MaxPool2d gives;
    zero padding used to win three of the four windows ([[0, 0], [0, -6]])."""
    x = -np.arange(1, 17, dtype="float32").reshape(1, 4, 4, 1)
    result = compiled_output("MaxPooling2D", x, {"pool_size": 3, "strides": 2, "padding": 1})
    np.testing.assert_array_equal(result[0, :, :, 0], [[-1, -2], [-5, -6]])
    minimum = compiled_output("MinPooling2D", -x, {"pool_size": 3, "strides": 2, "padding": 1})
    np.testing.assert_array_equal(minimum[0, :, :, 0], [[1, 2], [5, 6]])
    mean = compiled_output("AveragePooling2D", x, {"pool_size": 3, "strides": 2, "padding": 1})
    assert mean[0, 0, 0, 0] == pytest.approx((-1 - 2 - 5 - 6) / 9)  # 9: the padded zeros count


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_gradient_flows_to_real_positions_only(op: str) -> None:
    """The infinite padding trains: each output sends its gradient (1) to one real input, and
    nothing is lost to the padding or made NaN."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient check written for the tensorflow backend")
    import tensorflow as tf

    model = build_model(compile_text(spec(f"{op}Pooling2D", (7, 6, 2),
                                          {"pool_size": 3, "strides": 2, "padding": "full"})).graph)
    x = tf.constant(data(op, (7, 6, 2)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)
        total = tf.reduce_sum(y)
    gradient = tape.gradient(total, x).numpy()
    assert np.all(np.isfinite(gradient)) and gradient.sum() == y.numpy().size


LOAD = textwrap.dedent("""
    import sys
    import numpy as np
    import archspec  # registers archspec's layers once Keras is imported
    import keras
    model = keras.saving.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    np.testing.assert_array_equal(model.predict(data["x"], verbose=0), data["y"])
    print("loaded", sorted(type(layer).__name__ for layer in model.layers))
""")

SAVED = """archspec: 1
name: saved
input: [6, 5, 4, 2]
layers:
  - MaxPooling3D: {pool_size: 2, strides: 1, padding: 1}
  - MinPooling3D: {pool_size: 2, padding: [[1, 0], 0, 1]}
  - LPPooling3D: {p: 2.0, pool_size: 2, strides: 1, padding: full}
"""


def test_saved_model_loads_after_import_archspec(tmp_path: Path) -> None:
    """The -inf/+inf padding layers and the 3-D pooling layers survive a .keras round trip."""
    from archspec.keras_backend.save import save_model

    model = build_model(compile_text(SAVED).graph)
    x = RNG.uniform(-2.0, -1.0, size=(2, 6, 5, 4, 2)).astype("float32")
    np.savez(tmp_path / "data.npz", x=x, y=model.predict(x, verbose=0))
    save_model(model, tmp_path / "net.keras")
    result = subprocess.run([sys.executable, "-c", LOAD, str(tmp_path / "net.keras"), str(tmp_path / "data.npz")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MinPooling3D" in result.stdout and "LPPooling3D" in result.stdout and "SpatialPadding" in result.stdout
