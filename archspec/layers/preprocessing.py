"""Keras's image preprocessing and augmentation layers inside a model: no weights, [H, W, C] in.

Resizing and CenterCrop change the size; AutoContrast rescales each image by its own range.
Every Random* layer (and RandAugment, AugMix, CutMix, MixUp) is the identity at inference,
which is what the receptive field describes, so those are pointwise; while training they
move, blur or mix positions at random.

Left out, with the reason: RandomCrop (Keras 3.15 declares the cropped shape but returns the
uncropped image at inference), Equalization (in a functional model Keras 3.15 raises "part of
a cycle"), MaxNumBoundingBoxes (bounding boxes only), CLAHE (not exported by keras.layers).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence

from archspec.layers import args as A
from archspec.layers.axes import EXAMPLE_SHAPES
from archspec.layers.equations import Line, per_axis
from archspec.layers.families import AUGMENTATION, PREPROCESSING
from archspec.layers.keras_builders import keras_layer
from archspec.layers.registry import (Arg, Args, Family, FieldRule, LayerError, LayerKind, Shape, Window,
                                      register_kinds)
from archspec.layers.arithmetic import fmt_shape

IMAGE = EXAMPLE_SHAPES[2]
_NUMBER = {"type": "number"}
_PAIR = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}


# ---------------------------------------------------------------- arguments
def _factor(name: str, doc: str, default: Any = None, minimum: Optional[float] = 0) -> Arg:
    """A strength Keras takes as one number or a [low, high] range (what it samples from)."""
    one = {**_NUMBER, **({} if minimum is None else {"minimum": minimum})}
    schema = {"oneOf": [one, {**_PAIR, "items": one}]}
    return Arg(name, schema, "a number or a [low, high] pair", doc, default, default is None)


def _size(name: str) -> Arg:
    return A.integer(name, f"Output {name} in pixels.", required=True)


_VALUE_RANGE = Arg("value_range", _PAIR, "a [low, high] pair of numbers", "The range the pixel values lie in.",
                   [0, 255])
_INTERPOLATION = A.choice("interpolation", ["bilinear", "nearest"], "How moved pixels are sampled.", "bilinear")
_FILL_MODE = A.choice("fill_mode", ["reflect", "wrap", "constant", "nearest"],
                      "How points outside the image are filled.", "reflect")
_FILL_VALUE = A.number("fill_value", "The value outside the image with fill_mode constant.", 0.0)
_GEOMETRY = (_FILL_MODE, _INTERPOLATION, A.seed(), _FILL_VALUE)


def _probability(doc: str, default: float) -> Arg:
    return _factor("factor", doc, default)


# ---------------------------------------------------------------- shapes
def _channels(allowed: tuple[int, ...]):
    """A same-shape rule for layers whose colour arithmetic needs 3 (RGB) channels, or 1 or 3."""
    def shape(args: Args, ins: Sequence[Shape]) -> Shape:
        channels = ins[0][-1]
        if allowed and channels not in allowed:
            want = " or ".join(map(str, allowed))
            raise LayerError(f"this layer works on {want} channels (RGB), but the input {fmt_shape(ins[0])} has "
                             f"{'an unknown number' if channels is None else channels}",
                             "apply it to the image before channels change")
        return ins[0]
    return shape


def _resized(args: Args, ins: Sequence[Shape]) -> Shape:
    return (args["height"], args["width"], ins[0][-1])


def _check_resizing(args: Args) -> list[LayerError]:
    if args.get("crop_to_aspect_ratio") and args.get("pad_to_aspect_ratio"):
        return [LayerError("crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be true",
                           "choose one", "pad_to_aspect_ratio")]
    return []


def _resize_explain(args: Args, ins: Sequence[Shape], out: Shape) -> list[Line]:
    return per_axis(["H'", "W'"], ["height", "width"], [str(args["height"]), str(args["width"])], "shape")


_TAPS = {"nearest": 1, "bilinear": 2, "bicubic": 4, "lanczos3": 6, "lanczos5": 10, "area": 1}


def _resize_window(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
    """The positions one resized pixel reads: the interpolation's taps, spread over the
    stride when antialiasing (or 'area') shrinks; the stride is input/output size. An unknown
    input size is taken as unscaled (stride 1)."""
    strides = tuple(1.0 if n is None else n / m for n, m in zip(ins[0][:2], out[:2]))
    taps = _TAPS[args.get("interpolation", "bilinear")]
    spread = args.get("antialias") or args.get("interpolation") == "area"
    kernels = tuple(max(1, math.ceil(taps * s) if spread and s > 1 else taps) for s in strides)
    pads = tuple((k - 1) / 2 - (s - 1) / 2 for k, s in zip(kernels, strides))
    return Window(kernels, strides, pads)


def _crop_window(args: Args, ins: Sequence[Shape], out: Shape) -> Window:
    """A centred crop: each output pixel is one input pixel, offset by (H - h) // 2. A smaller
    input is resized by Keras instead (see ``_resize_window``)."""
    sizes = ins[0][:2]
    if None in sizes or any(n < m for n, m in zip(sizes, out[:2])):
        return _resize_window({"interpolation": "bilinear"}, ins, out)
    return Window((1, 1), (1, 1), tuple(-float((n - m) // 2) for n, m in zip(sizes, out[:2])))


def _augmentation(name: str, doc: str, args: tuple[Arg, ...], channels: tuple[int, ...] = (),
                  example: Optional[dict] = None) -> LayerKind:
    return LayerKind(name, AUGMENTATION, doc + " Identity at inference; no weights.", args, _channels(channels),
                     keras_layer(), rank=3, example=((IMAGE[:-1] + (3,),), example or {}))


def _fixed(name: str, family: Family, doc: str, args: tuple[Arg, ...], **rules: Any) -> LayerKind:
    return LayerKind(name, family, doc, args, rules.pop("shape", _channels(())), keras_layer(), rank=3,
                     example=((IMAGE[:-1] + (3,),), rules.pop("example", {})), **rules)


_RGB, _GREY_OR_RGB = (3,), (1, 3)

register_kinds(
    _fixed("Resizing", PREPROCESSING, "Resizes images to height x width (keras.layers.Resizing); the receptive "
           "field is the interpolation's window with stride input/output size.",
           (_size("height"), _size("width"),
            A.choice("interpolation", list(_TAPS), "How new pixels are computed.", "bilinear"),
            A.boolean("crop_to_aspect_ratio", "Crop to the target aspect ratio first, not stretch.", False),
            A.boolean("pad_to_aspect_ratio", "Pad to the target aspect ratio first, not stretch.", False),
            A.choice("fill_mode", ["constant"], "What fills the padding of pad_to_aspect_ratio.", "constant"),
            A.number("fill_value", "The padding's value.", 0.0),
            A.boolean("antialias", "Filter before downsampling.", False)),
           shape=_resized, check=_check_resizing, window=_resize_window, field_rule=FieldRule.WINDOW,
           explain=_resize_explain, example={"height": 16, "width": 16}),
    _fixed("CenterCrop", PREPROCESSING, "Crops the centre height x width of each image, resizing smaller "
           "images (keras.layers.CenterCrop).", (_size("height"), _size("width")),
           shape=_resized, window=_crop_window, field_rule=FieldRule.WINDOW, explain=_resize_explain,
           example={"height": 24, "width": 24}),
    _fixed("AutoContrast", PREPROCESSING, "Stretches each image's values to value_range, channel by channel "
           "(keras.layers.AutoContrast); each output value depends on its image's minimum and maximum.",
           (_VALUE_RANGE,), field_rule=FieldRule.WHOLE),
    _augmentation("RandomFlip", "Flips images at random.", (A.choice("mode", ["horizontal", "vertical",
                  "horizontal_and_vertical"], "Which flips.", "horizontal_and_vertical"), A.seed())),
    _augmentation("RandomRotation", "Rotates images by a random fraction of a full turn.",
                  (_factor("factor", "Fraction of 2*pi: a [low, high] range or x for [-x, x].", minimum=None),)
                  + _GEOMETRY, example={"factor": 0.1}),
    _augmentation("RandomZoom", "Zooms images in or out at random.",
                  (_factor("height_factor", "Fraction of the height to zoom by (negative: in).", minimum=-1),
                   Arg("width_factor", {"oneOf": [{"type": "null"}, _NUMBER, _PAIR]}, "a number, a pair or null",
                       "Fraction of the width (null: keep the aspect ratio).", None)) + _GEOMETRY,
                  example={"height_factor": 0.2}),
    _augmentation("RandomTranslation", "Shifts images by a random fraction of their size.",
                  (_factor("height_factor", "Fraction of the height.", minimum=-1),
                   _factor("width_factor", "Fraction of the width.", minimum=-1)) + _GEOMETRY,
                  example={"height_factor": 0.1, "width_factor": 0.1}),
    _augmentation("RandomShear", "Shears images at random.",
                  (_factor("x_factor", "Shear along the width.", 0.0), _factor("y_factor", "Shear along the height.",
                                                                               0.0),
                   _INTERPOLATION, _FILL_MODE, _FILL_VALUE, A.seed()), example={"x_factor": 0.2}),
    _augmentation("RandomPerspective", "Warps images by a random perspective transform.",
                  (_probability("Probability of warping.", 1.0), A.number("scale", "Strength of the warp.", 1.0, 0, 1),
                   _INTERPOLATION, _FILL_VALUE, A.seed())),
    _augmentation("RandomElasticTransform", "Distorts images with a random smooth displacement field.",
                  (_probability("Probability of distorting.", 1.0), A.number("scale", "Strength.", 1.0, 0, 1),
                   _INTERPOLATION, _FILL_MODE, _FILL_VALUE, _VALUE_RANGE, A.seed())),
    _augmentation("RandomContrast", "Scales each image's deviation from its mean by a random factor.",
                  (_factor("factor", "Range 1 +/- factor (a number or a pair in [0, 1]).", None), _VALUE_RANGE,
                   A.seed()), example={"factor": 0.2}),
    _augmentation("RandomBrightness", "Adds a random offset to each image.",
                  (_factor("factor", "Fraction of value_range added (-1 to 1).", None, minimum=-1), _VALUE_RANGE,
                   A.seed()), example={"factor": 0.2}),
    _augmentation("RandomGrayscale", "Turns images grey with probability factor.",
                  (A.number("factor", "Probability.", 0.5, 0, 1), A.seed()), _GREY_OR_RGB),
    _augmentation("RandomHue", "Shifts hues at random.", (_factor("factor", "Strength in [0, 1].", None),
                                                           _VALUE_RANGE, A.seed()), _RGB, {"factor": 0.2}),
    _augmentation("RandomSaturation", "Scales saturation at random.",
                  (_factor("factor", "Strength in [0, 1].", None), _VALUE_RANGE, A.seed()), _RGB, {"factor": 0.3}),
    _augmentation("RandomSharpness", "Sharpens or blurs images at random.",
                  (_factor("factor", "Strength in [0, 1].", None), _VALUE_RANGE, A.seed()), example={"factor": 0.3}),
    _augmentation("RandomPosterization", "Keeps a random number of bits of each value.",
                  (A.integer("factor", "Largest number of bits kept (1 to 8).", required=True), _VALUE_RANGE,
                   A.seed()), example={"factor": 4}),
    _augmentation("RandomInvert", "Inverts images with probability factor.",
                  (_probability("Probability of inverting.", 1.0), _VALUE_RANGE, A.seed())),
    _augmentation("RandomGaussianBlur", "Blurs images with a random Gaussian.",
                  (_probability("Probability of blurring.", 1.0),
                   A.integer("kernel_size", "Size of the blur kernel.", 3),
                   _factor("sigma", "Standard deviation of the Gaussian.", 1.0), _VALUE_RANGE, A.seed())),
    _augmentation("RandomColorJitter", "Random brightness, contrast, saturation and hue in one layer.",
                  (_VALUE_RANGE,) + tuple(Arg(f"{what}_factor", {"oneOf": [{"type": "null"}, _NUMBER, _PAIR]},
                                              "a number, a pair or null", f"Strength of the {what} change "
                                              "(null: none).", None)
                                          for what in ("brightness", "contrast", "saturation", "hue")) + (A.seed(),),
                  _RGB, {"brightness_factor": 0.2, "hue_factor": 0.1}),
    _augmentation("RandomColorDegeneration", "Blends images with their grey version at random.",
                  (_factor("factor", "Strength in [0, 1].", None), _VALUE_RANGE, A.seed()), _RGB, {"factor": 0.3}),
    _augmentation("RandomErasing", "Fills a random rectangle of each image.",
                  (_probability("Probability of erasing.", 1.0),
                   Arg("scale", _PAIR, "a [low, high] pair", "Fraction of the area erased.", [0.02, 0.33]),
                   A.number("fill_value", "The fill (null: random noise).", None, nullable=True), _VALUE_RANGE,
                   A.seed())),
    _augmentation("Solarization", "Inverts values above a random threshold, after a random addition.",
                  (_factor("addition_factor", "Fraction of value_range added.", 0.0),
                   _factor("threshold_factor", "Fraction of value_range as the threshold.", 0.0), _VALUE_RANGE,
                   A.seed()), example={"threshold_factor": 0.5}),
    _augmentation("RandAugment", "Applies num_ops random augmentations (Cubuk et al. 2019).",
                  (_VALUE_RANGE, A.integer("num_ops", "Augmentations per image.", 2),
                   _factor("factor", "Strength.", 0.5), _INTERPOLATION, A.seed()), _GREY_OR_RGB),
    _augmentation("AugMix", "Mixes chains of random augmentations (Hendrycks et al. 2020).",
                  (_VALUE_RANGE, A.integer("num_chains", "Chains mixed.", 3),
                   A.integer("chain_depth", "Augmentations per chain.", 3), _factor("factor", "Strength.", 0.3),
                   A.number("alpha", "Dirichlet concentration of the mix.", 1.0, 0),
                   A.boolean("all_ops", "Use the colour operations too.", True), _INTERPOLATION, A.seed())),
    _augmentation("CutMix", "Pastes a random patch of another image of the batch.",
                  (A.number("factor", "Beta distribution's concentration.", 1.0, 0), A.seed())),
    _augmentation("MixUp", "Blends each image with another of the batch.",
                  (A.number("alpha", "Beta distribution's concentration.", 0.2, 0), A.seed())),
)
