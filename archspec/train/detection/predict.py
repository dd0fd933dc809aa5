"""What ``archspec predict`` and ``archspec evaluate`` do for a detection run.

predict letterboxes each image to the model's input as training did, detects, maps the boxes
back to the image's own pixels and writes ``STEM.detections.png`` (the image with each box, its
class name and score; small images enlarged by a whole factor so the labels stay legible) and
one ``detections.json`` of COCO-style results (``image``, ``category_id``, ``bbox`` as x, y,
width, height in image pixels, ``score``, and the class name). evaluate prints box mAP overall
and per class on the run's validation data, or on a whole given source.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from archspec.errors import UserError
from archspec.heads.head import Head
from archspec.train.rundir import RunDir

PREDICT_THRESHOLD = 0.25   # the score a box needs to be drawn and listed (YOLOv5's detect.py default)
_MIN_SIDE = 320            # pictures are enlarged to at least this many pixels on their shorter side


def run_head(run: RunDir) -> Head:
    """The head of a run's spec.yaml."""
    from archspec.api import compile_spec

    head = compile_spec(run / "spec.yaml").head
    if head is None:
        raise UserError(f"{run.path}/spec.yaml has no head: section", "is this a detection run?")
    return head


def class_colour(k: int) -> tuple[int, int, int]:
    """A distinct colour per class: hues a golden angle apart.

    >>> class_colour(0), class_colour(1) != class_colour(0)
    ((229, 22, 22), True)
    """
    r, g, b = colorsys.hsv_to_rgb((k * 0.618034) % 1.0, 0.9, 0.9)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_detections(image: np.ndarray, boxes: np.ndarray, labels: Sequence[str], classes: np.ndarray) -> Any:
    """A PIL image of ``image`` (H, W, C) in [0, 1] with each box and its label."""
    from PIL import Image, ImageDraw

    pixels = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).convert("RGB")
    factor = max(1, int(np.ceil(_MIN_SIDE / min(picture.size))))
    picture = picture.resize((picture.width * factor, picture.height * factor), Image.NEAREST)
    draw = ImageDraw.Draw(picture)
    for box, label, k in zip(boxes, labels, classes):
        x1, y1, x2, y2 = (float(v) * factor for v in box)
        colour = class_colour(int(k))
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=2)
        left, top, right, bottom = draw.textbbox((x1, y1), label)
        lift = bottom - top + 4
        y = y1 - lift if y1 - lift >= 0 else y1
        draw.rectangle([x1, y, x1 + right - left + 4, y + lift], fill=colour)
        draw.text((x1 + 2, y + 1), label, fill=(255, 255, 255))
    return picture


@dataclass(frozen=True)
class ImageDetections:
    """What ``predict`` finds in one image, in the image's own pixels, best first, and its picture."""

    boxes: np.ndarray                   # (K, 4) x1, y1, x2, y2 in the image's pixels
    scores: np.ndarray                  # (K,)
    classes: np.ndarray                 # (K,) 0..C-1
    names: list[str]                    # each box's class name
    picture: np.ndarray                 # (H*f, W*f, 3) uint8: the image enlarged by a whole f, boxes drawn
    factor: int                         # f: a box's coordinates times f are on the picture
    masks: Optional[np.ndarray] = None  # instance segmentation: (K, H, W) booleans in the image's pixels


def class_names_of(classes: np.ndarray, class_names: Sequence[str]) -> list[str]:
    """
    >>> class_names_of(np.array([1, 3]), ["circle", "square"])
    ['square', '3']
    """
    return [class_names[int(k)] if int(k) < len(class_names) else str(int(k)) for k in classes]


