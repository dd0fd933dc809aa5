"""The last analysis-free stage: the IR becomes a ``keras.Model``. Imports Keras."""
from __future__ import annotations

from typing import Any

from archspec.analysis.shape_pass import Analysis
from archspec.errors import RunFailure
from archspec.graph.ir import Graph
from archspec.layers.catalog import all_kinds
from archspec.layers.arithmetic import fmt_shape


def keras_name(name: str) -> str:
    """Keras forbids '/' in layer names; block members become ``block.layer``.

    >>> keras_name("stage1/conv2d_1")
    'stage1.conv2d_1'
    """
    return name.replace("/", ".")


def build_model(graph: Graph) -> Any:
    """Build the functional Keras model: one Input per graph input, layers in topological order."""
    import keras

    import archspec.keras_backend.custom_layers  # noqa: F401  (registers archspec's own layers)

    kinds = all_kinds()
    tensors: dict[str, Any] = {name: keras.Input(shape=shape, name=keras_name(name))
                               for name, shape in graph.inputs.items()}
    for node in graph.nodes:
        kind = kinds[node.kind]
        ins = [tensors[i] for i in node.inputs]
        in_shapes = [tuple(t.shape[1:]) for t in ins]
        x: Any = ins if kind.is_merge else ins[0]
        for layer in kind.build(kind, node.args, keras_name(node.name), in_shapes):
            x = layer(x)
        tensors[node.name] = x
    outputs = [tensors[o] for o in graph.outputs]
    inputs = [tensors[i] for i in graph.inputs]
    return keras.Model(inputs=inputs[0] if len(inputs) == 1 else inputs,
                       outputs=outputs[0] if len(outputs) == 1 else outputs, name=graph.name)


def verify(model: Any, analysis: Analysis) -> list[str]:
    """Compare every layer's output shape and params, and the totals, with the analysis.

    Returns the differences (empty when Keras and the analysis agree exactly).
    """
    problems = []
    for info in analysis.layers:
        layer = model.get_layer(keras_name(info.node.name))
        keras_shape = tuple(layer.output.shape[1:])
        if keras_shape != tuple(info.out_shape):
            problems.append(f"{info.node.name}: Keras output {fmt_shape(keras_shape)}, analysis "
                            f"{fmt_shape(info.out_shape)}")
        trainable, non_trainable = layer_params(model, info.node.name)
        if (trainable, non_trainable) != (info.params.trainable, info.params.non_trainable):
            problems.append(f"{info.node.name}: Keras params {trainable}+{non_trainable} (trainable+non-trainable), "
                            f"analysis {info.params.trainable}+{info.params.non_trainable}")
    totals = _totals(model)
    expected = (analysis.params.total, analysis.params.trainable, analysis.params.non_trainable)
    if totals != expected:
        problems.append(f"totals: Keras {totals}, analysis {expected} (total, trainable, non-trainable)")
    return problems


def layer_params(model: Any, name: str) -> tuple[int, int]:
    """Trainable and non-trainable params of a spec layer, its padding layer included."""
    import numpy as np

    trainable = non_trainable = 0
    for layer in model.layers:
        if layer.name in (keras_name(name), keras_name(name) + "_pad"):
            trainable += sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
            non_trainable += sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)
    return trainable, non_trainable


def _totals(model: Any) -> tuple[int, int, int]:
    import numpy as np

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


def build_verified(graph: Graph, analysis: Analysis) -> Any:
    model = build_model(graph)
    problems = verify(model, analysis)
    if problems:
        raise RunFailure("the Keras model disagrees with the analysis:\n  " + "\n  ".join(problems),
                         "please report this as a bug in archspec, with the spec")
    return model
