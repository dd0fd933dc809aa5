"""Atomic file writes: a crash or ``kill -9`` never leaves a half-written file behind."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write text or bytes to ``path`` atomically."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    write_atomic_with(path, lambda tmp: tmp.write_bytes(payload))


def write_atomic_with(path: str | Path, write: Callable[[Path], object]) -> None:
    """Let ``write`` fill a temporary file beside ``path`` (same suffix: Keras wants ``.keras``),
    fsync it, rename it over ``path`` and fsync the folder. On any error the temporary file is
    removed, the previous ``path`` is kept, and the error propagates."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        remove_quietly(tmp)
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the rename itself is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
