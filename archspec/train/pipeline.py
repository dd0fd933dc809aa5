"""The tf.data pipeline: split, per-epoch shuffle, batch, cache, parallel map, prefetch.

Training data is one stream over all remaining epochs (``Dataset.range(first, last)
.flat_map(epoch)``), consumed by ``fit`` with ``steps_per_epoch``. Each epoch's order is a
pure function of (seed, epoch): ``tf.random.experimental.index_shuffle`` permutes sample
positions for data read by index, a seeded shuffle buffer does it for record streams. So a
run resumed at epoch k sees exactly the batches an uninterrupted run sees, and prefetching
into the next epoch changes nothing. Augmentation keys are (seed, epoch, batch index).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archspec.train.source_data import ArrayData, FileData, RecordData, Source

_SPLIT, _SHUFFLE, _AUGMENT, _STREAM = 0x5B17, 0x5F1E, 0xA06E, 0x57EA


@dataclass(frozen=True)
class Layout:
    """How samples become model inputs and targets."""

    task: str
    channels: int                                # the model's input channels
    image_size: tuple[int, int] | None = None    # resize images to this; None keeps them
    target_size: tuple[int, int] | None = None   # resize masks / heatmaps to this
    num_classes: int | None = None               # for label checks inside record streams


def validation_mask(n: int, fraction: float, seed: int) -> np.ndarray:
    """Which of n samples are held out: a seeded permutation's first round(n * fraction).

    >>> m = validation_mask(10, 0.2, seed=0)
    >>> int(m.sum()), bool(np.array_equal(m, validation_mask(10, 0.2, seed=0)))
    (2, True)
    """
    import tensorflow as tf

    n_val = int(round(n * fraction))
    if fraction > 0:
        n_val = min(max(n_val, 1), n - 1)
    if n_val <= 0 or n < 2:
        return np.zeros(n, bool)
    ranks = tf.random.experimental.index_shuffle(tf.range(n, dtype=tf.int64), seed=[seed, _SPLIT],
                                                  max_index=n - 1).numpy()
    return ranks < n_val


def adapt_channels(x: Any, channels: int) -> Any:
    """Gray -> RGB by repetition, RGB -> gray by luminance, alpha dropped."""
    import tensorflow as tf

    have = int(x.shape[-1])
    if have == channels:
        return x
    if have == 4:
        x, have = x[..., :3], 3
    if have == 1 and channels == 3:
        return tf.repeat(x, 3, axis=-1)
    if have == 3 and channels == 1:
        return tf.image.rgb_to_grayscale(x)
    return x


def prepare_arrays(data: ArrayData, layout: Layout, y: np.ndarray) -> ArrayData:
    """Adapt channels and resize every image (and mask) once, in chunks: the in-memory cache."""
    import tensorflow as tf

    xs, ys = [], []
    for start in range(0, data.size, 1024):
        x = tf.constant(data.x[start:start + 1024])
        if x.shape.rank == 4:
            x = adapt_channels(x, layout.channels)
            if layout.image_size and tuple(x.shape[1:3]) != layout.image_size:
                x = tf.image.resize(x, layout.image_size, antialias=True)
        xs.append(np.asarray(x, np.float32))
        ys.append(_resize_targets(y[start:start + 1024], layout))
    return ArrayData(x=np.concatenate(xs), y=np.concatenate(ys), description=data.description,
                     class_names=data.class_names, names=data.names, rescale=data.rescale)


def _resize_targets(y: Any, layout: Layout) -> Any:
    import tensorflow as tf

    if layout.target_size is None:
        return y
    if layout.task == "segmentation":
        masks = tf.image.resize(tf.constant(y)[..., None], layout.target_size, method="nearest")[..., 0]
        return np.asarray(masks).astype(y.dtype)
    return np.asarray(tf.image.resize(tf.constant(y), layout.target_size), np.float32)


class Pipeline:
    """Training and evaluation datasets over one source and a subset of its samples."""

    def __init__(self, data: Source, layout: Layout, batch_size: int, seed: int, *,
                 subset: np.ndarray | None = None, shuffle: bool = True, shuffle_buffer: int = 10000,
                 cache: bool | str = True, augmenter: Any = None) -> None:
        self.data, self.layout, self.batch_size, self.seed = data, layout, batch_size, seed
        self.subset = subset  # boolean mask over the source; None = all samples
        self.shuffle, self.shuffle_buffer, self.cache = shuffle, shuffle_buffer, cache
        self.augmenter = augmenter
        self.indices = np.arange(data.size) if subset is None else np.flatnonzero(subset)

    @property
    def size(self) -> int:
        return int(len(self.indices))

    def batches_per_epoch(self, drop_remainder: bool = False) -> int:
        return self.size // self.batch_size if drop_remainder else -(-self.size // self.batch_size)

    # ---- training -------------------------------------------------------------------
    def train(self, first_epoch: int, epochs: int, steps: int | None = None,
              shard: tuple[int, int] | None = None) -> Any:
        """Batches of epochs ``first_epoch .. epochs-1`` in one stream (``steps`` per epoch).

        ``shard = (workers, index)``: each global batch is cut into ``workers`` equal slices
        and this worker gets slice ``index`` (multi-worker training)."""
        import tensorflow as tf

        records = self._stream()  # record sources and file caches: one cache for all epochs
        arrays = self._arrays()  # eager tensors, captured by reference (no copy in each function)

        def one_epoch(epoch: Any) -> Any:
            batches = self._epoch_batches(epoch, shard, records, arrays)
            if steps is not None:
                batches = batches.take(steps)
            if not self.augmenter:
                return batches
            return batches.enumerate().map(lambda b, xy: self._augment(epoch, b, xy, shard),
                                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

        stream = tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
        return self._finish(stream)

    def _epoch_batches(self, epoch: Any, shard: tuple[int, int] | None, records: Any,
                       arrays: tuple[Any, Any] | None) -> Any:
        import tensorflow as tf

        if records is not None:
            return self._record_epoch(records, epoch, shard)
        n, drop = self.size, shard is not None
        positions = tf.data.Dataset.range(n).batch(self.batch_size, drop_remainder=drop)
        order = self._tensors()["order"]

        def to_ids(pos: Any) -> Any:
            if self.shuffle:
                key = tf.random.experimental.stateless_fold_in(tf.constant([self.seed, _SHUFFLE], tf.int64), epoch)
                pos = tf.random.experimental.index_shuffle(pos, seed=key, max_index=n - 1)
            ids = tf.gather(order, pos)
            if shard is not None:
                per = self.batch_size // shard[0]
                ids = ids[shard[1] * per:(shard[1] + 1) * per]
            return ids

        ids = positions.map(to_ids)
        if arrays is not None:
            x, y = arrays
            return ids.map(lambda i: (tf.gather(x, i), tf.gather(y, i)),
                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        per_batch = self.batch_size if shard is None else self.batch_size // shard[0]
        return (ids.unbatch().map(self._load_file, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .batch(per_batch))

    def _record_epoch(self, records: Any, epoch: Any, shard: tuple[int, int] | None) -> Any:
        """A window shuffle keyed by (seed, epoch): each run of ``shuffle_buffer`` records is
        permuted by stateless random keys (``Dataset.shuffle`` cannot take a per-epoch tensor
        seed when the global seed is 0)."""
        import tensorflow as tf

        if self.shuffle:
            key = tf.random.experimental.stateless_fold_in(tf.constant([self.seed, _STREAM], tf.int64), epoch)

            def permute(window: Any, xy: tuple[Any, Any]) -> tuple[Any, Any]:
                x, y = xy
                noise = tf.random.stateless_uniform(tf.shape(x)[:1], seed=tf.random.experimental.stateless_fold_in(
                    key, window))
                order = tf.argsort(noise)
                return tf.gather(x, order), tf.gather(y, order)

            records = records.batch(self.shuffle_buffer).enumerate().map(permute).unbatch()
        if shard is not None:
            records = records.shard(*shard)
        per_batch = self.batch_size if shard is None else self.batch_size // shard[0]
        return records.batch(per_batch, drop_remainder=shard is not None)

    def _augment(self, epoch: Any, batch: Any, xy: tuple[Any, Any], shard: tuple[int, int] | None) -> Any:
        import tensorflow as tf

        x, y = xy
        key = tf.random.experimental.stateless_fold_in(tf.constant([self.seed, _AUGMENT], tf.int64), epoch)
        key = tf.random.experimental.stateless_fold_in(key, batch)
        if shard is not None:
            key = tf.random.experimental.stateless_fold_in(key, shard[1])
        return self.augmenter(x, y, key, training=True)

    # ---- evaluation -----------------------------------------------------------------
    def evaluate(self) -> Any:
        """All samples of the subset in order, batched, without augmentation."""
        import tensorflow as tf

        if isinstance(self.data, RecordData):
            ds = self._records().batch(self.batch_size)
        else:
            ids = tf.data.Dataset.from_tensor_slices(self.indices.astype(np.int64))
            arrays = self._arrays()
            if arrays is not None:
                x, y = arrays
                ds = ids.batch(self.batch_size).map(lambda i: (tf.gather(x, i), tf.gather(y, i)))
            else:
                ds = ids.map(self._load_file, num_parallel_calls=tf.data.AUTOTUNE).batch(self.batch_size)
                ds = self._cache(ds)
        if self.augmenter and self.augmenter.crops:
            ds = ds.map(lambda x, y: self.augmenter(x, y, None, training=False))
        return self._finish(ds)

    # ---- shared pieces ----------------------------------------------------------------
    def _tensors(self) -> dict[str, Any]:
        """The source's arrays as eager tensors, made once before any tf.data function is
        traced: functions capture them by reference instead of embedding copies."""
        import tensorflow as tf

        if not hasattr(self, "_eager"):
            eager = {"order": tf.constant(self.indices, tf.int64)}
            if isinstance(self.data, ArrayData):
                eager["x"], eager["y"] = tf.constant(self.data.x), tf.constant(self.data.y)
            if isinstance(self.data, FileData):
                from archspec.train.annotations.image_files import turned_files
                eager["paths"], eager["labels"] = tf.constant(self.data.paths), tf.constant(self.data.labels)
                turned = turned_files(self.data.paths)  # EXIF-oriented photos: Pillow turns them upright
                eager["turned"] = tf.constant(turned) if turned.any() else None
            self._eager = eager
        return self._eager

    def _arrays(self) -> tuple[Any, Any] | None:
        eager = self._tensors()
        return (eager["x"], eager["y"]) if "x" in eager else None

    def _finish(self, ds: Any) -> Any:
        import tensorflow as tf

        options = tf.data.Options()
        options.deterministic = True
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.prefetch(tf.data.AUTOTUNE).with_options(options)

    def _cache(self, ds: Any) -> Any:
        if self.cache is True:
            return ds.cache()
        if isinstance(self.cache, str) and self.cache:
            return ds.cache(self.cache)
        return ds

    def _load_file(self, index: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        data: FileData = self.data  # type: ignore[assignment]
        paths, labels, turned = (self._tensors()[k] for k in ("paths", "labels", "turned"))
        channels = self.layout.channels

        def decode() -> Any:
            return tf.io.decode_image(tf.io.read_file(paths[index]), channels=channels, expand_animations=False)

        if turned is None:
            image = decode()
        else:
            from archspec.train.annotations.image_files import read_upright_uint8

            def upright() -> Any:
                pixels = tf.numpy_function(lambda p: read_upright_uint8(p, channels), [paths[index]], tf.uint8)
                return tf.ensure_shape(pixels, [None, None, channels])

            image = tf.cond(turned[index], upright, decode)
        return self._image(image, data.rescale), labels[index]

    def _image(self, image: Any, rescale: float) -> Any:
        import tensorflow as tf

        image = tf.cast(image, tf.float32)
        if rescale != 1.0:
            image = image * rescale
        image = adapt_channels(image, self.layout.channels)
        if self.layout.image_size:
            image = tf.image.resize(image, self.layout.image_size, antialias=True)
            image.set_shape([*self.layout.image_size, self.layout.channels])
        return image

    def _stream(self) -> Any:
        """The sources read as a stream (shuffled by windows), or None for those read by index."""
        import tensorflow as tf

        if isinstance(self.data, RecordData):
            return self._records()
        if isinstance(self.data, FileData) and isinstance(self.cache, str) and self.cache:
            self._tensors()
            ids = tf.data.Dataset.from_tensor_slices(self.indices.astype(np.int64))
            return self._cache(ids.map(self._load_file, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))
        return None

    def _records(self) -> Any:
        """The subset's records parsed and preprocessed, in file order (cached if asked)."""
        import tensorflow as tf

        data: RecordData = self.data  # type: ignore[assignment]
        layout = self.layout
        member = None if self.subset is None else tf.constant(self.subset)
        ds = tf.data.TFRecordDataset(data.files, compression_type=data.compression).enumerate()
        if member is not None:
            ds = ds.filter(lambda i, _: tf.gather(member, i))

        def parse(i: Any, record: Any) -> tuple[Any, Any]:
            x, y = data.parse(record, layout.channels)
            if x.shape.rank == 3:
                x = self._image(x, data.rescale)
            else:
                x = tf.cast(x, tf.float32) * data.rescale
            if layout.task in ("classification", "segmentation") and layout.num_classes:
                bad = tf.reduce_any((y < 0) | (y >= layout.num_classes))
                tf.debugging.Assert(tf.logical_not(bad), [f"label out of range in {data.description} "
                                                          f"(the model has {layout.num_classes} classes); "
                                                          "record", i, "labels", y], summarize=8)
            if layout.target_size is not None:
                y = _resize_one_target(y, layout)
            return x, y

        ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return self._cache(ds)


def _resize_one_target(y: Any, layout: Layout) -> Any:
    import tensorflow as tf

    if layout.task == "segmentation":
        return tf.cast(tf.image.resize(y[..., None], layout.target_size, method="nearest")[..., 0], y.dtype)
    return tf.image.resize(y, layout.target_size)
