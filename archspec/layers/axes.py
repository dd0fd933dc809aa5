"""How spatial axes are laid out and named, in one place: the layout of an input of each
rank, words for messages (``height``), symbols for formulas (``H``), the sides padding goes
on (``top``/``bottom``), and the message for an input of the wrong rank.

Shapes are written without the batch axis and channels last, so a shape of ``n + 1`` axes
has ``n`` spatial axes followed by channels.
"""
from __future__ import annotations

from typing import Sequence

from archspec.layers.arithmetic import Dim, fmt_shape

LAYOUTS = {1: "[T, C] (a sequence)", 2: "[H, W, C] (an image)", 3: "[D, H, W, C] (a volume)"}
AXIS_WORDS = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
AXIS_SYMBOLS = {1: ("T",), 2: ("H", "W"), 3: ("D", "H", "W")}
SIDES = {"T": ("start", "end"), "D": ("front", "back"), "H": ("top", "bottom"), "W": ("left", "right")}
EXAMPLE_SHAPES = {1: (100, 16), 2: (32, 32, 16), 3: (16, 32, 32, 8)}  # what records' examples take


def axis_words(n: int) -> tuple[str, ...]:
    """Words for ``n`` spatial axes, as messages name them.

    >>> axis_words(2), axis_words(4)
    (('height', 'width'), ('spatial axis 1', 'spatial axis 2', 'spatial axis 3', 'spatial axis 4'))
    """
    return AXIS_WORDS.get(n, tuple(f"spatial axis {i + 1}" for i in range(n)))


def axis_symbols(n: int) -> tuple[str, ...]:
    """Symbols for ``n`` spatial axes, as formulas write them.

    >>> axis_symbols(3), axis_symbols(4)
    (('D', 'H', 'W'), ('X1', 'X2', 'X3', 'X4'))
    """
    return AXIS_SYMBOLS.get(n, tuple(f"X{i + 1}" for i in range(n)))


def layout(rank: int) -> str:
    """The layout of an input with ``rank`` axes (without batch).

    >>> layout(3), layout(5)
    ('[H, W, C] (an image)', '4 spatial axes and channels')
    """
    return LAYOUTS.get(rank - 1, f"{rank - 1} spatial axes and channels")


def rank_mismatch(kind: str, shape: Sequence[Dim], rank: int, model_input: bool) -> tuple[str, str]:
    """(message, hint) for ``kind``, which needs ``rank`` axes, receiving ``shape``.

    ``model_input`` says the shape is the model's input as the spec writes it; then the fix
    is the input itself (a missing channel axis, most often), not a layer before.

    >>> rank_mismatch("Conv2D", (28, 28), 3, True)[1]
    'the input has no channel axis: write it [28, 28, 1] (one channel; [28, 28, 3] for RGB)'
    >>> rank_mismatch("Conv2D", (5408,), 3, False)[1][:50]
    'a Flatten or Dense before it removed the spatial a'
    """
    message = f"{kind} expects a {rank}-D input {layout(rank)} but receives {len(shape)}-D {fmt_shape(shape)}"
    if len(shape) > rank:
        variant = f"the {len(shape) - 1}-D variant of the layer" if len(shape) - 1 in LAYOUTS else "another layer"
        return message, f"use {variant}, or Reshape first"
    if not model_input:
        return message, ("a Flatten or Dense before it removed the spatial axes; move it after the convolutional "
                         "part, or use Reshape")
    if len(shape) == rank - 1:
        grey, rgb = fmt_shape(tuple(shape) + (1,)), fmt_shape(tuple(shape) + (3,))
        return message, f"the input has no channel axis: write it {grey} (one channel; {rgb} for RGB)"
    return message, f"write the input as {layout(rank)}, channels last and without the batch axis"
