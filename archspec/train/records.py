"""``tfrecord:`` sources: tf.train.Example records parsed by a feature description.

```yaml
source:
  tfrecord: data/train-*.tfrecord
  features:
    image: {dtype: string, decode: png}
    label: {dtype: int64}
  x: image          # default
  y: label          # default
```
"""
from __future__ import annotations

import glob
import os
from typing import Any, Callable, Mapping

from archspec.errors import UserError
from archspec.train.source_data import RecordData

_DTYPES = {"string": "string", "int64": "int64", "float32": "float32"}


def _parser(features: Mapping[str, Any], x_key: str, y_key: str) -> Callable[..., Any]:
    import tensorflow as tf

    description = {name: tf.io.FixedLenFeature(tuple(f.get("shape", [])), getattr(tf, _DTYPES[f["dtype"]]))
                   for name, f in features.items() if name in (x_key, y_key)}

    def decode(value: Any, feature: Mapping[str, Any], channels: int) -> Any:
        kind = feature.get("decode")
        if feature["dtype"] != "string" or kind is None:
            return value
        if kind == "raw":
            raw = tf.io.decode_raw(value, getattr(tf, feature.get("raw_dtype", "uint8")))
            return tf.reshape(raw, feature.get("raw_shape", [-1]))
        image = tf.io.decode_image(value, channels=channels, expand_animations=False)
        image.set_shape([None, None, channels])
        return image

    def parse(serialized: Any, channels: int) -> tuple[Any, Any]:
        example = tf.io.parse_single_example(serialized, description)
        x = decode(example[x_key], features[x_key], channels)
        y = decode(example[y_key], features[y_key], channels)
        if y.dtype == tf.int64:
            y = tf.cast(y, tf.int32)
        return x, y

    return parse


def glob_files(pattern: str) -> list[str]:
    """Files a path or glob pattern names, sorted."""
    return sorted(p for p in glob.glob(pattern) if os.path.isfile(p))


def open_records(source: Mapping[str, Any], rescale: float, channels: int) -> RecordData:
    """Find the files, check the feature description, count the records and peek at one."""
    import tensorflow as tf

    pattern = source["tfrecord"]
    files = glob_files(pattern)
    if not files:
        raise UserError(f"no TFRecord files match {pattern}", "check train.data.source.tfrecord")
    features = source["features"]
    x_key, y_key = source.get("x", "image"), source.get("y", "label")
    for role, key in (("x", x_key), ("y", y_key)):
        if key not in features:
            raise UserError(f"the {role} feature {key!r} is not in train.data.source.features "
                            f"({', '.join(features)})", f"add it, or set train.data.source.{role}")
    parse = _parser(features, x_key, y_key)
    compression = source.get("compression", "")
    count = 0
    for path in files:  # one file at a time, so a damaged file is named
        try:
            count += int(tf.data.TFRecordDataset(path, compression_type=compression)
                         .reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as exc:
            raise UserError(f"{path}: damaged TFRecord file ({exc.message.splitlines()[0]})",
                            "re-create or remove the file") from None
    if count == 0:
        raise UserError(f"the TFRecord files {pattern} hold no records", "check the files")
    rescale = rescale if features[x_key].get("decode") in ("image", "png", "jpeg") or \
        features[x_key].get("raw_dtype") == "uint8" else 1.0
    try:
        first = next(iter(tf.data.TFRecordDataset(files[:1], compression_type=compression).take(1)))
        x, y = parse(first, channels)
    except (tf.errors.InvalidArgumentError, ValueError) as exc:
        message = getattr(exc, "message", str(exc)).splitlines()[0]
        raise UserError(f"{files[0]}: the first record does not match train.data.source.features ({message})",
                        "fix the feature names, dtypes and shapes") from None
    return RecordData(files=files, parse=parse, count=count, description=f"tfrecord:{pattern}",
                      compression=compression, rescale=rescale, x_shape=tuple(x.shape), y_shape=tuple(y.shape))
