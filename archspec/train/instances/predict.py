"""Detections with masks: the model's levels decoded and suppressed as detection does
(``archspec.train.detection.decode``), then each kept box's coefficients combined with its
image's prototypes, upsampled to the input and cropped to the box.

Masks come out in model-input pixels (what the COCO ground truth of validation uses);
:func:`masks_to_image` takes them back through the letterbox to the original image's pixels
for `archspec predict` (:func:`predict_instance_files`).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from archspec.train.instances.evaluation import Detections
from archspec.train.instances.masks import instance_masks


def split_outputs(output_names: Sequence[str], outputs: Any, head: Any) -> tuple[list[Any], Any]:
    """The level outputs (in ``head.levels`` order) and the prototypes, picked by output name.

    >>> head = type("Head", (), {"levels": [type("L", (), {"name": n}) for n in ("p3", "p4")],
    ...                          "prototypes": "protos"})
    >>> split_outputs(["protos", "p4", "p3"], ["P", "B", "A"], head)
    (['A', 'B'], 'P')
    """
    by_name = dict(zip(output_names, outputs))
    return [by_name[level.name] for level in head.levels], by_name[head.prototypes]


def detect_instances(model: Any, images: np.ndarray, head: Any, settings: dict[str, Any], batch_size: int = 32,
                     score_threshold: float | None = None) -> list[Detections]:
    """Run ``model`` on ``images`` (N, H, W, C) and return each image's detections with their masks."""
    import tensorflow as tf

    from archspec.train.detection.decode import decode, select

    threshold = float(settings.get("score_threshold", 0.001) if score_threshold is None else score_threshold)
    iou, most = float(settings.get("iou_threshold", 0.6)), int(settings.get("max_detections", 100))
    size = (int(images.shape[1]), int(images.shape[2]))
    found: list[Detections] = []
    for start in range(0, len(images), batch_size):
        outputs = model.predict_on_batch(images[start:start + batch_size])  # Keras's compiled predict step
        levels, prototypes = split_outputs(model.output_names, outputs, head)
        decoded = decode(levels, head)
        for i in range(int(decoded.boxes.shape[0])):
            kept = select(decoded.boxes[i], decoded.scores[i], threshold, iou, most)
            coefficients = tf.gather(decoded.extras[i], kept.indices)
            masks = _masks(coefficients, tf.constant(prototypes[i], tf.float32), kept.boxes, size).numpy()
            found.append(Detections(kept.boxes, kept.scores, kept.classes, masks))
    return found


@functools.lru_cache(maxsize=None)
def _compiled_masks() -> Any:
    import tensorflow as tf

    return tf.function(instance_masks, reduce_retracing=True)


def _masks(coefficients: Any, prototypes: Any, boxes: np.ndarray, size: tuple[int, int]) -> Any:
    """:func:`instance_masks` as one compiled graph (eager ops cost more than the arithmetic here)."""
    return _compiled_masks()(coefficients, prototypes, boxes, size)


def masks_to_image(masks: np.ndarray, letterbox: Any, size: tuple[int, int]) -> np.ndarray:
    """(K, H, W) masks in model-input pixels to (K, h, w) in the original image's: each image pixel
    takes the input pixel its centre falls in (``letterbox``: scale, pad_x, pad_y, as
    ``archspec.train.annotations.Letterbox`` places the image).

    >>> box = type("Letterbox", (), {"scale": 0.5, "pad_x": 0.0, "pad_y": 1.0})
    >>> masks_to_image(np.array([[[0, 0], [1, 0], [0, 1], [0, 0]]], bool), box, (4, 4)).astype(int)[0]
    array([[1, 1, 0, 0],
           [1, 1, 0, 0],
           [0, 0, 1, 1],
           [0, 0, 1, 1]])
    """
    height, width = masks.shape[1:]
    rows = np.clip(np.floor((np.arange(size[0]) + 0.5) * letterbox.scale + letterbox.pad_y), 0, height - 1)
    cols = np.clip(np.floor((np.arange(size[1]) + 0.5) * letterbox.scale + letterbox.pad_x), 0, width - 1)
    return masks[:, rows.astype(int)][:, :, cols.astype(int)]


def detect_instance_image(model: Any, head: Any, settings: dict[str, Any], image: np.ndarray,
                          class_names: Sequence[str], threshold: float) -> Any:
    """Detect and segment one (H, W, C) image in [0, 1] as ``predict`` does (letterboxed as training
    placed its images): an ``ImageDetections`` in the image's pixels, with each instance's mask and
    the picture (each instance tinted in its own colour, with its box and label)."""
    from archspec.train.detection.predict import ImageDetections, class_names_of
    from archspec.train.inference import letterboxed
    from archspec.train.instances.overlay import overlay_instances

    pixels, box = letterboxed(image, model.inputs[0].shape[1:])  # as training placed its images
    found = detect_instances(model, pixels[None], head, settings, score_threshold=threshold)[0]
    boxes = np.clip(box.to_image(found.boxes), 0, [image.shape[1], image.shape[0]] * 2)
    masks = masks_to_image(found.masks, box, image.shape[:2])
    names = class_names_of(found.classes, class_names)
    picture = overlay_instances(image, masks, boxes, [f"{n} {s:.2f}" for n, s in zip(names, found.scores)])
    return ImageDetections(boxes, found.scores, found.classes, names, picture, picture.shape[0] // image.shape[0],
                           masks)


def predict_instance_files(model: Any, head: Any, settings: dict[str, Any], paths: Sequence[str],
                           class_names: Sequence[str], category_ids: Sequence[int], out_dir: Path,
                           threshold: float) -> list[dict[str, Any]]:
    """Detect and segment each image file; write ``STEM.detections.png`` (each instance tinted in
    its own colour, with its box and label, over the image at its own size); return COCO-style
    results in the image's pixels, each with its mask as a compressed RLE (``segmentation``)."""
    from archspec.train.inference import read_image_file
    from archspec.train.instances.overlay import write_picture
    from archspec.train.instances.rle import encode

    rows: list[dict[str, Any]] = []
    for path in paths:
        found = detect_instance_image(model, head, settings, read_image_file(path), class_names, threshold)
        picture = write_picture(Path(out_dir) / f"{Path(path).stem}.detections.png", found.picture)
        for b, s, k, n, m in zip(found.boxes, found.scores, found.classes, found.names, found.masks):
            x1, y1, x2, y2 = (round(float(v), 2) for v in b)
            rows.append({"image": str(path), "category_id": int(category_ids[int(k)]) if category_ids else int(k),
                         "class": n, "bbox": [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
                         "score": round(float(s), 4), "area": int(m.sum()), "segmentation": encode(m),
                         "picture": str(picture)})
    return rows
