"""TensorFlow errors raised while training, as archspec errors naming what failed."""
from __future__ import annotations

from archspec.errors import RunFailure, UserError
from archspec.train.datasets import DataBundle
from archspec.train.source_data import FileData
from archspec.train.sources import find_broken_image


def translate_error(exc: Exception, data: DataBundle) -> UserError | RunFailure:
    """A TensorFlow error raised while training, as an archspec error naming what failed."""
    import tensorflow as tf

    if not isinstance(exc, tf.errors.OpError):
        raise exc
    text = (exc.message or str(exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if "label out of range" in exc.message:
        detail = exc.message[exc.message.find("label out of range"):].splitlines()[0]
        return UserError(detail, "fix the labels, or give the last layer one unit per class")
    from archspec.train.annotations.image_files import UNDECODABLE
    if UNDECODABLE in text:  # an object data set's image, named by its loader
        return UserError(text[text.find(UNDECODABLE):].splitlines()[0], "delete or replace the file")
    source = data.train.data
    if isinstance(exc, tf.errors.InvalidArgumentError) and isinstance(source, FileData):
        broken = find_broken_image(source.paths)
        if broken:
            return UserError(f"{broken}: cannot decode the image ({first})", "delete or replace the file")
    if isinstance(exc, tf.errors.ResourceExhaustedError):
        return RunFailure(f"out of memory while training ({first})", "lower train.data.batch_size")
    return RunFailure(f"training failed in TensorFlow: {first}", None)
