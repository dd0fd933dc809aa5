"""``trainable: false`` on an entry: the layer (every layer of a block use) is frozen. Its
parameters count as non-trainable in the analysis, exactly as Keras counts a layer with
``trainable = False`` in the model ``build`` makes; a share takes its layer's setting."""
from __future__ import annotations

import pytest

from archspec.api import compile_text
from archspec.errors import SpecErrors

SPEC = """\
archspec: 1
name: frozen
input: [8, 8, 3]
blocks:
  Stem:
    layers:
      - Conv2D: {filters: 4, kernel_size: 3}
        name: conv
      - BatchNormalization: {}
        name: bn
layers:
  - Stem: {}
    name: stem
    trainable: false
  - Conv2D: {filters: 4, kernel_size: 3}
    name: conv
    trainable: false
  - BatchNormalization: {}
    name: bn
  - GlobalAveragePooling2D: {}
  - Dense: {units: 2}
    name: head
"""
SHARED = SPEC + "  - share: head\n    name: head_again\n    inputs: head\n    trainable: false\n"


def test_frozen_layers_count_as_non_trainable() -> None:
    analysis = compile_text(SPEC).analysis
    params = {info.node.name: info.params for info in analysis.layers}
    assert (params["stem/conv"].trainable, params["stem/conv"].non_trainable) == (0, 3 * 3 * 3 * 4 + 4)
    assert (params["stem/bn"].trainable, params["stem/bn"].non_trainable) == (0, 16)
    assert (params["conv"].trainable, params["conv"].non_trainable) == (0, 3 * 3 * 4 * 4 + 4)
    assert (params["bn"].trainable, params["bn"].non_trainable) == (8, 8)  # gamma, beta; moving mean, variance
    assert (analysis.params.trainable, analysis.params.non_trainable) == (8 + 10, 112 + 16 + 148 + 8)


def test_build_freezes_the_same_layers() -> None:
    pytest.importorskip("keras")
    import numpy as np

    from archspec.keras_backend.model_builder import build_model, verify

    compiled = compile_text(SPEC)
    model = build_model(compiled.graph)
    assert verify(model, compiled.analysis) == []  # per layer and in total, trainable and non-trainable
    assert not model.get_layer("conv").trainable and model.get_layer("bn").trainable
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == compiled.analysis.params.trainable


def test_a_share_cannot_set_trainable() -> None:
    with pytest.raises(SpecErrors) as raised:
        compile_text(SHARED)
    assert "a share entry applies its layer's weights as that layer has them; write trainable: on the layer it " \
           "shares" in raised.value.format()


def test_trainable_takes_a_boolean() -> None:
    with pytest.raises(SpecErrors) as raised:
        compile_text(SPEC.replace("    trainable: false\n", "    trainable: no-thanks\n", 1))
    assert "trainable" in raised.value.format()
