"""Activation memory of a forward pass (inference) and of a training step, per layer and total.

Conventions (stated in the summary and the docs):

* A tensor's size is the product of its shape times the batch size times the dtype's bytes
  (``layers.arithmetic.tensor_bytes``); unknown sizes (``?``) count as 0, and ``unknown``
  lists those tensors so that the totals can say so.
* **Training** keeps every tensor of the forward pass until the backward pass needs it: the
  model inputs and every layer's output, once each. Work buffers inside a layer (a fused
  activation's pre-activation, a dropout mask, cuDNN workspace) are not counted.
* **Inference** frees a tensor as soon as its last consumer has run. A layer's working set is
  every tensor alive while it runs (its inputs, its output, and tensors waiting for later
  layers, such as a skip connection); the inference figure is the largest working set, the
  peak a framework that frees eagerly reaches.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from archspec.analysis.shape_pass import Analysis
from archspec.layers.arithmetic import product, tensor_bytes


@dataclass(frozen=True)
class Memory:
    """Activation bytes for ``batch_size`` samples of ``dtype``."""

    batch_size: int
    dtype: str
    output_bytes: Mapping[str, int]    # every input and layer output
    live_bytes: Mapping[str, int]      # per layer: bytes alive while it runs (inference)
    training_bytes: int                # sum of output_bytes
    inference_bytes: int               # max of live_bytes
    peak_layer: str                    # where the inference peak is reached
    unknown: tuple[str, ...]           # tensors with an unknown size (counted as 0)


def last_use(analysis: Analysis) -> dict[str, int]:
    """For every tensor, the index of the last layer that reads it (model outputs: never freed)."""
    last: dict[str, int] = {}
    for index, info in enumerate(analysis.layers):
        for name in info.node.inputs:
            last[name] = index
    for name in analysis.graph.outputs:
        last[name] = len(analysis.layers)
    return last


def memory(analysis: Analysis, batch: int = 1, dtype: str = "float32") -> Memory:
    """Simulate a forward pass in topological order, freeing tensors after their last reader."""
    sizes = {name: tensor_bytes(shape, batch, dtype) for name, shape in analysis.graph.inputs.items()}
    unknown = [name for name, shape in analysis.graph.inputs.items() if product(shape) is None]
    last = last_use(analysis)
    alive = sum(sizes.values())
    live: dict[str, int] = {}
    for index, info in enumerate(analysis.layers):
        name = info.node.name
        for tensor, shape in info.outputs:  # a layer's other outputs ("lstm:state_h") are tensors too
            sizes[tensor] = tensor_bytes(shape, batch, dtype)
            if product(shape) is None:
                unknown.append(tensor)
            alive += sizes[tensor]
        live[name] = alive
        for source in set(info.node.inputs):
            if last.get(source) == index:
                alive -= sizes[source]
        for tensor, _ in info.outputs:
            if last.get(tensor, -1) < index:  # nothing reads it and it is not an output
                alive -= sizes[tensor]
    peak = max(live, key=live.__getitem__) if live else ""
    training = sum(sizes.values())
    return Memory(batch, dtype, sizes, live, training, live.get(peak, training), peak, tuple(unknown))
