"""Letterbox: an image of any size to the model's input, aspect ratio kept.

The image is scaled by ``scale = min(input_h / h, input_w / w)`` (antialiased bilinear), and the
rest of the input is padded with grey 0.5 equally on both sides (``pad_x``, ``pad_y`` whole
pixels). A point moves as ``x' = scale * x + pad_x``, ``y' = scale * y + pad_y``, exactly, for
boxes, keypoints and masks alike; :meth:`Letterbox.to_image` is the inverse for predictions.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from archspec.train.annotations.records import ImageObjects

PAD_VALUE = 0.5


@dataclass(frozen=True)
class Letterbox:
    """How one image was placed in the model's input."""

    scale: float
    pad_x: float
    pad_y: float

    @staticmethod
    def fit(size: tuple[int, int], input_size: tuple[int, int]) -> "Letterbox":
        """The letterbox of an (h, w) image in an (input_h, input_w) input.

        >>> Letterbox.fit((480, 640), (320, 320))
        Letterbox(scale=0.5, pad_x=0.0, pad_y=40.0)
        """
        (height, width), (in_h, in_w) = size, input_size
        scale = min(in_h / height, in_w / width)
        new_h, new_w = _scaled((height, width), scale)
        return Letterbox(scale, float((in_w - new_w) // 2), float((in_h - new_h) // 2))

    def to_input(self, boxes: np.ndarray) -> np.ndarray:
        """(..., 4) x1, y1, x2, y2 boxes from image pixels to model-input pixels."""
        offset = np.array([self.pad_x, self.pad_y] * 2, np.float32)
        return (np.asarray(boxes, np.float32) * np.float32(self.scale) + offset).astype(np.float32)

    def to_image(self, boxes: np.ndarray) -> np.ndarray:
        """(..., 4) boxes from model-input pixels back to the original image's pixels.

        >>> box = Letterbox(0.5, 0.0, 40.0)
        >>> box.to_image(box.to_input(np.array([[10, 20, 630, 470]]))).tolist()
        [[10.0, 20.0, 630.0, 470.0]]
        """
        offset = np.array([self.pad_x, self.pad_y] * 2, np.float32)
        return ((np.asarray(boxes, np.float32) - offset) / np.float32(self.scale)).astype(np.float32)

    def points_to_image(self, points: np.ndarray) -> np.ndarray:
        """(..., 2+) x, y (and anything after, such as a visibility or score) back to image pixels."""
        points = np.array(points, np.float32)
        points[..., 0] = (points[..., 0] - self.pad_x) / self.scale
        points[..., 1] = (points[..., 1] - self.pad_y) / self.scale
        return points


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, int(round(size[0] * scale))), max(1, int(round(size[1] * scale)))


def _resize_plane(plane: np.ndarray, box: Letterbox, input_size: tuple[int, int], fill: float) -> np.ndarray:
    """One (h, w) float plane letterboxed: the region that lands on the scaled image, resized."""
    from PIL import Image

    new_h, new_w = _scaled(plane.shape, box.scale)
    # The source box is new/scale pixels wide, so the mapping is exactly x * scale (not new/w); it may
    # end up to half an output pixel past the image, so the last row and column are repeated there.
    source_h, source_w = new_h / box.scale, new_w / box.scale
    extra_h, extra_w = max(0, int(np.ceil(source_h)) - plane.shape[0]), max(0, int(np.ceil(source_w)) - plane.shape[1])
    plane = np.pad(plane, ((0, extra_h), (0, extra_w)), mode="edge")
    scaled = Image.fromarray(np.ascontiguousarray(plane, np.float32)).resize(
        (new_w, new_h), Image.BILINEAR, box=(0.0, 0.0, source_w, source_h))
    out = np.full(input_size, fill, np.float32)
    top, left = int(box.pad_y), int(box.pad_x)
    out[top:top + new_h, left:left + new_w] = np.asarray(scaled)
    return out


def letterbox_image(image: np.ndarray, input_size: tuple[int, int], box: Letterbox | None = None) -> np.ndarray:
    """(H, W, C) float32 image to (input_h, input_w, C), grey-padded."""
    box = box or Letterbox.fit(image.shape[:2], input_size)
    if image.shape[:2] == tuple(input_size) and box.scale == 1.0:
        return image.astype(np.float32)
    return np.stack([_resize_plane(image[..., c], box, input_size, PAD_VALUE) for c in range(image.shape[-1])],
                    axis=-1)


def letterbox_masks(masks: np.ndarray | None, box: Letterbox, input_size: tuple[int, int]) -> np.ndarray | None:
    """(N, h, w) 0/1 masks to the input: resized as coverage, kept where at least half covered."""
    if masks is None:
        return None
    if not len(masks):
        return np.zeros((0, *input_size), np.uint8)
    if masks.shape[1:] == tuple(input_size) and box.scale == 1.0:
        return masks
    return np.stack([_resize_plane(m.astype(np.float32), box, input_size, 0.0) >= 0.5 for m in masks]
                    ).astype(np.uint8).reshape(-1, *input_size)


def letterbox_objects(objects: ImageObjects, box: Letterbox, input_size: tuple[int, int]) -> ImageObjects:
    """An image's objects in model-input pixels (keypoints with visibility 0 stay at 0, 0)."""
    keypoints = objects.keypoints
    if keypoints is not None:
        keypoints = keypoints.copy()
        seen = keypoints[..., 2] > 0
        keypoints[..., 0] = np.where(seen, keypoints[..., 0] * box.scale + box.pad_x, 0.0)
        keypoints[..., 1] = np.where(seen, keypoints[..., 1] * box.scale + box.pad_y, 0.0)
    crowd_boxes = None if objects.crowd_boxes is None else box.to_input(objects.crowd_boxes).reshape(-1, 4)
    return replace(objects, boxes=box.to_input(objects.boxes).reshape(-1, 4),
                   masks=letterbox_masks(objects.masks, box, input_size), keypoints=keypoints, crowd_boxes=crowd_boxes,
                   crowd_masks=letterbox_masks(objects.crowd_masks, box, input_size))


def letterbox(image: np.ndarray, objects: ImageObjects, size: tuple[int, int]
              ) -> tuple[np.ndarray, ImageObjects, Letterbox]:
    """The image and its objects in an input of ``size`` (height, width), and how they were placed.

    >>> image = np.ones((20, 40, 3), np.float32)
    >>> objects = ImageObjects(np.array([[0, 0, 40, 20]], np.float32), np.zeros(1, np.int32), np.ones(1, np.int64))
    >>> out, moved, box = letterbox(image, objects, (32, 32))
    >>> out.shape, moved.boxes.tolist(), box, float(out[0, 0, 0]), float(out[16, 16, 0])
    ((32, 32, 3), [[0.0, 8.0, 32.0, 24.0]], Letterbox(scale=0.8, pad_x=0.0, pad_y=8.0), 0.5, 1.0)
    """
    size = (int(size[0]), int(size[1]))
    box = Letterbox.fit(image.shape[:2], size)
    return letterbox_image(image, size, box), letterbox_objects(objects, box, size), box
