"""Atomic file writes: a crash never leaves a half-written file behind."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over ``path``."""
    write_atomic_with(path, lambda tmp: Path(tmp).write_bytes(data.encode() if isinstance(data, str) else data))


def write_atomic_with(path: str | Path, writer: Callable[[str], object], suffix: str = "") -> None:
    """Let ``writer`` fill a temporary path (same folder, same suffix), then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
