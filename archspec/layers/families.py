"""The layer families: title (``archspec layers``), graph colour, and the noun sentences use.

The order here is the order ``archspec layers`` and docs/layers.md list them in.
"""
from __future__ import annotations

from archspec.layers.registry import Family, register_families

CONV = Family("conv", "Convolution", "#dbe9f6", "convolutions")
FIXED = Family("fixed", "Fixed kernels", "#f6dde4", "fixed-kernel convolutions")
POOLING = Family("pooling", "Pooling", "#dcefd9", "pooling")
NORM = Family("norm", "Normalization", "#fbf1c7", "normalisation")
CORE = Family("core", "Core", "#e8dcf3", "dense layers")
ATTENTION = Family("attention", "Attention and transformer pieces", "#f9e3f0",
                   "attention (its projections as dense layers, plus the QK^T and AV products; no softmax)")
ACTIVATION = Family("activation", "Activations", "#f2f2f2", "activations")
REGULARIZATION = Family("regularization", "Regularization", "#f2f2f2", "dropout")
PREPROCESSING = Family("preprocessing", "Preprocessing", "#f2f2f2", "preprocessing")
AUGMENTATION = Family("augmentation", "Augmentation (identity at inference)", "#f2f2f2", "augmentation")
RESHAPE = Family("reshape", "Reshaping", "#eeeeee", "reshapes")
RESIZE = Family("resize", "Padding, cropping, upsampling", "#d9f0ee", "resizing")
MERGE = Family("merge", "Merging", "#fde0c5", "merges")
RECURRENT = Family("recurrent", "Sequences and recurrent layers", "#e3f0d0", "recurrent layers")

register_families(CONV, FIXED, POOLING, NORM, CORE, ATTENTION, ACTIVATION, REGULARIZATION, PREPROCESSING, RESHAPE,
                  RESIZE, MERGE)
register_families(RECURRENT)
register_families(AUGMENTATION)
