"""The explorer: a trained run's model on a drawn or dropped image, its prediction and the
feature maps of its convolutional layers as tile-grid PNGs, and its first layer's filters.

The image is prepared as ``archspec predict`` prepares an image file for the run (letterboxed,
aspect kept, where training letterboxed: object data; else stretched to the input), and the
feature maps are computed from that same input. A detection, instance-segmentation or keypoints
prediction comes with the picture ``predict`` draws (the same functions draw it), of the image
at its own size, and its boxes or keypoints in the image's pixels.

The only module of the studio that imports Keras (through ``archspec.train``), and only when
a run directory is served. The model is loaded once; one probe model returns every chosen
layer's output in one call; calls are serialised (a Keras model is not called from two
threads at once).
"""
from __future__ import annotations

import base64
import binascii
import io
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from archspec.errors import ArchspecError, UserError
from archspec.train.activations import MapLayer, default_layers, first_conv_kernel, map_layers

MAX_MAP_LAYERS = 16        # more convolutions than this: one layer per resolution instead
MAX_CHANNELS = 64          # tiles drawn per layer
MAX_IMAGE_SIDE = 4096      # a larger image is refused before it is decoded
FILTER_TILE_PX = 24        # a kernel is enlarged to about this many pixels a side
TOP_K = 5
OBJECT_TASKS = ("detection", "instance_segmentation")
PNG_DATA_URL = "data:image/png;base64,"


def png_data_url(pixels: np.ndarray) -> str:
    """An (H, W) or (H, W, 3) uint8 array as a PNG data URL."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return PNG_DATA_URL + base64.b64encode(buffer.getvalue()).decode("ascii")


def tile_grid(tiles: np.ndarray, columns: int) -> np.ndarray:
    """(N, h, w[, 3]) tiles laid out ``columns`` to a row, each followed by a one-pixel line on
    its right and below, so that tile i spans [col*(w+1), col*(w+1)+w) for col = i % columns.

    >>> tile_grid(np.ones((3, 2, 2), np.uint8), 2).shape
    (6, 6)
    """
    count, h, w = tiles.shape[:3]
    rows = -(-count // columns)
    grid = np.zeros((rows * (h + 1), columns * (w + 1), *tiles.shape[3:]), np.uint8)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        grid[row * (h + 1): row * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = tile
    return grid


def grid_columns(count: int) -> int:
    """
    >>> grid_columns(6), grid_columns(16), grid_columns(1)
    (3, 4, 1)
    """
    return max(1, int(np.ceil(np.sqrt(count))))


def viridis(values: np.ndarray) -> np.ndarray:
    """uint8 values to RGB through matplotlib's viridis (the colour scale of ``activations``)."""
    return _viridis_table()[values]


_TABLE: list[np.ndarray] = []


def _viridis_table() -> np.ndarray:
    if not _TABLE:
        from matplotlib import colormaps

        _TABLE.append((colormaps["viridis"](np.arange(256))[:, :3] * 255).round().astype(np.uint8))
    return _TABLE[0]


