"""An example archspec plugin: two layer kinds a Keras user may want and Keras lacks.

- ``BlurPool2D`` (``kinds.py``): anti-aliased downsampling (Zhang, "Making Convolutional
  Networks Shift-Invariant Again", ICML 2019): a fixed binomial blur, then a stride.
- ``AddCoords2D``: CoordConv's coordinate channels (Liu et al., "An intriguing failing of
  convolutional neural networks and the CoordConv solution", NeurIPS 2018).

Importing this package is light: the records (``kinds``) are pure Python, and the Keras
layers (``keras_layers``) are imported only when archspec builds a model or Keras is imported.
"""

__version__ = "0.1.0"
