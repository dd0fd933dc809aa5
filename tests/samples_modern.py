"""Sample cases of the kinds in archspec/layers/modern.py (activations, Normalization,
Identity, LayerScale, StochasticDepth, CustomScaleLayer) and preprocessing.py; layer_samples
imports this module, which adds them to SAMPLES."""
from __future__ import annotations

from archspec.layers.args import ACTIVATIONS, SHAPE_CHANGING_ACTIVATIONS
from layer_samples import IMG, SAMPLES, SEQ, VOL

EVEN = [6, 5, 8]

SAMPLES.update({
    # every activation name, each on the layer that takes it by name
    "Activation": [(IMG, {"activation": name}) for name in ACTIVATIONS]
    + [(EVEN, {"activation": name}) for name in SHAPE_CHANGING_ACTIVATIONS],
    "GLU": [(EVEN, {}), (EVEN, {"axis": 1}), (SEQ, {"axis": -1}), ([4, 6, 3], {"axis": 2})],
    "Normalization": [(IMG, {}), (SEQ, {"axis": None}), (IMG, {"axis": [1, 2]}), (VOL, {"axis": [-1, 1]}),
                      (IMG, {"mean": [1.0, 2.0, 3.0, 4.0], "variance": [1.0, 4.0, 9.0, 16.0]}),
                      (IMG, {"mean": 0.5, "variance": 2.0, "invert": True}),
                      (IMG, {"axis": 2, "mean": [0.5], "variance": [3.0]}),
                      ([224, 224, 3], {})],  # EfficientNetB0's: 7 non-trainable params
    "Identity": [(IMG, {}), (SEQ, {})],
    "LayerScale": [(IMG, {"init_values": 1e-6}), (SEQ, {"init_values": 0.1, "projection_dim": 4}),
                   ([5], {"init_values": 1.0})],
    "StochasticDepth": [(IMG, {"drop_path_rate": 0.1}), (SEQ, {"drop_path_rate": 0.0, "seed": 1})],
    "CustomScaleLayer": [([IMG, IMG], {"scale": 0.17}), ([IMG, [1, 1, 4]], {"scale": 1.0})],
})
