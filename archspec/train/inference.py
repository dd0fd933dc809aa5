"""Using a finished run: load its model, evaluate it on held-out data, predict on images."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Sequence

import numpy as np

from archspec.errors import UserError
from archspec.train.config import TrainConfig
from archspec.train.rundir import RunDir

log = logging.getLogger("archspec.train")


def model_file(run: RunDir, which: str = "best") -> Path:
    """``best.keras`` (or ``last.keras``) of a run; best falls back to last before any improvement."""
    path = run / f"{which}.keras"
    if not path.is_file() and which == "best" and (run / "last.keras").is_file():
        path = run / "last.keras"
    if not path.is_file():
        raise UserError(f"{run.path} has no {which}.keras", "did its first epoch finish? see metrics.json")
    return path


def load_run_model(run: RunDir, path: Path) -> Any:
    """A run's saved model; archspec's own layers are registered first.

    Falls back to rebuilding the model from the run's spec.yaml and loading the weights."""
    import keras

    try:
        import archspec.keras_backend.custom_layers  # noqa: F401  (registers archspec's layers for loading)
    except ImportError:
        pass
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as first:  # noqa: BLE001 - try the spec route before giving up
        spec = run / "spec.yaml"
        if not spec.is_file():
            raise UserError(f"cannot load {path} ({type(first).__name__}: {first})",
                            "the file may be damaged") from None
        try:
            from archspec.api import compile_spec
            from archspec.keras_backend.model_builder import build_model
            model = build_model(compile_spec(spec).graph)
            model.load_weights(path)
            return model
        except Exception as exc:  # noqa: BLE001
            raise UserError(f"cannot load {path} ({type(exc).__name__}: {exc})", "the file may be damaged") from None


def saved_epoch(run: RunDir, path: Path) -> int | None:
    """The epoch a run's best.keras or last.keras was saved after, from metrics.json."""
    if not (run / "metrics.json").is_file():
        return None
    metrics = run.read_json("metrics.json")
    return metrics.get("best_epoch") if path.name == "best.keras" else metrics.get("epoch")


def evaluation_config(cfg: TrainConfig, data: dict[str, Any] | None, batch_size: int | None) -> TrainConfig:
    """The run's data settings for evaluation: a given source is evaluated whole."""
    changes: dict[str, Any] = {"augment": cfg.data.augment}
    if data is not None:
        changes.update(source=data, validation=None, validation_split=0.0)
    if batch_size:
        changes["batch_size"] = batch_size
    from dataclasses import replace
    return cfg.replace(data=replace(cfg.data, **changes))


@dataclass(frozen=True)
class Evaluation:
    """Metrics of a model, with the data they were measured on."""

    source: str                 # e.g. builtin:digits
    part: str                   # which part of it: the run's validation split, ..., all samples
    samples: int
    metrics: dict[str, float]

    def as_json(self, model: Path, epoch: int | None) -> dict[str, Any]:
        return {"model": str(model), "epoch": epoch,
                "data": {"source": self.source, "part": self.part, "samples": self.samples},
                "metrics": self.metrics}


def evaluate_run(run: RunDir, cfg: TrainConfig, model: Any, given_source: bool) -> Evaluation:
    """Keras metrics of ``model`` on the run's validation data, or on a whole given source."""
    from archspec.train.pose.session import is_object_source
    if cfg.task == "keypoints" and is_object_source(cfg.data.source):
        from archspec.train.pose.evaluation import evaluate_pose_objects
        return evaluate_pose_objects(run, cfg, model, given_source)
    from archspec.train.datasets import ModelIO, build_data
    from archspec.train.objects import build_loss, build_metrics
    from archspec.train.tasks import output_activation

    io = ModelIO.of(model)
    activation = output_activation(model)
    bundle = build_data(cfg, io, lambda path: None)
    _check_same_classes(run, bundle.summary)
    pipeline = bundle.train if given_source else bundle.validation
    if pipeline is None:
        raise UserError("the run has no validation data to evaluate on", "pass --data SOURCE")
    model.compile(loss=build_loss(cfg, activation, lambda p: None),
                  metrics=build_metrics(cfg, io.output_shape[-1], activation, lambda p: None))
    results = model.evaluate(pipeline.evaluate(), return_dict=True, verbose=0)
    if cfg.task == "keypoints":
        from archspec.train.pose.callback import pose_scores, run_settings
        results.update(pose_scores(model, pipeline.evaluate(),
                                   run_settings(cfg, model, bundle.summary.get("class_names"))))
    summary = bundle.summary
    if given_source:
        source, part = summary["source"], "all samples"
    elif summary["validation_source"]:
        source, part = summary["validation_source"], "the run's validation source"
    else:
        source = summary["source"]
        part = f"the run's validation split ({cfg.data.validation_split:.0%} held out with seed {cfg.seed})"
    return Evaluation(source, part, pipeline.size, {k: float(v) for k, v in results.items()})


