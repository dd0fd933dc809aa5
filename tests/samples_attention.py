"""Sample uses of the attention kinds and the ViT pieces (see tests/layer_samples.py): self- and
cross-attention of different lengths, key_dim != value_dim, attention over 2-D maps, output_shape,
EinsumDense with bias_axes and ellipses."""
from __future__ import annotations

from layer_samples import SAMPLES

QUERY, VALUE, KEY = [6, 8], [9, 10], [9, 7]
MAPS = [4, 5, 6]

SAMPLES.update({
    "MultiHeadAttention": [
        ([QUERY], {"num_heads": 2, "key_dim": 4}),                                  # self-attention
        ([QUERY, VALUE], {"num_heads": 2, "key_dim": 3, "value_dim": 5}),           # cross, other length
        ([QUERY, VALUE, KEY], {"num_heads": 3, "key_dim": 2, "use_bias": False}),
        ([MAPS, [3, 2, 8]], {"num_heads": 2, "key_dim": 3, "attention_axes": [1, 2], "output_shape": 9}),
        ([MAPS, [4, 2, 8]], {"num_heads": 2, "key_dim": 3, "attention_axes": -2}),  # along the width only
        ([MAPS], {"num_heads": 2, "key_dim": 3, "output_shape": [2, 5], "use_gate": True}),
        ([QUERY], {"num_heads": 2, "key_dim": 4, "use_causal_mask": True, "dropout": 0.1, "seed": 1}),
    ],
    "Attention": [
        ([QUERY, [9, 5], [9, 8]], {}),
        ([QUERY, [9, 8]], {"use_scale": True, "score_mode": "concat"}),
        ([[3, 6, 8], [3, 9, 8]], {"use_scale": True}),                               # a leading batch-like axis
        ([QUERY], {"use_causal_mask": True}),
    ],
    "AdditiveAttention": [
        ([QUERY, [9, 8]], {}),
        ([QUERY, [9, 5], [9, 8]], {"use_scale": False, "dropout": 0.2}),
    ],
    "EinsumDense": [
        ([5, 8], {"equation": "abc,cd->abd", "output_shape": [5, 6], "bias_axes": "d"}),
        ([5, 8], {"equation": "abc,cde->abde", "output_shape": [5, 2, 3], "bias_axes": "de", "activation": "relu"}),
        ([5, 8], {"equation": "abc,bcd->ad", "output_shape": 4}),                   # mixes the positions
        ([5, 8], {"equation": "abc,cd->abd", "output_shape": [5, 6], "bias_axes": "b"}),  # bias (5, 1)
        ([5, 4, 3], {"equation": "abc...,bd->adc...", "output_shape": [7, 4], "bias_axes": "d"}),
        ([5, 8], {"equation": "...b,bc->...c", "output_shape": 6, "bias_axes": "c"}),
    ],
    "ClassToken": [(QUERY, {})],
    "PositionEmbedding": [(QUERY, {}), (QUERY, {"embeddings_initializer": "zeros"})],
    "SelectToken": [(QUERY, {}), (QUERY, {"index": -1})],
})
