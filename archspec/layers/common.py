"""Rules shared by windowed layers (convolution, pooling): rank checks, padding, windows."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from archspec.layers.registry import Args, LayerError, Shape, Window
from archspec.layers.arithmetic import as_tuple, dilated, fmt_shape, same_pads

SPATIAL = {1: "[T, C] (a sequence)", 2: "[H, W, C] (an image)", 3: "[D, H, W, C] (a volume)"}
AXIS_WORDS = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
Pads = Optional[list[tuple[int, int]]]


def expect_rank(kind: str, shape: Shape, n: int) -> None:
    """Raise unless the input has ``n`` spatial axes plus channels."""
    if len(shape) != n + 1:
        hint = ("a Flatten or Dense before it removed the spatial axes; move it after the "
                "convolutional part, or use Reshape" if len(shape) < n + 1 else
                f"use the {len(shape) - 1}-D variant of the layer, or Reshape first")
        raise LayerError(f"{kind} expects a {n + 1}-D input {SPATIAL[n]} but receives "
                         f"{len(shape)}-D {fmt_shape(shape)}", hint)


def channels(kind: str, shape: Shape) -> int:
    if shape[-1] is None:
        raise LayerError(f"{kind} needs a known number of channels; the input is {fmt_shape(shape)}",
                         "give the channel axis a size")
    return shape[-1]


def explicit_pads(args: Args, spatial: Sequence[Optional[int]], kernels: Sequence[int],
                  strides: Sequence[int], dilations: Sequence[int]) -> Pads:
    """Per-axis (before, after) pads that a padding layer applies, or None when Keras pads.

    >>> explicit_pads({"padding": 2}, (8, 8), (3, 3), (1, 1), (1, 1))
    [(2, 2), (2, 2)]
    >>> explicit_pads({"padding": [1, [0, 2]]}, (8, 8), (3, 3), (1, 1), (1, 1))
    [(1, 1), (0, 2)]
    >>> explicit_pads({"padding": "full"}, (8,), (3,), (1,), (2,))
    [(4, 4)]
    >>> explicit_pads({"padding": "same", "padding_mode": "reflect"}, (224, 224), (7, 7), (2, 2), (1, 1))
    [(2, 3), (2, 3)]
    >>> explicit_pads({"padding": "same"}, (8,), (3,), (1,), (1,)) is None
    True
    """
    padding: Any = args.get("padding", "valid")
    n = len(kernels)
    if isinstance(padding, int):
        return [(padding, padding)] * n
    if isinstance(padding, list):
        return [tuple(p) if isinstance(p, list) else (p, p) for p in padding]  # type: ignore[misc]
    if padding == "full":
        return [(dilated(k, d) - 1,) * 2 for k, d in zip(kernels, dilations)]  # type: ignore[misc]
    if padding == "same" and args.get("padding_mode", "zeros") != "zeros":
        if any(s is None for s in spatial):
            raise LayerError("padding 'same' with a padding_mode needs known spatial sizes",
                             "give the input a fixed size or use padding_mode: zeros", "padding_mode")
        return [same_pads(s, k, st, d) for s, k, st, d in zip(spatial, kernels, strides, dilations)]
    return None


def padded(spatial: Sequence[Optional[int]], pads: Pads) -> tuple[Optional[int], ...]:
    if pads is None:
        return tuple(spatial)
    return tuple(None if s is None else s + b + a for s, (b, a) in zip(spatial, pads))


def keras_padding(args: Args, pads: Pads) -> str:
    """The padding word the Keras layer itself gets once our padding layer has run."""
    return "valid" if pads is not None else args.get("padding", "valid")


def window(args: Args, spatial: Sequence[Optional[int]], kernels: Sequence[int], strides: Sequence[int],
           dilations: Sequence[int]) -> Window:
    """Receptive-field step of a windowed layer, with the padding it applies before position 0."""
    pads = explicit_pads(args, spatial, kernels, strides, dilations)
    mode = args.get("padding", "valid")
    before: list[float] = []
    for i, (k, s, d) in enumerate(zip(kernels, strides, dilations)):
        if pads is not None:
            before.append(pads[i][0])
        elif mode == "same":
            size = spatial[i]
            total = dilated(k, d) - 1 if size is None else sum(same_pads(size, k, s, d))
            before.append(total // 2 if size is not None else total / 2)
        elif mode == "causal":
            before.append(dilated(k, d) - 1)
        else:
            before.append(0)
    return Window(tuple(dilated(k, d) for k, d in zip(kernels, dilations)), tuple(strides), tuple(before))


def check_positive_output(kind: str, out: Sequence[Optional[int]], spatial: Sequence[Optional[int]],
                          kernels: Sequence[int], strides: Sequence[int], pads: Pads,
                          dilations: Sequence[int] | None = None) -> None:
    """Keras refuses an output size of 0 or less; so do we, naming the numbers."""
    n = len(out)
    for i, size in enumerate(out):
        if size is not None and size <= 0:
            axis = AXIS_WORDS.get(n, tuple(f"axis {j}" for j in range(n)))[i]
            pad = pads[i] if pads else (0, 0)
            dil = f", dilation {dilations[i]}" if dilations and dilations[i] != 1 else ""
            raise LayerError(
                f"output {axis} would be {size} (input {spatial[i]}, kernel {kernels[i]}{dil}, padding "
                f"{pad[0] + pad[1]}, stride {strides[i]})",
                "use padding: same, a smaller kernel or stride, or remove a downsampling layer before it",
                "kernel_size")


def tuples(args: Args, n: int, *names: str) -> list[tuple[int, ...]]:
    return [as_tuple(args[name], n) for name in names]
