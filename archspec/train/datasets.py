"""From ``train.data`` and a model to checked training and validation pipelines.

Every check of the data against the model happens here, before any training step: the
input shape (after resizing and augmentation), the channel count, the number of classes and
the type of the labels. Each failure is a UserError naming the sample or file.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from archspec.errors import Location, UserError
from archspec.train.augment import Augmenter
from archspec.train.config import TrainConfig
from archspec.train.pipeline import Layout, Pipeline, prepare_arrays, validation_mask
from archspec.train.source_data import ArrayData, FileData, RecordData, Source
from archspec.train.sources import check_image_headers, describe_source, find_broken_image, load_source
from archspec.train.tasks import check_class_count, plan_targets

log = logging.getLogger("archspec.train")


@dataclass
class DataBundle:
    """What training needs from the data, and what the run directory records about it."""

    train: Pipeline
    validation: Pipeline | None
    summary: dict[str, Any]


@dataclass(frozen=True)
class ModelIO:
    """The model's single input and output shapes, without the batch axis."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    @classmethod
    def of(cls, model: Any) -> "ModelIO":
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise UserError(f"archspec train handles models with one input and one output; "
                            f"{model.name} has {len(model.inputs)} and {len(model.outputs)}",
                            "train it with your own Keras code")
        return cls(tuple(int(d) for d in model.inputs[0].shape[1:]),
                   tuple(int(d) for d in model.outputs[0].shape[1:]))


def build_data(cfg: TrainConfig, io: ModelIO, locate: Callable[[tuple], Location | None],
               augmenter: Augmenter | None = None) -> DataBundle:
    """Load, check and split the data; return the pipelines and a summary."""
    data_cfg = cfg.data
    augmenter = augmenter if augmenter is not None else Augmenter(data_cfg.augment, cfg.task, locate)
    train_source = _open(data_cfg.source, cfg, io)
    layout = _layout(train_source, cfg, io, augmenter)
    train_source, sizes = _checked(train_source, cfg, io, layout)
    val_layout = layout
    if data_cfg.validation is not None:
        val_raw = _open(data_cfg.validation, cfg, io)
        val_layout = _layout(val_raw, cfg, io, augmenter)
        val_source, _ = _checked(val_raw, cfg, io, val_layout)
        train_subset = val_subset = None
    else:
        val_source = train_source
        mask = validation_mask(train_source.size, data_cfg.validation_split, cfg.seed)
        train_subset, val_subset = ~mask, (mask if mask.any() else None)
    common: dict[str, Any] = dict(batch_size=data_cfg.batch_size, seed=cfg.seed,
                                  shuffle_buffer=data_cfg.shuffle_buffer, augmenter=augmenter)
    train = Pipeline(train_source, layout, shuffle=data_cfg.shuffle, subset=train_subset,
                     cache=_cache_for(data_cfg.cache, "train"), **common)
    validation = None
    if data_cfg.validation is not None or val_subset is not None:
        validation = Pipeline(val_source, val_layout, shuffle=False, subset=val_subset,
                              cache=_cache_for(data_cfg.cache, "validation"), **common)
    if train.size == 0:
        raise UserError(f"no training samples left in {train_source.description}",
                        "lower train.data.validation_split")
    return DataBundle(train, validation, _summary(cfg, io, train, validation, layout, augmenter, sizes))


def _cache_for(cache: bool | str, role: str) -> bool | str:
    """A file cache path gets one file set per pipeline (tf.data locks its cache files)."""
    return f"{cache}.{role}" if isinstance(cache, str) and cache else cache


def _open(source: dict, cfg: TrainConfig, io: ModelIO) -> Source:
    channels = io.input_shape[-1] if len(io.input_shape) == 3 else None
    return load_source(source, cfg.task, rescale=cfg.data.rescale, channels=channels)


def _data_image_shape(source: Source) -> tuple[int, ...] | None:
    if isinstance(source, ArrayData):
        return tuple(int(d) for d in source.x.shape[1:])
    if isinstance(source, RecordData):
        return source.x_shape
    return None  # files: sizes vary; each is resized or checked on its own


def _layout(source: Source, cfg: TrainConfig, io: ModelIO, augmenter: Augmenter) -> Layout:
    want = io.input_shape
    have = _data_image_shape(source)
    resize = cfg.data.resize_images
    if len(want) != 3:  # not an image model: shapes must match as they are
        if have is not None and have != want:
            raise UserError(f"the samples of {source.description} have shape {have} but the model input is {want}",
                            "reshape the data or change the model's input")
        return Layout(cfg.task, channels=want[-1] if want else 1, num_classes=io.output_shape[-1])
    channels = want[-1]
    if have is not None and len(have) != 3:
        raise UserError(f"the samples of {source.description} have shape {have}, not (height, width, channels), "
                        f"but the model takes images of shape {want}", "store images as (N, H, W, C) or (N, H, W)")
    if have is not None and have[-1] != channels and not resize and not isinstance(source, RecordData):
        raise UserError(f"the images of {source.description} have {have[-1]} channel(s) but the model takes "
                        f"{channels}", "set train.data.resize: true to convert them (gray <-> RGB)")
    model_size = (want[0], want[1])
    image_size = model_size if resize and not augmenter.crops else None
    size = image_size or ((have[0], have[1]) if have is not None else None)
    if size is not None and augmenter.output_size(size) != model_size:
        got = augmenter.output_size(size)
        raise UserError(f"the images of {source.description} are {size[0]}x{size[1]}"
                        + (f" ({got[0]}x{got[1]} after augment)" if got != tuple(size) else "")
                        + f" but the model takes {want[0]}x{want[1]}",
                        "set train.data.resize: true (--set train.data.resize=true) or change the model input"
                        if not resize else "make RandomCrop crop to the model's input size")
    target_size = None
    if cfg.task in ("segmentation", "keypoints") and len(io.output_shape) == 3:
        target_size = (io.output_shape[0], io.output_shape[1])
    return Layout(cfg.task, channels=channels, image_size=image_size, target_size=target_size,
                  num_classes=io.output_shape[-1])


