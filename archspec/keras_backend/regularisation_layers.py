"""archspec's Keras layers for modern CNNs: layer scale, stochastic depth, scaled residual sums, GLU.

``LayerScale`` and ``StochasticDepth`` do what ``keras.applications.convnext``'s layers of the
same names do, with the same arguments and weights, so ConvNeXt's weights copy in;
``CustomScaleLayer`` is ``keras.applications.inception_resnet_v2``'s (``x + residual*scale``).
Keras keeps those three inside the applications modules, unregistered, so a saved model could
not name them; these are registered under the ``archspec`` package. ``GLU`` is the
``glu`` activation as a layer whose output shape is halved (``keras.layers.Activation``
reports the input's shape for every activation). Only ``keras.ops`` is used.
"""
from __future__ import annotations

from typing import Any, Optional

import keras
from keras import ops

__all__ = ["LayerScale", "StochasticDepth", "CustomScaleLayer", "GLU"]

Shape = tuple


@keras.saving.register_keras_serializable(package="archspec")
class LayerScale(keras.layers.Layer):
    """Multiplies the last axis by a learned vector ``gamma`` of ``projection_dim`` values
    (Touvron et al. 2021, arXiv:2103.17239), initialised to ``init_values``."""

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape: Shape) -> None:
        # keras.applications.convnext leaves the weight unnamed (Keras then numbers it
        # "variable", "variable_1"... per process); the same shape and order is what lets its
        # weights copy in, and the attribute's name is a stabler name than a counter.
        self.gamma = self.add_weight(name="gamma", shape=(self.projection_dim,),
                                     initializer=keras.initializers.Constant(self.init_values), trainable=True)

    def call(self, x: Any) -> Any:
        return x * self.gamma

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


@keras.saving.register_keras_serializable(package="archspec")
class StochasticDepth(keras.layers.Layer):
    """Drops the whole input of a sample with probability ``drop_path_rate`` while training and
    scales the kept ones by 1/(1 - rate) (Huang et al. 2016, "drop path"); identity at inference."""

    def __init__(self, drop_path_rate: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x: Any, training: Optional[bool] = None) -> Any:
        if not training or self.drop_path_rate == 0:
            return x
        keep = 1 - self.drop_path_rate
        shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        mask = ops.floor(keep + keras.random.uniform(shape, 0, 1, seed=self.seed_generator))
        return (x / keep) * mask

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="archspec")
class CustomScaleLayer(keras.layers.Layer):
    """``inputs[0] + inputs[1] * scale``: Inception-ResNet's scaled residual sum."""

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs: list) -> Any:
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape: list) -> Shape:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="archspec")
class GLU(keras.layers.Layer):
    """Gated linear unit ``a * sigmoid(b)`` of the two halves ``a, b`` of ``axis``
    (``keras.activations.glu``)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x: Any) -> Any:
        return keras.activations.glu(x, axis=self.axis)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = list(input_shape)
        size = shape[self.axis]
        shape[self.axis] = None if size is None else size // 2
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
