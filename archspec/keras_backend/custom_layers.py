"""archspec's own Keras layers: the layer kinds a spec may name that Keras 3 lacks.

Every layer is registered under the ``archspec`` package, so a saved ``.keras`` model loads
with ``keras.saving.load_model`` once this module has been imported. Only ``keras.ops`` is
used (the layers run under any Keras backend); tensors are channels-last, batch axis first.
Shape arithmetic follows Keras's own formulas: ``valid`` gives ``floor((n - k) / s) + 1`` and
``same`` gives ``ceil(n / s)``, with TensorFlow's split of the padding (the extra pixel after).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

Shape = tuple[int | None, ...]


def _as_tuple(value: int | Sequence[int], rank: int, name: str) -> tuple[int, ...]:
    """Return ``value`` as a ``rank``-tuple of positive ints (a scalar stands for all axes)."""
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v >= 1 for v in values):
        raise ValueError(
            f"`{name}` must be a positive int or {rank} positive ints. Received: {name}={value!r}"
        )
    return values


def _check_padding(padding: str, allowed: tuple[str, ...]) -> str:
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


class _WindowLayer(keras.layers.Layer):
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
        self.window = _as_tuple(window, self.rank, window_name)
        self.strides = self.window if strides is None else _as_tuple(strides, self.rank, "strides")
        self.padding = _check_padding(padding, self.paddings)
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


class _ConvBase(_WindowLayer):
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
        self.tiles = _as_tuple(tiles, 2, "tiles")

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


class _Pooling(_WindowLayer):
    """Arguments and config shared by the pooling layers (``strides=None`` means the pool size)."""

    def __init__(
        self,
        pool_size: int | Sequence[int] = 2,
        strides: int | Sequence[int] | None = None,
        padding: str = "valid",
        **kwargs: Any,
    ) -> None:
        """Keras's pooling arguments."""
        super().__init__(pool_size, strides, padding, "pool_size", **kwargs)
        self.pool_size = self.window

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments."""
        config = {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding}
        return {**super().get_config(), **config}


class _MinPooling(_Pooling):
    """Minimum over each window, as ``-max_pool(-x)``; padding never wins the minimum."""

    def call(self, inputs: Any) -> Any:
        """Min pooling through max pooling of the negated input. No weights."""
        return -ops.max_pool(-inputs, self.pool_size, self.strides, self.padding, "channels_last")


@keras.saving.register_keras_serializable(package="archspec")
class MinPooling1D(_MinPooling):
    """Minimum pooling over the time axis; output shape as ``MaxPooling1D``. No weights."""

    rank = 1


@keras.saving.register_keras_serializable(package="archspec")
class MinPooling2D(_MinPooling):
    """Minimum pooling over H and W; output shape as ``MaxPooling2D``. No weights."""

    rank = 2


class _LPPooling(_Pooling):
    """L^p-norm pooling: ``(sum over the window of |x|^p)^(1/p)``; padding contributes 0."""

    def __init__(
        self,
        p: float = 2.0,
        pool_size: int | Sequence[int] = 2,
        strides: int | Sequence[int] | None = None,
        padding: str = "valid",
        **kwargs: Any,
    ) -> None:
        """``p >= 1`` (2 is L2 pooling, 1 is sum pooling of ``|x|``) and the pooling arguments."""
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not p >= 1:
            raise ValueError(f"`p` must be a number >= 1. Received: p={p!r}")
        super().__init__(pool_size, strides, padding, **kwargs)
        self.p = float(p)

    def call(self, inputs: Any) -> Any:
        """Window sums of ``|x|^p`` as average times the count of real (unpadded) elements."""
        powered = ops.abs(inputs) if self.p == 1 else ops.power(ops.abs(inputs), self.p)
        average = ops.average_pool(
            powered, self.pool_size, self.strides, self.padding, "channels_last"
        )
        # Keras's average pooling divides by the number of real elements in the window (it
        # excludes padding on the TF and JAX backends), so multiplying by that count restores
        # the exact sum. The count comes from a ones-kernel conv over a one-channel ones image;
        # a ones depthwise conv would give the sum directly, but TF's rejects unequal strides.
        ones = ops.ones_like(inputs[:1, ..., :1])
        window = ops.ones((*self.pool_size, 1, 1), dtype=ones.dtype)
        counts = ops.conv(ones, window, self.strides, self.padding, "channels_last")
        total = average * counts
        if self.p == 1:
            return total
        # s^(1/p) has an infinite slope at 0 (all-zero windows are common after ReLU); the double
        # `where` keeps the gradient there 0 instead of NaN.
        positive = total > 0
        safe = ops.where(positive, total, ops.ones_like(total))
        return ops.where(positive, ops.power(safe, 1.0 / self.p), ops.zeros_like(total))

    def get_config(self) -> dict[str, Any]:
        """Pooling arguments plus ``p``."""
        return {**super().get_config(), "p": self.p}


@keras.saving.register_keras_serializable(package="archspec")
class LPPooling1D(_LPPooling):
    """L^p-norm pooling over the time axis; output shape as ``MaxPooling1D``. No weights."""

    rank = 1


@keras.saving.register_keras_serializable(package="archspec")
class LPPooling2D(_LPPooling):
    """L^p-norm pooling over H and W; output shape as ``MaxPooling2D``. No weights."""

    rank = 2


@keras.saving.register_keras_serializable(package="archspec")
class SpatialPadding(keras.layers.Layer):
    """Reflect or symmetric padding of the spatial axes of a 1-D/2-D/3-D channels-last tensor.

    ``padding`` holds one ``(before, after)`` pair per spatial axis; ``mode`` is numpy's:
    ``reflect`` mirrors without repeating the edge (pads must be < the axis length),
    ``symmetric`` repeats it (pads must be <= the axis length). No weights.
    """

    modes = ("reflect", "symmetric")

    def __init__(self, padding: Sequence[Sequence[int]], mode: str = "reflect", **kwargs: Any) -> None:
        """Validate the pairs and the mode."""
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
        self.padding, self.mode = pairs, mode
        self.input_spec = keras.layers.InputSpec(ndim=len(pairs) + 2)

    def build(self, input_shape: Shape) -> None:
        """Check the pads fit the static spatial dims (dynamic ones are checked by the backend)."""
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
        return ops.pad(inputs, ((0, 0), *self.padding, (0, 0)), mode=self.mode)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Each static spatial dim grows by its two pads; ``None`` stays ``None``."""
        pairs = zip(input_shape[1:-1], self.padding)
        spatial = (None if n is None else n + a + b for n, (a, b) in pairs)
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {**super().get_config(), "padding": self.padding, "mode": self.mode}
