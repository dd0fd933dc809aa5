"""The plugin's Keras layers (imports Keras; archspec imports this module only to build a model).

Both are registered serializable under the package ``archspec_example_plugin``, so a saved
``.keras`` model holding them loads with ``keras.saving.load_model`` once this module is
imported (archspec imports it when Keras is imported, after ``import archspec``). Only
``keras.ops`` is used, so the layers run under any Keras backend; tensors are channels-last.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import keras
import numpy as np
from keras import ops

PACKAGE = "archspec_example_plugin"
_PAD_MODES = {"reflect": "reflect", "symmetric": "symmetric", "zeros": "constant"}


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
        raise ValueError(f"`{name}` must be a positive int or 2 positive ints. Received: {name}={value!r}")
    return pair  # type: ignore[return-value]


def _length(size: int | None, kernel: int, stride: int, pad: int) -> int | None:
    return None if size is None else (size + pad - kernel) // stride + 1


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlurPool2D(keras.layers.Layer):
    """A fixed binomial blur of each channel, then a stride (Zhang 2019); no weights."""

    def __init__(self, filter_size: int = 3, strides: int | Sequence[int] = 2, padding: str = "same",
                 padding_mode: str = "reflect", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(filter_size, int) or not 1 <= filter_size <= 7:
            raise ValueError(f"`filter_size` must be an int from 1 to 7. Received: filter_size={filter_size!r}")
        if padding not in ("same", "valid") or padding_mode not in _PAD_MODES:
            raise ValueError(f"`padding` must be same or valid and `padding_mode` one of {sorted(_PAD_MODES)}. "
                             f"Received: padding={padding!r}, padding_mode={padding_mode!r}")
        self.filter_size, self.strides = filter_size, _pair(strides, "strides")
        self.padding, self.padding_mode = padding, padding_mode
        self.input_spec = keras.layers.InputSpec(ndim=4)

    @property
    def pads(self) -> tuple[int, int]:
        """(before, after) on each spatial axis: the paper's split for 'same'."""
        k = self.filter_size
        return ((k - 1) // 2, k // 2) if self.padding == "same" else (0, 0)

    def build(self, input_shape: tuple) -> None:
        # Pascal's triangle, as kinds.binomial_row (not imported: importing the records module
        # outside archspec's plugin loader would register the kinds before archspec loads them).
        row = np.asarray([math.comb(self.filter_size - 1, i) for i in range(self.filter_size)], dtype="float64")
        blur = np.outer(row, row) / row.sum() ** 2
        # A constant, not a weight: the blur is fixed, and Keras counts 0 parameters.
        self._kernel = np.tile(blur[:, :, None, None], (1, 1, input_shape[-1], 1)).astype(self.compute_dtype)

    def call(self, inputs: Any) -> Any:
        before, after = self.pads
        x = inputs
        if before or after:
            x = ops.pad(x, ((0, 0), (before, after), (before, after), (0, 0)), mode=_PAD_MODES[self.padding_mode])
        return ops.depthwise_conv(x, ops.convert_to_tensor(self._kernel), strides=self.strides, padding="valid")

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        pad = sum(self.pads)
        spatial = [_length(n, self.filter_size, s, pad) for n, s in zip(input_shape[1:3], self.strides)]
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filter_size": self.filter_size, "strides": self.strides,
                "padding": self.padding, "padding_mode": self.padding_mode}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AddCoords2D(keras.layers.Layer):
    """Appends each position's row i and column j in [-1, 1] (and r = sqrt(i^2 + j^2))."""

    def __init__(self, with_r: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.with_r = bool(with_r)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs: Any) -> Any:
        shape = ops.shape(inputs)
        rows = ops.linspace(-1.0, 1.0, shape[1])  # one row: -1
        cols = ops.linspace(-1.0, 1.0, shape[2])
        i = ops.broadcast_to(rows[:, None], (shape[1], shape[2]))
        j = ops.broadcast_to(cols[None, :], (shape[1], shape[2]))
        coords = [i, j] + ([ops.sqrt(i * i + j * j)] if self.with_r else [])
        grid = ops.cast(ops.stack(coords, axis=-1), inputs.dtype)
        grid = ops.broadcast_to(grid[None], (shape[0], shape[1], shape[2], len(coords)))
        return ops.concatenate([inputs, grid], axis=-1)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        channels = None if input_shape[-1] is None else input_shape[-1] + (3 if self.with_r else 2)
        return (*input_shape[:-1], channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "with_r": self.with_r}