def scaled(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values in [low, high] as uint8 0..255 (a constant map is mid-scale)."""
    if high <= low:
        return np.full(values.shape, 128, np.uint8)
    return (np.clip((values - low) / (high - low), 0, 1) * 255).round().astype(np.uint8)


def feature_map_json(layer: MapLayer, fmap: np.ndarray, rf: Any) -> dict[str, Any]:
    """One layer's channels as a tile grid on one colour scale (the layer's value range)."""
    shown = fmap[..., :MAX_CHANNELS]
    low, high = float(shown.min()), float(shown.max())
    tiles = viridis(scaled(np.moveaxis(shown, -1, 0), low, high))
    columns = grid_columns(len(tiles))
    return {"layer": layer.name, "shape": list(fmap.shape), "png": png_data_url(tile_grid(tiles, columns)),
            "min": low, "max": high, "channels": int(shown.shape[-1]), "tile": [int(fmap.shape[0]), int(fmap.shape[1])],
            "columns": columns, "gap": 1, "rf": rf}


def filters_png(kernel: np.ndarray) -> str:
    """A (kh, kw, in, out) kernel's filters: RGB each stretched to its range when in = 3, else
    the mean over the inputs on one gray scale centred on 0; enlarged to be seen."""
    count = min(kernel.shape[-1], MAX_CHANNELS)
    filters = np.moveaxis(kernel[..., :count], -1, 0)          # (count, kh, kw, in)
    if kernel.shape[2] == 3:
        tiles = np.stack([scaled(f, float(f.min()), float(f.max())) for f in filters])
    else:
        gray = filters.mean(axis=-1)
        bound = float(np.abs(gray).max()) or 1.0
        tiles = scaled(gray, -bound, bound)
    factor = max(1, FILTER_TILE_PX // max(kernel.shape[:2]))
    tiles = tiles.repeat(factor, axis=1).repeat(factor, axis=2)
    return png_data_url(tile_grid(tiles, grid_columns(count)))


def decoded_image(data_url: str) -> io.BytesIO:
    """The bytes of a ``data:image/...;base64,`` URL, checked to be a picture of a sane size."""
    from PIL import Image, UnidentifiedImageError

    head, _, payload = data_url.partition(",")
    if not (head.startswith("data:image/") and head.endswith(";base64")):
        raise UserError("the image must be a data URL (data:image/png;base64,...)", "send canvas.toDataURL()")
    try:
        data = io.BytesIO(base64.b64decode(payload, validate=True))
        with Image.open(data) as image:
            size = image.size
    except (binascii.Error, ValueError):
        raise UserError("the image's base64 text is damaged", "send canvas.toDataURL()") from None
    except (UnidentifiedImageError, OSError):
        raise UserError("the image is not a picture Pillow can read", "give a PNG, JPEG, BMP or GIF image") from None
    if max(size) > MAX_IMAGE_SIDE:
        raise UserError(f"the image is {size[0]}x{size[1]} pixels, more than {MAX_IMAGE_SIDE} a side",
                        "give a smaller image")
    data.seek(0)
    return data


@dataclass
class Explorer:
    """A run's model, with what the page shows of it computed once."""

    folder: Path
    task: str
    model: Any
    class_names: Optional[Sequence[str]]
    names: Optional[dict[str, str]]        # Keras layer name -> the spec's (None: the spec does not compile)
    report: Any                            # the analysis of the run's spec.yaml, or None
    maps: list[MapLayer]
    probe: Any
    letterboxed: bool = False              # images are letterboxed into the input, as in training
    head: Any = None                       # detection and instance segmentation: the spec's head
    settings: dict[str, Any] = field(default_factory=dict)   # train.detection
    pose: Any = None                       # keypoints: names and skeleton (archspec.train.pose.settings)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path) -> "Explorer":
        from archspec.train.inference import load_run_model, model_file, trained_letterboxed
        from archspec.train.rundir import RunDir
        from archspec.train.runner import load_run_config

        run = RunDir.open(folder)
        cfg = load_run_config(run)
        model = load_run_model(run, model_file(run))
        names, report = _spec_names(run / "spec.yaml")
        data = run.read_json("data.json") if (run / "data.json").is_file() else {}
        maps = _chosen(map_layers(model, names))
        import keras

        probe = keras.Model(model.inputs, [model.get_layer(m.keras_name).output for m in maps]) if maps else None
        explorer = cls(folder, cfg.task, model, data.get("class_names"), names, report, maps, probe,
                       trained_letterboxed(data))
        if cfg.task in OBJECT_TASKS:  # predict letterboxes these whatever data.json says
            from archspec.train.detection.predict import run_head

            explorer.letterboxed, explorer.head, explorer.settings = True, run_head(run), dict(cfg.detection)
        elif cfg.task == "keypoints":
            from archspec.train.pose.callback import summary_settings

            explorer.pose = summary_settings(cfg, model, data)
        return explorer

    def run_json(self) -> dict[str, Any]:
        layers = ([{"name": i.node.name, "type": i.node.kind, "shape": list(i.out_shape), "stage": stage(i)}
                   for i in self.report.analysis.layers] if self.report is not None else
                  [{"name": m.name, "type": "", "shape": list(m.shape), "stage": f"{m.shape[0]}x{m.shape[1]}"}
                   for m in self.maps])
        return {"task": self.task, "classes": self.class_names, "input_shape": list(self.model.inputs[0].shape[1:]),
                "layers": layers, "spec_name": self.report.analysis.graph.name if self.report is not None else None,
                "letterboxed": self.letterboxed, "picture": self.task in (*OBJECT_TASKS, "keypoints")}

    def predict_json(self, data_url: str) -> dict[str, Any]:
        image = decoded_image(data_url)
        with self._lock:
            try:
                prediction = self._prediction(image)
            except UserError as exc:
                raise UserError(exc.message.replace(str(image), "the image"), exc.hint) from None
            maps = self._feature_maps(image)
        return {"prediction": prediction, "feature_maps": maps, "filters_png": self._filters()}

    def model_input(self, image: io.BytesIO) -> np.ndarray:
        """(1, H, W, C): the image as ``archspec predict`` feeds this run's model an image file:
        letterboxed where training letterboxed (object data), else stretched to the input."""
        from archspec.train.inference import load_image, load_letterboxed

        shape = tuple(int(d) for d in self.model.inputs[0].shape[1:])
        image.seek(0)
        return load_letterboxed(image, shape)[0] if self.letterboxed else load_image(image, shape)

    def _prediction(self, image: io.BytesIO) -> dict[str, Any]:
        """What ``archspec predict`` finds in the image, as the page shows it (see ``prediction_json``)."""
        from archspec.train.inference import load_image, predict_images, read_image_file

        image.seek(0)
        if self.head is not None:
            from archspec.train.detection.predict import PREDICT_THRESHOLD, detect_image

            find = detect_image
            if self.task == "instance_segmentation":
                from archspec.train.instances.predict import detect_instance_image as find
            pixels = read_image_file(image)
            found = find(self.model, self.head, self.settings, pixels, self.class_names or [], PREDICT_THRESHOLD)
            return detections_json(self.task, found, pixels.shape[:2], PREDICT_THRESHOLD)
        names = self.pose.names if self.pose is not None else self.class_names
        prediction = predict_images(self.model, self.task, [image], names, self.letterboxed)[0]
        out = prediction_json(prediction)
        if self.pose is not None:  # predict --pictures-dir's picture, of the image at its own size
            from archspec.train.pose.picture import pose_picture

            image.seek(0)
            own = load_image(image, (*prediction.image_size, 3))[0]
            picture = pose_picture(own, prediction.keypoints(), self.pose.skeleton, self.pose.names)
            out.update(picture_png=png_data_url(picture), scale=picture.shape[0] // own.shape[0],
                       image_size=list(prediction.image_size))
        return out

    def _feature_maps(self, image: io.BytesIO) -> list[dict[str, Any]]:
        if self.probe is None:
            return []
        pixels = self.model_input(image)
        outputs = self.probe(pixels, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        return [feature_map_json(m, np.asarray(o)[0], self._rf(m.name)) for m, o in zip(self.maps, outputs)]

    def _rf(self, name: str) -> Any:
        """The layer's receptive field on the input: one size, ``HxW`` when they differ, None unknown."""
        field = self.report.fields.get(name) if self.report is not None else None
        if field is None or any(s is None for s in field.size):
            return None
        sizes = [int(round(s)) for s in field.size]
        return sizes[0] if len(set(sizes)) == 1 else "x".join(map(str, sizes))

    def _filters(self) -> Optional[str]:
        try:
            return filters_png(first_conv_kernel(self.model, self.names)[1])
        except UserError:
            return None  # no convolution


def stage(info: Any) -> str:
    """A layer's stage for the page's layout: its top-level block, else its output's resolution."""
    if info.node.scope:
        return info.node.scope[0]
    return f"{info.out_shape[0]}x{info.out_shape[1]}" if len(info.out_shape) == 3 else ""


def detections_json(task: str, found: Any, size: tuple[int, int], threshold: float) -> dict[str, Any]:
    """A detection or instance-segmentation prediction for the page: ``predict``'s picture (the
    image enlarged ``scale`` times, each box, its class and score drawn; each instance's mask
    tinted in its own colour), and each detection's class, score and box (x1, y1, x2, y2 in the
    image's pixels), best first; an instance's mask area in pixels too."""
    rows = []
    for k, (box, score, name) in enumerate(zip(found.boxes, found.scores, found.names)):
        row: dict[str, Any] = {"class": name, "score": round(float(score), 4),
                               "box": [round(float(v), 2) for v in box]}
        if found.masks is not None:
            row["area"] = int(found.masks[k].sum())
        rows.append(row)
    return {"task": task, "picture_png": png_data_url(found.picture), "scale": int(found.factor),
            "image_size": [int(size[0]), int(size[1])], "threshold": threshold, "detections": rows}


def prediction_json(prediction: Any) -> dict[str, Any]:
    """The prediction as ``predict --json`` gives it, with top classes as [class, probability]
    pairs and a segmentation's mask as a coloured PNG."""
    out = {k: v for k, v in prediction.as_json(TOP_K).items() if k not in ("image", "top", "mask")}
    if prediction.task in ("classification", "multilabel"):
        out["top"] = [[row["class"], row["probability"]] for row in prediction.as_json(TOP_K)["top"]]
    if prediction.task == "segmentation":
        out["mask_png"] = mask_png(prediction.class_mask())
    return out


def mask_png(mask: np.ndarray) -> str:
    from archspec.train.mask_png import class_colour

    colours = np.array([class_colour(i) for i in range(256)], np.uint8)
    return png_data_url(colours[np.clip(mask, 0, 255).astype(np.uint8)])


def _chosen(layers: list[MapLayer]) -> list[MapLayer]:
    """Every convolution's maps, or one layer per resolution when there are too many (or none)."""
    convs = [m for m in layers if m.has_kernel]
    return convs if convs and len(convs) <= MAX_MAP_LAYERS else default_layers(layers) if layers else []


def _spec_names(spec: Path) -> tuple[Optional[dict[str, str]], Any]:
    """Keras name -> the spec's name, and the spec's report (receptive fields), from the run's
    spec.yaml; (None, None) when it does not compile (the Keras names are shown then)."""
    from archspec.api import analyse_spec
    from archspec.keras_backend.model_builder import keras_name

    try:
        report = analyse_spec(spec)
    except ArchspecError:
        return None, None
    graph = report.analysis.graph
    names = {keras_name(node.name): node.name for node in graph.nodes}
    names.update({keras_name(name): name for name in graph.inputs})
    return names, report
