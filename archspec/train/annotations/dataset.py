"""``object_dataset``: object data as a tf.data.Dataset of model inputs and padded targets.

Images are read, letterboxed and augmented one at a time in a few threads (PIL and NumPy release
the GIL), never all at once. One iteration of the dataset is one epoch; the epoch's order and
every augmentation draw are functions of (seed, epoch, image index), so a run repeats exactly.
Each image holds at most ``max_objects`` objects (the largest kept, with a warning); the
targets are padded to that many: ``classes`` -1, every other array 0, where there is no object.
With ``shard = (workers, index)`` (multi-worker training) every worker draws the same epoch
order, keeps only whole global batches and reads slice ``index`` of each (as ``Pipeline.train``
does), so the workers' slices together are the one-worker batch, augmented identically.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Sequence

import numpy as np

from archspec.train.annotations.augment_objects import ObjectAugment, flip_pairs
from archspec.train.annotations.letterbox import Letterbox, letterbox
from archspec.train.annotations.records import ImageObjects, ObjectData

log = logging.getLogger("archspec.train")
_AUGMENT_SEED, _ORDER_SEED = 0xA06E, 0x5F1E
_THREADS = 4


def adapt_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Gray -> RGB by repetition, RGB -> gray by luminance (ITU-R 601, as tf.image)."""
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return np.repeat(image[..., :1], 3, axis=-1)
    return (image[..., :3] @ np.array([0.2989, 0.587, 0.114], np.float32))[..., None].astype(np.float32)


def prepare_image(data: ObjectData, index: int, input_size: tuple[int, int], channels: int,
                  augment: ObjectAugment | None = None, rng: np.random.Generator | None = None
                  ) -> tuple[np.ndarray, ImageObjects, Letterbox]:
    """One image in the model's input and its objects there (augmented when ``augment`` is given)."""
    image, objects, box = letterbox(data.load_image(index), data.objects(index), input_size)
    image = adapt_channels(image, channels)
    if augment and rng is not None:
        image, objects = augment.apply(image, objects, rng, data.keypoint_flip or flip_pairs(data.keypoint_names))
    return image, objects, box


def pad_targets(objects: ImageObjects, max_objects: int, input_size: tuple[int, int], data: ObjectData
                ) -> dict[str, np.ndarray]:
    """An image's objects as fixed-size arrays (the dataset's ``targets`` without the batch axis)."""
    count = min(len(objects), max_objects)
    if len(objects) > max_objects:  # keep the largest: the small ones are the hardest to miss
        area = (objects.boxes[:, 2] - objects.boxes[:, 0]) * (objects.boxes[:, 3] - objects.boxes[:, 1])
        objects = objects.select(np.sort(np.argsort(-area, kind="stable")[:max_objects]))
    targets = {"boxes": np.zeros((max_objects, 4), np.float32), "classes": np.full((max_objects,), -1, np.int32)}
    targets["boxes"][:count], targets["classes"][:count] = objects.boxes, objects.classes
    if data.has_masks:
        targets["masks"] = np.zeros((max_objects, *input_size), np.uint8)
        targets["masks"][:count] = objects.masks
    if data.keypoint_count:
        targets["keypoints"] = np.zeros((max_objects, data.keypoint_count, 3), np.float32)
        targets["keypoints"][:count] = objects.keypoints
    return targets


def _signature(data: ObjectData, input_size: tuple[int, int], channels: int, max_objects: int) -> Any:
    import tensorflow as tf

    targets = {"boxes": tf.TensorSpec((max_objects, 4), tf.float32),
               "classes": tf.TensorSpec((max_objects,), tf.int32)}
    if data.has_masks:
        targets["masks"] = tf.TensorSpec((max_objects, *input_size), tf.uint8)
    if data.keypoint_count:
        targets["keypoints"] = tf.TensorSpec((max_objects, data.keypoint_count, 3), tf.float32)
    targets["image_index"] = tf.TensorSpec((), tf.int32)
    return tf.TensorSpec((*input_size, channels), tf.float32), targets


def object_dataset(data: ObjectData, input_size: Sequence[int], batch_size: int,
                   augment: ObjectAugment | Sequence[Any] | None = None, shuffle: bool = False,
                   max_objects: int = 100, *, seed: int = 0, indices: Sequence[int] | None = None,
                   first_epoch: int = 0, drop_remainder: bool = False, shard: tuple[int, int] | None = None) -> Any:
    """Batches ``(images (B, H, W, C) float32, targets)`` of the images ``indices`` (default all).

    ``input_size`` is the model's (H, W) or (H, W, C) (C defaults to the data's channels);
    ``augment`` an :class:`ObjectAugment` or the spec's ``augment:`` entries; the n-th
    iteration over the dataset is epoch ``first_epoch + n``; ``shard``: this worker's slices
    (``batch_size // workers`` images) of the whole global batches only.
    """
    import tensorflow as tf

    size = (int(input_size[0]), int(input_size[1]))
    channels = int(input_size[2]) if len(input_size) > 2 else data.channels
    chosen = np.arange(len(data)) if indices is None else np.asarray(indices, np.int64)
    if augment is not None and not isinstance(augment, ObjectAugment):
        augment = ObjectAugment.from_entries(augment, keypoints=bool(data.keypoint_count))
    epochs = iter(range(first_epoch, 2 ** 62))
    warned: list[bool] = []

    def sample(index: int, epoch: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        rng = np.random.default_rng([seed, epoch, int(index), _AUGMENT_SEED]) if augment else None
        image, objects, _ = prepare_image(data, int(index), size, channels, augment, rng)
        if len(objects) > max_objects and not warned:
            warned.append(True)
            log.warning("warning: %s image %s has %d objects; the largest %d are kept (raise max_objects)",
                        data.description, data.image_names[index], len(objects), max_objects)
        targets = pad_targets(objects, max_objects, size, data)
        targets["image_index"] = np.int32(index)
        return image, targets

    def epoch_samples() -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        epoch = next(epochs)
        order = np.random.default_rng([seed, epoch, _ORDER_SEED]).permutation(chosen) if shuffle else chosen
        with ThreadPoolExecutor(_THREADS) as pool:  # map keeps the order; a batch's worth at a time
            for batch in worker_batches(order, batch_size, shard):
                yield from pool.map(lambda index: sample(index, epoch), batch)

    dataset = tf.data.Dataset.from_generator(epoch_samples,
                                             output_signature=_signature(data, size, channels, max_objects))
    per_batch = batch_size if shard is None else batch_size // shard[0]
    count = len(chosen) if shard is None else len(chosen) // batch_size * per_batch
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    return dataset.batch(per_batch, drop_remainder=drop_remainder or shard is not None).prefetch(tf.data.AUTOTUNE)


def worker_batches(order: np.ndarray, batch_size: int, shard: tuple[int, int] | None) -> Iterator[np.ndarray]:
    """The image indices of each batch of an epoch's ``order``; with ``shard = (workers, index)``
    this worker's slice of each whole global batch.

    >>> [b.tolist() for b in worker_batches(np.arange(10), 4, None)]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    >>> [b.tolist() for b in worker_batches(np.arange(10), 4, (2, 1))]
    [[2, 3], [6, 7]]
    """
    if shard is None:
        yield from (order[start:start + batch_size] for start in range(0, len(order), batch_size))
        return
    workers, index = shard
    per = batch_size // workers
    for start in range(0, len(order) - batch_size + 1, batch_size):
        yield order[start + index * per:start + (index + 1) * per]
