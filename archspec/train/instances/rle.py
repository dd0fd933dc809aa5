"""COCO run-length encoding of binary masks, in NumPy, byte for byte as pycocotools writes it.

A COCO RLE reads the mask column by column (Fortran order) and counts alternating runs,
zeros first (so a mask whose first pixel is set starts with a run of 0 zeros). The
compressed form stores each count as 5-bit groups in printable characters (48 + value,
bit 0x20 meaning "more groups follow"), and from the third count on stores the difference
from the count two places before (maskApi.c ``rleToString``). Predictions are written with
this code, so `archspec predict` needs no pycocotools; the tests compare it with
``pycocotools.mask.encode``.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def run_lengths(mask: np.ndarray) -> list[int]:
    """The column-major run lengths of a 2-D mask, zeros first.

    >>> run_lengths(np.array([[0, 1], [0, 1]]))
    [2, 2]
    >>> run_lengths(np.array([[1, 0], [1, 0]]))
    [0, 2, 2]
    >>> run_lengths(np.zeros((2, 3)))
    [6]
    """
    flat = (np.asarray(mask).ravel(order="F") != 0).astype(np.int8)
    if flat.size == 0:
        return []
    changes = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(edges).tolist()
    return [0, *counts] if flat[0] == 1 else counts


def compress_counts(counts: list[int]) -> str:
    """The compressed string of a list of run lengths (pycocotools' ``counts`` as text).

    >>> compress_counts([2, 2])
    '22'
    >>> compress_counts([0, 40, 3])
    '0X13'
    """
    chars: list[str] = []
    for i, count in enumerate(counts):
        value = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            group = value & 0x1F
            value >>= 5  # arithmetic shift: a negative difference ends at -1
            more = value != -1 if group & 0x10 else value != 0
            chars.append(chr(48 + (group | 0x20 if more else group)))
    return "".join(chars)


def encode(mask: np.ndarray) -> dict[str, Any]:
    """A 2-D mask as a compressed COCO RLE: ``{"size": [h, w], "counts": str}`` (JSON-ready).

    >>> encode(np.array([[0, 1], [0, 1]], np.uint8))
    {'size': [2, 2], 'counts': '22'}
    """
    mask = np.asarray(mask)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": compress_counts(run_lengths(mask))}


def mask_box(mask: np.ndarray) -> list[float]:
    """The COCO box [x, y, width, height] of a mask's set pixels ([0, 0, 0, 0] when empty).

    >>> mask_box(np.array([[0, 0, 0], [0, 1, 1], [0, 1, 0]]))
    [1.0, 1.0, 2.0, 2.0]
    """
    rows, cols = np.flatnonzero(np.any(mask, axis=1)), np.flatnonzero(np.any(mask, axis=0))
    if rows.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1), float(rows[-1] - rows[0] + 1)]
