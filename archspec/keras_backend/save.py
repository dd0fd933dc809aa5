"""Saving models so that an interrupted save never replaces a good file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from archspec.errors import UserError
from archspec.io import write_atomic_with


def save_model(model: Any, path: str | Path) -> None:
    """Save as ``.keras`` (loads with keras.saving.load_model after ``import archspec``)."""
    if Path(path).suffix != ".keras":
        raise UserError(f"cannot save to {path}: the file name must end in .keras", "e.g. -o net.keras")
    try:
        write_atomic_with(path, lambda tmp: model.save(tmp))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}", "check the folder exists and is writable") from None
