"""Agreement with Keras at the edges: what Keras builds is accepted, what it refuses is refused
with the reason, and what TensorFlow's own CPU kernels cannot run is a located warning."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from archspec.api import compile_text
from archspec.errors import SpecErrors, SpecWarning

IMG = [12, 10, 4]


def spec(kind: str, args: dict, shape: list = IMG) -> str:
    """A one-layer spec; the layer's arguments are on line 5, from column 5."""
    return (f"archspec: 1\nname: edge\ninput: {json.dumps(shape)}\nlayers:\n  - {kind}: {json.dumps(args)}\n"
            "    name: l\n")


def arg_column(kind: str, args: dict, arg: str) -> int:
    """The 1-based column of ``arg``'s value on line 5 of ``spec(kind, args)``."""
    line = spec(kind, args).splitlines()[4]
    return line.index(f'"{arg}": ') + len(f'"{arg}": ') + 1


def error_of(text: str) -> SpecErrors:
    with pytest.raises(SpecErrors) as caught:
        compile_text(text, "net.yaml")
    return caught.value


# Keras builds these and TensorFlow's own CPU kernels refuse them (checked below by running them).
WARNED = [("DepthwiseConv2D", {"kernel_size": 3, "strides": [2, 1]}, "strides", "equal strides"),
          ("SeparableConv2D", {"filters": 3, "kernel_size": 3, "strides": [1, 3]}, "strides", "equal strides"),
          ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, "dilation_rate",
           "dilation_rate > 1"),
          ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": [1, 2]}, "dilation_rate",
           "dilation_rate > 1"),
          ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}, "dilation_rate",
           "dilation_rate > 1")]
