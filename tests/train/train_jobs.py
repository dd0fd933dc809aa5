"""Training jobs the tests run in fresh interpreters: ``python train_jobs.py MODE OUT``.

- ``resume-full``: the reference run, never interrupted
- ``resume-kill``: the same run, killed with SIGKILL in the middle of epoch 3
- ``resume-continue``: ``--resume`` of a killed run
- ``mirrored``: MirroredStrategy on two logical CPU devices, then the default strategy
- ``worker``: one worker of a MultiWorkerMirroredStrategy run (TF_CONFIG in the environment)

Each writes the final ``model.variables`` to ``OUT/final.npz`` (``OUT/default/final.npz``).
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Shuffling, Dropout, BatchNormalization, random augmentation, momentum and a schedule: every
# piece of state that a resumed run must get back exactly.
RESUME_CONFIG: dict[str, Any] = {
    "data": {"source": {"builtin": "digits"}, "batch_size": 32,
             "augment": [{"RandomRotation": {"factor": 0.1}}, {"RandomZoom": {"height_factor": 0.1}},
                         {"RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1}}]},
    "optimizer": {"SGD": {"learning_rate": {"CosineDecay": {"initial_learning_rate": 0.05}}, "momentum": 0.9}},
    "epochs": 4, "steps_per_epoch": 12, "seed": 7,
}
# The same global batch on one replica, two replicas in one process, or two worker processes.
DISTRIBUTED_CONFIG: dict[str, Any] = {
    "data": {"source": {"builtin": "digits"}, "batch_size": 64},
    "optimizer": {"SGD": {"learning_rate": 0.05, "momentum": 0.9}},
    "epochs": 2, "steps_per_epoch": 6, "seed": 3,
}


def kill_in_epoch_3() -> Any:
    import keras

    class KillInEpoch3(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if self.epoch == 2 and batch == 4:
                os.kill(os.getpid(), signal.SIGKILL)

    return KillInEpoch3()


def save(model: Any, out: Path) -> None:
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "final.npz", *[np.asarray(v.numpy()) for v in model.variables])


def main(mode: str, out: str) -> None:
    out_dir = Path(out)
    if mode == "mirrored":  # logical devices must be configured before TensorFlow initialises
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from archspec.train.runner import train_model
    from train_testkit import conv_classifier

    resume_model = conv_classifier(dropout=0.3, batchnorm=True)
    if mode == "resume-full":
        save(train_model(resume_model, RESUME_CONFIG, out_dir, verbose=0).model, out_dir)
    elif mode == "resume-kill":
        train_model(resume_model, RESUME_CONFIG, out_dir, verbose=0, callbacks=[kill_in_epoch_3()])
    elif mode == "resume-continue":
        save(train_model(resume_model, None, out_dir, resume=True, verbose=0).model, out_dir)
    elif mode == "mirrored":
        result = train_model(conv_classifier(), {**DISTRIBUTED_CONFIG, "strategy": "mirrored"}, out_dir, verbose=0)
        print("replicas", result.model.distribute_strategy.num_replicas_in_sync)
        save(result.model, out_dir)
        default = train_model(conv_classifier(), DISTRIBUTED_CONFIG, out_dir / "default", verbose=0)
        save(default.model, out_dir / "default")
    elif mode == "worker":
        result = train_model(conv_classifier(), {**DISTRIBUTED_CONFIG, "strategy": "multi-worker"}, out_dir, verbose=0)
        save(result.model, out_dir)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
