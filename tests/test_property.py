"""Property: for random valid specs, Keras agrees with the analysis on every layer."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archspec.api import compile_text
from archspec.errors import SpecErrors


@st.composite
def windowed_layer(draw: st.DrawFn, n: int) -> dict:
    kind = draw(st.sampled_from(["Conv", "ConvT", "Depthwise", "Separable", "MaxPool", "AvgPool"]))
    if (kind in ("Depthwise", "Separable") and n == 3):
        kind = "Conv"
    kernel = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 3)) if stride == 1 and kind in ("Conv", "Depthwise", "Separable") else 1
    paddings = ["valid", "same"] + ([] if kind == "ConvT" else [draw(st.integers(0, 2)), "full"])
    if kind == "Conv" and n == 1:
        paddings.append("causal")
    padding = draw(st.sampled_from(paddings))
    if kind == "MaxPool" and isinstance(padding, int):
        padding = min(padding, min(kernel) - 1)  # a window of padding only has no maximum: refused
    args: dict = {"strides": stride, "padding": padding}
    if kind in ("MaxPool", "AvgPool"):
        pool = "Max" if kind == "MaxPool" else "Average"
        return {f"{pool}Pooling{n}D": {**args, "pool_size": kernel}}
    args["kernel_size"] = kernel
    if dilation > 1:
        args["dilation_rate"] = dilation
    if kind == "ConvT":
        if draw(st.booleans()):
            args["output_padding"] = draw(st.integers(0, stride - 1))
        return {f"Conv{n}DTranspose": {**args, "filters": draw(st.integers(1, 6))}}
    if kind == "Depthwise":
        return {f"DepthwiseConv{n}D": {**args, "depth_multiplier": draw(st.integers(1, 2))}}
    if kind == "Separable":
        return {f"SeparableConv{n}D": {**args, "filters": draw(st.integers(1, 6))}}
    if padding not in ("valid", "causal") and draw(st.booleans()):  # a mode fills a border
        args["padding_mode"] = draw(st.sampled_from(["zeros", "reflect", "symmetric"]))
    return {f"Conv{n}D": {**args, "filters": draw(st.integers(1, 6)), "use_bias": draw(st.booleans())}}


@st.composite
def spec(draw: st.DrawFn) -> str:
    n = draw(st.integers(1, 3))
    size = [draw(st.integers(6, 20)) for _ in range(n)] + [draw(st.integers(1, 4))]
    layers = [draw(windowed_layer(n)) for _ in range(draw(st.integers(1, 4)))]
    text = [f"archspec: 1\nname: random\ninput: {json.dumps(size)}\nlayers:"]
    text += [f"  - {json.dumps(layer)}" for layer in layers]
    if draw(st.booleans()):  # a two-branch merge on the last output
        merge = draw(st.sampled_from(["Add", "Concatenate", "Maximum", "Multiply"]))
        branches = [{"BatchNormalization": {}, "name": "trunk"},
                    {f"Conv{n}D": {"filters": 4, "kernel_size": 3, "padding": "same"}, "name": "a"},
                    {f"Conv{n}D": {"filters": 4, "kernel_size": 1}, "name": "b", "inputs": "trunk"},
                    {merge: {}, "inputs": ["a", "b"]}]
        text += [f"  - {json.dumps(entry)}" for entry in branches]
    text.append("  - \"Flatten\"\n  - {\"Dense\": {\"units\": 3}}")
    return "\n".join(text) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec())
def test_random_specs_agree_with_keras(text: str) -> None:
    from archspec.keras_backend.model_builder import build_model, verify

    try:
        compiled = compile_text(text)
    except SpecErrors as exc:
        # The only refusals a generated spec may get: a size reached 0, or a mirrored padding
        # wider than the axis it mirrors (the next test checks that Keras refuses those too).
        # Anything else is a bug.
        assert "would be" in exc.format(True) or "is too wide for" in exc.format(True), exc.format(True) + "\n" + text
        assume(False)
    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == [], text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec())
def test_keras_refuses_what_the_analysis_refuses(text: str) -> None:
    """Where the analysis says a size reaches zero, Keras cannot build the model either."""
    import pytest

    from archspec.keras_backend.model_builder import build_model
    from archspec.graph.lower import lower
    from archspec.spec.load import load_text

    try:
        compile_text(text)
        return
    except SpecErrors as exc:
        # Keras lets a transposed convolution produce a zero-length axis without complaint; we
        # refuse it (a layer with no output is a mistake), so those cases are not compared.
        message = exc.format(True)
        assume(("would be" in message or "is too wide for" in message) and "Transpose" not in message)
    graph = lower(load_text(text))
    with pytest.raises(Exception):
        build_model(graph)
