"""Receptive field, effective stride and padding against google-research/receptive_field.

The reference vectors are the published table (receptive_field/RECEPTIVE_FIELD_TABLE.md):
VGG16 and AlexNet v2 at every end-point; ResNet-50/101/152 v1 at the end of each stage
(slim's ResNet subsamples at the end of a stage, Keras's at the start of the next, so the
receptive fields at stage ends agree while the strides there differ by one stage).
"""
from __future__ import annotations

import json

import pytest
from analysis_support import analysis_of, text_analysis, zoo
from click.testing import CliRunner

from archspec.analysis.passes import run_passes
from archspec.analysis.receptive import receptive_fields
from archspec.analysis.report import to_json_dict
from archspec.api import compile_spec
from archspec.cli import main

# (layer in tests/golden/analysis/vgg16.yaml, RF, effective stride, effective padding), vgg_16 rows.
VGG16 = [("block1/conv_1", 3, 1, 1), ("block1/pool", 6, 2, 2), ("block2/conv_1", 10, 2, 4),
         ("block2/pool", 16, 4, 6), ("block3/conv_1", 24, 4, 10), ("block3/conv_2", 32, 4, 14),
         ("block3/pool", 44, 8, 18), ("block4/conv_1", 60, 8, 26), ("block4/conv_2", 76, 8, 34),
         ("block4/pool", 100, 16, 42), ("block5/conv_1", 132, 16, 58), ("block5/conv_2", 164, 16, 74),
         ("block5/pool", 212, 32, 90)]
ALEXNET_V2 = [(11, 4, 0), (19, 8, 0), (51, 8, 16), (99, 16, 32), (131, 16, 48), (163, 16, 64), (195, 32, 64)]
RESNET_STAGE_ENDS = {"resnet50": [35, 99, 291, 483], "resnet101": [35, 99, 835, 1027],
                     "resnet152": [35, 163, 1315, 1507]}


def _field(analysis, name):
    f = receptive_fields(analysis)[name]
    return f.size, f.stride, f.padding


@pytest.mark.parametrize("name,rf,stride,padding", VGG16)
def test_vgg16_matches_published_vector(name, rf, stride, padding):
    assert _field(analysis_of("vgg16"), name) == ((rf, rf), (stride, stride), (padding, padding))


def test_vgg16_macs():
    assert analysis_of("vgg16").macs == 15_470_264_320


def test_zoo_vgg16_pool5_and_macs():
    analysis = compile_spec(zoo("vgg16")).analysis
    pool5 = [i for i in analysis.layers if i.node.kind == "MaxPooling2D"][-1]
    assert _field(analysis, pool5.node.name) == ((212, 212), (32, 32), (90, 90))
    assert analysis.macs == 15_470_264_320


def _stage_ends(analysis):
    """The last layer at each spatial size 56, 28, 14, 7: the end of each ResNet stage."""
    last = {}
    for info in analysis.layers:
        if len(info.out_shape) == 3:
            last[info.out_shape[0]] = info.node.name
    return [last[s] for s in (56, 28, 14, 7)]


def test_resnet50_matches_published_vector():
    analysis = analysis_of("resnet50")
    fields = receptive_fields(analysis)
    ends = [fields[n] for n in _stage_ends(analysis)]
    assert [f.size[0] for f in ends] == RESNET_STAGE_ENDS["resnet50"]
    assert [f.stride[0] for f in ends] == [4, 8, 16, 32]
    assert ends[-1].size == (483, 483) and ends[-1].stride == (32, 32)


@pytest.mark.parametrize("name", sorted(RESNET_STAGE_ENDS))
def test_zoo_resnets_match_published_vectors(name):
    analysis = compile_spec(zoo(name)).analysis
    fields = receptive_fields(analysis)
    ends = [fields[n] for n in _stage_ends(analysis)]
    assert [f.size[0] for f in ends] == RESNET_STAGE_ENDS[name]
    assert ends[-1].stride == (32, 32)
    assert not any(f.note for f in fields.values())


def test_zoo_alexnet_matches_alexnet_v2_vector():
    analysis = compile_spec(zoo("alexnet")).analysis
    fields = receptive_fields(analysis)
    convs = [i.node.name for i in analysis.layers if i.node.kind == "Conv2D"]
    pools = [i.node.name for i in analysis.layers if i.node.kind == "MaxPooling2D"]
    points = [convs[0], pools[0], *convs[1:], pools[-1]]  # the table's end-points (pool2 is not one)
    assert [(fields[n].size[0], fields[n].stride[0], fields[n].padding[0]) for n in points] == ALEXNET_V2


CHAIN = """
archspec: 1
name: t
input: {shape}
layers:
  - Conv2D: {{filters: 4, kernel_size: 3, dilation_rate: 2, padding: same}}
    name: dil
  - Conv2D: {{filters: 4, kernel_size: 3, strides: 2, padding: same}}
    name: s2
  - Conv2D: {{filters: 4, kernel_size: 4, strides: 2, padding: same}}
    name: even
  - UpSampling2D: {{size: 2}}
    name: up
  - Conv2DTranspose: {{filters: 4, kernel_size: 3, strides: 2, padding: same}}
    name: tconv
"""


