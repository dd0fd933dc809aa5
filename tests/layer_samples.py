"""Sample uses of every registered layer kind: (input shapes, arguments) cases.

tests/test_layers_keras.py builds each case in Keras and compares it with the analysis, and
fails if a registered kind has no sample here, so a new kind cannot go untested.
"""
from __future__ import annotations

IMG, SEQ, VOL = [13, 11, 4], [17, 4], [7, 9, 8, 3]
SPATIAL = {1: SEQ, 2: IMG, 3: VOL}


def _conv_cases(n: int) -> list:
    shape = SPATIAL[n]
    cases = [
        (shape, {"filters": 5, "kernel_size": 3}),
        (shape, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": False}),
        (shape, {"filters": 6, "kernel_size": 2, "dilation_rate": 2, "activation": "relu"}),
        (shape, {"filters": 2, "kernel_size": 3, "padding": 1}),
        (shape, {"filters": 2, "kernel_size": 3, "padding": "full", "dilation_rate": 2}),
        (shape, {"filters": 2 * shape[-1], "kernel_size": 1, "groups": shape[-1]}),
        (shape, {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "padding_mode": "reflect"}),
    ]
    if n == 1:
        cases.append((shape, {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 4}))
        cases.append((shape, {"filters": 3, "kernel_size": 3, "padding": [[2, 0]], "padding_mode": "symmetric"}))
    if n == 2:
        cases.append((shape, {"filters": 3, "kernel_size": [3, 1], "strides": [2, 1], "padding": [1, [0, 2]]}))
    return cases


def _transpose_cases(n: int) -> list:
    shape = SPATIAL[n]
    return [(shape, {"filters": 3, "kernel_size": 3, "strides": 2}),
            (shape, {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}),
            (shape, {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1}),
            (shape, {"filters": 2, "kernel_size": 3, "strides": 3, "output_padding": 0, "use_bias": False}),
            (shape, {"filters": 2, "kernel_size": 3, "dilation_rate": 2})]


def _pool_cases(n: int, lp: bool = False) -> list:
    shape = SPATIAL[n]
    extra = {"p": 3.0} if lp else {}
    return [(shape, {**extra}),
            (shape, {"pool_size": 3, "strides": 2, **extra}),
            (shape, {"pool_size": 3, "strides": 2, "padding": "same", **extra}),
            (shape, {"pool_size": 2, "strides": 1, "padding": 1, **extra}),
            (shape, {"pool_size": 3, "strides": 2, "padding": "full", **extra}),
            (shape, {"pool_size": 3, "padding": "same", "padding_mode": "symmetric", **extra})]


SAMPLES: dict[str, list] = {
    **{f"Conv{n}D": _conv_cases(n) for n in (1, 2, 3)},
    **{f"Conv{n}DTranspose": _transpose_cases(n) for n in (1, 2, 3)},
    "DepthwiseConv1D": [(SEQ, {"kernel_size": 3, "depth_multiplier": 2}),
                        (SEQ, {"kernel_size": 3, "strides": 2, "padding": "same", "use_bias": False}),
                        (SEQ, {"kernel_size": 3, "strides": 2, "dilation_rate": 2})],
    "DepthwiseConv2D": [(IMG, {"kernel_size": 3}), (IMG, {"kernel_size": 3, "strides": 2, "padding": "same",
                                                          "depth_multiplier": 3}),
                        (IMG, {"kernel_size": 3, "padding": 1, "padding_mode": "reflect"}),
                        # Keras 3 takes strides with dilation here (it subsamples a stride-1 convolution)
                        (IMG, {"kernel_size": 3, "strides": 2, "dilation_rate": 2}),
                        (IMG, {"kernel_size": 2, "strides": [2, 3], "dilation_rate": [1, 2], "padding": "same"}),
                        (IMG, {"kernel_size": 3, "strides": [2, 1]})],  # warned: TF's own kernel refuses it
    "SeparableConv1D": [(SEQ, {"filters": 6, "kernel_size": 3, "depth_multiplier": 2}),
                        (SEQ, {"filters": 3, "kernel_size": 3, "strides": 2, "dilation_rate": 3, "padding": "same"})],
    "SeparableConv2D": [(IMG, {"filters": 6, "kernel_size": 3}),
                        (IMG, {"filters": 5, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": False}),
                        (IMG, {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": 1}),
                        (IMG, {"filters": 3, "kernel_size": 3, "strides": [1, 2]})],  # warned, as above
    "LocallyConnected1D": [(SEQ, {"filters": 3, "kernel_size": 3}), (SEQ, {"filters": 2, "kernel_size": 2,
                                                                           "strides": 2, "use_bias": False})],
    "LocallyConnected2D": [(IMG, {"filters": 3, "kernel_size": 3}),
                           (IMG, {"filters": 2, "kernel_size": [2, 3], "strides": 2, "padding": 1})],
    "TiledConv2D": [(IMG, {"filters": 3, "kernel_size": 3, "tiles": 2}),
                    (IMG, {"filters": 3, "kernel_size": 3, "tiles": [3, 1], "strides": 2, "padding": "same"})],
    "FixedConv2D": [(IMG, {"kernel": "sobel_x"}), (IMG, {"kernel": ["sobel_x", "sobel_y"], "padding": "same"}),
                    (IMG, {"kernel": [[1, 2], [3, 4]], "combine": "sum", "flip": True, "strides": 2}),
                    (IMG, {"kernel": "laplacian", "padding": 1, "padding_mode": "symmetric"})],
    **{f"{op}Pooling{n}D": _pool_cases(n) for op in ("Max", "Average") for n in (1, 2, 3)},
    **{f"MinPooling{n}D": _pool_cases(n) for n in (1, 2, 3)},
    **{f"LPPooling{n}D": _pool_cases(n, lp=True) for n in (1, 2, 3)},
    **{f"Global{op}Pooling{n}D": [(SPATIAL[n], {}), (SPATIAL[n], {"keepdims": True})]
       for op in ("Max", "Average") for n in (1, 2, 3)},
    "Dense": [([7], {"units": 5}), (SEQ, {"units": 3, "use_bias": False, "activation": "softmax"})],
    "Flatten": [(IMG, {}), (VOL, {})],
    "Reshape": [(IMG, {"target_shape": [143, 4]}), (IMG, {"target_shape": [-1, 2]})],
    "Permute": [(IMG, {"dims": [2, 1, 3]})],
    "Dropout": [(IMG, {"rate": 0.5}), (SEQ, {"rate": 0.1, "seed": 3})],
    **{f"SpatialDropout{n}D": [(SPATIAL[n], {"rate": 0.2})] for n in (1, 2, 3)},
    "Activation": [(IMG, {"activation": "gelu"})],
    "ReLU": [(IMG, {}), (IMG, {"max_value": 6.0})],
    "LeakyReLU": [(IMG, {"negative_slope": 0.1})],
    "ELU": [(IMG, {})],
    "PReLU": [(IMG, {}), (IMG, {"shared_axes": [1, 2]})],
    "Softmax": [(SEQ, {})],
    "Rescaling": [(IMG, {"scale": 0.00392156862745098, "offset": -0.5})],
    "BatchNormalization": [(IMG, {}), (IMG, {"center": False}), (SEQ, {"scale": False, "momentum": 0.9})],
    "LayerNormalization": [(IMG, {}), (SEQ, {"center": False}), (IMG, {"axis": [1, 2]}),
                           (IMG, {"axis": [-1, 1], "scale": False}), (VOL, {"axis": [1, 2, 3, 4]})],
    "GroupNormalization": [([5, 5, 8], {"groups": 4}), ([5, 5, 8], {"groups": -1})],
    "InstanceNormalization": [(IMG, {}), (SEQ, {"scale": False})],
    **{f"ZeroPadding{n}D": [(SPATIAL[n], {}), (SPATIAL[n], {"padding": [2, 1] if n == 1 else
                                                             [[1, 2]] + [3] * (n - 1)})] for n in (1, 2, 3)},
    **{f"Cropping{n}D": [(SPATIAL[n], {}), (SPATIAL[n], {"cropping": [2, 1] if n == 1 else
                                                         [[1, 2]] + [1] * (n - 1)})] for n in (1, 2, 3)},
    "UpSampling1D": [(SEQ, {}), (SEQ, {"size": 3})],
    "UpSampling2D": [(IMG, {}), (IMG, {"size": [2, 3], "interpolation": "bilinear"})],
    "UpSampling3D": [(VOL, {"size": [1, 2, 2]})],
    **{op: [([IMG, IMG], {}), ([IMG, [1, 1, 4]], {})] for op in ("Add", "Multiply", "Average", "Maximum", "Minimum")},
    "Subtract": [([IMG, IMG], {})],
    "Concatenate": [([IMG, [13, 11, 2]], {}), ([[6, 4], [3, 4]], {"axis": 1})],
}


def spec_for(kind: str, ins: list, args: dict) -> str:
    """A one-layer spec text for a case (several inputs for merge layers)."""
    import json

    shapes = ins if isinstance(ins[0], list) else [ins]
    inputs = "\n".join(f"  x{i}: {json.dumps(s)}" for i, s in enumerate(shapes))
    names = json.dumps([f"x{i}" for i in range(len(shapes))])
    return (f"archspec: 1\nname: sample\ninputs:\n{inputs}\nlayers:\n"
            f"  - {kind}: {json.dumps(args)}\n    name: layer\n    inputs: {names}\n")

# Keras counts a positive axis with the batch axis: axis 3 of [H, W, C] is C.
SAMPLES["BatchNormalization"].append((IMG, {"axis": 3}))
SAMPLES["LayerNormalization"].append((IMG, {"axis": 1}))
import samples_modern  # noqa: E402,F401  (adds the modern and preprocessing kinds' cases)
import samples_attention  # noqa: E402,F401  (adds the attention kinds and ViT pieces)
import samples_recurrent  # noqa: E402,F401  (adds the sequence layers and wrappers)
