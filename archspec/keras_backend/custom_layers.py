"""archspec's own Keras layers: the layer kinds a spec may name that Keras 3 lacks.

Every layer is registered under the ``archspec`` package, so a saved ``.keras`` model loads
with ``keras.saving.load_model`` once this module has been imported (``import archspec``
arranges it). The convolutions and the padding layer live here, the pooling layers in
``pooling_layers`` (imported here, so this one module registers them all). Only ``keras.ops``
is used (the layers run under any Keras backend); tensors are channels-last, batch axis first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from archspec.keras_backend.pooling_layers import (LPPooling1D, LPPooling2D, LPPooling3D, MinPooling1D,
                                                   MinPooling2D, MinPooling3D)
from archspec.keras_backend.window_base import Shape, WindowLayer, positive_tuple
from archspec.keras_backend.transformer_layers import ClassToken, PositionEmbedding, SelectToken  # noqa: F401
from archspec.keras_backend.regularisation_layers import CustomScaleLayer, GLU, LayerScale, StochasticDepth  # noqa: F401

__all__ = ["LocallyConnected1D", "LocallyConnected2D", "TiledConv2D", "SpatialPadding", "MinPooling1D",
           "MinPooling2D", "MinPooling3D", "LPPooling1D", "LPPooling2D", "LPPooling3D"]


class _ConvBase(WindowLayer):
    """Arguments, config and activation shared by the unshared and tiled convolutions."""

    def __init__(
        self,
        filters: int,
        kernel_size: int | Sequence[int],
        strides: int | Sequence[int] = 1,
        padding: str = "valid",
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        """Store Keras-style convolution arguments (see the subclasses for the weights)."""
        super().__init__(kernel_size, strides, padding, "kernel_size", **kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"`filters` must be a positive int. Received: filters={filters!r}")
        self.filters = filters
        self.kernel_size = self.window
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The window rule for the spatial dims, then ``filters`` channels."""
        return (*super().compute_output_shape(input_shape)[:-1], self.filters)

    def _add(self, name: str, shape: tuple[int, ...]) -> keras.Variable:
        """Add the ``kernel`` or ``bias`` weight with its initializer and regularizer."""
        return self.add_weight(
            name=name,
            shape=shape,
            initializer=getattr(self, f"{name}_initializer"),
            regularizer=getattr(self, f"{name}_regularizer"),
        )

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, serialised the way Keras's Conv layers do it."""
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }


class _LocallyConnected(_ConvBase):
    """Unshared convolution: every output position has its own kernel and bias.

    Weights are laid out as Keras 2's ``implementation=1``, so its weights port unchanged:
    ``kernel``: ``(prod(out_spatial), prod(kernel_size) * C_in, filters)``, the middle axis
    ordered as the window flattened row-major over ``(*kernel_size, C_in)``;
    ``bias``: ``(*out_spatial, filters)``.
    """

    paddings = ("valid",)  # the spec compiler puts a padding layer in front for the others

    def build(self, input_shape: Shape) -> None:
        """Create the per-position kernel and bias; spatial dims and channels must be static."""
        if any(n is None for n in input_shape[1:]):
            raise ValueError(
                f"{type(self).__name__} needs static spatial dims and channels (it has one "
                f"kernel per output position). Received: input_shape={tuple(input_shape)}"
            )
        self.out_spatial = self._output_spatial(input_shape)
        positions, features = math.prod(self.out_spatial), math.prod(self.window) * input_shape[-1]
        self.kernel = self._add("kernel", (positions, features, self.filters))
        self.bias = self._add("bias", (*self.out_spatial, self.filters)) if self.use_bias else None

    def call(self, inputs: Any) -> Any:
        """Gather every window as a row of patches, then one einsum with per-position kernels."""
        # One strided slice per offset inside the window: output position p of slice `offset`
        # is input element p * stride + offset, so stacking them yields each window's pixels.
        slices = []
        for offset in itertools.product(*(range(k) for k in self.window)):
            index = tuple(
                slice(o, o + s * (n - 1) + 1, s)
                for o, s, n in zip(offset, self.strides, self.out_spatial)
            )
            slices.append(inputs[(slice(None), *index, slice(None))])
        patches = ops.stack(slices, axis=-2)  # (B, *out, prod(window), C_in)
        patches = ops.reshape(patches, (-1, *self.kernel.shape[:2]))
        outputs = ops.einsum("bpf,pfo->bpo", patches, self.kernel)
        outputs = ops.reshape(outputs, (-1, *self.out_spatial, self.filters))
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)


@keras.saving.register_keras_serializable(package="archspec")
class LocallyConnected1D(_LocallyConnected):
    """Unshared 1-D convolution: kernel ``(out_len, k * C_in, filters)``, bias ``(out_len, filters)``."""

    rank = 1


@keras.saving.register_keras_serializable(package="archspec")
class LocallyConnected2D(_LocallyConnected):
    """Unshared 2-D convolution.

    kernel ``(out_h * out_w, kh * kw * C_in, filters)``, bias ``(out_h, out_w, filters)``.
    """

    rank = 2