def test_dilation_stride_and_upsampling():
    fields = receptive_fields(text_analysis(CHAIN.format(shape="[32, 32, 3]")))
    assert fields["dil"].size == (5, 5) and fields["dil"].padding == (2, 2)
    # 32 -> 16 with a 3x3 window: TensorFlow pads 0 before and 1 after
    assert fields["s2"].size == (7, 7) and fields["s2"].stride == (2, 2) and fields["s2"].padding == (2, 2)
    # 16 -> 8 with a 4x4 window: 1 before, 1 after
    assert fields["even"].size == (13, 13) and fields["even"].stride == (4, 4) and fields["even"].padding == (4, 4)
    assert fields["up"].size == (13, 13) and fields["up"].stride == (2, 2)          # nearest: one input each
    assert fields["tconv"].size == (15, 15) and fields["tconv"].stride == (1, 1)    # ceil(3/2) = 2 inputs


def test_unknown_size_leaves_same_padding_undefined_as_the_reference_does():
    fields = receptive_fields(text_analysis(CHAIN.format(shape="[null, null, 3]")))
    assert fields["dil"].padding == (2, 2)                    # stride 1: known whatever the size
    assert fields["s2"].padding == (None, None)               # 3x3 stride 2: depends on the size
    assert fields["even"].padding == (None, None)             # stays unknown downstream
    assert fields["even"].size == (13, 13)                    # RF and stride never depend on it


MISALIGNED = """
archspec: 1
name: t
input: [16, 16, 3]
layers:
  - Conv2D: {filters: 3, kernel_size: 3}
  - ZeroPadding2D: {padding: [[2, 0], [1, 1]]}
    name: shifted
  - Add: {}
    inputs: [input, shifted]
    name: join
  - ReLU: {}
"""


def test_misaligned_paths_are_noted_in_json_and_table():
    runner = CliRunner()
    with runner.isolated_filesystem():
        with open("m.yaml", "w") as f:
            f.write(MISALIGNED)
        out = json.loads(runner.invoke(main, ["summary", "m.yaml", "--format", "json"]).output)
        table = runner.invoke(main, ["summary", "m.yaml"]).output
    join = next(layer for layer in out["layers"] if layer["name"] == "join")
    assert join["receptive_field_note"] == "misaligned paths: field centres 0 ('input') vs -1 ('shifted') along the height"
    assert "receptive_field_note" not in out["layers"][-1]    # only the merge carries it
    assert out["notes"] == ["join (Add, line 9): " + join["receptive_field_note"]]
    assert " 3*" in table


def test_json_fields_are_lists_per_axis():
    data = {row["name"]: row for row in to_json_dict(run_passes(analysis_of("resnet50")))["layers"]}
    row = data["conv5_x_2/re_lu_3"]
    assert (row["receptive_field"], row["effective_stride"], row["effective_padding"]) == ([483, 483], [32, 32],
                                                                                           [241, 241])
    assert data["avg_pool"]["covers_whole_input"] is True
    assert data["avg_pool"]["receptive_field"] == [483 + 6 * 32] * 2


def test_sequences_have_one_axis():
    analysis = text_analysis("""
archspec: 1
name: t
input: [100, 8]
layers:
  - Conv1D: {filters: 8, kernel_size: 3, dilation_rate: 4, padding: causal}
  - Conv1D: {filters: 8, kernel_size: 3, dilation_rate: 8, padding: causal}
  - GlobalMaxPooling1D: {}
  - Dense: {units: 2}
""")
    fields = receptive_fields(analysis)
    assert fields["conv1d_2"].size == (1 + 8 + 16,) and fields["conv1d_2"].padding == (24,)
    assert fields["dense_1"].whole and fields["dense_1"].size == (25 + 99,)


@pytest.mark.parametrize("name, excite, rf", [("mobilenetv3small", "block0/squeeze_excite_1/mul", 227),
                                              ("efficientnetb0", "block1a/se/se_excite", 229)])
def test_squeeze_excite_makes_the_merge_whole(name, excite, rf):
    """Squeeze-and-excite multiplies by a pooled path that sees the whole input (MobileNetV3
    pools with keepdims, EfficientNet pools then reshapes): the product sees it too, so the
    residual adds after it are merges of whole fields and no path is reported misaligned."""
    report = run_passes(compile_spec(zoo(name)).analysis)
    field = report.fields[excite]
    assert field.whole and field.size == (rf, rf) and not field.note
    assert not [n.message for n in report.notes if "misaligned" in n.message]


def test_a_merge_with_a_whole_field_of_unknown_size_is_whole_and_unknown():
    analysis = text_analysis("""
archspec: 1
name: t
inputs: {image: [8, 8, 16], code: [16]}
layers:
  - Conv2D: {filters: 16, kernel_size: 3, padding: same}
    inputs: image
  - Dense: {units: 16}
    inputs: code
  - Reshape: {target_shape: [1, 1, 16]}
  - Multiply: {}
    inputs: [conv2d_1, reshape_1]
""")
    fields = receptive_fields(analysis)
    assert fields["conv2d_1"].size == (3, 3) and not fields["conv2d_1"].whole
    assert fields["multiply_1"].whole and fields["multiply_1"].size == (None, None) and not fields["multiply_1"].note
