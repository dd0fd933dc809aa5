"""Which feature maps ``archspec activations`` draws, and their values for one image.

Layers are named as ``archspec summary`` prints them (``enc1/unit_1/conv``) and chosen with
the rules of ``archspec explain --layers`` (a full name, a name inside blocks, a repeated
entry's base name, or a glob); the Keras spelling (``enc1.unit_1.conv``) is accepted too.
By default one layer per spatial resolution is drawn: the last before the size changes,
which is a stage's output; the BatchNormalization and activation right after a convolution
would only repeat it. Rendering is in ``activation_pictures``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from archspec.analysis.cli import select_layers
from archspec.errors import UserError

MAX_DEFAULT_LAYERS = 8
ONE_RESOLUTION_LAYERS = 4  # a model that keeps one resolution shows this many of its layers


@dataclass(frozen=True)
class MapLayer:
    """A layer whose output is a feature map, (height, width, channels) per sample."""

    name: str                      # as summary prints it
    keras_name: str
    shape: tuple[int, int, int]
    has_kernel: bool               # a convolution of some kind (it has a 4-D kernel)


def map_layers(model: Any, summary_names: Mapping[str, str] | None = None) -> list[MapLayer]:
    """Layers with a spatial output, in model order. ``summary_names`` maps Keras names to
    the spec's names; layers Keras adds on its own (explicit padding) are left out then."""
    found = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer" or (summary_names is not None and layer.name not in summary_names):
            continue
        try:
            shape = tuple(layer.output.shape[1:])
        except (AttributeError, ValueError):
            continue
        if len(shape) == 3 and all(isinstance(d, int) for d in shape):
            kernel = any(len(w.shape) == 4 for w in getattr(layer, "weights", []))
            name = summary_names[layer.name] if summary_names is not None else layer.name
            found.append(MapLayer(name, layer.name, shape, kernel))  # type: ignore[arg-type]
    return found


def choose_layers(layers: Sequence[MapLayer], wanted: Sequence[str] | None,
                  all_names: Sequence[str] | None = None) -> list[MapLayer]:
    """The layers to draw: those ``wanted`` names select, or :func:`default_layers`.

    ``all_names`` are every layer's names (feature maps or not), so that naming a Dense
    layer says it has no feature map instead of that it does not exist."""
    if not layers:
        raise UserError("the model has no layer with a (height, width, channels) output",
                        "activations draws the feature maps of convolutional networks")
    if not wanted:
        return default_layers(layers)
    by_name = {layer.name: layer for layer in layers}
    keras_spelling = {layer.keras_name: layer.name for layer in layers}
    names = list(all_names) if all_names is not None else list(by_name)
    chosen: list[MapLayer] = []
    for request in wanted:
        hits = select_layers(names, [keras_spelling.get(request, request)])
        maps = [by_name[h] for h in hits if h in by_name]
        if not maps:
            raise UserError(f"layer '{hits[0]}' has no feature map (its output is not height x width x channels)",
                            f"choose among: {_some(list(by_name))}")
        chosen += [m for m in maps if m not in chosen]
    return chosen


def default_layers(layers: Sequence[MapLayer]) -> list[MapLayer]:
    """One layer per spatial resolution, in model order: the last one before the size changes.

    A model that keeps one resolution shows its convolutions too, evenly spread; more than
    :data:`MAX_DEFAULT_LAYERS` candidates are thinned evenly, keeping the first and last.

    >>> conv = lambda name, size, k=True: MapLayer(name, name, (size, size, 4), k)
    >>> model = [conv("rescale", 64, False), conv("c1", 64), conv("bn1", 64, False), conv("relu1", 64, False),
    ...          conv("pool1", 32, False), conv("c2", 32), conv("relu2", 32, False), conv("pool2", 16, False)]
    >>> [m.name for m in default_layers(model)]
    ['relu1', 'relu2', 'pool2']
    >>> [m.name for m in default_layers([conv("c1", 8), conv("bn", 8, False), conv("c2", 8), conv("c3", 8)])]
    ['c1', 'c2', 'c3']
    """
    ends = [layer for layer, after in zip(layers, [*layers[1:], None])
            if after is None or after.shape[:2] != layer.shape[:2]]
    if len(ends) == 1:
        convs = _spread([layer for layer in layers[:-1] if layer.has_kernel], ONE_RESOLUTION_LAYERS - 1)
        ends = [layer for layer in layers if layer in ends or layer in convs]
    return _spread(ends, MAX_DEFAULT_LAYERS)


def _spread(items: Sequence[MapLayer], count: int) -> list[MapLayer]:
    """At most ``count`` of ``items``, evenly spaced, first and last kept, in order."""
    if len(items) <= count:
        return list(items)
    if count == 1:
        return [items[-1]]
    picks = sorted({round(i * (len(items) - 1) / (count - 1)) for i in range(count)})
    return [items[i] for i in picks]


def _some(names: Sequence[str], shown: int = 12) -> str:
    return ", ".join(names[:shown]) + (f", ... ({len(names)} in all)" if len(names) > shown else "")


def feature_maps(model: Any, image: np.ndarray, layers: Sequence[MapLayer]) -> list[np.ndarray]:
    """Each chosen layer's output for one image: (H, W, C) arrays."""
    import keras

    probe = keras.Model(model.inputs, [model.get_layer(layer.keras_name).output for layer in layers])
    outputs = probe.predict(image, verbose=0)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [np.asarray(o[0], np.float32) for o in outputs]


def first_conv_kernel(model: Any, summary_names: Mapping[str, str] | None = None) -> tuple[str, np.ndarray]:
    """The first layer with a 4-D kernel (kh, kw, in, out), a Conv2D or one of its kin, by
    its summary name."""
    for layer in model.layers:
        for weight in getattr(layer, "weights", []):
            if len(weight.shape) == 4 and weight.name.endswith(("kernel", "depthwise_kernel")):
                name = (summary_names or {}).get(layer.name, layer.name)
                return name, np.asarray(weight.numpy(), np.float32)
    raise UserError("the model has no convolution with a kernel to draw", "use --no-filters")