@keras.saving.register_keras_serializable(package="archspec")
class TiledConv2D(_ConvBase):
    """Tiled convolution (Goodfellow et al., *Deep Learning*, 9.5).

    ``tiles = (t_h, t_w)`` kernels are cycled over the output: position ``(i, j)`` uses kernel
    and bias ``[i % t_h, j % t_w]``. Weights: ``kernel`` ``(t_h, t_w, kh, kw, C_in, filters)``,
    ``bias`` ``(t_h, t_w, filters)``. Output shape as ``Conv2D``; H and W may be dynamic.
    """

    rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: int | Sequence[int],
        tiles: int | Sequence[int],
        strides: int | Sequence[int] = 1,
        padding: str = "valid",
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        """Conv2D's arguments plus ``tiles``, the number of distinct kernels per axis."""
        super().__init__(
            filters, kernel_size, strides, padding, activation, use_bias, kernel_initializer,
            bias_initializer, kernel_regularizer, bias_regularizer, **kwargs,
        )
        self.tiles = positive_tuple(tiles, 2, "tiles")

    def build(self, input_shape: Shape) -> None:
        """Create the ``t_h x t_w`` kernels and biases; channels must be static."""
        if input_shape[-1] is None:
            raise ValueError(
                f"TiledConv2D needs a static channel dim. Received: input_shape={tuple(input_shape)}"
            )
        kernel_shape = (*self.tiles, *self.kernel_size, input_shape[-1], self.filters)
        self.kernel = self._add("kernel", kernel_shape)
        self.bias = self._add("bias", (*self.tiles, self.filters)) if self.use_bias else None

    def call(self, inputs: Any) -> Any:
        """Convolve with all tiles at once, then keep, per position, the tile it is owed."""
        t_h, t_w = self.tiles
        n_tiles = t_h * t_w
        # (t_h, t_w, kh, kw, C_in, F) -> (kh, kw, C_in, n_tiles * F): one conv does every tile.
        kernel = ops.transpose(self.kernel, (2, 3, 4, 0, 1, 5))
        kernel = ops.reshape(kernel, (*self.kernel_size, -1, n_tiles * self.filters))
        outputs = ops.conv(inputs, kernel, self.strides, self.padding, data_format="channels_last")
        shape = ops.shape(outputs)  # H and W may be tensors here when the input's are dynamic
        outputs = ops.reshape(outputs, (-1, shape[1], shape[2], n_tiles, self.filters))
        if self.use_bias:
            outputs = outputs + ops.reshape(self.bias, (n_tiles, self.filters))
        # A one-hot mask over tiles, built from output coordinates so it follows dynamic sizes.
        rows, cols = ops.arange(shape[1]) % t_h, ops.arange(shape[2]) % t_w
        tile_of = rows[:, None] * t_w + cols[None, :]
        mask = ops.one_hot(tile_of, n_tiles, dtype=outputs.dtype)  # (H_out, W_out, n_tiles)
        return self.activation(ops.einsum("bijtf,ijt->bijf", outputs, mask))

    def get_config(self) -> dict[str, Any]:
        """Conv arguments plus ``tiles``."""
        return {**super().get_config(), "tiles": self.tiles}


@keras.saving.register_keras_serializable(package="archspec")
class SpatialPadding(keras.layers.Layer):
    """Reflect, symmetric or constant padding of the spatial axes of a 1-D/2-D/3-D tensor.

    ``padding`` holds one ``(before, after)`` pair per spatial axis; ``mode`` is numpy's:
    ``reflect`` mirrors without repeating the edge (pads must be < the axis length),
    ``symmetric`` repeats it (pads must be <= the axis length), ``constant`` fills with
    ``value`` (``-inf`` in front of a max pooling, so that padding never wins it). No weights.
    """

    modes = ("reflect", "symmetric", "constant")

    def __init__(
        self, padding: Sequence[Sequence[int]], mode: str = "reflect", value: float = 0.0, **kwargs: Any
    ) -> None:
        """Validate the pairs and the mode; ``value`` is used by ``constant`` only."""
        super().__init__(**kwargs)
        pairs = tuple(tuple(pair) for pair in padding)
        if not 1 <= len(pairs) <= 3 or any(
            len(pair) != 2 or not all(isinstance(v, int) and v >= 0 for v in pair) for pair in pairs
        ):
            raise ValueError(
                "`padding` must be 1 to 3 (before, after) pairs of ints >= 0, one per spatial axis. "
                f"Received: padding={padding!r}"
            )
        if mode not in self.modes:
            raise ValueError(f"`mode` must be one of {self.modes}. Received: mode={mode!r}")
        self.padding, self.mode, self.value = pairs, mode, float(value)
        self.input_spec = keras.layers.InputSpec(ndim=len(pairs) + 2)

    def build(self, input_shape: Shape) -> None:
        """Check the pads fit the static spatial dims (dynamic ones are checked by the backend)."""
        if self.mode == "constant":
            return
        limit_offset = 1 if self.mode == "reflect" else 0
        for axis, (size, pair) in enumerate(zip(input_shape[1:-1], self.padding), start=1):
            if size is not None and max(pair) > size - limit_offset:
                rule = "smaller than" if self.mode == "reflect" else "at most"
                raise ValueError(
                    f"{self.mode} padding of axis {axis} must be {rule} its length {size}. "
                    f"Received: padding={self.padding}"
                )

    def call(self, inputs: Any) -> Any:
        """Pad every spatial axis; batch and channels are left alone."""
        pads = ((0, 0), *self.padding, (0, 0))
        if self.mode == "constant":
            return ops.pad(inputs, pads, constant_values=self.value)
        return ops.pad(inputs, pads, mode=self.mode)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Each static spatial dim grows by its two pads; ``None`` stays ``None``."""
        pairs = zip(input_shape[1:-1], self.padding)
        spatial = (None if n is None else n + a + b for n, (a, b) in pairs)
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {**super().get_config(), "padding": self.padding, "mode": self.mode, "value": self.value}
