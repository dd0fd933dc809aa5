"""The ``train:`` section resolved: schema-checked, defaults filled, paths made absolute.

Pure Python (no TensorFlow). :func:`resolve_config` turns the plain dict of a spec's
``train:`` section into a frozen :class:`TrainConfig`; :func:`config_to_dict` turns it back
into JSON-able data for the run directory, from which ``--resume`` rebuilds it.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import jsonschema

from archspec.errors import Location, SpecError, SpecErrors, Stage, UserError
from archspec.spec.schema_errors import Where, translate
from archspec.train.schema import TRAIN_SCHEMA

Locator = Callable[[tuple], "Location | None"]

DEFAULT_OPTIMIZER: dict[str, Any] = {"Adam": {"learning_rate": 0.001}}
_PATH_KEYS = ("npz", "images", "tfrecord", "coco", "yolo")


@dataclass(frozen=True)
class DataConfig:
    """``train.data``: where samples come from and how the pipeline treats them."""

    source: dict[str, Any]
    validation: dict[str, Any] | None = None
    validation_split: float = 0.2
    batch_size: int = 32
    shuffle: bool = True
    shuffle_buffer: int = 10000
    cache: bool | str = True
    resize: bool | None = None
    rescale: float | None = None
    augment: tuple[Any, ...] = ()

    @property
    def resize_images(self) -> bool:
        """Resize unless told otherwise; builtin sources resize by default."""
        if self.resize is not None:
            return self.resize
        return "builtin" in self.source


@dataclass(frozen=True)
class TrainConfig:
    """The whole ``train:`` section with every default filled in."""

    data: DataConfig
    task: str = "classification"
    optimizer: Any = field(default_factory=lambda: dict(DEFAULT_OPTIMIZER))
    loss: Any = None
    metrics: tuple[Any, ...] | None = None
    weight_decay: float | None = None
    clipnorm: float | None = None
    global_clipnorm: float | None = None
    clipvalue: float | None = None
    callbacks: tuple[Any, ...] = ()
    epochs: int = 10
    steps_per_epoch: int | None = None
    seed: int = 0
    deterministic: bool = True
    monitor: str | None = None
    monitor_mode: str = "auto"
    strategy: str = "default"
    mixed_precision: bool = False
    jit_compile: bool | str = "auto"
    steps_per_execution: int = 1
    keypoints: dict[str, Any] = field(default_factory=dict)   # task: keypoints's settings (archspec.train.pose)
    detection: dict[str, Any] = field(default_factory=dict)   # task: detection's settings

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def _no_loc(path: tuple) -> Location | None:
    return None


def validate_train_section(train: Any, locate: Locator = _no_loc) -> None:
    """Check ``train`` against :data:`TRAIN_SCHEMA`; raise SpecErrors pointing at the spec,
    worded by the same translator as the rest of the spec."""
    where = Where(locate, locate)
    validator = jsonschema.Draft202012Validator(TRAIN_SCHEMA)
    errors = [e for error in validator.iter_errors(train) for e in translate(error, where, ("train",))]
    if errors:
        raise SpecErrors(errors, Stage.TRAIN)


def resolve_config(train: Mapping[str, Any] | None, *, locate: Locator = _no_loc,
                   base_dir: str | os.PathLike | None = None) -> TrainConfig:
    """Validate a ``train:`` dict and fill in defaults; relative paths become absolute.

    >>> cfg = resolve_config({"data": {"source": {"builtin": "digits"}}, "epochs": 3})
    >>> cfg.epochs, cfg.data.batch_size, cfg.data.resize_images, cfg.optimizer
    (3, 32, True, {'Adam': {'learning_rate': 0.001}})
    """
    train = dict(train or {})
    validate_train_section(train, locate)
    data = dict(train.pop("data", None) or {})
    if "source" not in data:
        raise SpecErrors([SpecError(
            "no training data: train.data.source is not set",
            "add e.g. `source: {builtin: digits}` under train.data, or pass --data builtin:digits",
            locate(("train", "data")))])
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    data["source"] = absolute_source(data["source"], base)
    if data.get("validation") is not None:
        data["validation"] = absolute_source(data["validation"], base)
    data["augment"] = tuple(data.get("augment") or ())
    for key in ("metrics", "callbacks"):
        if train.get(key) is not None:
            train[key] = tuple(train[key])
    if train.get("callbacks") is None:
        train.pop("callbacks", None)
    return TrainConfig(data=DataConfig(**data), **train)


def absolute_source(source: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """A copy of a source mapping whose path (npz/images/tfrecord) is absolute."""
    source = dict(source)
    for key in _PATH_KEYS:
        if key in source:
            path = Path(os.path.expanduser(str(source[key])))
            source[key] = str(path if path.is_absolute() else (base / path))
    return source


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """JSON-able form of a config; :func:`config_from_dict` reads it back."""
    return _plain(dataclasses.asdict(cfg))


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """Rebuild a config saved by :func:`config_to_dict` (paths are already absolute)."""
    data = dict(data)
    return resolve_config(data, base_dir="/")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not (v is None and k in _DROP_IF_NONE)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# Keys whose None means "use the default" and which the schema does not accept as null.
_DROP_IF_NONE = {"validation", "loss", "metrics", "monitor"}


def parse_data_flag(text: str, base_dir: str | os.PathLike | None = None,
                    spec_source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``--data KIND:VALUE`` as a source mapping (paths relative to the working directory).

    >>> parse_data_flag("builtin:digits")
    {'builtin': 'digits'}
    >>> parse_data_flag("npz:/data/a.npz")
    {'npz': '/data/a.npz'}
    """
    kind, sep, value = text.partition(":")
    forms = "builtin:digits, builtin:shapes, npz:PATH, images:DIR, tfrecord:GLOB, coco:PATH.json or yolo:DIR"
    if not sep or not value:
        raise UserError(f"--data {text!r} is not KIND:VALUE", f"use one of {forms}")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if kind == "builtin":
        from archspec.train.schema import BUILTINS
        if value not in BUILTINS:
            raise UserError(f"--data: there is no builtin data set {value!r}",
                            "use builtin:digits or builtin:shapes")
        return {"builtin": value}
    if kind in ("npz", "images", "coco", "yolo"):
        return absolute_source({kind: value}, base)
    if kind == "tfrecord":
        if not spec_source or "features" not in spec_source:
            raise UserError("--data tfrecord: needs a feature description",
                            "write the source in the spec: train.data.source: {tfrecord: GLOB, features: ...}")
        source = {k: v for k, v in spec_source.items() if k != "tfrecord"}
        return absolute_source({"tfrecord": value, **source}, base)
    raise UserError(f"--data: unknown kind {kind!r}", f"use one of {forms}")