def _checked(source: Source, cfg: TrainConfig, io: ModelIO, layout: Layout) -> tuple[Source, list[tuple[int, int]]]:
    """Check targets against the output; resize in-memory arrays once.

    Also returns the distinct (height, width) sizes of the images as stored (for a record
    stream, the first record's), so the log can say whether anything is resized."""
    check_class_count(cfg.task, source.class_names, io.output_shape, source.description)
    image = len(io.input_shape) == 3
    if isinstance(source, ArrayData):
        plan = plan_targets(cfg.task, source.y, io.output_shape, cfg.data.resize_images, source.sample_name)
        if source.class_names is None:
            _warn_unused_classes(cfg.task, plan.y, io.output_shape[-1], source.description)
        layout_for_targets = Layout(layout.task, layout.channels, layout.image_size, plan.resize_to,
                                    layout.num_classes)
        sizes = [tuple(int(d) for d in source.x.shape[1:3])] if image else []
        return prepare_arrays(source, layout_for_targets, plan.y if plan.y is not None else source.y), sizes
    if isinstance(source, FileData):
        if cfg.task != "classification":
            raise UserError(f"{source.description} gives class labels; it cannot train a {cfg.task} model",
                            "use npz or tfrecord data for other tasks")
        resize = cfg.data.resize_images
        sizes = check_image_headers(source.paths, None if resize else (io.input_shape[0], io.input_shape[1]))
        return _maybe_materialize(source, cfg, layout, io.input_shape[:2]), sizes
    return source, [tuple(int(d) for d in source.x_shape[:2])] if image and len(source.x_shape) == 3 else []


def _warn_unused_classes(task: str, y: np.ndarray | None, classes: int, description: str) -> None:
    """Unnamed class ids that never reach the top output units: allowed, but said."""
    if task != "classification" or y is None or not len(y):
        return
    used = int(np.max(y)) + 1
    if used < classes:
        log.warning("warning: the labels of %s go up to %d (%d classes) but the model has %d outputs; "
                    "outputs %d..%d are never trained", description, used - 1, used, classes, used, classes - 1)


def _maybe_materialize(source: FileData, cfg: TrainConfig, layout: Layout, cfg_size: tuple[int, ...]) -> Source:
    """``cache: true`` keeps decoded images in memory: read them all once, now."""
    if cfg.data.cache is not True:
        return source
    height, width = layout.image_size or cfg_size
    estimate = source.size * height * width * layout.channels * 4
    if estimate > 2 * 1024 ** 3:
        log.info("data: %s is about %.1f GiB decoded; reading it from disk each epoch instead of caching",
                 source.description, estimate / 1024 ** 3)
        return source
    import tensorflow as tf

    reader = Pipeline(source, layout, batch_size=256, seed=0, shuffle=False, cache=False)
    try:
        x = np.concatenate([np.asarray(b[0]) for b in reader.evaluate()])
    except tf.errors.InvalidArgumentError as exc:
        broken = find_broken_image(source.paths)
        raise UserError(f"{broken or source.description}: cannot decode the image "
                        f"({exc.message.splitlines()[0]})", "delete or replace the file") from None
    return ArrayData(x=x, y=source.labels, description=source.description, class_names=source.class_names,
                     names=source.paths, rescale=source.rescale)


def _summary(cfg: TrainConfig, io: ModelIO, train: Pipeline, validation: Pipeline | None, layout: Layout,
             augmenter: Augmenter, sizes: list[tuple[int, int]]) -> dict[str, Any]:
    source = train.data
    summary: dict[str, Any] = {
        "source": describe_source(cfg.data.source),
        "validation_source": describe_source(cfg.data.validation) if cfg.data.validation else None,
        "task": cfg.task,
        "samples": {"train": train.size, "validation": validation.size if validation else 0},
        "model_input": list(io.input_shape),
        "model_output": list(io.output_shape),
        "resize": cfg.data.resize_images,
        "image_size": list(layout.image_size) if layout.image_size else None,
        "data_image_sizes": [list(size) for size in sizes] or None,
        "resized": layout.image_size is not None and any(size != layout.image_size for size in sizes),
        "channels": layout.channels,
        "rescale": getattr(source, "rescale", 1.0),
        "class_names": list(source.class_names) if source.class_names else None,
        "augment": list(augmenter.names),
        "batch_size": cfg.data.batch_size,
        "shuffle": cfg.data.shuffle,
        "cache": cfg.data.cache,
    }
    if isinstance(source, ArrayData) and cfg.task == "classification":
        labels = source.y[train.indices]
        summary["train_class_counts"] = {str(k): int(v) for k, v in zip(*np.unique(labels, return_counts=True))}
    return summary
