"""Helpers the families use to make Keras layers. Keras is imported only when a builder runs."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from archspec.layers.registry import Args, LayerKind, Shape

Builder = Callable[[LayerKind, Args, str, Sequence[Shape]], list]


def keras_kwargs(kind: LayerKind, args: Args, **overrides: Any) -> dict[str, Any]:
    """The arguments Keras's own constructor takes, converted from spec values."""
    import keras

    kwargs: dict[str, Any] = {}
    for arg in kind.args:
        if not arg.keras:
            continue
        value = args.get(arg.name, arg.default)
        if arg.name.endswith("_regularizer") and isinstance(value, dict):
            value = keras.regularizers.L1L2(l1=value.get("l1", 0.0), l2=value.get("l2", 0.0))
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        kwargs[arg.name] = value
    kwargs.update(overrides)
    return kwargs


def padding_layers(pads: list[tuple[int, int]] | None, mode: str, name: str, constant: float = 0.0) -> list:
    """The layer that applies explicit padding: ZeroPadding*D, or archspec's SpatialPadding.

    ``constant`` is what padding_mode 'zeros' fills with: 0 for a convolution, but -inf in
    front of a max pooling and +inf in front of a min pooling, so that padding never wins.
    """
    if pads is None or all(b == 0 and a == 0 for b, a in pads):
        return []
    import keras

    padding = tuple(tuple(p) for p in pads)
    if mode == "zeros" and constant == 0:
        cls = getattr(keras.layers, f"ZeroPadding{len(pads)}D")
        return [cls(padding=padding[0] if len(pads) == 1 else padding, name=f"{name}_pad")]
    from archspec.keras_backend.custom_layers import SpatialPadding

    if mode == "zeros":
        return [SpatialPadding(padding=padding, mode="constant", value=constant, name=f"{name}_pad")]
    return [SpatialPadding(padding=padding, mode=mode, name=f"{name}_pad")]


Geometry = Callable[[Args], tuple[Sequence[int], Sequence[int], Sequence[int]]]  # kernels, strides, dilations


def with_padding(base: Builder, geometry: Geometry, constant: float = 0.0) -> Builder:
    """A windowed layer's builder: our padding layer for explicit/full/mode padding (if any),
    then ``base`` with the padding Keras itself applies ('valid' once we have padded).
    ``constant`` is the fill of padding_mode 'zeros' (see ``padding_layers``)."""
    from archspec.layers.common import explicit_pads, keras_padding

    def build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
        pads = explicit_pads(args, ins[0][:-1], *geometry(args))
        return padding_layers(pads, args.get("padding_mode", "zeros"), name, constant) + \
            base(kind, {**args, "padding": keras_padding(args, pads)}, name, ins)

    return build


def keras_layer(class_name: str | None = None, **fixed: Any) -> Builder:
    """A builder that instantiates ``keras.layers.<class_name>`` with the spec's arguments."""

    def build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
        import keras

        cls = getattr(keras.layers, class_name or kind.name)
        return [cls(name=name, **keras_kwargs(kind, args, **fixed))]

    return build


def archspec_layer(class_name: str, **fixed: Any) -> Builder:
    """A builder for one of archspec's own registered Keras layers."""

    def build(kind: LayerKind, args: Args, name: str, ins: Sequence[Shape]) -> list:
        from archspec.keras_backend import custom_layers as layers

        return [getattr(layers, class_name)(name=name, **keras_kwargs(kind, args, **fixed))]

    return build