def _check_same_classes(run: RunDir, summary: dict[str, Any]) -> None:
    """Named classes must be the ones the model was trained on, in the same order."""
    trained = run.read_json("data.json").get("class_names") if (run / "data.json").is_file() else None
    given = summary.get("class_names")
    if trained and given and list(trained) != list(given):
        raise UserError(f"{summary['source']} has the classes {', '.join(given)} but the model was trained on "
                        f"{', '.join(trained)}; label i would mean another class",
                        "evaluate on data with the run's classes, in the same order (train.data.source.class_names "
                        "sets the order of image folders)")


def load_image(path: str | Path | IO[bytes], shape: Sequence[int]) -> np.ndarray:
    """An image file as the model sees it: (1, H, W, C) float32 in [0, 1], upright (EXIF orientation
    applied), stretched to fit as image folders are in training (antialiased bilinear)."""
    from PIL import Image

    height, width, channels = (int(d) for d in shape)
    pixels = read_image_file(path, channels)
    if pixels.shape[:2] != (height, width):
        log.info("%s: resized from %dx%d to %dx%d", path, pixels.shape[0], pixels.shape[1], height, width)
        pixels = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(pixels[..., c])).resize(
            (width, height), Image.Resampling.BILINEAR, reducing_gap=None)) for c in range(channels)], axis=-1)
    return pixels.astype(np.float32)[None]


def read_image_file(path: str | Path | IO[bytes], channels: int = 3) -> np.ndarray:
    """An image file (or an open binary file, as the studio's dropped images) as (H, W, channels)
    float32 in [0, 1], as every loader reads it (``annotations.image_files``: EXIF orientation
    applied, 16-bit scaled); a UserError naming it when it is missing or unreadable."""
    from PIL import Image

    from archspec.train.annotations.image_files import read_image

    try:
        return read_image(Path(path) if isinstance(path, str) else path, channels)
    except FileNotFoundError:
        raise UserError(f"no such file: {path}", "check the image path") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UserError(f"{path}: not a readable image ({exc})", "give a PNG, JPEG, BMP or GIF file") from None


def letterboxed(image: np.ndarray, shape: Sequence[int]) -> tuple[np.ndarray, Any]:
    """An (H, W, 3) image placed in the model's input (H', W', C) as object data is in training:
    letterboxed (aspect kept, grey 0.5 padding), channels adapted as the training pipeline adapts
    them, and the ``Letterbox`` that maps points and boxes back to the image's pixels."""
    from archspec.train.annotations.dataset import adapt_channels
    from archspec.train.annotations.letterbox import Letterbox, letterbox_image

    height, width, channels = (int(d) for d in shape)
    box = Letterbox.fit(image.shape[:2], (height, width))
    return adapt_channels(letterbox_image(image, (height, width), box), channels), box


def load_letterboxed(path: str | Path | IO[bytes], shape: Sequence[int]) -> tuple[np.ndarray, Any]:
    """``letterboxed`` of an image file, batched: (1, H, W, C) and its ``Letterbox``."""
    pixels, box = letterboxed(read_image_file(path), shape)
    return pixels[None], box


def trained_letterboxed(summary: dict[str, Any]) -> bool:
    """Whether a run's data.json says its images were letterboxed (object data), not stretched.

    >>> trained_letterboxed({"resize": "letterbox (aspect kept, grey 0.5 padding)"}), trained_letterboxed({})
    (True, False)
    """
    return str(summary.get("resize", "")).startswith("letterbox")


