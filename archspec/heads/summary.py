"""The Head section of ``archspec summary``: per level its stride, grid, cells, anchors and boxes."""
from __future__ import annotations

from archspec.heads.head import Head, Level


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


def head_lines(head: Head) -> list[str]:
    """
    >>> from archspec.heads.head import example_head
    >>> print("\\n".join(head_lines(example_head())))
    Head: detection, 3 classes, 2 levels, 8 channels per box (4 box + 1 objectness + 3 classes)
      level   stride   grid   cells   anchors                boxes
      p3           8    8x8      64   10x13, 16x30, 33x23      192
      p4          16    4x4      16   30x61, 62x45, 59x119      48
      boxes per image: 240 (before score threshold and NMS)
    """
    parts = ["4 box"] + ([] if head.anchor_free else ["1 objectness"]) + [f"{head.classes} classes"]
    if head.coefficients:
        parts.append(f"{head.coefficients} mask coefficients from '{head.prototypes}'")
    title = (f"Head: {head.type}, {head.classes} classes, {len(head.levels)} level"
             f"{'s' if len(head.levels) != 1 else ''}, {head.per_box} channels per box ({' + '.join(parts)})")
    rows = [["level", "stride", "grid", "cells", "anchors", "boxes"]]
    rows += [[lv.name, str(lv.stride), f"{lv.grid[0]}x{lv.grid[1]}", f"{lv.cells:,}", _anchors_text(lv),
              f"{lv.boxes:,}"] for lv in head.levels]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    left = {0, 4}
    lines = ["  " + "   ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             .rstrip() for r in rows]
    return [title, *lines, f"  boxes per image: {head.boxes_per_image:,} (before score threshold and NMS)"]
