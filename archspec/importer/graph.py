"""A serialised Keras model as a flat graph of layer calls.

Nested models (a ``Functional`` tower, ConvNeXt's ``Sequential`` stem) are inlined: their
layers join the outer graph under their own names, and a nested model called twice makes
each of its layers a layer called twice (shared weights), as Keras computes it.
A tensor is a ``TensorRef``: the layer, which of its calls, which of that call's outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from archspec.errors import UserError
from archspec.importer.keras_config import MODEL_CLASSES

TENSOR_CLASS = "__keras_tensor__"


@dataclass(frozen=True)
class TensorRef:
    layer: str   # a layer's name, or a model input's
    call: int    # which call of the layer made it
    index: int   # which of that call's outputs


@dataclass
class Call:
    """One application of a layer: its arguments with every tensor a ``TensorRef``."""

    args: list
    kwargs: dict
    shapes: list = field(default_factory=list)  # the input tensors' shapes with the batch axis, when known

    @property
    def tensors(self) -> list[TensorRef]:
        """The tensors it takes, positional arguments first, then keyword arguments in order."""
        return list(_tensors([self.args, self.kwargs]))


@dataclass
class Layer:
    name: str
    class_name: str
    module: str
    config: dict
    calls: list[Call] = field(default_factory=list)


@dataclass
class Graph:
    name: str
    inputs: dict[str, tuple]            # name -> shape without the batch axis
    layers: dict[str, Layer]            # in the model's order
    outputs: list[TensorRef]


def model_graph(config: dict) -> Graph:
    """The flat graph of a checked serialised model (see ``keras_config.checked_model``)."""
    flat = _Flattener()
    outputs = flat.model(config, None)
    return Graph(str(config["config"].get("name") or "imported"), flat.inputs, flat.layers, outputs)


def _tensors(value: Any) -> Iterator[TensorRef]:
    if isinstance(value, TensorRef):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _history_refs(value: Any) -> list[tuple[str, int, int]]:
    """``input_layers``/``output_layers``: one [name, node, index] triple, or a nest of them."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [(value[0], int(value[1]), int(value[2]))]
    if isinstance(value, dict):  # dict inputs or outputs: in the order of model.inputs/outputs (sorted keys)
        value = [value[key] for key in sorted(value)]
    if isinstance(value, list):
        return [ref for item in value for ref in _history_refs(item)]
    raise UserError(f"the model's inputs or outputs are written as {value!r}, which archspec cannot read",
                    "save the model with Keras 3")


def _layer_name(layer_config: dict) -> str:
    return str(layer_config.get("name") or layer_config.get("config", {}).get("name"))


