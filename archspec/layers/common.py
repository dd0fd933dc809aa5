"""Rules shared by windowed layers (convolution, pooling): channels, padding, windows."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from archspec.layers.axes import SIDES, axis_symbols, axis_words
from archspec.layers.registry import Args, LayerError, Shape, Window
from archspec.layers.arithmetic import as_tuple, dilated, fmt_shape, mirror_pad_limit, same_pads

Pads = Optional[list[tuple[int, int]]]


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
    >>> explicit_pads({"padding": [[4, 0]], "padding_mode": "reflect"}, (4,), (3,), (1,), (1,))
    Traceback (most recent call last):
    archspec.layers.registry.LayerError: reflect padding of 4 at the start is too wide for a length of 4: \
reflect needs each pad smaller than the size (at most 3 here)
    """
    pads = _requested_pads(args, spatial, kernels, strides, dilations)
    mode = args.get("padding_mode", "zeros")
    if pads is not None and mode != "zeros":
        check_mirror_fits(mode, spatial, pads, "padding_mode" if args.get("padding") == "same" else "padding")
    return pads


def check_mirror_fits(mode: str, spatial: Sequence[Optional[int]], pads: list[tuple[int, int]], arg: str) -> None:
    """Mirroring copies the axis itself, so each pad is at most the axis (reflect: one less,
    it leaves the edge out); Keras would only fail when building the model."""
    for axis, (size, pair) in enumerate(zip(spatial, pads)):
        if size is None:
            continue  # checked when the model runs
        limit = mirror_pad_limit(size, mode)
        for side, pad in zip(SIDES.get(axis_symbols(len(pads))[axis], ("before", "after")), pair):
            if pad > limit:
                word = axis_words(len(pads))[axis]
                rule = "smaller than" if mode == "reflect" else "at most"
                fix = ("use padding_mode: zeros, a smaller kernel, or a larger input" if arg == "padding_mode" else
                       f"pad at most {limit} there" + (", use padding_mode: symmetric (pads up to the size)"
                                                       if mode == "reflect" else "") + ", or padding_mode: zeros")
                needed = " ('same' needs that much)" if arg == "padding_mode" else ""
                raise LayerError(f"{mode} padding of {pad} at the {side}{needed} is too wide for a {word} of {size}: "
                                 f"{mode} needs each pad {rule} the size (at most {limit} here)", fix, arg)


def _requested_pads(args: Args, spatial: Sequence[Optional[int]], kernels: Sequence[int],
                    strides: Sequence[int], dilations: Sequence[int]) -> Pads:
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
    return Window(tuple(dilated(k, d) for k, d in zip(kernels, dilations)), tuple(strides), tuple(before),
                  any(d != 1 for d in dilations))


def check_positive_output(kind: str, out: Sequence[Optional[int]], spatial: Sequence[Optional[int]],
                          kernels: Sequence[int], strides: Sequence[int], pads: Pads,
                          dilations: Sequence[int] | None = None) -> None:
    """Keras refuses an output size of 0 or less; so do we, naming the numbers."""
    n = len(out)
    for i, size in enumerate(out):
        if size is not None and size <= 0:
            axis = axis_words(n)[i]
            pad = pads[i] if pads else (0, 0)
            dil = f", dilation {dilations[i]}" if dilations and dilations[i] != 1 else ""
            raise LayerError(
                f"output {axis} would be {size} (input {spatial[i]}, kernel {kernels[i]}{dil}, padding "
                f"{pad[0] + pad[1]}, stride {strides[i]})",
                "use padding: same, a smaller kernel or stride, or remove a downsampling layer before it",
                "kernel_size")


def tuples(args: Args, n: int, *names: str) -> list[tuple[int, ...]]:
    return [as_tuple(args[name], n) for name in names]


def check_padding_mode(args: Args) -> list[LayerError]:
    """``padding_mode`` says what an added border holds: with 'valid' (or 'causal', which Keras
    pads itself) there is no border of ours, and a mode there would be silently ignored."""
    mode, padding = args.get("padding_mode", "zeros"), args.get("padding", "valid")
    if mode == "zeros" or padding not in ("valid", "causal"):
        return []
    return [LayerError(f"padding_mode {mode} needs a border to fill, but padding is '{padding}' (received "
                       f"padding_mode={mode}, padding={padding})",
                       "give explicit padding (e.g. padding: 1), 'full' or 'same', or remove padding_mode",
                       "padding_mode")]