# Their neighbours that every kernel runs: no warning.
QUIET = [("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "dilation_rate": 2}),
         ("DepthwiseConv2D", {"kernel_size": 3, "strides": [2, 1], "dilation_rate": [1, 2]}),
         ("SeparableConv2D", {"filters": 3, "kernel_size": 3, "strides": [2, 2], "dilation_rate": 2}),
         ("SeparableConv1D", {"filters": 3, "kernel_size": 3, "strides": 2, "dilation_rate": 2}),
         ("DepthwiseConv1D", {"kernel_size": 3, "strides": 3}),
         ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": [2, 1]}),
         ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": [2, 1]})]
SHAPES = {"1D": [17, 4], "2D": IMG, "3D": [6, 7, 5, 2]}


def shape_of(kind: str) -> list:
    return SHAPES[kind[-2:] if "Transpose" not in kind else kind[4:6]]


@pytest.mark.parametrize("kind, args, arg, words", WARNED, ids=[f"{k}-{a}" for k, _, a, _ in WARNED])
def test_warning_at_the_argument(kind: str, args: dict, arg: str, words: str) -> None:
    analysis = compile_text(spec(kind, args, shape_of(kind)), "net.yaml").analysis
    assert len(analysis.warnings) == 1
    warning = analysis.warnings[0]
    assert isinstance(warning, SpecWarning)
    assert (warning.loc.file, warning.loc.line, warning.loc.col) == ("net.yaml", 5, arg_column(kind, args, arg))
    assert warning.message.startswith(f"{kind} 'l': Keras builds it, but TensorFlow's own")
    assert words in warning.message and "oneDNN" in warning.message and warning.hint
    assert warning.format().startswith(f"net.yaml:5:{warning.loc.col}: warning: {kind} 'l': ")


@pytest.mark.parametrize("kind, args", QUIET, ids=[f"{k}-{i}" for i, (k, _) in enumerate(QUIET)])
def test_no_warning_where_every_kernel_runs(kind: str, args: dict) -> None:
    assert compile_text(spec(kind, args, shape_of(kind))).analysis.warnings == ()


RUN = textwrap.dedent("""
    import json, sys
    import numpy as np
    from tensorflow.python.util import _pywrap_util_port
    from archspec.api import compile_text
    from archspec.keras_backend.model_builder import build_model
    results = []
    for text, shape in json.loads(sys.argv[1]):
        model = build_model(compile_text(text).graph)
        try:
            model(np.ones((1, *shape), "float32"))
            results.append("ran")
        except Exception as exc:
            results.append(type(exc).__name__)
    print(json.dumps({"onednn": _pywrap_util_port.IsMklEnabled(), "results": results}))
""")


def run_on_cpu(cases: list[tuple[str, dict]], onednn: str) -> dict:
    """Predict with every case's model in a fresh interpreter with TF_ENABLE_ONEDNN_OPTS=onednn:
    whether oneDNN was on, and per case "ran" or the exception's class name."""
    payload = json.dumps([(spec(kind, args, shape_of(kind)), shape_of(kind)) for kind, args in cases])
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", RUN, payload], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_the_warned_settings_fail_on_tensorflows_own_cpu_kernels() -> None:
    """What the warning says is true: without oneDNN every warned model fails at its first
    step and every quiet neighbour runs (if TensorFlow fixes its kernels, drop the warning)."""
    run = run_on_cpu([(kind, args) for kind, args, _, _ in WARNED] + QUIET, "0")
    assert not run["onednn"]
    assert run["results"] == ["InvalidArgumentError"] * len(WARNED) + ["ran"] * len(QUIET)


def test_the_warned_settings_run_with_onednn() -> None:
    """... and the 'unless oneDNN replaces that kernel' in the warning is true as well."""
    run = run_on_cpu([(kind, args) for kind, args, _, _ in WARNED], "1")
    if not run["onednn"]:
        pytest.skip("this TensorFlow build or CPU has no oneDNN")
    assert run["results"] == ["ran"] * len(WARNED)


# ---------------------------------------------------------------- strides with dilation
@pytest.mark.parametrize("kind", ["Conv2D", "Conv1DTranspose"])
def test_strides_with_dilation_refused_where_keras_refuses_it(kind: str) -> None:
    args = {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}
    error = error_of(spec(kind, args, shape_of(kind)))
    assert "strides > 1 cannot be combined with dilation_rate > 1 (Keras refuses it" in error.message
    assert (error.loc.line, error.loc.col) == (5, arg_column(kind, args, "strides"))
    import keras

    with pytest.raises(ValueError, match="not supported in conjunction"):
        getattr(keras.layers, kind)(2, 3, strides=2, dilation_rate=2)


def test_strides_with_dilation_accepted_where_keras_takes_it() -> None:
    """Keras 3's depthwise and separable convolutions take both (tests/test_layers_keras.py
    compares their shapes and params with Keras's on samples)."""
    for kind, args in QUIET[:4]:
        assert compile_text(spec(kind, args, shape_of(kind))).analysis.layers


# ---------------------------------------------------------------- mirrored padding
MIRROR = [("Conv2D", {"filters": 2, "kernel_size": 3, "padding": [12, 0], "padding_mode": "reflect"},
           "reflect padding of 12 at the top is too wide for a height of 12: reflect needs each pad smaller than "
           "the size (at most 11 here)", "padding"),
          ("MaxPooling2D", {"pool_size": 2, "padding": [0, [0, 11]], "padding_mode": "symmetric"},
           "symmetric padding of 11 at the right is too wide for a width of 10: symmetric needs each pad at most "
           "the size (at most 10 here)", "padding"),
          ("FixedConv2D", {"kernel": "sobel_x", "padding": [[1, 12], 1], "padding_mode": "reflect"},
           "reflect padding of 12 at the bottom is too wide", "padding"),
          ("AveragePooling1D", {"pool_size": 9, "strides": 1, "padding": "same", "padding_mode": "reflect"},
           "reflect padding of 4 at the start ('same' needs that much) is too wide for a length of 3", "padding_mode")]


@pytest.mark.parametrize("kind, args, words, arg", MIRROR, ids=[k for k, _, _, _ in MIRROR])
def test_mirrored_padding_wider_than_the_axis_is_a_located_error(kind: str, args: dict, words: str,
                                                                 arg: str) -> None:
    shape = [3, 2] if kind.endswith("1D") else IMG
    error = error_of(spec(kind, args, shape))
    assert words in error.message and error.hint
    assert (error.loc.file, error.loc.line, error.loc.col) == ("net.yaml", 5, arg_column(kind, args, arg))


@pytest.mark.parametrize("mode, pad", [("reflect", 11), ("symmetric", 12)])
def test_the_widest_mirrored_padding_builds_and_runs(mode: str, pad: int) -> None:
    """reflect takes pads up to size - 1, symmetric up to the size: both compile and run."""
    from archspec.keras_backend.model_builder import build_model, verify

    compiled = compile_text(spec("Conv2D", {"filters": 2, "kernel_size": 3, "padding": [pad, 0],
                                            "padding_mode": mode}))
    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == []
    assert model.predict(np.ones((1, *IMG), "float32"), verbose=0).shape[1:] == (12 + 2 * pad - 2, 8, 2)


# ---------------------------------------------------------------- pooling windows of padding only
@pytest.mark.parametrize("kind", ["MaxPooling2D", "MinPooling2D"])
def test_a_window_of_padding_only_is_refused_for_max_and_min(kind: str) -> None:
    args = {"pool_size": 2, "padding": [[2, 0], 1]}
    error = error_of(spec(kind, args))
    assert "padding of 2 at the top of the height is not smaller than the pool size 2" in error.message
    assert (error.loc.line, error.loc.col) == (5, arg_column(kind, args, "padding"))


def test_average_and_mirrored_padding_may_be_as_wide_as_the_pool() -> None:
    """A mean over zeros is 0 (they count), and mirrored values are data: both are defined."""
    compile_text(spec("AveragePooling2D", {"pool_size": 2, "padding": [[2, 0], 1]}))
    compile_text(spec("MaxPooling2D", {"pool_size": 2, "padding": [[2, 0], 1], "padding_mode": "reflect"}))


# ---------------------------------------------------------------- LayerNormalization over several axes
@pytest.mark.parametrize("axis, params", [([1, 2], 2 * 12 * 10), ([-1, 1], 2 * 4 * 12), ([1, 2, 3], 2 * 480),
                                          ([2], 2 * 10)])
def test_layer_normalization_over_a_list_of_axes(axis: list, params: int) -> None:
    """gamma and beta have the sizes of the normalised axes (Keras's LayerNormalization.build)."""
    assert compile_text(spec("LayerNormalization", {"axis": axis})).analysis.params.total == params


@pytest.mark.parametrize("axis, words", [([3, -1], "names axis 3 of [12, 10, 4] 2 times"),
                                         ([0, 1], "axis 0 is out of range"), ([1, 4], "axis 4 is out of range")])
def test_layer_normalization_axes_keras_cannot_build(axis: list, words: str) -> None:
    error = error_of(spec("LayerNormalization", {"axis": axis}))
    assert words in error.message
    assert (error.loc.line, error.loc.col) == (5, arg_column("LayerNormalization", {"axis": axis}, "axis"))


def test_batch_normalization_still_takes_one_axis() -> None:
    error = error_of(spec("BatchNormalization", {"axis": [1, 2]}))
    assert "'axis' must be an integer axis" in error.message
