"""``builtin:shapes`` as object data: several circles, squares and triangles per image, each
with its box, its instance mask and three keypoints (top, bottom-left, bottom-right corner).

Shapes are placed without overlapping (so every mask is the whole shape and every keypoint
visible) on a noisy black background. Each image is drawn from its own seed (seed, index) when
it is read, so any number of samples costs no memory and every image is the same on every run.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from archspec.train.annotations.masks import masks_to_boxes
from archspec.train.annotations.records import Category, ImageObjects, ObjectData
from archspec.train.synthetic_shapes import CLASS_NAMES, KEYPOINT_NAMES, shape_keypoints, shape_mask

DEFAULT_SIZE = 64  # detection and instance segmentation draw larger images than the other tasks: boxes need pixels
SKELETON = ((0, 1), (1, 2), (2, 0))
_OBJECTS_SEED = 0x0B1E


def draw_objects(index: int, size: int, channels: int, seed: int, max_objects: int) -> tuple[np.ndarray, ImageObjects]:
    """Image ``index`` (float32 (size, size, channels) in [0, 1]) and its objects.

    >>> image, objects = draw_objects(3, size=48, channels=3, seed=0, max_objects=4)
    >>> image.shape, objects.masks.shape[1:], objects.keypoints.shape[1:], 1 <= len(objects) <= 4
    ((48, 48, 3), (48, 48), (3, 3), True)
    >>> bool(np.array_equal(draw_objects(3, 48, 3, 0, 4)[0], image))
    True
    """
    rng = np.random.default_rng([seed, index, _OBJECTS_SEED])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    image = np.zeros((size, size, channels), np.float32)
    placed: list[tuple[int, float, float, float]] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(30):  # rejection sampling: a crowded image simply holds fewer shapes
            r = float(rng.uniform(0.09, 0.2) * size)
            cy, cx = rng.uniform(r + 1, size - r - 1, size=2)
            if all(np.hypot(cy - py, cx - px) > r + pr + 1 for _, py, px, pr in placed):
                placed.append((int(rng.integers(0, 3)), float(cy), float(cx), r))
                break
    masks = np.zeros((len(placed), size, size), np.uint8)
    keypoints = np.zeros((len(placed), len(KEYPOINT_NAMES), 3), np.float32)
    for k, (kind, cy, cx, r) in enumerate(placed):
        masks[k] = shape_mask(kind, yy, xx, cy, cx, r)
        image[masks[k] > 0] = rng.uniform(0.45, 1.0, size=channels).astype(np.float32)
        keypoints[k, :, :2], keypoints[k, :, 2] = shape_keypoints(kind, cy, cx, r), 2.0
    image += rng.normal(0.0, 0.04, size=image.shape).astype(np.float32)
    np.clip(image, 0.0, 1.0, out=image)
    objects = ImageObjects(boxes=masks_to_boxes(masks), classes=np.array([p[0] for p in placed], np.int32),
                           ids=np.arange(1, len(placed) + 1, dtype=np.int64) + 100 * index, masks=masks,
                           keypoints=keypoints)
    return image, objects


def load_shapes_objects(source: Mapping[str, Any], task: str) -> ObjectData:
    """The generated data set; ``objects`` (default 4) is the most shapes in one image."""
    samples = int(source.get("samples", 2000))
    size = int(source.get("size", 32 if task == "keypoints" else DEFAULT_SIZE))  # keypoints: as its heatmaps
    channels, seed, max_objects = int(source.get("channels", 1)), int(source.get("seed", 0)), \
        int(source.get("objects", 4))

    @lru_cache(maxsize=256)  # load_image and objects of one image draw it once
    def drawn(index: int) -> tuple[np.ndarray, ImageObjects]:
        return draw_objects(index, size, channels, seed, max_objects)

    masks, keypoints = task == "instance_segmentation", task == "keypoints"

    def objects(index: int) -> ImageObjects:
        found = drawn(index)[1]
        return ImageObjects(found.boxes, found.classes, found.ids, found.masks if masks else None,
                            found.keypoints if keypoints else None)

    categories = tuple(Category(k + 1, name, KEYPOINT_NAMES, SKELETON) for k, name in enumerate(CLASS_NAMES))
    return ObjectData(
        description="builtin:shapes", image_names=tuple(f"shapes-{i}" for i in range(samples)),
        image_ids=tuple(range(1, samples + 1)), categories=categories,
        load_image=lambda index: drawn(index)[0], objects=objects, sizes=((size, size),) * samples,
        has_masks=masks, keypoint_count=len(KEYPOINT_NAMES) if keypoints else 0, channels=channels)
