"""train_model with small hand-built Keras models: the run directory, tasks, settings, failures."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archspec.errors import RunFailure, SpecErrors, UserError
from archspec.train.runner import train_model
from train_testkit import (conv_classifier, dense_head, dense_map, digits_config, model_weights,  # noqa: F401
                          restore_tf_state)


def test_run_directory_holds_every_file_written_whole(tmp_path: Path) -> None:
    import keras

    run = tmp_path / "run"
    result = train_model(conv_classifier(dropout=0.2), digits_config(epochs=3, steps_per_epoch=5), run,
                         spec_text="name: tiny\n", command=["archspec", "train", "x.yaml"], verbose=0)
    assert result.status == "completed"
    for name in ("spec.yaml", "train_config.json", "run.json", "data.json", "history.csv", "metrics.json",
                 "curves.png", "best.keras", "last.keras"):
        assert (run / name).is_file(), name
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(rows[0])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epoch"] == 3 and metrics["monitor"] == "val_loss"
    assert metrics["val_accuracy"] == pytest.approx(float(rows[-1]["val_accuracy"]))
    assert 1 <= metrics["best_epoch"] <= 3
    info = json.loads((run / "run.json").read_text())
    assert info["command"] == ["archspec", "train", "x.yaml"]
    assert info["effective"]["global_batch"] == 64 and info["effective"]["steps_per_epoch"] == 5
    data = json.loads((run / "data.json").read_text())
    assert data["samples"] == {"train": 1438, "validation": 359} and data["source"] == "builtin:digits"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "epoch-0002.json", "epoch-0002.npz", "epoch-0003.json", "epoch-0003.npz"]
    assert list((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert not list(run.rglob(".*.tmp-*"))
    loaded = keras.saving.load_model(run / "last.keras")
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), result.model.get_weights()))


def test_a_seed_repeats_a_run_bit_for_bit(tmp_path: Path) -> None:
    cfg = digits_config(epochs=1, steps_per_epoch=6, deterministic=True,
                        data={"augment": [{"RandomRotation": {"factor": 0.1}}]})
    factory = conv_classifier(dropout=0.3)
    a = model_weights(train_model(factory, cfg, tmp_path / "a", verbose=0).model)
    b = model_weights(train_model(factory, cfg, tmp_path / "b", verbose=0).model)
    c = model_weights(train_model(factory, {**cfg, "seed": 1}, tmp_path / "c", verbose=0).model)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    import keras

    class Explode(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            if epoch == 1:
                self.model.optimizer.learning_rate.assign(1e30)

    run = tmp_path / "run"
    cfg = digits_config(epochs=3, steps_per_epoch=5, optimizer={"SGD": {"learning_rate": 0.01}})
    with pytest.raises(RunFailure, match="training diverged in epoch 2: .* the last good checkpoint \\(epoch 1\\)"):
        train_model(conv_classifier(), cfg, run, verbose=0, callbacks=[Explode()])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["epoch"] == 1
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch-0001.json", "epoch-0001.npz"]
    last = keras.saving.load_model(run / "last.keras")
    assert all(np.isfinite(w).all() for w in last.get_weights())


@pytest.mark.parametrize("task, factory, metric", [
    ("multilabel", dense_head((16, 16, 1), 3, "sigmoid"), "val_auc"),
    ("regression", dense_head((16, 16, 1), 3, None), "val_mae"),
    ("segmentation", dense_map((16, 16, 1), 4, "softmax"), "val_mean_iou"),
    ("keypoints", dense_map((16, 16, 1), 3, None), "val_mae"),
])
def test_each_task_trains_on_builtin_shapes(tmp_path: Path, task: str, factory: Any, metric: str) -> None:
    cfg = {"task": task, "epochs": 1, "deterministic": False, "steps_per_epoch": 3,
           "data": {"source": {"builtin": "shapes", "samples": 80, "size": 16}, "batch_size": 16,
                    "augment": [{"RandomFlip": {}}, {"RandomContrast": {"factor": 0.2}}]}}
    result = train_model(factory, cfg, tmp_path / task, verbose=0)
    assert metric in result.history[-1] and np.isfinite(result.history[-1][metric])


def test_spec_overrides_reach_keras(tmp_path: Path) -> None:
    cfg = digits_config(
        epochs=2, steps_per_epoch=4, weight_decay=0.001, clipnorm=1.0,
        optimizer={"AdamW": {"learning_rate": {"CosineDecay": {"initial_learning_rate": 0.01}}}},
        loss={"SparseCategoricalCrossentropy": {"from_logits": True}},
        metrics=["accuracy", {"SparseTopKCategoricalAccuracy": {"k": 2}}],
        callbacks=[{"EarlyStopping": {"patience": 5, "monitor": "val_loss"}}], monitor="val_accuracy")
    result = train_model(conv_classifier(activation=None), cfg, tmp_path / "run", verbose=0)
    optimizer = result.model.optimizer
    assert type(optimizer).__name__ == "AdamW" and optimizer.clipnorm == 1.0 and optimizer.weight_decay == 0.001
    assert optimizer._learning_rate.decay_steps == 8  # the run's total steps
    assert "val_sparse_top_k_categorical_accuracy" in result.history[-1]
    assert result.metrics["monitor"] == "val_accuracy"
    saved = json.loads((tmp_path / "run" / "checkpoints" / "epoch-0002.json").read_text())
    assert saved["callbacks"][0]["wait"] in (0, 1)


def test_linear_outputs_train_from_logits(tmp_path: Path) -> None:
    result = train_model(conv_classifier(activation=None), digits_config(steps_per_epoch=2), tmp_path / "r", verbose=0)
    assert result.model.loss.from_logits is True


def test_bad_keras_names_are_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecErrors, match="Keras has no optimizer named 'Adamm'; did you mean 'Adam'"):
        train_model(conv_classifier(), digits_config(optimizer="Adamm"), tmp_path / "a", verbose=0)
    with pytest.raises(SpecErrors, match="ModelCheckpoint is managed by archspec; best.keras and last.keras"):
        train_model(conv_classifier(), digits_config(callbacks=["ModelCheckpoint"]), tmp_path / "b", verbose=0)
    with pytest.raises(SpecErrors, match="optimizer SGD: .*momentum"):
        train_model(conv_classifier(), digits_config(optimizer={"SGD": {"momentum": -3}}), tmp_path / "c",
                    verbose=0)


def test_output_that_does_not_fit_the_task_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"a classification model needs an output of shape \(classes,\)"):
        train_model(dense_map((8, 8, 1), 10, "softmax"), digits_config(), tmp_path / "a", verbose=0)


def test_mixed_precision_jit_and_steps_per_execution_are_logged(tmp_path: Path, caplog: Any) -> None:
    import keras

    cfg = digits_config(steps_per_epoch=6, steps_per_execution=4, mixed_precision=True, jit_compile=True)
    with caplog.at_level("INFO", logger="archspec.train"):
        train_model(conv_classifier(), cfg, tmp_path / "run", verbose=0)
    effective = json.loads((tmp_path / "run" / "run.json").read_text())["effective"]
    assert (effective["dtype_policy"], effective["jit_compile"], effective["steps_per_execution"]) == \
        ("mixed_bfloat16", True, 3)
    assert "dtype policy mixed_bfloat16" in caplog.text and "steps_per_execution 3" in caplog.text
    assert "bfloat16, which is usually slower" in caplog.text
    assert keras.config.dtype_policy().name == "float32"  # put back after the run


def test_resume_extends_a_finished_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_model(conv_classifier(), digits_config(epochs=1, steps_per_epoch=3), run, verbose=0)
    from archspec.train.runner import load_run_config
    from archspec.train.rundir import RunDir

    cfg = load_run_config(RunDir(run)).replace(epochs=2)
    result = train_model(conv_classifier(), cfg, run, resume=True, verbose=0)
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert json.loads((run / "run.json").read_text())["resumes"][0]["from_epoch"] == 1


def test_tensorboard_callback_does_no_work_per_batch(tmp_path) -> None:
    """Keras 3's TensorBoard callback runs a summary op per metric on every batch even when it
    writes per-epoch summaries only; ours keeps the base class's empty batch hooks."""
    from keras.src import utils

    from archspec.train.rundir import RunDir
    from archspec.train.runner import tensorboard_callback

    (callback,) = tensorboard_callback(RunDir(tmp_path / "run"))
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end"):
        assert utils.is_default(getattr(callback, hook)), hook