class _Flattener:
    """Walks nested models, giving every layer one global entry and every call its tensors."""

    def __init__(self) -> None:
        self.inputs: dict[str, tuple] = {}
        self.layers: dict[str, Layer] = {}
        self._by_config: dict[int, Layer] = {}  # a nested model called twice reuses its layers

    def model(self, config: dict, bound: Optional[list[TensorRef]]) -> list[TensorRef]:
        if config["class_name"] == "Sequential":
            return self._sequential(config, bound)
        return self._functional(config, bound)

    def _functional(self, config: dict, bound: Optional[list[TensorRef]]) -> list[TensorRef]:
        body = config["config"]
        input_names = [name for name, _, _ in _history_refs(body["input_layers"])]
        calls: dict[tuple[str, int], TensorRef] = {}         # (local layer, node) -> its first output
        models: dict[tuple[str, int], list[TensorRef]] = {}  # (nested model, node) -> its outputs

        def resolve(ref: tuple[str, int, int]) -> TensorRef:
            name, node, index = ref
            if (name, node) in models and index < len(models[(name, node)]):
                return models[(name, node)][index]
            if (name, node) not in calls:
                raise UserError(f"the model refers to the unknown tensor {list(ref)}", "save the model with Keras 3")
            first = calls[(name, node)]
            return TensorRef(first.layer, first.call, index)

        for layer_config in body["layers"]:
            name = _layer_name(layer_config)
            if layer_config["class_name"] == "InputLayer":
                models[(name, 0)] = [self._input(layer_config, name, bound, input_names)]
                continue
            for node, call in enumerate(layer_config.get("inbound_nodes") or []):
                args = _with_refs(call.get("args", []), resolve)
                kwargs = _with_refs(call.get("kwargs", {}), resolve)
                shapes = list(_tensor_shapes([call.get("args", []), call.get("kwargs", {})]))
                if layer_config["class_name"] in MODEL_CLASSES:
                    models[(name, node)] = self.model(layer_config, Call(args, kwargs).tensors)
                else:
                    calls[(name, node)] = self._call(layer_config, name, Call(args, kwargs, shapes))
        if bound is None:  # the model's inputs in its own order (the config lists layers in another)
            self.inputs = {name: self.inputs[name] for name in input_names}
        return [resolve(ref) for ref in _history_refs(body["output_layers"])]

    def _sequential(self, config: dict, bound: Optional[list[TensorRef]]) -> list[TensorRef]:
        layers = config["config"]["layers"]
        if bound is None:
            first = layers[0] if layers and layers[0]["class_name"] == "InputLayer" else None
            name = _layer_name(first) if first else "input"
            shape = _batch_shape(first["config"] if first else config.get("build_config", {}), name)
            self.inputs[name] = shape
            bound = [TensorRef(name, 0, 0)]
        tensor = bound[0]
        for layer_config in layers:
            if layer_config["class_name"] == "InputLayer":
                continue
            if layer_config["class_name"] in MODEL_CLASSES:
                tensor = self.model(layer_config, [tensor])[0]
            else:
                tensor = self._call(layer_config, _layer_name(layer_config), Call([tensor], {}))
        return [tensor]

    def _input(self, layer_config: dict, name: str, bound: Optional[list[TensorRef]],
               input_names: list[str]) -> TensorRef:
        if bound is None:
            self.inputs[name] = _batch_shape(layer_config["config"], name)
            return TensorRef(name, 0, 0)
        return bound[input_names.index(name)]

    def _call(self, layer_config: dict, name: str, call: Call) -> TensorRef:
        """Record one call of a layer; the first output's ref."""
        layer = self._by_config.get(id(layer_config))
        if layer is None:
            unique = name
            while unique in self.layers or unique in self.inputs:
                unique = f"{unique}_"
            layer = Layer(unique, str(layer_config["class_name"]), str(layer_config.get("module") or ""),
                          dict(layer_config.get("config") or {}))
            self.layers[unique] = layer
            self._by_config[id(layer_config)] = layer
        layer.calls.append(call)
        return TensorRef(layer.name, len(layer.calls) - 1, 0)


def _with_refs(value: Any, resolve: Any) -> Any:
    """A call's serialised arguments with each Keras tensor replaced by its ``TensorRef``."""
    if isinstance(value, dict):
        if value.get("class_name") == TENSOR_CLASS:
            history = value.get("config", {}).get("keras_history")
            return resolve((history[0], int(history[1]), int(history[2])))
        return {key: _with_refs(item, resolve) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_refs(item, resolve) for item in value]
    return value


def _tensor_shapes(value: Any) -> Iterator[Optional[tuple]]:
    """The shapes of the serialised tensors in ``value``, in the order ``Call.tensors`` lists them."""
    if isinstance(value, dict):
        if value.get("class_name") == TENSOR_CLASS:
            shape = value.get("config", {}).get("shape")
            yield tuple(shape) if isinstance(shape, list) else None
            return
        for item in value.values():
            yield from _tensor_shapes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tensor_shapes(item)


def _batch_shape(config: dict, name: str) -> tuple:
    shape = config.get("batch_shape") or config.get("batch_input_shape") or config.get("input_shape")
    if not isinstance(shape, list) or len(shape) < 2:
        raise UserError(f"the input '{name}' has no shape in the model config",
                        "build the model with keras.Input(shape=...) before saving it")
    return tuple(shape[1:])
