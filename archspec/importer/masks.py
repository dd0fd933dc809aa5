"""The masks Keras propagates, taken out of the flat graph: the model archspec builds
propagates them itself.

When an ``Embedding(mask_zero=True)`` or a ``Masking`` layer starts a mask, Keras writes the
mask's computation into the saved graph as raw operations (``not_equal(tokens, 0)``, then
``any(..., axis=-1)`` for ``Masking``; ``logical_and``... where masks merge) and passes the
result as ``mask=`` to each later call. The same layers, built from the spec, compute and pass
the same masks, so the ``mask=`` arguments and the operations that only computed them are
dropped. A mask that does not come from such a layer (``mask=`` computed by hand) is an error
naming the call: archspec cannot write it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from archspec.errors import Location, UserError
from archspec.importer.graph import Call, Graph, Layer, TensorRef

OPS_MODULE = "keras.src.ops"
MASK = "mask"
SHAPE_ONLY = {"ZerosLike", "OnesLike"}  # read only a tensor's shape (a merge's mask of an unmasked input)
MASK_STARTS = {"Embedding": lambda config: 0 if config.get("mask_zero") else None,
               "Masking": lambda config: config.get("mask_value", 0.0)}


def without_propagated_masks(graph: Graph, source: str) -> Graph:
    """``graph`` without the ``mask=`` tensors Keras propagated and the operations computing them."""
    starts = _mask_starts(graph)
    mask_ops: set[str] = set()
    layers: dict[str, Layer] = {}
    for layer in graph.layers.values():
        calls = []
        for call in layer.calls:
            mask = call.kwargs.get(MASK)
            refs = Call([mask], {}).tensors
            if refs:
                for ref in refs:
                    _walk(ref, graph, starts, mask_ops, f"{layer.class_name} '{layer.name}'", source)
                call = replace(call, kwargs={k: v for k, v in call.kwargs.items() if k != MASK})
            calls.append(call)
        layers[layer.name] = replace(layer, calls=calls)
    dropped = _unused(mask_ops, layers, graph.outputs)
    return replace(graph, layers={name: layer for name, layer in layers.items() if name not in dropped})


def _mask_starts(graph: Graph) -> dict[TensorRef, float]:
    """Each tensor a mask-starting layer is called on -> the value its mask leaves out."""
    starts: dict[TensorRef, float] = {}
    for layer in graph.layers.values():
        value = MASK_STARTS.get(layer.class_name, lambda config: None)(layer.config)
        if value is None or layer.module.startswith(OPS_MODULE):
            continue
        for call in layer.calls:
            if call.tensors:
                starts[call.tensors[0]] = float(value)
    return starts


def _walk(ref: TensorRef, graph: Graph, starts: dict[TensorRef, float], seen: set[str], user: str,
          source: str) -> None:
    """Follow a mask back through operations to mask-starting layers' inputs, or refuse it
    (iteratively: a long chain of merges makes a long chain of mask operations)."""
    todo = [ref]
    while todo:
        ref = todo.pop()
        layer = graph.layers.get(ref.layer)
        if layer is None or not layer.module.startswith(OPS_MODULE):
            what = f"the model input '{ref.layer}'" if layer is None else f"{layer.class_name} '{layer.name}'"
            raise _refusal(user, f"is {what}", source)
        if layer.name in seen:
            continue
        seen.add(layer.name)
        call = layer.calls[ref.call]
        if layer.class_name == "NotEqual":
            if not _is_start(call, starts):
                raise _refusal(user, f"compares a tensor by not_equal '{layer.name}' that no "
                               "Embedding(mask_zero=True) or Masking layer takes", source)
        elif layer.class_name not in SHAPE_ONLY:
            if not call.tensors:
                raise _refusal(user, f"comes from the operation {layer.class_name} '{layer.name}'", source)
            todo.extend(call.tensors)


def _is_start(call: Call, starts: dict[TensorRef, float]) -> bool:
    """``not_equal(x, c)``, ``x`` the input of an Embedding(mask_zero=True) (c = 0) or of a
    Masking layer (c = its mask_value): the mask that layer makes."""
    tensor: Optional[Any] = call.args[0] if call.args else None
    other: Optional[Any] = call.args[1] if len(call.args) == 2 else None
    if not isinstance(tensor, TensorRef) or isinstance(other, bool) or not isinstance(other, (int, float)):
        return False
    return tensor in starts and starts[tensor] == float(other)


def _unused(mask_ops: set[str], layers: dict[str, Layer], outputs: list[TensorRef]) -> set[str]:
    """The mask operations nothing else takes (kept: one a kept layer or an output also reads)."""
    dropped = set(mask_ops)
    while True:
        used = {ref.layer for ref in outputs}
        used |= {ref.layer for name, layer in layers.items() if name not in dropped
                 for call in layer.calls for ref in call.tensors}
        if not dropped & used:
            return dropped
        dropped -= used


def _refusal(user: str, why: str, source: str) -> UserError:
    return UserError(f"the mask= passed to {user} {why}: archspec writes only the masks Keras propagates from "
                     "Embedding(mask_zero=True) and Masking layers",
                     "start the mask with Embedding(mask_zero=True) or a Masking layer instead of passing mask= "
                     "by hand", Location(source))
