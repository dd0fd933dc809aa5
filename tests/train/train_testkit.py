"""Shared pieces of the training tests: tiny models, subprocess runs, TF state hygiene."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[2]
JOBS = Path(__file__).resolve().parent / "train_jobs.py"


@pytest.fixture(autouse=True)
def restore_tf_state() -> Any:
    """Training turns on op determinism and may set a dtype policy: undo both after a test,
    so the rest of the suite runs as it would alone."""
    yield
    if "tensorflow" in sys.modules:
        from tensorflow.python.framework import config

        config.disable_op_determinism()
    if "keras" in sys.modules:
        import keras

        keras.config.set_dtype_policy("float32")


def conv_classifier(shape: tuple[int, int, int] = (8, 8, 1), classes: int = 10, dropout: float = 0.0,
                    batchnorm: bool = False, activation: str = "softmax", name: str = "tiny") -> Callable[[], Any]:
    def factory() -> Any:
        import keras

        layers = [keras.Input(shape), keras.layers.Conv2D(4, 3, activation="relu", name="conv")]
        if batchnorm:
            layers.append(keras.layers.BatchNormalization())
        layers += [keras.layers.Flatten()]
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
        layers.append(keras.layers.Dense(classes, activation=activation, name="out"))
        return keras.Sequential(layers, name=name)

    return factory


def dense_head(shape: tuple[int, ...], units: int, activation: str | None) -> Callable[[], Any]:
    def factory() -> Any:
        import keras

        return keras.Sequential([keras.Input(shape), keras.layers.Conv2D(4, 3, activation="relu"),
                                 keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(units, activation=activation)], name="head")

    return factory


def dense_map(shape: tuple[int, ...], channels: int, activation: str | None) -> Callable[[], Any]:
    def factory() -> Any:
        import keras

        return keras.Sequential([keras.Input(shape), keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
                                 keras.layers.Conv2D(channels, 1, activation=activation)], name="maps")

    return factory


def digits_config(**changes: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"data": {"source": {"builtin": "digits"}, "batch_size": 64}, "epochs": 1,
                           "deterministic": False}
    data = changes.pop("data", {})
    cfg["data"].update(data)
    cfg.update(changes)
    return cfg


def run_job(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run tests/train/train_jobs.py in a fresh interpreter."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, str(JOBS), *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(ROOT))


def start_job(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, str(JOBS), *args], env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=str(ROOT))


def weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as npz:
        return [npz[k] for k in sorted(npz.files, key=lambda k: int(k.split("_")[-1]))]


def model_weights(model: Any) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in model.variables]


def write_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
