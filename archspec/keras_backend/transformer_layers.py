"""archspec's own Keras layers for vision transformers (Dosovitskiy et al. 2021), which Keras lacks.

``ClassToken`` prepends one learned token to a sequence of tokens, ``PositionEmbedding`` adds
a learned table of the input's shape, ``SelectToken`` takes one token (the class token, for
the head). Registered under the ``archspec`` package (``custom_layers`` imports this module),
so a saved model loads with ``keras.saving.load_model`` after ``import archspec``. Only
``keras.ops`` is used; tensors have the batch axis first.
"""
from __future__ import annotations

from typing import Any

import keras
from keras import ops

Shape = tuple

__all__ = ["ClassToken", "PositionEmbedding", "SelectToken"]


@keras.saving.register_keras_serializable(package="archspec")
class ClassToken(keras.layers.Layer):
    """Prepends a learned token: ``(B, N, D) -> (B, N + 1, D)``; weight ``token`` ``(1, 1, D)``."""

    def __init__(self, token_initializer: Any = "zeros", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token_initializer = keras.initializers.get(token_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape: Shape) -> None:
        """One token of the input's width, which must be static."""
        if input_shape[-1] is None:
            raise ValueError(f"ClassToken needs a static token width. Received: input_shape={tuple(input_shape)}")
        self.token = self.add_weight(name="token", shape=(1, 1, input_shape[-1]),
                                     initializer=self.token_initializer)

    def call(self, inputs: Any) -> Any:
        """The token, repeated over the batch, then the input's tokens."""
        batch = ops.shape(inputs)[0]
        token = ops.broadcast_to(ops.cast(self.token, inputs.dtype), (batch, 1, ops.shape(inputs)[-1]))
        return ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """One more token; an unknown length stays unknown."""
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "token_initializer": keras.initializers.serialize(self.token_initializer)}


@keras.saving.register_keras_serializable(package="archspec")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned table of the input's shape (one vector per position): weight
    ``embeddings`` ``(1, *input_shape[1:])``, whose sizes must be static."""

    def __init__(self, embeddings_initializer: Any = "random_normal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape: Shape) -> None:
        """The table: every position and feature of one sample."""
        if len(input_shape) < 3 or any(n is None for n in input_shape[1:]):
            raise ValueError("PositionEmbedding needs positions and features of static sizes. "
                             f"Received: input_shape={tuple(input_shape)}")
        self.embeddings = self.add_weight(name="embeddings", shape=(1, *input_shape[1:]),
                                          initializer=self.embeddings_initializer)

    def call(self, inputs: Any) -> Any:
        return inputs + ops.cast(self.embeddings, inputs.dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer)}


@keras.saving.register_keras_serializable(package="archspec")
class SelectToken(keras.layers.Layer):
    """Takes token ``index`` of the first axis after the batch: ``(B, N, ...) -> (B, ...)``.
    A negative index counts from the end, as in Python. No weights."""

    def __init__(self, index: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError(f"`index` must be an int. Received: index={index!r}")
        self.index = index

    def build(self, input_shape: Shape) -> None:
        """The index must fall inside a static length."""
        if len(input_shape) < 3:
            raise ValueError(f"SelectToken needs tokens with features. Received: input_shape={tuple(input_shape)}")
        length = input_shape[1]
        if length is not None and not -length <= self.index < length:
            raise ValueError(f"SelectToken index {self.index} is outside {length} tokens")

    def call(self, inputs: Any) -> Any:
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *input_shape[2:])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "index": self.index}
