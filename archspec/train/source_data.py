"""What a data source loads into: samples in memory, image files, or a record stream.

Three forms, because they shuffle differently (see ``pipeline``):

- :class:`ArrayData`: samples in memory (builtin, npz, images with ``cache: true``); any
  sample can be read by index, so each epoch is a full permutation.
- :class:`FileData`: image files with integer labels; also read by index, decoded each epoch.
- :class:`RecordData`: TFRecord files, read as a stream through a seeded shuffle buffer.

``sources`` and ``records`` make them; ``pipeline`` and ``datasets`` read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class ArrayData:
    """Samples in memory: x float32 (N, ...), y (N, ...)."""

    x: np.ndarray
    y: np.ndarray
    description: str
    class_names: tuple[str, ...] | None = None
    names: np.ndarray | None = None        # per-sample file names, for messages
    rescale: float = 1.0                   # already applied to x; recorded for predict

    @property
    def size(self) -> int:
        return int(len(self.x))

    def sample_name(self, index: int) -> str:
        if self.names is not None:
            return str(self.names[index])
        return f"{self.description} sample {index}"


@dataclass
class FileData:
    """Image files and integer labels, decoded in the pipeline."""

    paths: np.ndarray
    labels: np.ndarray
    description: str
    class_names: tuple[str, ...]
    rescale: float = 1.0 / 255.0

    @property
    def size(self) -> int:
        return int(len(self.paths))

    def sample_name(self, index: int) -> str:
        return str(self.paths[index])


@dataclass
class RecordData:
    """TFRecord files; ``parse(serialized, channels)`` gives (x, y) tensors."""

    files: list[str]
    parse: Callable[..., Any]
    count: int
    description: str
    compression: str = ""
    rescale: float = 1.0
    class_names: tuple[str, ...] | None = None
    x_shape: tuple[int, ...] = field(default_factory=tuple)
    y_shape: tuple[int, ...] = field(default_factory=tuple)

    @property
    def size(self) -> int:
        return self.count

    def sample_name(self, index: int) -> str:
        return f"record {index} of {self.description}"


Source = ArrayData | FileData | RecordData
