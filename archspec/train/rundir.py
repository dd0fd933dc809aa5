"""The run directory: every file written whole or not at all.

```
runs/<name>-<YYYY-MM-DDTHH-MM-SS>/
  spec.yaml          the spec as trained (with --set overrides applied)
  train_config.json  the train section with every default filled in
  run.json           command line, versions, effective settings, status
  data.json          a summary of the data (sizes, shapes, classes, preprocessing)
  history.csv        one row per epoch: Keras's metric names
  metrics.json       the last epoch's metrics, the best epoch and the run's status
  curves.png         loss and metrics per epoch
  best.keras         the model at the best monitored epoch
  last.keras         the model after the last completed epoch
  checkpoints/       state for --resume (weights, optimizer, seed-generator states)
  tensorboard/       TensorBoard logs
```

Each file is written to a temporary name in the same folder, flushed to disk, then renamed
over the old one (``os.replace``, atomic on POSIX and Windows): a crash or ``kill -9``
leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from archspec.errors import RunFailure, UserError
from archspec.io import write_atomic_with

def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``archspec.io.write_atomic_with``; a failed write is a RunFailure (the old file is kept)."""
    try:
        write_atomic_with(path, write)
    except OSError as exc:
        raise RunFailure(f"cannot write {path}: {exc.strerror or exc}",
                         "free disk space or check permissions; the previous version of the file is kept") from None


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing", "is this a run directory written by archspec train?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is damaged ({exc})", "the run directory cannot be used") from None


class RunDir:
    """Paths of a run directory and atomic writers for its files."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @classmethod
    def for_worker(cls, out: str | os.PathLike | None) -> "RunDir":
        """The chief's run directory as a multi-worker worker other than the chief sees it: the
        same ``--out`` on a shared file system, which the chief may have filled already; this
        worker only reads it (``--resume``) and never writes, creates or discards it."""
        if out is None:
            raise UserError("--strategy multi-worker needs --out on every worker",
                            "give every worker the same --out, on a file system they all see")
        return cls(Path(out))

    @classmethod
    def create(cls, name: str, out: str | os.PathLike | None = None, root: str | os.PathLike = "runs") -> "RunDir":
        """A new run directory: ``out`` if given (must be new or empty), else runs/<name>-<time>."""
        if out is not None:
            path = Path(out)
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise UserError(f"--out {path} already exists and is not empty",
                                "choose a new folder, or continue that run with --resume")
        else:
            stamp = time.strftime("%Y-%m-%dT%H-%M-%S")
            path = Path(root) / f"{name}-{stamp}"
            suffix = 2
            while path.exists():
                path = Path(root) / f"{name}-{stamp}-{suffix}"
                suffix += 1
        try:
            path.mkdir(parents=True, exist_ok=True)
            (path / "checkpoints").mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the run directory {path}: {exc.strerror}", "check --out") from None
        return cls(path)

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        """An existing run directory (for --resume, evaluate, predict, export, activations)."""
        run = cls(path)
        if not run.path.is_dir():
            raise UserError(f"{run.path} is not a run directory", "give the folder archspec train wrote (runs/...)")
        if not (run / "train_config.json").is_file():
            raise UserError(f"{run.path} has no train_config.json",
                            "is this a run directory written by archspec train?")
        return run

    def discard_if_unused(self) -> None:
        """Remove the directory if nothing but its empty checkpoints folder was made."""
        try:
            if any(self.checkpoints.iterdir()) or any(p.name != "checkpoints" for p in self.path.iterdir()):
                return
            self.checkpoints.rmdir()
            self.path.rmdir()
        except OSError:
            pass

    def write_text(self, name: str, text: str) -> None:
        write_text(self / name, text)

    def write_json(self, name: str, data: Any) -> None:
        write_json(self / name, data)

    def read_json(self, name: str) -> Any:
        return read_json(self / name)

    def save_model(self, model: Any, name: str) -> None:
        atomic_write(self / name, lambda tmp: model.save(tmp))

    def write_history(self, rows: Iterable[Mapping[str, Any]]) -> None:
        rows = list(rows)
        keys: list[str] = ["epoch"]
        for row in rows:
            keys += [k for k in row if k not in keys]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k, "")) for k in keys})
        self.write_text("history.csv", buffer.getvalue())


def _csv_value(value: Any) -> Any:
    return repr(float(value)) if isinstance(value, float) else value
