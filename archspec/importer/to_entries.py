"""The flat graph of a Keras model as spec entries: one entry per layer call, in an order
where each entry's inputs come first, with the model's layer names.

Each Keras class maps to the registered kind of that name (or the kind that declares it as
``keras_class``), so every kind, plugin kinds included, is importable without a table here.
A layer called again is a ``share:`` entry; a layer or operation archspec cannot express is
an error naming it, never dropped.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from archspec.errors import ArchspecError, Location, SpecErrors, UserError
from archspec.importer.arguments import convert
from archspec.importer.graph import Call, Graph, Layer, TensorRef
from archspec.layers.catalog import LayerKind, all_kinds

OPS_MODULE = "keras.src.ops"       # raw operations on tensors (x + 3.0) appear as layers of it
NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
RESERVED = {"previous", "in", "input"}
NEUTRAL_CALL_KWARGS = {"training", "mask"}  # how a call runs, not what it computes at inference


@dataclass
class Entry:
    """One spec entry: a layer of ``kind`` (a kind's or, after ``blocks``, a block's name), or a
    ``share`` of an earlier entry."""

    name: str
    kind: str
    args: dict
    inputs: list[str]
    share: Optional[str] = None
    keras_name: str = ""  # the Keras layer it came from
    trainable: bool = True  # False: frozen (the Keras layer's trainable = False), written `trainable: false`
    weightless: bool = False  # a layer without weights (freezing it changes nothing): known once analysed


@dataclass
class Imported:
    name: str
    inputs: dict[str, tuple]
    entries: list[Entry]
    outputs: list[str]
    notes: dict[str, list[str]] = field(default_factory=dict)  # a setting left out -> the layers
    policies: dict[str, list[str]] = field(default_factory=dict)  # a mixed-precision dtype policy -> the layers


def kinds_by_class() -> dict[str, LayerKind]:
    """Keras class name -> the kind that compiles to it; a kind named as the class wins over
    one that only compiles to it (GroupNormalization, not InstanceNormalization)."""
    found: dict[str, LayerKind] = {}
    for kind in all_kinds().values():
        found.setdefault(kind.keras_class or kind.name, kind)
    found.update({kind.name: kind for kind in all_kinds().values()})
    return found


def to_entries(graph: Graph, source: str) -> Imported:
    """The entries of ``graph``; SpecErrors naming every layer that cannot be expressed."""
    kinds = kinds_by_class()
    where = Location(source)
    names = _entry_names(graph)
    errors: list[ArchspecError] = []
    notes: dict[str, list[str]] = {}
    policies: dict[str, list[str]] = {}
    entries: dict[tuple[str, int], Entry] = {}
    for layer in graph.layers.values():
        policy = _mixed_policy(layer.config.get("dtype"))
        if policy is not None:
            policies.setdefault(policy, []).append(layer.name)
            layer = replace(layer, config={k: v for k, v in layer.config.items() if k != "dtype"})
        try:
            kind_name, args = _layer_args(layer, kinds, notes)
        except UserError as exc:
            errors.append(UserError(exc.message, exc.hint, where))
            continue
        for index, call in enumerate(layer.calls):
            inputs = [_ref_text(t, names) for t in call.tensors]
            if index == 0:
                entry = Entry(names[(layer.name, 0)], kind_name, args, inputs, keras_name=layer.name,
                              trainable=layer.config.get("trainable") is not False)
            else:
                entry = Entry(names[(layer.name, index)], kind_name, {}, inputs, share=names[(layer.name, 0)],
                              keras_name=layer.name)
            entries[(layer.name, index)] = entry
    taken = {t.layer for layer in graph.layers.values() for call in layer.calls for t in call.tensors}
    taken |= {t.layer for t in graph.outputs}
    for name in graph.inputs:
        if name not in taken:
            errors.append(UserError(f"the model input '{name}' is used by no layer; a spec's inputs are the tensors "
                                    "its layers take", f"save the model without it (keras.Model(inputs=[...]) "
                                    f"listing only the inputs it uses)", where))
    if errors:
        raise SpecErrors(errors)
    ordered = _topological(graph, entries)
    outputs = [_ref_text(t, names) for t in graph.outputs]
    inputs = {names[(name, 0)]: shape for name, shape in graph.inputs.items()}
    return Imported(graph.name, inputs, ordered, outputs, notes, policies)


MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def _mixed_policy(dtype: Any) -> Optional[str]:
    """A mixed-precision dtype policy (float32 variables, 16-bit computation): it changes no
    shape or count, and the spec leaves precision to training (``--mixed-precision``).

    >>> _mixed_policy({"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}), _mixed_policy("float32")
    ('mixed_float16', None)
    """
    name = (dtype.get("config") or {}).get("name") if isinstance(dtype, dict) else dtype
    return name if name in MIXED_POLICIES else None


def _layer_args(layer: Layer, kinds: dict[str, LayerKind], notes: dict[str, list[str]]) -> tuple[str, dict]:
    """The kind and spec arguments of a layer, or UserError saying why it has none."""
    what = f"{layer.class_name} '{layer.name}'"
    if layer.module.startswith(OPS_MODULE):
        return _operation(layer, what)
    kind = kinds.get(layer.class_name)
    if kind is None:
        raise UserError(*_no_kind(layer, what))
    converted = convert(kind, _last_axis_as_minus_one(layer.config, layer.calls[0].shapes))
    refused = list(converted.refused)
    call_args = _call_arguments(layer.calls[0], kind, refused)
    if refused:
        raise UserError(f"{what}: " + "; ".join(refused),
                        f"archspec's {kind.name} takes {', '.join(a.name for a in kind.args) or 'no arguments'} "
                        f"(`archspec layers {kind.name}`); rebuild the layer without it")
    for note in converted.notes:
        notes.setdefault(note, []).append(layer.name)
    return kind.name, {**converted.args, **call_args}


def _last_axis_as_minus_one(config: dict, shapes: list) -> dict:
    """``axis: 3`` of a 4-D input is the last axis, as a person writes it: -1 (the same axis,
    so the same layer; the default of every kind with an ``axis``).

    >>> _last_axis_as_minus_one({"axis": 3}, [(None, 8, 8, 16)]), _last_axis_as_minus_one({"axis": 1}, [(None, 4, 4)])
    ({'axis': -1}, {'axis': 1})
    """
    axis = config.get("axis")
    ranks = {len(shape) for shape in shapes if shape is not None}
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, int) and not isinstance(axis, bool) and ranks == {axis + 1}:
        return {**config, "axis": -1}
    return config


def _no_kind(layer: Layer, what: str) -> tuple[str, str]:
    if layer.class_name == "Lambda":
        return (f"{what} holds Python code, which archspec never runs (nor deserialises)",
                "replace the Lambda with a Keras layer, or register a kind for it in a plugin")
    origin = f" (from {layer.module})" if layer.module else ""
    return (f"{what}{origin}: archspec has no layer kind for the Keras class {layer.class_name}",
            "`archspec layers` lists the kinds; a plugin can add one (entry-point group archspec.layers)")


def _call_arguments(call: Call, kind: LayerKind, refused: list[str]) -> dict:
    """Keyword arguments of the call that are the kind's arguments (MultiHeadAttention's
    ``use_causal_mask``...); other non-tensor keywords are refused unless neutral."""
    declared = {arg.name for arg in kind.args}
    out = {}
    for key, value in call.kwargs.items():
        if _has_tensor(value):
            continue
        if key in declared:
            out[key] = value
        elif key not in NEUTRAL_CALL_KWARGS and value is not None:
            refused.append(f"the call argument {key}={value!r} has no archspec equivalent")
    return out


def _has_tensor(value: Any) -> bool:
    return bool(Call([value], {}).tensors)


# Raw activation operations (keras.ops.relu(x)...) -> the Activation of that name, with the
# operation's settings at the values the named activation uses (ops.gelu approximates by default,
# the activation "gelu" does not).
ACTIVATION_OPS: dict[str, tuple[str, dict]] = {
    "Relu": ("relu", {}), "Relu6": ("relu6", {}), "Sigmoid": ("sigmoid", {}), "Tanh": ("tanh", {}),
    "Silu": ("silu", {}), "Softplus": ("softplus", {}), "Softsign": ("softsign", {}), "Selu": ("selu", {}),
    "HardSigmoid": ("hard_sigmoid", {}), "HardSilu": ("hard_silu", {}), "Exp": ("exponential", {}),
    "Gelu": ("gelu", {"approximate": False}), "Elu": ("elu", {"alpha": 1.0}),
    "LeakyRelu": ("leaky_relu", {"negative_slope": 0.2}), "Softmax": ("softmax", {"axis": -1}),
    "LogSoftmax": ("log_softmax", {"axis": -1}),
}
OPERATIONS_SAID = ("tensor + - * / a number and -x (as Rescaling), + - * of two tensors, concatenate, reshape "
                   "and transpose keeping the batch axis, x[:, i] of a sequence (SelectToken) and the activations "
                   "(relu, sigmoid, tanh, gelu...)")


def _operation(layer: Layer, what: str) -> tuple[str, dict]:
    """A raw operation as a layer, where a kind computes the same numbers: tensor (+ - *) number
    is Rescaling (x*1 + c, x*c + 0; x / c is x * (1/c), equal to rounding), tensor (+ - *) tensor
    the merge layer of that name, ``ops.concatenate`` Concatenate, ``ops.reshape``/``ops.transpose``
    that keep the batch axis Reshape/Permute, ``x[:, i]`` of a sequence SelectToken, and an
    activation operation the Activation of that name."""
    call = layer.calls[0]
    tensors = call.tensors
    config = {k: v for k, v in layer.config.items() if k != "name"}
    numbers = [a for a in call.args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    found: Optional[tuple[str, dict]] = None
    if layer.class_name in ("Add", "Subtract", "Multiply"):
        if len(tensors) == 2 and not numbers and len(call.args) == 2:
            found = layer.class_name, {}
        elif len(tensors) == 1 and len(numbers) == 1 and len(call.args) == 2:
            found = "Rescaling", _scalar_rescaling(layer.class_name, float(numbers[0]),
                                                   isinstance(call.args[0], TensorRef))
    elif layer.class_name in ("TrueDivide", "Divide") and len(call.args) == 2 and \
            isinstance(call.args[0], TensorRef) and len(numbers) == 1 and numbers[0] != 0:
        found = "Rescaling", {"scale": 1.0 / float(numbers[0])}
    elif len(tensors) == 1 and len(call.args) == 1 and isinstance(call.args[0], TensorRef):
        found = _one_tensor_operation(layer.class_name, config, call)
    elif layer.class_name == "Concatenate" and len(call.args) == 1 and len(tensors) == len(call.args[0]) >= 2:
        found = "Concatenate", {} if config.get("axis", -1) == -1 else {"axis": config["axis"]}
    elif layer.class_name == "GetItem" and len(call.args) == 2 and isinstance(call.args[0], TensorRef):
        found = _select_token(call.args[1], call.shapes[0] if call.shapes else None)
    if found is None:
        raise UserError(f"the operation {layer.class_name} '{layer.name}' ({layer.module}) is applied to tensors "
                        f"directly, in a form archspec cannot write; archspec expresses {OPERATIONS_SAID}",
                        "write it as a Keras layer (Add, Multiply, Rescaling, Activation, Reshape...)")
    return found


def _one_tensor_operation(class_name: str, config: dict, call: Call) -> Optional[tuple[str, dict]]:
    """
    >>> exact, approximated = {"approximate": False}, {"approximate": True}
    >>> _one_tensor_operation("Gelu", exact, Call([], {})), _one_tensor_operation("Gelu", approximated, Call([], {}))
    (('Activation', {'activation': 'gelu'}), None)
    >>> _one_tensor_operation("Transpose", {"axes": [0, 2, 1]}, Call([], {}))
    ('Permute', {'dims': [2, 1]})
    """
    if class_name in ACTIVATION_OPS:
        name, settings = ACTIVATION_OPS[class_name]
        return ("Activation", {"activation": name}) if config == settings else None
    if class_name == "Negative":
        return "Rescaling", {"scale": -1.0}
    if class_name == "Reshape":
        shape = config.get("newshape")
        if isinstance(shape, list) and len(shape) >= 2 and shape[0] == -1 and -1 not in shape[1:] and \
                all(isinstance(s, int) and s > 0 for s in shape[1:]):
            return "Reshape", {"target_shape": shape[1:]}
    if class_name == "Transpose":
        axes = config.get("axes")
        if isinstance(axes, list) and len(axes) >= 3 and axes[0] == 0 and sorted(axes) == list(range(len(axes))):
            return "Permute", {"dims": axes[1:]}
    return None


def _select_token(key: Any, shape: Optional[tuple]) -> Optional[tuple[str, dict]]:
    """``x[:, i]`` (``x[:, i, :]``) of a sequence [batch, N, D]: SelectToken i.

    >>> full = {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}}
    >>> _select_token([full, -1], (None, 5, 6)), _select_token([full, 0], (None, 4, 4, 2))
    (('SelectToken', {'index': -1}), None)
    """
    full = {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}}
    if not isinstance(key, list) or len(key) < 2 or key[0] != full or any(k != full for k in key[2:]):
        return None
    index = key[1]
    if not isinstance(index, int) or isinstance(index, bool) or shape is None or len(shape) != 3:
        return None
    return "SelectToken", {} if index == 0 else {"index": index}


def _scalar_rescaling(op: str, number: float, tensor_first: bool) -> dict:
    """
    >>> _scalar_rescaling("Add", 3.0, True), _scalar_rescaling("Subtract", 1.0, False)
    ({'scale': 1.0, 'offset': 3.0}, {'scale': -1.0, 'offset': 1.0})
    """
    if op == "Multiply":
        return {"scale": number}
    if op == "Add":
        return {"scale": 1.0, "offset": number}
    return {"scale": 1.0, "offset": -number} if tensor_first else {"scale": -1.0, "offset": number}


def _entry_names(graph: Graph) -> dict[tuple[str, int], str]:
    """(layer, call) -> its entry's name: the Keras name, made a valid archspec name, and
    ``NAME_call2``... for the later calls of a shared layer. A single model input is ``input``
    (the spec's ``input:``)."""
    names: dict[tuple[str, int], str] = {}
    if len(graph.inputs) == 1:
        names[(next(iter(graph.inputs)), 0)] = "input"
    else:
        names.update({(name, 0): _valid_name(name) for name in graph.inputs})
    taken = set(names.values()) | RESERVED
    for layer in graph.layers.values():
        base = _valid_name(layer.name)
        for index in range(len(layer.calls)):
            name = base if index == 0 else f"{base}_call{index + 1}"
            while name in taken:
                name += "_"
            taken.add(name)
            names[(layer.name, index)] = name
    return names


def _valid_name(name: str) -> str:
    """
    >>> _valid_name("conv 1"), _valid_name("1x1")
    ('conv_1', '_1x1')
    """
    name = NAME_CHARS.sub("_", name) or "_"
    return name if name[0].isalpha() or name[0] == "_" else "_" + name


def _ref_text(ref: TensorRef, names: dict[tuple[str, int], str]) -> str:
    base = names.get((ref.layer, ref.call), ref.layer)
    return f"{base}:{ref.index}" if ref.index else base


def _topological(graph: Graph, entries: dict[tuple[str, int], Entry]) -> list[Entry]:
    """The entries with each one's inputs first, the model's own order wherever it allows."""
    keys = list(entries)
    position = {key: i for i, key in enumerate(keys)}
    waiting = {key: {(t.layer, t.call) for t in graph.layers[key[0]].calls[key[1]].tensors
                     if (t.layer, t.call) in entries} for key in keys}
    users: dict[tuple[str, int], list] = {key: [] for key in keys}
    for key, needs in waiting.items():
        for need in needs:
            users[need].append(key)
    ready = [position[k] for k in keys if not waiting[k]]
    heapq.heapify(ready)
    ordered: list[Entry] = []
    follow: Optional[tuple[str, int]] = None  # an entry whose only input is the one just written
    while ready or follow:
        key = follow if follow is not None else keys[heapq.heappop(ready)]
        follow = None
        ordered.append(entries[key])
        for user in users[key]:
            waiting[user].discard(key)
            if not waiting[user]:
                heapq.heappush(ready, position[user])
        chained = [u for u in users[key] if not waiting[u] and _first_input(graph, u) == key]
        if chained:
            # Keep a chain together: the entry then needs no `inputs:` (the others wait their turn).
            follow = min(chained, key=position.get)
            ready.remove(position[follow])
            heapq.heapify(ready)
    return ordered


def _first_input(graph: Graph, key: tuple[str, int]) -> Optional[tuple[str, int]]:
    tensors = graph.layers[key[0]].calls[key[1]].tensors
    return (tensors[0].layer, tensors[0].call) if len(tensors) == 1 and tensors[0].index == 0 else None
