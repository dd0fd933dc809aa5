"""The Head section of ``archspec summary``: per level its stride, grid, cells, anchors (or, for an
anchor-free head, the object sizes it trains) and boxes; how training assigns objects to levels;
and an instance head's prototype masks."""
from __future__ import annotations

import math

from archspec.heads.head import RADIUS, Head, Level


def _anchors_text(level: Level) -> str:
    """
    >>> _anchors_text(Level("p3", 8, (8, 8), 24, ((10.0, 13.0), (16.5, 30.0))))
    '10x13, 16.5x30'
    >>> _anchors_text(Level("p3", 8, (8, 8), 7))
    'anchor-free'
    """
    if not level.anchors:
        return "anchor-free"
    return ", ".join(f"{w:g}x{h:g}" for w, h in level.anchors)


def sides_text(low: float, high: float) -> str:
    """The longer sides (input pixels) an anchor-free level's objects have.

    >>> sides_text(0.0, 32.0), sides_text(32.0, 64.0), sides_text(64.0, math.inf)
    ('up to 32 px', '32-64 px', 'over 64 px')
    """
    if low <= 0:
        return f"up to {high:g} px"
    return f"over {low:g} px" if math.isinf(high) else f"{low:g}-{high:g} px"


def _assignment(head: Head) -> str:
    """How training gives objects to cells (train/detection: points.py for FCOS, assign.py for YOLOv5)."""
    if head.anchor_free:
        where = "train.detection.level_sizes" if head.level_sizes is not None else \
            "4 x stride; set by train.detection.level_sizes"
        return (f"assignment: FCOS: the level whose range holds an object's longer side ({where}); its cells "
                f"within {RADIUS:g} strides of the centre")
    return (f"assignment: YOLOv5: every anchor within {head.anchor_ratio:g}x of an object's width and height "
            "(train.detection.anchor_ratio); its centre cell and 2 nearest neighbours")


def _prototypes(head: Head) -> list[str]:
    """
    >>> from dataclasses import replace
    >>> from archspec.heads.head import example_head
    >>> seg = replace(example_head(), type="instance_segmentation", prototypes="protos", coefficients=16,
    ...               prototype_grid=(16, 16))
    >>> print(_prototypes(seg)[0])
    prototypes: 'protos', 16 masks of 16x16 (stride 4); a box's mask: its 16 coefficients times them, cropped to the box, upsampled to 64x64
    """
    if not head.prototype_grid:
        return []
    rows, cols = head.prototype_grid
    return [f"prototypes: '{head.prototypes}', {head.coefficients} masks of {rows}x{cols} (stride "
            f"{head.prototype_stride}); a box's mask: its {head.coefficients} coefficients times them, cropped to "
            f"the box, upsampled to {head.input_size[0]}x{head.input_size[1]}"]


def head_lines(head: Head) -> list[str]:
    """
    >>> from archspec.heads.head import example_head
    >>> print("\\n".join(head_lines(example_head())))  # doctest: +NORMALIZE_WHITESPACE
    Head: detection, 3 classes, 2 levels, 8 channels per box (4 box + 1 objectness + 3 classes)
      level   stride   grid   cells   anchors                boxes
      p3           8    8x8      64   10x13, 16x30, 33x23      192
      p4          16    4x4      16   30x61, 62x45, 59x119      48
      assignment: YOLOv5: every anchor within 4x of an object's width and height
      (train.detection.anchor_ratio); its centre cell and 2 nearest neighbours
      boxes per image: 240 (before score threshold and NMS)
    >>> print("\\n".join(head_lines(example_head(anchors=False))[1:4]))
      level   stride   grid   cells   objects (longer side)   boxes
      p3           8    8x8      64   up to 32 px                64
      p4          16    4x4      16   over 32 px                 16
    """
    parts = ["4 box"] + ([] if head.anchor_free else ["1 objectness"]) + [f"{head.classes} classes"]
    if head.coefficients:
        parts.append(f"{head.coefficients} mask coefficients from '{head.prototypes}'")
    title = (f"Head: {head.type}, {head.classes} classes, {len(head.levels)} level"
             f"{'s' if len(head.levels) != 1 else ''}, {head.per_box} channels per box ({' + '.join(parts)})")
    fourth = "objects (longer side)" if head.anchor_free else "anchors"
    described = [sides_text(*bounds) for bounds in head.object_sides] if head.anchor_free else \
        [_anchors_text(lv) for lv in head.levels]
    rows = [["level", "stride", "grid", "cells", fourth, "boxes"]]
    rows += [[lv.name, str(lv.stride), f"{lv.grid[0]}x{lv.grid[1]}", f"{lv.cells:,}", text, f"{lv.boxes:,}"]
             for lv, text in zip(head.levels, described)]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    left = {0, 4}
    lines = ["  " + "   ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             .rstrip() for r in rows]
    facts = [_assignment(head), *_prototypes(head),
             f"boxes per image: {head.boxes_per_image:,} (before score threshold and NMS)"]
    return [title, *lines, *(f"  {fact}" for fact in facts)]
