"""What archspec's own windowed Keras layers share: argument checks, Keras's length rule, a base.

Shape arithmetic follows Keras's own formulas: ``valid`` gives ``floor((n - k) / s) + 1`` and
``same`` gives ``ceil(n / s)``, with TensorFlow's split of the padding (the extra pixel after).
Tensors are channels-last, batch axis first. Imports Keras.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

Shape = tuple[int | None, ...]


def positive_tuple(value: int | Sequence[int], rank: int, name: str) -> tuple[int, ...]:
    """Return ``value`` as a ``rank``-tuple of positive ints (a scalar stands for all axes).

    >>> positive_tuple(3, 2, "pool_size"), positive_tuple([1, 2, 3], 3, "strides")
    ((3, 3), (1, 2, 3))
    """
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v >= 1 for v in values):
        raise ValueError(
            f"`{name}` must be a positive int or {rank} positive ints. Received: {name}={value!r}"
        )
    return values


def checked_padding(padding: str, allowed: tuple[str, ...]) -> str:
    """Return ``padding`` lower-cased, or raise naming the allowed values."""
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"`padding` must be one of {allowed}. Received: padding={padding!r}")
    return padding.lower()


def output_length(size: int | None, kernel: int, stride: int, padding: str) -> int | None:
    """Length of one spatial axis after a window op, as Keras computes it.

    >>> output_length(7, 3, 2, "valid"), output_length(7, 3, 2, "same")
    (3, 4)
    >>> output_length(None, 3, 1, "same") is None
    True
    """
    if size is None:
        return None
    length = -(-size // stride) if padding == "same" else (size - kernel) // stride + 1
    if length < 1:
        raise ValueError(
            f"A window of {kernel} with stride {stride} and padding {padding!r} does not fit an "
            f"axis of length {size}. Use padding 'same' or a smaller window."
        )
    return length


class WindowLayer(keras.layers.Layer):
    """Shared arguments and shape rule of the layers that slide a window over ``rank`` axes."""

    rank: int = 2
    paddings: tuple[str, ...] = ("valid", "same")

    def __init__(
        self,
        window: int | Sequence[int],
        strides: int | Sequence[int] | None,
        padding: str,
        window_name: str,
        **kwargs: Any,
    ) -> None:
        """Normalise the window, strides (``None`` = the window) and padding."""
        super().__init__(**kwargs)
        self.window = positive_tuple(window, self.rank, window_name)
        self.strides = self.window if strides is None else positive_tuple(strides, self.rank, "strides")
        self.padding = checked_padding(padding, self.paddings)
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2)

    def _output_spatial(self, input_shape: Shape) -> tuple[int | None, ...]:
        """The output's spatial dims for an input shape (batch first, channels last)."""
        spatial = tuple(input_shape[1:-1])
        return tuple(
            output_length(n, k, s, self.padding)
            for n, k, s in zip(spatial, self.window, self.strides)
        )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Keras's spatial rule; channels unchanged (the convolutions override them)."""
        return (input_shape[0], *self._output_spatial(input_shape), input_shape[-1])
