"""The round trip of ``archspec import``: a Keras model -> spec text -> analysis and Keras model.

``check_round_trip`` proves the imported spec equals the model: totals and their split, the
output shapes, every layer's output shape, and, with the model's weights copied into the
model archspec builds, the same outputs for the same input. Each check reads the analysis
the import made of its own text (``ImportResult.compiled``): nothing is analysed twice.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from archspec.api import Compiled
from archspec.importer.run import ImportResult, import_config


def import_keras_model(model: Any, source: str = "<model>") -> ImportResult:
    from keras.saving import serialize_keras_object

    return import_config(serialize_keras_object(model), source)


def keras_layers(model: Any) -> dict[str, Any]:
    """Every layer (and raw operation) of the model by name, nested models' layers included
    (they are inlined)."""
    import keras

    found: dict[str, Any] = {}
    for layer in getattr(model, "operations", None) or model.layers:
        if isinstance(layer, keras.Model):
            found.update(keras_layers(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            found.setdefault(layer.name, layer)
    return found


def weight_count(weights: list) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def check_summary(model: Any, compiled: Compiled) -> Any:
    """The analysis of the imported spec equals ``model``: totals, split, outputs, each layer's shape."""
    analysis = compiled.analysis
    assert analysis.params.total == model.count_params()
    assert analysis.params.trainable == weight_count(model.trainable_weights)
    assert analysis.params.non_trainable == weight_count(model.non_trainable_weights)
    outputs = model.outputs
    assert [tuple(analysis.shapes[name]) for name in analysis.graph.outputs] == \
        [tuple(t.shape[1:]) for t in outputs]
    layers = keras_layers(model)
    applications: dict[str, int] = {}
    for info in analysis.layers:
        keras_name = info.node.name.replace("/", "")
        shares = getattr(info.node, "shares", None)
        layer = layers[layers_key(keras_name, shares, layers)]
        call = applications.get(layer.name, 0)
        applications[layer.name] = call + 1
        # A nested model's layers have one node however often the model is called (with one shape).
        produced = layer._inbound_nodes[min(call, len(layer._inbound_nodes) - 1)].output_tensors
        assert tuple(info.out_shape) == tuple(produced[0].shape[1:]), info.node.name
        assert [tuple(s) for _, s in info.extra_outputs] == [tuple(t.shape[1:]) for t in produced[1:]], info.node.name
    return analysis


def layers_key(name: str, shares: Any, layers: dict[str, Any]) -> str:
    """The Keras layer an analysed node comes from: itself, or the layer it shares."""
    if shares:
        return str(shares).replace("/", "")
    return name


def sample_inputs(model: Any, rng: Any, length: int = 5) -> list:
    """Two samples for each model input: an unknown size (a sequence of any length) is
    ``length``; integer inputs (token ids) are ids 0-3, so ``Embedding(mask_zero=True)`` masks some."""
    samples = []
    for tensor in model.inputs:
        shape = (2, *(length if size is None else size for size in tensor.shape[1:]))
        if "int" in str(tensor.dtype):
            samples.append(rng.integers(0, 4, shape).astype(str(tensor.dtype)))
        else:
            samples.append(rng.uniform(0, 1, shape).astype("float32"))
    return samples


def check_outputs(model: Any, compiled: Compiled, seed: int = 0, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """The model archspec builds from the imported spec, with ``model``'s weights, computes the
    same outputs. Its variables are never filled with their own initial values (most of the
    time of a large model): it runs with ``model``'s weights in their place."""
    import keras

    from archspec.importer.keras_config import unfilled_variables
    from archspec.keras_backend.model_builder import build_model

    with unfilled_variables():
        built = build_model(compiled.graph)
    weights = copied_weights(model, built, compiled)
    rng = np.random.default_rng(seed)
    inputs = sample_inputs(model, rng)
    struct = getattr(model, "_inputs_struct", None)  # dict inputs: model.inputs is in the keys' order
    feed = dict(zip(sorted(struct), inputs)) if isinstance(struct, dict) else inputs if len(inputs) > 1 else inputs[0]
    expected = model(feed, training=False)
    with keras.StatelessScope(state_mapping=weights, initialize_variables=False):
        for layer in built.layers:
            if layer.weights and hasattr(layer, "finalize_state"):
                layer.finalize_state()  # what loading does: an adapted Normalization reads its statistics
        got = built(inputs if len(inputs) > 1 else inputs[0], training=False)
    expected = keras.tree.flatten(expected)  # dict outputs too, in the order of model.outputs
    got = keras.tree.flatten(got)
    assert len(got) == len(expected)
    for a, b in zip(expected, got):
        np.testing.assert_allclose(np.asarray(b, dtype="float32"), np.asarray(a, dtype="float32"), rtol=rtol, atol=atol)


def copied_weights(model: Any, built: Any, compiled: Compiled) -> list[tuple[Any, Any]]:
    """(built variable, the model's value) for every weight of every layer: each built layer
    has exactly the source layer's weights, in order and shape (as set_weights checks)."""
    layers = keras_layers(model)
    pairs = []
    for info in compiled.analysis.layers:
        if getattr(info.node, "shares", None):
            continue
        source = getattr(layers[info.node.name.replace("/", "")], "weights", [])  # a raw operation has none
        target = built.get_layer(info.node.name.replace("/", ".")).weights
        assert [tuple(w.shape) for w in target] == [tuple(w.shape) for w in source], info.node.name
        pairs += [(t, s.value) for t, s in zip(target, source)]
    assert len(pairs) == len(built.weights)  # every built weight has a value from the model
    return pairs


def check_round_trip(model: Any, source: str = "<model>") -> ImportResult:
    result = import_keras_model(model, source)
    check_summary(model, result.compiled)
    check_outputs(model, result.compiled)
    return result
