"""The records every object task reads: an image's objects, a category, a data set of objects.

Coordinates are pixels of the image they belong to: x right, y down, origin at the top-left
corner of the top-left pixel (a box covering the whole W x H image is 0, 0, W, H, as COCO writes
it). These records hold images and objects before any resize; ``letterbox`` maps them to the
model's input.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class ImageObjects:
    """The objects of one image, in pixels of that image (x right, y down, origin top-left corner).

    >>> objects = ImageObjects.empty(keypoint_count=2)
    >>> objects.boxes.shape, objects.classes.dtype, objects.keypoints.shape, len(objects)
    ((0, 4), dtype('int32'), (0, 2, 3), 0)
    """

    boxes: np.ndarray             # (N, 4) float32: x1, y1, x2, y2
    classes: np.ndarray           # (N,) int32: index into ObjectData.categories (0..C-1)
    ids: np.ndarray               # (N,) int64: annotation ids (named in messages)
    masks: Optional[np.ndarray] = None      # (N, H, W) uint8 0/1 at the image's size
    keypoints: Optional[np.ndarray] = None  # (N, K, 3) float32: x, y, v (0 absent, 1 hidden, 2 visible)
    # COCO's iscrowd regions: kept out of training targets, marked iscrowd=1 in the ground truth
    # (pycocotools then ignores detections that fall in them instead of counting them false).
    crowd_boxes: Optional[np.ndarray] = None   # (Q, 4) float32, same form as boxes
    crowd_classes: Optional[np.ndarray] = None  # (Q,) int32
    crowd_masks: Optional[np.ndarray] = None    # (Q, H, W) uint8, when the data has masks

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @staticmethod
    def empty(height: int = 0, width: int = 0, masks: bool = False,
              keypoint_count: int = 0) -> "ImageObjects":
        """No objects, with arrays of the right shapes (an image may hold none)."""
        return ImageObjects(
            boxes=np.zeros((0, 4), np.float32), classes=np.zeros((0,), np.int32),
            ids=np.zeros((0,), np.int64),
            masks=np.zeros((0, height, width), np.uint8) if masks else None,
            keypoints=np.zeros((0, keypoint_count, 3), np.float32) if keypoint_count else None)

    def select(self, keep: np.ndarray) -> "ImageObjects":
        """The objects ``keep`` (a boolean or index array) picks, crowd regions unchanged.

        >>> two = ImageObjects(np.array([[0, 0, 2, 2], [1, 1, 3, 3]], np.float32),
        ...                    np.array([0, 1], np.int32), np.array([7, 8], np.int64))
        >>> two.select(np.array([False, True])).ids.tolist()
        [8]
        """
        return replace(self, boxes=self.boxes[keep], classes=self.classes[keep], ids=self.ids[keep],
                       masks=None if self.masks is None else self.masks[keep],
                       keypoints=None if self.keypoints is None else self.keypoints[keep])


@dataclass(frozen=True)
class Category:
    """One class of objects, with its keypoint names and skeleton when the data set has them."""

    id: int                       # the data set's own id (COCO ids are not contiguous)
    name: str
    keypoints: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()   # 0-based keypoint index pairs


@dataclass(frozen=True)
class ObjectData:
    """A detection/instance/pose data set: images and their objects, not yet resized.

    Images are loaded one at a time by ``load_image`` (never all at once), objects by
    ``objects``; both take an index into ``image_names``.
    """

    description: str              # e.g. "coco:data/instances.json" (named in messages)
    image_names: tuple[str, ...]  # file names as the source writes them (named in messages)
    image_ids: tuple[int, ...]
    categories: tuple[Category, ...]
    load_image: Callable[[int], np.ndarray]     # index -> (H, W, C) float32 in [0, 1]
    objects: Callable[[int], ImageObjects]      # index -> objects in that image's pixels
    sizes: tuple[tuple[int, int], ...]          # (H, W) of each image
    has_masks: bool = False       # every image's objects carry masks
    keypoint_count: int = 0       # K of every object's keypoints; 0: no keypoints
    keypoint_flip: tuple[int, ...] = ()   # keypoint k's mirror under a horizontal flip; (): by their names
    channels: int = 3

    def __len__(self) -> int:
        return len(self.image_names)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    @property
    def keypoint_names(self) -> tuple[str, ...]:
        """The keypoint names of the first category that has any (COCO: 'person')."""
        return next((c.keypoints for c in self.categories if c.keypoints), ())

    @property
    def skeleton(self) -> tuple[tuple[int, int], ...]:
        return next((c.skeleton for c in self.categories if c.skeleton), ())
