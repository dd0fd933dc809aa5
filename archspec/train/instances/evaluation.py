"""Box and mask mAP of a model on validation data, from one pass of predictions.

``InstanceMap`` runs ``detect`` over the validation batches, turns every image's detections
into COCO results and scores them with pycocotools (bbox, and segm when there are masks).
``map_callback`` wraps it as the Keras callback that puts ``val_map``, ``val_map50``,
``val_mask_map`` and ``val_mask_map50`` into each epoch's logs, so the history, metrics.json
and the curves carry them like any Keras metric (put it before the Recorder).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from archspec.train.instances.metrics import coco_average_precision, instance_results


@dataclass(frozen=True)
class Detections:
    """What a model found in one image, in model-input pixels, after NMS."""

    boxes: np.ndarray                   # (K, 4) float32: x1, y1, x2, y2
    scores: np.ndarray                  # (K,) float32
    classes: np.ndarray                 # (K,) int32: 0..C-1
    masks: Optional[np.ndarray] = None  # (K, H, W) bool, instance segmentation only

    def __len__(self) -> int:
        return int(self.scores.shape[0])


Detector = Callable[[np.ndarray], Sequence[Detections]]   # a batch of images -> one Detections each


@dataclass
class InstanceMap:
    """COCO AP of a detector on batches of ``(images, targets)`` with ``targets["image_index"]``.

    ``image_ids[i]`` is the COCO image id of data index i in ``ground_truth``; ``category_ids[c]``
    the category id of class c.
    """

    detect: Detector
    batches: Callable[[], Iterable[tuple[Any, Mapping[str, Any]]]]
    ground_truth: Mapping[str, Any]
    image_ids: Sequence[int]
    category_ids: Sequence[int]

    def results(self) -> tuple[list[dict[str, Any]], bool]:
        """Every validation image's COCO results, and whether they carry masks."""
        rows: list[dict[str, Any]] = []
        with_masks = False
        for images, targets in self.batches():
            indices = np.asarray(targets["image_index"]).reshape(-1)
            for index, found in zip(indices, self.detect(np.asarray(images))):
                with_masks = with_masks or found.masks is not None
                rows += instance_results(self.image_ids[int(index)], found.boxes, found.scores, found.classes,
                                         found.masks, self.category_ids)
        return rows, with_masks

    def scores(self) -> dict[str, Any]:
        """``{"map", "map50", "per_class"}`` of the boxes, and ``"mask": {...}`` the same of the masks."""
        rows, with_masks = self.results()
        boxes = [{k: v for k, v in row.items() if k != "segmentation"} for row in rows]
        out = coco_average_precision(self.ground_truth, boxes, "bbox")
        if with_masks:
            out["mask"] = coco_average_precision(self.ground_truth, rows, "segm")
        return out


def epoch_logs(scores: Mapping[str, Any]) -> dict[str, float]:
    """The per-epoch log entries of :meth:`InstanceMap.scores`.

    >>> epoch_logs({"map": 0.5, "map50": 0.8, "per_class": {}, "mask": {"map": 0.4, "map50": 0.7}})
    {'val_map': 0.5, 'val_map50': 0.8, 'val_mask_map': 0.4, 'val_mask_map50': 0.7}
    """
    logs = {"val_map": float(scores["map"]), "val_map50": float(scores["map50"])}
    if "mask" in scores:
        logs.update(val_mask_map=float(scores["mask"]["map"]), val_mask_map50=float(scores["mask"]["map50"]))
    return logs


def mask_lines(scores: Mapping[str, Any]) -> list[str]:
    """What `archspec evaluate` prints of the masks' AP.

    >>> print("\\n".join(mask_lines({"map": 0.4, "map50": 0.7, "per_class": {"circle": 0.5}})))
    mask mAP@[.5:.95] 0.4000, mAP@.5 0.7000 (pycocotools COCOeval, segm, model-input pixels)
      circle: mask AP@[.5:.95] 0.5000
    """
    return [f"mask mAP@[.5:.95] {scores['map']:.4f}, mAP@.5 {scores['map50']:.4f} "
            "(pycocotools COCOeval, segm, model-input pixels)",
            *(f"  {name}: mask AP@[.5:.95] {ap:.4f}" for name, ap in scores["per_class"].items())]


def map_callback(evaluation: InstanceMap) -> Any:
    """A Keras callback adding :func:`epoch_logs` to each epoch's logs."""
    import keras

    class MeanAveragePrecision(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if logs is not None:
                logs.update(epoch_logs(evaluation.scores()))

    return MeanAveragePrecision()
