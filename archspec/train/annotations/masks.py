"""Instance masks as COCO writes them (polygons, uncompressed and compressed RLE), decoded and
encoded with pycocotools.mask, the reference implementation COCO's evaluation uses."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def polygon_problem(polygon: Any) -> str | None:
    """What is wrong with one polygon ``[x1, y1, x2, y2, ...]``, or None.

    >>> polygon_problem([0, 0, 4, 0, 4, 4]) is None
    True
    >>> polygon_problem([0, 0, 4, 0, 4])
    'polygon has an odd number of coordinates (5)'
    >>> polygon_problem([0, 0, 4, 4])
    'polygon has 2 points; it needs at least 3'
    """
    if not isinstance(polygon, (list, tuple)) or not all(_is_number(v) for v in polygon):
        return "polygon is not a list of numbers"
    if len(polygon) % 2:
        return f"polygon has an odd number of coordinates ({len(polygon)})"
    if len(polygon) < 6:
        return f"polygon has {len(polygon) // 2} point{'s' if len(polygon) != 2 else ''}; it needs at least 3"
    return None


def drawn_polygons(segmentation: Any) -> list[Any]:
    """The polygons of a COCO polygon segmentation that hold any coordinates: ``[[]]`` and ``[]``
    (what several exporters write for a box without a mask) hold none.

    >>> drawn_polygons([[], [0, 0, 4, 0, 4, 4]]), drawn_polygons([[]]), drawn_polygons(None)
    ([[0, 0, 4, 0, 4, 4]], [], [])
    """
    if not isinstance(segmentation, list):
        return []
    return [p for p in segmentation if not (isinstance(p, (list, tuple)) and len(p) == 0)]


def has_mask(segmentation: Any) -> bool:
    """Whether a COCO segmentation draws a mask: an RLE, or at least one non-empty polygon.

    >>> has_mask({"size": [2, 2], "counts": [4]}), has_mask([[]]), has_mask([]), has_mask(None)
    (True, False, False, False)
    """
    return isinstance(segmentation, dict) or bool(drawn_polygons(segmentation))


def rle_problem(rle: Any, height: int, width: int) -> str | None:
    """What is wrong with an RLE ``{size: [h, w], counts: ...}`` for a height x width image, or None.

    >>> rle_problem({"size": [2, 3], "counts": [1, 4, 1]}, 2, 3) is None
    True
    >>> rle_problem({"size": [2, 3], "counts": [1, 4]}, 2, 3)
    'uncompressed RLE counts sum to 5, not 2 x 3 = 6 pixels'
    >>> rle_problem({"size": [4, 4], "counts": "abc"}, 2, 3)
    'RLE size [4, 4] is not the image size [2, 3]'
    """
    size, counts = rle.get("size"), rle.get("counts")
    if list(size or []) != [height, width]:
        return f"RLE size {size} is not the image size [{height}, {width}]"
    if isinstance(counts, str):
        return None if counts else "compressed RLE counts are empty"
    if not isinstance(counts, list) or not all(isinstance(c, int) and c >= 0 for c in counts):
        return "RLE counts are neither a string nor a list of non-negative integers"
    if sum(counts) != height * width:
        return f"uncompressed RLE counts sum to {sum(counts)}, not {height} x {width} = {height * width} pixels"
    return None


def decode_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """A checked COCO segmentation (polygons or RLE) as a (height, width) uint8 0/1 mask; several
    polygons of one object are one mask (their union, as pycocotools' ``annToMask``).

    >>> decode_mask([[0, 0, 4, 0, 4, 2, 0, 2]], 3, 5).sum()
    np.uint64(8)
    >>> decode_mask([[0, 0, 1, 0, 1, 1, 0, 1], [], [3, 0, 5, 0, 5, 3, 3, 3]], 3, 5).sum()
    np.uint64(7)
    """
    from pycocotools import mask as coco_mask

    if isinstance(segmentation, dict):
        counts = segmentation["counts"]
        rle = ({"size": [height, width], "counts": counts.encode("ascii")} if isinstance(counts, str)
               else coco_mask.frPyObjects(segmentation, height, width))
    else:
        rle = coco_mask.merge(coco_mask.frPyObjects([list(map(float, p)) for p in drawn_polygons(segmentation)],
                                                    height, width))
    return np.ascontiguousarray(coco_mask.decode(rle), dtype=np.uint8)


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """A (H, W) 0/1 mask as compressed RLE that JSON can hold (counts as text).

    >>> encoded = encode_mask(np.eye(3, dtype=np.uint8))
    >>> encoded["size"], bool((decode_mask(encoded, 3, 3) == np.eye(3)).all())
    ([3, 3], True)
    """
    from pycocotools import mask as coco_mask

    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def masks_to_boxes(masks: Sequence[np.ndarray]) -> np.ndarray:
    """(N, 4) x1, y1, x2, y2 pixel-edge boxes around each mask's pixels (zeros for an empty mask).

    >>> masks_to_boxes([np.pad(np.ones((2, 3), np.uint8), ((1, 0), (2, 0)))]).tolist()
    [[2.0, 1.0, 5.0, 3.0]]
    """
    boxes = np.zeros((len(masks), 4), np.float32)
    for i, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if len(rows):
            boxes[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    return boxes


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