def detect_image(model: Any, head: Head, settings: dict[str, Any], image: np.ndarray, class_names: Sequence[str],
                 threshold: float = PREDICT_THRESHOLD) -> ImageDetections:
    """Detect in one (H, W, C) image in [0, 1] as ``predict`` does: letterboxed into the model's
    input as training placed its images, the boxes mapped back to the image's pixels and drawn."""
    from archspec.train.inference import letterboxed
    from archspec.train.detection.decode import detect

    pixels, box = letterboxed(image, model.inputs[0].shape[1:])  # as training placed its images
    found = detect(model, pixels[None], head, settings, score_threshold=threshold)[0]
    boxes = np.clip(box.to_image(found.boxes), 0, [image.shape[1], image.shape[0]] * 2)
    names = class_names_of(found.classes, class_names)
    labels = [f"{n} {s:.2f}" for n, s in zip(names, found.scores)]
    picture = np.asarray(draw_detections(image, boxes, labels, found.classes))
    return ImageDetections(boxes, found.scores, found.classes, names, picture, picture.shape[0] // image.shape[0])


def predict_files(model: Any, head: Head, settings: dict[str, Any], paths: Sequence[str], class_names: Sequence[str],
                  category_ids: Sequence[int], out_dir: Path, threshold: float = PREDICT_THRESHOLD
                  ) -> list[dict[str, Any]]:
    """Detect in each image file; write its picture; return every detection as a COCO-style result."""
    from PIL import Image

    from archspec.train.inference import read_image_file
    from archspec.train.rundir import atomic_write

    rows: list[dict[str, Any]] = []
    for path in paths:
        found = detect_image(model, head, settings, read_image_file(path), class_names, threshold)
        picture = out_dir / f"{Path(path).stem}.detections.png"
        atomic_write(picture, lambda tmp: Image.fromarray(found.picture).save(tmp, format="PNG"))
        for b, s, k, n in zip(found.boxes, found.scores, found.classes, found.names):
            x1, y1, x2, y2 = (round(float(v), 2) for v in b)
            rows.append({"image": str(path), "category_id": int(category_ids[int(k)]) if category_ids else int(k),
                         "class": n, "bbox": [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
                         "score": round(float(s), 4), "picture": str(picture)})
    return rows


def evaluate_detection(run: RunDir, cfg: Any, model: Any, data: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
    """(the evaluated part, ``{"map", "map50", "per_class"}``) on the run's validation data or ``data``."""
    from archspec.train.detection.data import ObjectPipeline, split_object_data
    from archspec.train.detection.session import box_map

    head = run_head(run)
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    if data is not None:
        from dataclasses import replace
        cfg = cfg.replace(data=replace(cfg.data, source=data, validation=None, validation_split=0.0))
    train, validation = split_object_data(cfg, input_shape, len(head.levels), cfg.task)  # type: ignore[arg-type]
    part: ObjectPipeline | None = train if data is not None else validation
    if part is None:
        raise UserError("the run has no validation data to evaluate on", "pass --data SOURCE")
    return part, box_map(model, head, cfg, part).scores()


def evaluation_lines(part: Any, scores: dict[str, Any]) -> list[str]:
    """
    >>> class Part: data, size = type("D", (), {"description": "builtin:shapes"})(), 300
    >>> print("\\n".join(evaluation_lines(Part(), {"map": 0.5, "map50": 0.75, "per_class": {"circle": 0.6}})))
    data: builtin:shapes, 300 images
    box mAP@[.5:.95] 0.5000, mAP@.5 0.7500 (pycocotools COCOeval, bbox, model-input pixels)
      circle: AP@[.5:.95] 0.6000
    """
    lines = [f"data: {part.data.description}, {part.size} images",
             f"box mAP@[.5:.95] {scores['map']:.4f}, mAP@.5 {scores['map50']:.4f} "
             "(pycocotools COCOeval, bbox, model-input pixels)"]
    lines += [f"  {name}: AP@[.5:.95] {ap:.4f}" for name, ap in scores["per_class"].items()]
    if "mask" in scores:  # instance segmentation: the same detections' masks
        from archspec.train.instances.evaluation import mask_lines
        lines += mask_lines(scores["mask"])
    return lines


def write_predictions(run: RunDir, cfg: Any, model: Any, images: Sequence[str], out_dir: str | None,
                      force: bool) -> tuple[Path, list[dict[str, Any]]]:
    """Pictures and ``detections.json`` in ``out_dir`` (default RUN/predictions); its path and rows."""
    from archspec.io import check_output

    target = Path(out_dir) if out_dir else run.path / "predictions"
    target.mkdir(parents=True, exist_ok=True)
    listing = target / "detections.json"
    for path in [listing, *(target / f"{Path(i).stem}.detections.png" for i in images)]:
        check_output(path, images, force, option="--pictures-dir")
    summary = run.read_json("data.json") if (run / "data.json").is_file() else {}
    find = predict_files
    if cfg.task == "instance_segmentation":  # each instance's mask drawn in its own colour, and as RLE
        from archspec.train.instances.predict import predict_instance_files as find
    rows = find(model, run_head(run), cfg.detection, images, summary.get("class_names") or [],
                summary.get("category_ids") or [], target, PREDICT_THRESHOLD)
    run_json = {"images": list(images), "score_threshold": PREDICT_THRESHOLD, "detections": rows}
    import json
    listing.write_text(json.dumps(run_json, indent=1) + "\n", encoding="utf-8")
    return listing, rows
