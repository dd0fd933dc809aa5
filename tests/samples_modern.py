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

RGB, GREY = [13, 11, 3], [13, 11, 1]
_SAME_ANY = {  # augmentation layers that take any number of channels: (arguments, ...) per kind
    "RandomFlip": [{}, {"mode": "horizontal", "seed": 2}],
    "RandomRotation": [{"factor": 0.1}, {"factor": [-0.2, 0.3], "fill_mode": "constant", "fill_value": 1.0,
                                         "interpolation": "nearest"}],
    "RandomZoom": [{"height_factor": 0.2}, {"height_factor": [-0.3, 0.2], "width_factor": 0.1, "fill_mode": "wrap"}],
    "RandomTranslation": [{"height_factor": 0.1, "width_factor": [-0.2, 0.1]}],
    "RandomShear": [{"x_factor": 0.2}, {"x_factor": 0.1, "y_factor": [0.0, 0.3], "fill_mode": "nearest"}],
    "RandomPerspective": [{}, {"factor": 0.5, "scale": 0.3}],
    "RandomElasticTransform": [{}, {"scale": 0.5, "value_range": [0, 1]}],
    "RandomContrast": [{"factor": 0.2}, {"factor": [0.1, 0.4], "value_range": [0, 1]}],
    "RandomBrightness": [{"factor": 0.2}, {"factor": [-0.2, 0.1], "value_range": [-1, 1]}],
    "RandomSharpness": [{"factor": 0.3}],
    "RandomPosterization": [{"factor": 4}],
    "RandomInvert": [{}, {"factor": 0.5, "value_range": [0, 1]}],
    "RandomGaussianBlur": [{}, {"kernel_size": 5, "sigma": [0.5, 2.0]}],
    "RandomErasing": [{}, {"scale": [0.1, 0.2], "fill_value": 0.0}],
    "Solarization": [{"threshold_factor": 0.5}, {"addition_factor": [0.0, 0.2]}],
    "AugMix": [{}, {"num_chains": 2, "chain_depth": 1, "all_ops": False}],
    "CutMix": [{}, {"factor": 0.5, "seed": 1}],
    "MixUp": [{}, {"alpha": 0.4}],
    "AutoContrast": [{}, {"value_range": [0, 1]}],
}
_SAME_RGB = {  # colour arithmetic on 3 channels (RandomGrayscale and RandAugment: 1 or 3)
    "RandomHue": [{"factor": 0.2}], "RandomSaturation": [{"factor": [0.2, 0.6]}],
    "RandomColorDegeneration": [{"factor": 0.3}],
    "RandomColorJitter": [{"brightness_factor": 0.2, "hue_factor": 0.1}, {"contrast_factor": 0.3,
                                                                          "saturation_factor": 0.2}],
    "RandomGrayscale": [{}], "RandAugment": [{}, {"num_ops": 1, "factor": 0.2}],
}
SAMPLES.update({kind: [(IMG if i % 2 else RGB, args) for i, args in enumerate(cases)]
                for kind, cases in _SAME_ANY.items()})
SAMPLES.update({kind: [(RGB, args) for args in cases] for kind, cases in _SAME_RGB.items()})
SAMPLES["RandomGrayscale"].append((GREY, {"factor": 1.0}))
SAMPLES["RandAugment"].append((GREY, {}))
SAMPLES.update({
    "Resizing": [(RGB, {"height": 6, "width": 9}), (IMG, {"height": 26, "width": 22, "interpolation": "nearest"}),
                 (IMG, {"height": 5, "width": 5, "crop_to_aspect_ratio": True, "antialias": True}),
                 (IMG, {"height": 8, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 1.0}),
                 (IMG, {"height": 7, "width": 7, "interpolation": "area"}),
                 (IMG, {"height": 7, "width": 6, "interpolation": "bicubic"})],
    "CenterCrop": [(RGB, {"height": 6, "width": 5}), (IMG, {"height": 13, "width": 11}),
                   (IMG, {"height": 20, "width": 8})],  # taller than the input: Keras resizes
})

SAMPLES.update({
    "GaussianNoise": [(IMG, {"stddev": 0.1}), (SEQ, {"stddev": 0.0, "seed": 4})],
    "GaussianDropout": [(IMG, {"rate": 0.2}), (SEQ, {"rate": 0.0})],
    "AlphaDropout": [(IMG, {"rate": 0.1}), (SEQ, {"rate": 0.3, "noise_shape": [None, 1, 4], "seed": 2})],
    "ActivityRegularization": [(IMG, {}), (SEQ, {"l1": 0.01, "l2": 0.001})],
    "UnitNormalization": [(IMG, {}), (IMG, {"axis": [1, 2]}), (SEQ, {"axis": 1})],
    "RMSNormalization": [(IMG, {}), (IMG, {"axis": [-2, -1], "epsilon": 1e-5}), (VOL, {"axis": [2, 3, 4]})],
    "RepeatVector": [([7], {"n": 3}), ([1], {"n": 1})],
    "Masking": [(SEQ, {}), (IMG, {"mask_value": -1.0})],
})
