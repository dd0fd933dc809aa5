"""Shape arithmetic as pure functions on integers and tuples, exactly as Keras computes it.

``None`` stands for an unknown size and propagates, as in Keras.
"""
from __future__ import annotations

from typing import Optional, Sequence

Dim = Optional[int]


def as_tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    """Keras's scalar-for-tuple rule.

    >>> as_tuple(3, 2), as_tuple([1, 2], 2)
    ((3, 3), (1, 2))
    """
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


def dilated(kernel: int, dilation: int = 1) -> int:
    """Extent of a dilated kernel: d*(K-1)+1.

    >>> dilated(3, 2)
    5
    """
    return dilation * (kernel - 1) + 1


def window_length(size: Dim, kernel: int, stride: int = 1, padding: str = "valid",
                  dilation: int = 1, pad: tuple[int, int] = (0, 0)) -> Dim:
    """Output length of a convolution or pooling along one axis.

    ``valid``: floor((H + P_b + P_a - d(K-1) - 1) / S) + 1 with explicit pads;
    ``same`` and ``causal``: ceil(H / S).

    >>> window_length(32, 5)
    28
    >>> window_length(224, 7, 2, "same")
    112
    >>> window_length(227, 11, 4), window_length(7, 3, 2)
    (55, 3)
    >>> window_length(10, 3, 1, "valid", 2, (2, 2))
    10
    >>> window_length(None, 3) is None
    True
    """
    if size is None:
        return None
    if padding in ("same", "causal"):
        return (size - 1) // stride + 1
    return (size + pad[0] + pad[1] - dilated(kernel, dilation)) // stride + 1


def same_pads(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """The (before, after) zero padding that Keras/TF apply for ``padding='same'``.

    The extra pixel of an odd total goes after, as TensorFlow does.

    >>> same_pads(224, 7, 2)
    (2, 3)
    >>> same_pads(5, 3, 1)
    (1, 1)
    """
    out = window_length(size, kernel, stride, "same")
    total = max((out - 1) * stride + dilated(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def transpose_length(size: Dim, kernel: int, stride: int = 1, padding: str = "valid",
                     output_padding: Optional[int] = None, dilation: int = 1) -> Dim:
    """Output length of a transposed convolution (Keras's ``compute_conv_transpose_output_length``).

    >>> transpose_length(7, 3, 2, "same")
    14
    >>> transpose_length(7, 3, 2, "valid")
    15
    >>> transpose_length(7, 3, 2, "same", 1)
    14
    >>> transpose_length(7, 4, 2, "valid", 0)
    16
    """
    if size is None:
        return None
    k = dilated(kernel, dilation)
    if output_padding is None:
        if padding == "valid":
            return size * stride + max(k - stride, 0)
        return size * stride
    pad = k // 2 if padding == "same" else 0
    return (size - 1) * stride + k - 2 * pad + output_padding


def product(dims: Sequence[Dim]) -> Dim:
    """Product of sizes, None if any is unknown.

    >>> product((5, 5, 16)), product((None, 3))
    (400, None)
    """
    result = 1
    for d in dims:
        if d is None:
            return None
        result *= d
    return result


DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def tensor_bytes(shape: Sequence[Dim], batch: int = 1, dtype: str = "float32") -> int:
    """Bytes of one tensor of ``shape`` (without the batch axis); unknown sizes count as 0.

    >>> tensor_bytes((28, 28, 6)), tensor_bytes((28, 28, 6), 32, "float16"), tensor_bytes((None, 3))
    (18816, 301056, 0)
    """
    return (product(shape) or 0) * batch * DTYPE_BYTES[dtype]


def canonicalize_axis(axis: int, rank: int) -> int:
    """An axis as Keras counts it (the batch axis is 0, so positive axes start at 1; negative
    axes count from the end) turned into an index into a shape written without the batch axis.

    ``rank`` is the number of axes without the batch axis. Raises ValueError for axis 0 (the
    batch axis) and for axes outside the tensor.

    >>> canonicalize_axis(-1, 3), canonicalize_axis(3, 3), canonicalize_axis(1, 3), canonicalize_axis(-3, 3)
    (2, 2, 0, 0)
    >>> canonicalize_axis(0, 3)
    Traceback (most recent call last):
    ValueError: axis 0 is the batch axis
    >>> canonicalize_axis(4, 3)
    Traceback (most recent call last):
    ValueError: axis 4 is outside a tensor of 4 axes (batch included)
    """
    if axis == 0:
        raise ValueError("axis 0 is the batch axis")
    index = axis - 1 if axis > 0 else rank + axis
    if not 0 <= index < rank:
        raise ValueError(f"axis {axis} is outside a tensor of {rank + 1} axes (batch included)")
    return index


def mirror_pad_limit(size: int, mode: str) -> int:
    """The widest pad one side of an axis of ``size`` takes when it mirrors the axis:
    ``reflect`` leaves the edge out (pad < size), ``symmetric`` repeats it (pad <= size).

    >>> mirror_pad_limit(4, "reflect"), mirror_pad_limit(4, "symmetric")
    (3, 4)
    """
    return size - 1 if mode == "reflect" else size


def fmt_shape(shape: Sequence[Dim]) -> str:
    """A shape as people write it: ``[28, 28, 6]``, unknown sizes as ``?``.

    >>> fmt_shape((28, None, 6))
    '[28, ?, 6]'
    """
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


__all__ = ["as_tuple", "dilated", "window_length", "same_pads", "transpose_length",
           "product", "DTYPE_BYTES", "tensor_bytes", "canonicalize_axis", "mirror_pad_limit", "fmt_shape"]
