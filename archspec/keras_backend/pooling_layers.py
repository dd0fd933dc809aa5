"""archspec's own pooling layers: minimum and L^p-norm pooling over 1-D, 2-D and 3-D windows.

Keras 3 has neither. Both are written with ``keras.ops`` only and registered under the
``archspec`` package, so a saved model that holds them loads once archspec is imported.
Explicit padding is a separate layer in front (``custom_layers.SpatialPadding``); the
``same`` padding here is Keras's, which padded positions never win or count in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from archspec.keras_backend.window_base import WindowLayer


class _Pooling(WindowLayer):
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


@keras.saving.register_keras_serializable(package="archspec")
class MinPooling3D(_MinPooling):
    """Minimum pooling over D, H and W; output shape as ``MaxPooling3D``. No weights."""

    rank = 3


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
class LPPooling3D(_LPPooling):
    """L^p-norm pooling over D, H and W; output shape as ``MaxPooling3D``. No weights."""

    rank = 3
