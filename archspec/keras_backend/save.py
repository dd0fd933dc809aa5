"""Saving models so that an interrupted save never replaces a good file."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from archspec.errors import UserError
from archspec.io import write_output_with


def save_model(model: Any, path: str | Path, inputs: Iterable[str | Path] = (), force: bool = False) -> None:
    """Save as ``.keras`` (loads with keras.saving.load_model after ``import archspec``), under
    ``archspec.io``'s rules for a command's output: never over ``inputs``, over a file only with ``force``."""
    if Path(path).suffix != ".keras":
        raise UserError(f"cannot save to {path}: the file name must end in .keras", "e.g. -o net.keras")
    write_output_with(path, lambda tmp: model.save(tmp), inputs, force)
