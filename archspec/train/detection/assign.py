"""Target assignment the YOLOv5 way (Jocher et al., ultralytics/yolov5 ``utils/loss.py: build_targets``).

On each level, an object is matched to every anchor whose width and height both differ from
the object's by less than ``anchor_ratio`` (YOLOv5's ``anchor_t``, 4), and for each matched
anchor to three cells: the one holding the object's centre and its nearest horizontal and
vertical neighbours (the ones whose edge the centre is within half a cell of), since the
predicted centre offset 2 sigmoid(t) - 0.5 reaches from -0.5 to 1.5 cells. Levels are matched
independently: a mid-sized object may train anchors on two levels.

Every tensor has a fixed shape, (B, M, A, 3) for B images, M object slots (padding has class
-1), A anchors and the 3 cells, so the loss runs under XLA; ``valid`` marks the real matches.
The object index of a match is its position on axis 1 (instance segmentation reads its mask
there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import tensorflow as tf

NEIGHBOURS = 3  # the centre cell, its nearest horizontal and its nearest vertical neighbour
_EPS = 1e-9


@dataclass(frozen=True)
class LevelMatches:
    """The candidate (object, anchor, cell) matches of one level; axis order (B, M, A, 3)."""

    valid: Any        # (B, M, A, 3) bool: a real object, an anchor that fits it, a cell used
    cell: Any         # (B, M, A, 3, 2) int32: (row, column) of the cell
    target_xy: Any    # (B, M, A, 3, 2) float32: the object's centre from the cell's corner, in cells (x, y)
    target_wh: Any    # (B, M, A, 3, 2) float32: the object's width and height, in cells

    def gather_indices(self) -> Any:
        """(B, M, A, 3, 4) int32 indices [image, row, column, anchor] into a (B, H, W, A, ...) grid."""
        shape = tf.shape(self.valid)
        image = tf.broadcast_to(tf.range(shape[0])[:, None, None, None], shape)
        anchor = tf.broadcast_to(tf.range(shape[2])[None, None, :, None], shape)
        return tf.stack([image, self.cell[..., 0], self.cell[..., 1], anchor], axis=-1)


def match_level(boxes: Any, classes: Any, grid: tuple[int, int], stride: int,
                anchors: Sequence[Sequence[float]], anchor_ratio: float = 4.0) -> LevelMatches:
    """Match the objects of a batch to one level's anchors and cells.

    ``boxes`` (B, M, 4) are x1, y1, x2, y2 in model-input pixels; ``classes`` (B, M) int with
    -1 for padding; ``anchors`` (A, 2) are widths and heights in input pixels.
    """
    rows, cols = grid
    boxes = tf.cast(boxes, tf.float32)
    centre = (boxes[..., :2] + boxes[..., 2:]) / (2.0 * stride)              # (B, M, 2) x, y in cells
    size = tf.maximum((boxes[..., 2:] - boxes[..., :2]) / stride, _EPS)      # (B, M, 2) w, h in cells
    anchor_cells = tf.constant(anchors, tf.float32) / stride                  # (A, 2)
    ratio = size[:, :, None, :] / anchor_cells[None, None]                    # (B, M, A, 2)
    worst = tf.reduce_max(tf.maximum(ratio, 1.0 / ratio), axis=-1)
    fits = (worst < anchor_ratio) & (classes >= 0)[..., None]                # (B, M, A)
    offsets, near = _neighbours(centre, rows, cols)                           # (B, M, 3, 2), (B, M, 3)
    corner = tf.floor(centre)[:, :, None, :] + offsets                        # (B, M, 3, 2) x, y
    limit = tf.constant([cols - 1, rows - 1], tf.float32)
    corner = tf.clip_by_value(corner, 0.0, limit)
    target_xy = centre[:, :, None, :] - corner
    count = tf.shape(fits)[2]
    spread = [tf.shape(fits)[0], tf.shape(fits)[1], count, NEIGHBOURS, 2]
    cell = tf.cast(tf.reverse(corner, axis=[-1]), tf.int32)                   # (row, column)
    return LevelMatches(valid=fits[..., None] & near[:, :, None, :],
                        cell=tf.broadcast_to(cell[:, :, None], spread),
                        target_xy=tf.broadcast_to(target_xy[:, :, None], spread),
                        target_wh=tf.broadcast_to(size[:, :, None, None, :], spread))


def _neighbours(centre: Any, rows: int, cols: int) -> tuple[Any, Any]:
    """Cell offsets (0, 0), (+-1, 0), (0, +-1) of each object and whether each is used.

    YOLOv5's rule: the left neighbour when the centre is in the left half of its cell and not in
    the first column, the right one when in the right half and not in the last; the same
    vertically."""
    x, y = centre[..., 0], centre[..., 1]
    fx, fy = x - tf.floor(x), y - tf.floor(y)
    left, right = (fx < 0.5) & (x > 1.0), (fx > 0.5) & (cols - x > 1.0)
    up, down = (fy < 0.5) & (y > 1.0), (fy > 0.5) & (rows - y > 1.0)
    dx = tf.where(left, -1.0, 1.0)
    dy = tf.where(up, -1.0, 1.0)
    zero = tf.zeros_like(x)
    offsets = tf.stack([tf.stack([zero, zero], -1), tf.stack([dx, zero], -1), tf.stack([zero, dy], -1)], axis=2)
    near = tf.stack([tf.ones_like(left), left | right, up | down], axis=-1)
    return offsets, near
