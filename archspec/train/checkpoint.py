"""Resume state: every variable that decides what the next epoch computes.

A checkpoint is ``checkpoints/epoch-NNNN.npz`` (arrays) plus ``epoch-NNNN.json`` (the epoch,
history, best value, callback states and the SHA-256 of the npz), both written atomically,
the JSON last. It holds:

- ``model.variables``: weights, batch-norm statistics and the **seed-generator state** of
  every random layer (Dropout, in-model augmentation), which ``.weights.h5`` and
  ``.keras`` files leave out;
- ``optimizer.variables``: iteration count, learning rate, moments;
- Keras's global seed generator, when something used it.

A checkpoint whose JSON is missing, or whose npz is truncated or does not match its hash, is
skipped with a warning and the one before it is used. The last ``keep`` are kept.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archspec.errors import UserError
from archspec.train.rundir import read_json, write_bytes, write_json

log = logging.getLogger("archspec.train")
_NAME = re.compile(r"^epoch-(\d{4,})\.json$")


@dataclass
class Checkpoint:
    epoch: int                 # epochs completed
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]


def _global_seed_state() -> Any:
    try:
        from keras.src.backend.common import global_state
        generator = global_state.get_global_attribute("global_seed_generator")
    except ImportError:
        return None
    return None if generator is None else generator.state


def state_variables(model: Any, optimizer: Any) -> dict[str, Any]:
    """Name -> variable for everything a checkpoint saves, in a stable order."""
    out: dict[str, Any] = {}
    for i, v in enumerate(model.variables):
        out[f"model/{i:05d}"] = v
    for i, v in enumerate(optimizer.variables if optimizer is not None else []):
        out[f"optimizer/{i:05d}"] = v
    seed = _global_seed_state()
    if seed is not None:
        out["global_seed"] = seed
    return out


def save_checkpoint(folder: Path, epoch: int, model: Any, optimizer: Any, meta: dict[str, Any],
                    keep: int = 2) -> None:
    """Write epoch ``epoch``'s state; remove all but the newest ``keep`` checkpoints."""
    variables = state_variables(model, optimizer)
    arrays = {name: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for name, v in variables.items()}
    buffer = io.BytesIO()
    named: dict[str, Any] = {name.replace("/", "__"): a for name, a in arrays.items()}
    np.savez(buffer, **named)
    data = buffer.getvalue()
    stem = folder / f"epoch-{epoch:04d}"
    write_bytes(stem.with_suffix(".npz"), data)
    write_json(stem.with_suffix(".json"), {
        **meta, "epoch": epoch, "sha256": hashlib.sha256(data).hexdigest(),
        "variables": {name: {"path": getattr(v, "path", name), "shape": list(arrays[name].shape)}
                      for name, v in variables.items()},
    })
    for old in _epochs(folder)[:-keep]:
        for suffix in (".json", ".npz"):
            (folder / f"epoch-{old:04d}{suffix}").unlink(missing_ok=True)


def _epochs(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _NAME.match(p.name)))


def load_latest(folder: Path) -> Checkpoint | None:
    """The newest intact checkpoint, falling back past damaged ones; None if there is none."""
    for epoch in reversed(_epochs(folder)):
        stem = folder / f"epoch-{epoch:04d}"
        try:
            meta = read_json(stem.with_suffix(".json"))
            data = stem.with_suffix(".npz").read_bytes()
            if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise ValueError("its contents do not match the recorded SHA-256 (truncated?)")
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {key.replace("__", "/"): npz[key] for key in npz.files}
        except (UserError, OSError, ValueError, EOFError) as exc:
            log.warning("warning: checkpoint %s is damaged (%s); trying the one before it", stem.name,
                        getattr(exc, "message", exc))
            continue
        return Checkpoint(epoch, arrays, meta)
    return None


def restore(checkpoint: Checkpoint, model: Any, optimizer: Any) -> None:
    """Assign a checkpoint's arrays to the model and the (built) optimizer."""
    variables = state_variables(model, optimizer)
    saved = {k for k in checkpoint.arrays if k != "global_seed"}
    wanted = {k for k in variables if k != "global_seed"}
    if saved != wanted:
        raise UserError(f"the checkpoint of epoch {checkpoint.epoch} has {len(saved)} variables but this model "
                        f"and optimizer have {len(wanted)}",
                        "resume with the spec and settings the run was started with")
    if "global_seed" in checkpoint.arrays and "global_seed" not in variables:
        try:
            from keras.src.random.seed_generator import global_seed_generator
            variables["global_seed"] = global_seed_generator().state
        except ImportError:
            pass
    for name, variable in variables.items():
        if name not in checkpoint.arrays:
            continue
        value = checkpoint.arrays[name]
        if tuple(variable.shape) != value.shape:
            raise UserError(f"checkpoint variable {checkpoint.meta['variables'][name]['path']} has shape "
                            f"{value.shape}, the model's has {tuple(variable.shape)}",
                            "resume with the spec the run was started with")
        variable.assign(value)
