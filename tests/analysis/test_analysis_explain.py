"""`archspec explain`: every number at the end of a formula equals the analysis (summary),
over every sample of every registered kind, every kind's own example, every layer of our
test specs and the zoo, and random convolutions; golden text for two specs."""
from __future__ import annotations

import pytest
from analysis_support import ROOT, ZOO, analysis_of, check_golden, spec, text_analysis
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from explain_agreement import check_agreement
from layer_samples import SAMPLES, spec_for

from archspec.analysis.explain import explain, render
from archspec.api import compile_spec, compile_text
from archspec.cli import main
from archspec.errors import SpecErrors
from archspec.layers.catalog import all_kinds
from archspec.layers.equations import Equation, evaluate_exact


@pytest.mark.parametrize("name", ["kinds", "vgg16", "resnet50"])
def test_explain_agrees_with_summary_on_test_specs(name):
    assert check_agreement(analysis_of(name)) > 20


ZOO_SPECS = sorted(p.stem for p in ZOO.glob("*.yaml"))


@pytest.mark.parametrize("name", ZOO_SPECS)
def test_explain_agrees_with_summary_on_the_zoo(name):
    assert check_agreement(compile_spec(ZOO / f"{name}.yaml").analysis) > 10


SAMPLE_CASES = [pytest.param(kind, ins, args, id=f"{kind}-{i}") for kind, cases in sorted(SAMPLES.items())
                for i, (ins, args) in enumerate(cases)]


@pytest.mark.parametrize("kind, ins, args", SAMPLE_CASES)
def test_explain_agrees_with_summary_on_every_sample(kind, ins, args):
    """tests/layer_samples.py covers every registered kind (tests/test_layers_keras.py forces it)."""
    check_agreement(compile_text(spec_for(kind, ins, args)).analysis)


@pytest.mark.parametrize("kind", sorted(all_kinds()))
def test_explain_agrees_with_summary_on_every_kinds_example(kind):
    """The example `archspec layers` and docs/layers.md explain is itself explained correctly."""
    ins, args = all_kinds()[kind].example
    check_agreement(compile_text(spec_for(kind, [list(s) for s in ins], dict(args))).analysis)


def test_every_layer_of_kinds_gets_its_own_rule():
    """Windowed, transposed, merge, norm, resize layers all get equations, not 'unchanged'."""
    analysis = analysis_of("kinds")
    plain = [info.node.name for info, lines in explain(analysis)
             if not any(isinstance(line, Equation) and line.key[0] in ("shape", "params", "values")
                        for line in lines)]
    assert plain == ["add", "gap_keep", "scale"]  # element-wise merges and global pooling: text lines


CONV = """
archspec: 1
name: t
input: [{h}, {w}, {c}]
layers:
  - {kind}: {{{args}}}
"""


@settings(max_examples=40, deadline=None, database=None)
@given(h=st.integers(8, 40), w=st.integers(8, 40), k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same", "full", 1, [2, [0, 3]]]),
       kind=st.sampled_from(["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D", "Conv2DTranspose"]))
def test_random_windows_agree(h, w, k, s, d, padding, kind):
    if s > 1:
        d = 1
    if kind == "Conv2DTranspose":
        padding = padding if padding in ("valid", "same") else "valid"
        args = f"filters: 4, kernel_size: {k}, strides: {s}, padding: {padding}"
    elif kind == "MaxPooling2D":
        args = f"pool_size: {k}, strides: {s}, padding: {padding}"
    else:
        filters = "" if kind == "DepthwiseConv2D" else "filters: 6, "
        args = f"{filters}kernel_size: {k}, strides: {s}, dilation_rate: {d}, padding: {padding}"
    try:
        analysis = text_analysis(CONV.format(h=h, w=w, c=3, kind=kind, args=args))
    except SpecErrors:  # the window does not fit: summary refuses too
        return
    assert check_agreement(analysis) >= 3


def test_evaluator_is_exact_and_refuses_code():
    assert evaluate_exact("floor((32 - 5 + 2*0) / 1) + 1") == 28
    with pytest.raises(ValueError):
        evaluate_exact("__import__('os')")


def _portable(text: str) -> str:
    return text.replace(str(ROOT) + "/", "")


def test_golden_lenet5():
    check_golden("explain_lenet5.txt", _portable(render(explain(analysis_of("lenet5")))))


def test_golden_kinds():
    check_golden("explain_kinds.txt", _portable(render(explain(analysis_of("kinds")))))


def test_cli_selects_layers_by_name_and_glob():
    runner = CliRunner()
    result = runner.invoke(main, ["explain", str(spec("resnet50")), "conv1", "conv3_1/*conv"])
    assert result.exit_code == 0
    heads = [line.split(" (")[0] for line in result.output.splitlines() if line and not line.startswith(" ")]
    assert heads == ["conv1", "conv3_1/shortcut_conv"]
    assert "H' = W' = floor((H - K + 2P) / S) + 1 = floor((230 - 7 + 2*0) / 2) + 1 = 112" in result.output


def test_cli_unknown_layer_is_a_user_error():
    result = CliRunner().invoke(main, ["explain", str(spec("vgg16")), "fc3"])
    assert result.exit_code == 2
    assert "no layer named 'fc3'; did you mean 'fc2'?" in result.output


def test_explain_shows_keras_same_padding_sides():
    text = render(explain(analysis_of("kinds"), ["same_s2"]))
    assert "P_total(W) = max((W' - 1)*S + K - W, 0) = max((16 - 1)*2 + 3 - 32, 0) = 1" in text
    assert "Keras pads 0 left and 1 right on W" in text
    assert "Keras pads 1 top and 1 bottom on H" in text


def test_unknown_sizes_are_said_not_computed():
    analysis = text_analysis(CONV.format(h="null", w=20, c=3, kind="Conv2D",
                                         args="filters: 2, kernel_size: 3, strides: 2, padding: same"))
    text = render(explain(analysis))
    assert "H unknown: that output size is unknown too (None), as in Keras" in text
    assert "W' = ceil(W / S) = ceil(20 / 2) = 10" in text
    assert "MACs: unknown output size, not counted (summary shows ?)" in text
    assert "'same' padding on H depends on the unknown input size" in text
    assert check_agreement(analysis) >= 3


def test_repeated_entry_name_selects_every_repeat():
    result = CliRunner().invoke(main, ["explain", str(spec("vgg16")), "block3/conv"])
    heads = [line.split(" (")[0] for line in result.output.splitlines() if line and not line.startswith(" ")]
    assert heads == ["block3/conv_1", "block3/conv_2", "block3/conv_3"]


def test_a_wrapped_layer_is_written_as_the_spec_writes_it():
    """A wrapper's layer argument is a mapping: the explain header and the layer reference
    print it in YAML flow style, as it would be written in a spec, not as a Python dict."""
    from archspec.analysis.explain import header
    from archspec.docs import example

    analysis = text_analysis("archspec: 1\nname: w\ninput: [10, 4]\nlayers:\n"
                             "  - Bidirectional: {layer: {LSTM: {units: 32, return_sequences: true}}}\n")
    assert "(Bidirectional: layer={LSTM: {units: 32, return_sequences: true}})" in header(analysis.layers[0])
    title, _ = example(all_kinds()["TimeDistributed"])
    assert title.endswith("with layer: {Conv2D: {filters: 8, kernel_size: 3}}") and "'" not in title