@dataclass
class Prediction:
    path: str
    task: str
    output: np.ndarray                   # probabilities / values for one sample
    class_names: Sequence[str] | None
    image_size: tuple[int, int] | None = None   # (H, W) of the image file: keypoints are in its pixels
    letterbox: Any = None                # how the file was placed in the input (else it was stretched to it)
    input_size: tuple[int, int] | None = None   # (H, W) of the model's input, with a letterbox

    def top(self, k: int) -> list[tuple[str, float]]:
        order = np.argsort(-self.output)[:k]
        return [(self._name(i), float(self.output[i])) for i in order]

    def _name(self, i: int) -> str:
        return str(self.class_names[i]) if self.class_names and i < len(self.class_names) else str(i)

    def class_mask(self) -> np.ndarray:
        """Segmentation: the (H, W) class id of each pixel."""
        return self.output.argmax(-1)

    def describe(self, k: int = 3) -> str:
        if self.task == "classification":
            return ", ".join(f"{n} ({p:.3f})" for n, p in self.top(k))
        if self.task == "multilabel":
            on = [f"{self._name(i)} ({p:.3f})" for i, p in enumerate(self.output) if p >= 0.5]
            return ", ".join(on) or "no label above 0.5"
        if self.task == "regression":
            return ", ".join(f"{v:.4g}" for v in self.output.ravel())
        if self.task == "segmentation":
            mask = self.class_mask()
            ids, counts = np.unique(mask, return_counts=True)
            return ", ".join(f"{self._name(int(i))} {c / mask.size:.1%}" for i, c in zip(ids, counts))
        return "; ".join(f"{self._name(k)} at x {x:.1f}, y {y:.1f} ({peak:.3f})"
                         for k, (x, y, peak) in enumerate(self.keypoints()))

    def keypoints(self) -> np.ndarray:
        """Keypoints: each heatmap's sub-pixel peak, (K, 3) x, y in the image file's pixels and the peak
        value: heatmap pixels scale to the input's, then back through the letterbox; without one the
        input is the file stretched to its size, so heatmap pixels scale to the file's."""
        from archspec.train.pose.scoring import to_image
        from archspec.train.pose.decode import decode_peaks

        heatmap_size = self.output.shape[:2]
        if self.letterbox is not None and self.input_size:
            return self.letterbox.points_to_image(to_image(decode_peaks(self.output), heatmap_size, self.input_size))
        return to_image(decode_peaks(self.output), heatmap_size, self.image_size or heatmap_size)

    def as_json(self, k: int = 3) -> dict[str, Any]:
        out: dict[str, Any] = {"image": self.path, "task": self.task}
        if self.task in ("classification", "multilabel"):
            out["top"] = [{"class": n, "probability": p} for n, p in self.top(k if self.task == "classification"
                                                                               else len(self.output))]
        elif self.task == "segmentation":
            out["mask"] = self.class_mask().tolist()
        elif self.task == "keypoints":
            points = self.keypoints()
            out["keypoints"] = [{"name": self._name(k), "x": float(x), "y": float(y), "peak": float(peak)}
                                for k, (x, y, peak) in enumerate(points)]
            out["score"] = float(points[:, 2].mean())
        else:
            out["output"] = self.output.tolist()
        return out


def predict_images(model: Any, task: str, paths: Sequence[str], class_names: Sequence[str] | None,
                   letterboxed: bool = False) -> list[Prediction]:
    """Predictions for image files, stretched to the model's input, or ``letterboxed`` as object data
    is in training (``trained_letterboxed``: keypoints then map back through each file's letterbox)."""
    from archspec.train.tasks import output_activation

    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3:
        raise UserError(f"the model's input has shape {shape}, not an image", "predict takes image models")
    if letterboxed:
        pixels, boxes = zip(*(load_letterboxed(p, shape) for p in paths))
    else:
        pixels, boxes = tuple(load_image(p, shape) for p in paths), (None,) * len(paths)
    batch = np.concatenate(pixels)
    input_size = (int(shape[0]), int(shape[1]))
    outputs: Any = np.asarray(model.predict(batch, verbose=0), np.float32)
    if output_activation(model) == "linear" and task in ("classification", "segmentation"):
        outputs = np.exp(outputs - outputs.max(-1, keepdims=True))
        outputs /= outputs.sum(-1, keepdims=True)
    elif output_activation(model) == "linear" and task == "multilabel":
        outputs = 1.0 / (1.0 + np.exp(-outputs))
    return [Prediction(str(p), task, o, class_names, image_size(p), box, input_size)
            for p, o, box in zip(paths, outputs, boxes)]


def image_size(path: str | Path | IO[bytes]) -> tuple[int, int]:
    """(height, width) of a readable image file once upright (its EXIF orientation applied), from its header."""
    from PIL import Image

    from archspec.train.annotations.image_files import upright_size

    with Image.open(path) as opened:
        return upright_size(opened)
