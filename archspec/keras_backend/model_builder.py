"""The last analysis-free stage: the IR becomes a ``keras.Model``. Imports Keras."""
from __future__ import annotations

from typing import Any

from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.errors import RunFailure
from archspec.graph.ir import OUTPUT_MARK, Graph, Node
from archspec.layers.catalog import LayerKind, all_kinds
from archspec.layers.arithmetic import fmt_shape


def keras_name(name: str) -> str:
    """Keras forbids '/' in layer names; block members become ``block.layer``.

    >>> keras_name("stage1/conv2d_1")
    'stage1.conv2d_1'
    """
    return name.replace("/", ".")


def build_model(graph: Graph) -> Any:
    """Build the functional Keras model: one Input per graph input, layers in topological order.
    A shared application calls the Keras layers of the node it shares (made once, named after
    that node), so Keras holds one layer, called several times, and counts its weights once."""
    import keras

    import archspec.keras_backend.custom_layers  # noqa: F401  (registers archspec's own layers)

    kinds = all_kinds()
    tensors: dict[str, Any] = {name: keras.Input(shape=shape, name=keras_name(name))
                               for name, shape in graph.inputs.items()}
    built: dict[str, list] = {}  # the Keras layers of each node that owns weights
    for node in graph.nodes:
        kind = kinds[node.kind]
        ins = [tensors[i] for i in node.inputs]
        in_shapes = [tuple(t.shape[1:]) for t in ins]
        owner = node.weights_of
        if owner not in built:
            built[owner] = kind.build(kind, node.args, keras_name(owner), in_shapes)
            if not node.trainable:  # trainable: false
                for layer in built[owner]:
                    layer.trainable = False
        x: Any = ins if kind.is_merge else ins[0]
        for layer in built[owner]:
            x = layer(x)
        _keep_outputs(tensors, kind, node, in_shapes, x)
    outputs = [tensors[o] for o in graph.outputs]
    inputs = [tensors[i] for i in graph.inputs]
    return keras.Model(inputs=inputs[0] if len(inputs) == 1 else inputs,
                       outputs=outputs[0] if len(outputs) == 1 else outputs, name=graph.name)


def _keep_outputs(tensors: dict[str, Any], kind: LayerKind, node: Node, in_shapes: list, result: Any) -> None:
    """Name what a layer returned: its first tensor ``node``, the others ``node:name`` and ``node:k``
    (the spec's names for them, in the order Keras returns them)."""
    if not isinstance(result, (list, tuple)):
        tensors[node.name] = result
        return
    tensors[node.name] = result[0]
    extra = kind.extra_outputs(node.args, in_shapes, tuple(result[0].shape[1:]))
    for index, ((name, _), tensor) in enumerate(zip(extra, result[1:]), 1):
        tensors[f"{node.name}{OUTPUT_MARK}{name}"] = tensors[f"{node.name}{OUTPUT_MARK}{index}"] = tensor


def verify(model: Any, analysis: Analysis) -> list[str]:
    """Compare every layer's output shapes and params, and the totals, with the analysis; a
    shared application with the call of its Keras layer it made, and with no weights of its own.

    Returns the differences (empty when Keras and the analysis agree exactly).
    """
    problems = []
    calls: dict[str, int] = {}  # applications of each Keras layer so far, in the order they were built
    for info in analysis.layers:
        owner = info.node.weights_of
        calls[owner] = calls.get(owner, 0) + 1
        problems += _output_problems(model.get_layer(keras_name(owner)), calls[owner] - 1, info)
        if info.node.shares:
            continue  # its weights are its owner's, compared at the owner's row
        trainable, non_trainable = layer_params(model, info.node.name)
        if (trainable, non_trainable) != (info.params.trainable, info.params.non_trainable):
            problems.append(f"{info.node.name}: Keras params {trainable}+{non_trainable} (trainable+non-trainable), "
                            f"analysis {info.params.trainable}+{info.params.non_trainable}")
    totals = _totals(model)
    expected = (analysis.params.total, analysis.params.trainable, analysis.params.non_trainable)
    if totals != expected:
        problems.append(f"totals: Keras {totals}, analysis {expected} (total, trainable, non-trainable)")
    return problems


def _output_problems(layer: Any, call: int, info: LayerInfo) -> list[str]:
    """Differences between the outputs of one call of a Keras layer and the analysis's."""
    keras_shapes = [tuple(t.shape[1:]) for t in layer._inbound_nodes[call].output_tensors]
    ours = [tuple(shape) for _, shape in info.outputs]
    if keras_shapes == ours:
        return []
    if len(keras_shapes) == len(ours) == 1:
        return [f"{info.node.name}: Keras output {fmt_shape(keras_shapes[0])}, analysis {fmt_shape(ours[0])}"]
    shown = ", ".join(map(fmt_shape, keras_shapes))
    return [f"{info.node.name}: Keras outputs {shown}, analysis {', '.join(map(fmt_shape, ours))}"]


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
