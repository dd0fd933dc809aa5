"""Object data for a detection run: the training and validation streams ``fit`` reads, and
their summary in data.json.

Targets reach every level's loss as one (B, M, 5) tensor (the boxes in model-input pixels and
the class, -1 for padding), so the assignment runs inside the loss, in the compiled step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from archspec.errors import UserError
from archspec.train.annotations.checks import check_same_categories
from archspec.train.annotations.load import load_objects
from archspec.train.annotations.records import ObjectData
from archspec.train.config import TrainConfig
from archspec.train.pipeline import validation_mask


def packed_targets(targets: Any, levels: int) -> tuple[Any, ...]:
    """(B, M, 5) boxes and class of D1's padded targets, once per level (Keras pairs them with outputs)."""
    import tensorflow as tf

    packed = tf.concat([targets["boxes"], tf.cast(targets["classes"], tf.float32)[..., None]], axis=-1)
    return tuple(packed for _ in range(levels))


@dataclass
class ObjectPipeline:
    """One split of object data, read as ``fit`` and the runner read a ``Pipeline``."""

    data: ObjectData
    indices: np.ndarray
    input_shape: tuple[int, int, int]
    batch_size: int
    levels: int
    seed: int = 0
    shuffle: bool = False
    augment: Sequence[Any] = ()
    max_objects: int = 100
    pack: Optional[Callable[[Any], tuple[Any, ...]]] = None  # D1's targets -> one per output (instances: masks too)

    @property
    def size(self) -> int:
        return int(len(self.indices))

    def batches_per_epoch(self, drop_remainder: bool = False) -> int:
        whole, rest = divmod(self.size, self.batch_size)
        return whole + (0 if drop_remainder or not rest else 1)

    def raw(self, first_epoch: int = 0, augment: bool = False, shard: tuple[int, int] | None = None) -> Any:
        """Batches of (images, D1's targets dict), one iteration per epoch (``shard``: a worker's slices)."""
        from archspec.train.annotations.dataset import object_dataset

        return object_dataset(self.data, self.input_shape, self.batch_size, list(self.augment) if augment else None,
                              self.shuffle and augment, self.max_objects, seed=self.seed, indices=self.indices,
                              first_epoch=first_epoch, shard=shard)

    def train(self, first_epoch: int, epochs: int, steps: int | None = None,
              shard: tuple[int, int] | None = None) -> Any:
        """Augmented, shuffled batches of epochs ``first_epoch .. epochs-1`` in one stream;
        ``shard = (workers, index)``: this worker's slice of each global batch (multi-worker)."""
        stream = self.raw(first_epoch, augment=True, shard=shard)
        if steps is not None:
            stream = stream.take(steps)
        return stream.repeat(epochs - first_epoch).map(lambda x, t: (x, self.targets(t)))

    def evaluate(self) -> Any:
        return self.raw().map(lambda x, t: (x, self.targets(t)))

    def targets(self, targets: Any) -> tuple[Any, ...]:
        return self.pack(targets) if self.pack is not None else packed_targets(targets, self.levels)


def split_object_data(cfg: TrainConfig, input_shape: tuple[int, int, int], levels: int, task: str = "detection"
                      ) -> tuple[ObjectPipeline, ObjectPipeline | None]:
    """The training and validation pipelines: a separate validation source, or a seeded split."""
    data_cfg, settings = cfg.data, cfg.detection
    train_data = load_objects(data_cfg.source, task)
    common = dict(input_shape=input_shape, batch_size=data_cfg.batch_size, levels=levels, seed=cfg.seed,
                  max_objects=int(settings.get("max_objects", 100)))
    if data_cfg.validation is not None:
        val_data = load_objects(data_cfg.validation, task)
        check_same_categories(train_data, val_data)
        train_idx, val_idx = np.arange(len(train_data)), np.arange(len(val_data))
    else:
        val_data = train_data
        mask = validation_mask(len(train_data), data_cfg.validation_split, cfg.seed)
        train_idx, val_idx = np.flatnonzero(~mask), np.flatnonzero(mask)
    if not len(train_idx):
        raise UserError(f"no training images left in {train_data.description}", "lower train.data.validation_split")
    train = ObjectPipeline(train_data, train_idx, shuffle=data_cfg.shuffle, augment=data_cfg.augment, **common)
    validation = ObjectPipeline(val_data, val_idx, **common) if len(val_idx) else None
    return train, validation


def check_classes(data: ObjectData, classes: int) -> None:
    """The data's categories must be the head's classes, one for one."""
    if len(data.categories) != classes:
        names = ", ".join(data.class_names[:6]) + (", ..." if len(data.categories) > 6 else "")
        raise UserError(f"{data.description} has {len(data.categories)} categories ({names}) but the head has "
                        f"{classes} classes", f"give the head {len(data.categories)} classes: the zoo's detectors take "
                        f"--set vars.classes={len(data.categories)}, which sizes head.classes and the level "
                        "channels alike; or train on data with as many categories")


def object_summary(cfg: TrainConfig, train: ObjectPipeline, validation: ObjectPipeline | None) -> dict[str, Any]:
    """data.json of a detection run (the keys the runner's log reads, and the categories)."""
    sizes = sorted({tuple(int(d) for d in train.data.sizes[i]) for i in train.indices})
    size = tuple(train.input_shape[:2])
    return {"source": train.data.description,
            "validation_source": validation.data.description if cfg.data.validation and validation else None,
            "task": cfg.task, "samples": {"train": train.size, "validation": validation.size if validation else 0},
            "model_input": list(train.input_shape), "resize": "letterbox (aspect kept, grey 0.5 padding)",
            "image_size": list(size), "data_image_sizes": [list(s) for s in sizes[:20]],
            "resized": any(s != size for s in sizes), "class_names": list(train.data.class_names),
            "category_ids": [int(c.id) for c in train.data.categories], "augment": [str(a) for a in cfg.data.augment],
            "batch_size": cfg.data.batch_size, "shuffle": cfg.data.shuffle,
            "objects": {"max_per_image": train.max_objects}}
