"""Mask mAP by pycocotools' COCOeval (iouType segm), the field's reference implementation.

Detections become COCO results (one dict per instance: image id, category id, score, box,
RLE mask); the ground truth is the COCO dict of ``archspec.train.annotations.coco_ground_truth``
(in model-input pixels, as the predictions are). AP is over IoU 0.50:0.95 and at 0.50, all
areas, 100 detections per image, as COCO reports it; a class without ground truth is left out
of the mean (COCOeval marks it -1).
"""
from __future__ import annotations

import contextlib
import io
from typing import Any, Mapping, Sequence

import numpy as np



def instance_results(image_id: int, boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray,
                     masks: np.ndarray | None, category_ids: Sequence[int]) -> list[dict[str, Any]]:
    """COCO result dicts of one image's K detections (boxes x1, y1, x2, y2; classes 0..C-1).

    ``masks`` (K, H, W) booleans add a compressed-RLE ``segmentation`` to each result
    (pycocotools' C encoder here: validation encodes up to 100 masks per image every epoch).

    >>> rows = instance_results(7, np.array([[1, 2, 4, 6]]), np.array([0.9]), np.array([1]),
    ...                         np.ones((1, 2, 2), bool), [5, 9])
    >>> rows[0]["category_id"], rows[0]["bbox"], rows[0]["segmentation"]["counts"]
    (9, [1.0, 2.0, 3.0, 4.0], '04')
    """
    rows = []
    encoded = _encode_all(masks) if masks is not None else None
    for k in range(len(scores)):
        x1, y1, x2, y2 = (float(v) for v in boxes[k])
        row: dict[str, Any] = {"image_id": int(image_id), "category_id": int(category_ids[int(classes[k])]),
                               "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(scores[k])}
        if encoded is not None:
            row["segmentation"] = encoded[k]
        rows.append(row)
    return rows


def _encode_all(masks: np.ndarray) -> list[dict[str, Any]]:
    """(K, H, W) masks as JSON-ready compressed RLEs (counts as text)."""
    from pycocotools import mask as mask_api

    if len(masks) == 0:
        return []
    encoded = mask_api.encode(np.asfortranarray(np.transpose(np.asarray(masks, np.uint8), (1, 2, 0))))
    return [{"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")} for rle in encoded]


def coco_average_precision(ground_truth: Mapping[str, Any], results: Sequence[Mapping[str, Any]],
                           iou_type: str = "segm") -> dict[str, Any]:
    """``{"map", "map50", "per_class": {name: AP}}`` of ``results`` by COCOeval (``bbox`` or ``segm``).

    Without any result every AP is 0 (COCOeval cannot load an empty result list).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    names = {int(c["id"]): str(c["name"]) for c in ground_truth["categories"]}
    if not results or not ground_truth.get("annotations"):
        return {"map": 0.0, "map50": 0.0, "per_class": {name: 0.0 for name in names.values()}}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        truth = COCO()
        truth.dataset = {"info": {}, **ground_truth}
        truth.createIndex()
        found = truth.loadRes([dict(r) for r in results])
        evaluation = COCOeval(truth, found, iou_type)
        evaluation.params.imgIds = sorted(int(i["id"]) for i in ground_truth["images"])
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {"map": _clean(evaluation.stats[0]), "map50": _clean(evaluation.stats[1]),
            "per_class": _per_class(evaluation, names)}


def _per_class(evaluation: Any, names: Mapping[int, str]) -> dict[str, float]:
    """AP@[.5:.95] of each category (all areas, 100 detections), from COCOeval's precision array."""
    precision = evaluation.eval["precision"]  # (iou thresholds, recalls, categories, areas, max dets)
    out = {}
    for k, category in enumerate(evaluation.params.catIds):
        values = precision[:, :, k, 0, -1]
        values = values[values > -1]
        out[names[int(category)]] = float(values.mean()) if values.size else 0.0
    return out


def _clean(value: float) -> float:
    """COCOeval writes -1 where nothing could be measured; we report 0."""
    return max(0.0, float(value))
