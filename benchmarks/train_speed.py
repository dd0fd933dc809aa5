"""Training speed: ``archspec train`` against a hand-tuned tf.data script and a naive one.

Same model (LeNet-5 from specs/lenet5.yaml), same data (builtin:shapes, 32x32x1, one shape
per image, 80/20 split), same batch size, same optimizer. Each variant runs in its own
process (op determinism is process-wide), several times, interleaved; medians are reported.

- ``archspec``: ``archspec.train.runner.train_model`` as ``archspec train`` runs it
  (op determinism on, checkpoints, best/last.keras, TensorBoard, history every epoch)
- ``archspec-nondet``: the same with ``deterministic: false``
- ``tuned``: ``from_tensor_slices -> cache -> shuffle(N) -> batch -> prefetch(AUTOTUNE)``
- ``naive``: ``model.fit(x, y, batch_size=..., shuffle=True)`` on NumPy arrays

Measured per variant: training steps/s (from the first batch to the last batch of each
epoch after the first, so tracing and validation are excluded) and the same per CPU-second
of the process (steady on a shared machine, where wall-clock rates swing with other load);
wall seconds per epoch (epoch start to next epoch start: validation and every epoch-end
write included); and the input-wait fraction: the share of a training loop's time spent
blocked in ``next()`` on the variant's own prefetching dataset, with the model's compiled
step run on each batch.

    python benchmarks/train_speed.py                 # all variants, 3 rounds
    python benchmarks/train_speed.py --rounds 1 --samples 8000 --epochs 3
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("archspec", "archspec-nondet", "tuned", "naive")


def _timer() -> Any:
    import keras

    class Timer(keras.callbacks.Callback):
        # Batch-end hooks run on Keras's callback thread once a step's logs are ready, so the
        # timer neither blocks nor serialises the training loop.
        async_safe = True

        def __init__(self) -> None:
            super().__init__()
            self.train: list[float] = []
            self.cpu: list[float] = []
            self.epoch_starts: list[float] = []
            self.steps: list[int] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch_starts.append(time.perf_counter())
            self._first = None
            self._count = 0

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            if self._first is None:
                self._first, self._first_cpu = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._last, self._last_cpu = time.perf_counter(), time.process_time()
            self._count = batch + 1

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.train.append(self._last - self._first)
            self.cpu.append(self._last_cpu - self._first_cpu)
            self.steps.append(self._count)

        def on_train_end(self, logs: Any = None) -> None:
            self.epoch_starts.append(time.perf_counter())

    return Timer()


def _data(samples: int, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """The same samples and split as archspec uses for builtin:shapes."""
    import numpy as np

    from archspec.train.pipeline import validation_mask
    from archspec.train.synthetic_shapes import make_shapes

    shapes = make_shapes(samples=samples, size=32, channels=1, seed=0, single=True)
    held_out = validation_mask(samples, 0.2, seed)
    return (shapes.x[~held_out], shapes.label[~held_out], shapes.x[held_out],
            np.asarray(shapes.label[held_out]))


def _model() -> Any:
    from archspec.api import compile_spec
    from archspec.keras_backend.model_builder import build_model

    return build_model(compile_spec(ROOT / "specs" / "lenet5.yaml").graph)


def _compile(model: Any, lr: float) -> None:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(lr), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])


def input_wait(model: Any, dataset: Any, steps: int) -> float:
    """Fraction of a training loop's time spent blocked on the input pipeline.

    The loop takes each batch from the (prefetching) dataset's iterator, timing ``next``,
    and runs the model's own compiled training step on it, as ``fit`` does."""
    model.make_train_function()
    iterator = iter(dataset)
    model.train_function(iter([next(iterator)]))  # warm up: tracing is not input time
    waited, start = 0.0, time.perf_counter()
    for _ in range(steps):
        before = time.perf_counter()
        batch = next(iterator)
        waited += time.perf_counter() - before
        model.train_function(iter([batch]))
    return waited / (time.perf_counter() - start)


def run_variant(variant: str, samples: int, epochs: int, batch: int, lr: float) -> dict[str, Any]:
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    timer = _timer()
    x, y, xv, yv = _data(samples)
    if variant.startswith("archspec"):
        from archspec.train.config import resolve_config
        from archspec.train.datasets import ModelIO, build_data
        from archspec.train.runner import train_model
        cfg = {"data": {"source": {"builtin": "shapes", "samples": samples, "size": 32}, "batch_size": batch},
               "optimizer": {"Adam": {"learning_rate": lr}}, "epochs": epochs,
               "deterministic": variant == "archspec"}
        with tempfile.TemporaryDirectory() as run:
            model = train_model(_model, cfg, Path(run) / "run", verbose=0, callbacks=[timer]).model
        pipeline = build_data(resolve_config(cfg), ModelIO((32, 32, 1), (3,)), lambda p: None).train
        dataset = pipeline.train(0, 10 ** 6)
    else:
        model = _model()
        _compile(model, lr)
        if variant == "tuned":
            train = (tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(len(x), seed=0)
                     .batch(batch).prefetch(tf.data.AUTOTUNE))
            val = tf.data.Dataset.from_tensor_slices((xv, yv)).batch(batch).cache().prefetch(tf.data.AUTOTUNE)
            model.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[timer])
            dataset = train.repeat()
        else:
            model.fit(x, y, batch_size=batch, epochs=epochs, validation_data=(xv, yv), shuffle=True,
                      verbose=0, callbacks=[timer])
            from keras.src.trainers.data_adapters import get_data_adapter  # what fit(x, y) reads from
            dataset = get_data_adapter(x, y, batch_size=batch, shuffle=True).get_tf_dataset().repeat()
    later = list(zip(timer.steps[1:], timer.train[1:], timer.cpu[1:]))
    return {"variant": variant,
            "steps_per_s": statistics.median(n / t for n, t, _ in later),
            "steps_per_cpu_s": statistics.median(n / c for n, _, c in later),
            "epoch_s": statistics.median(b - a for a, b in zip(timer.epoch_starts[1:-1], timer.epoch_starts[2:])),
            "input_wait": input_wait(model, dataset, min(2 * timer.steps[-1], 400)),
            "steps_per_epoch": timer.steps[-1],
            "val_accuracy": float(model.evaluate(xv, yv, batch_size=batch, verbose=0)[1]),
            "samples": samples, "batch": batch, "epochs": epochs, "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=VARIANTS, help="run one variant in this process (internal)")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write all measurements here")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.samples, args.epochs, args.batch, args.lr)))
        return
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    runs: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        for variant in VARIANTS:
            cmd = [sys.executable, __file__, "--variant", variant, "--samples", str(args.samples),
                   "--epochs", str(args.epochs), "--batch", str(args.batch), "--lr", str(args.lr)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            result["round"], result["load_avg"] = round_, os.getloadavg()[0]
            runs.append(result)
            print(f"round {round_} {variant:16s} {result['steps_per_s']:7.1f} steps/s  "
                  f"{result['steps_per_cpu_s']:6.1f} steps/cpu-s  {result['epoch_s']:6.2f} s/epoch  "
                  f"input wait {result['input_wait']:5.1%}  (load {result['load_avg']:.2f})", flush=True)
    report(runs)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


def report(runs: list[dict[str, Any]]) -> None:
    keys = ("steps_per_s", "steps_per_cpu_s", "epoch_s", "input_wait", "val_accuracy")
    med = {v: {k: statistics.median(r[k] for r in runs if r["variant"] == v) for k in keys} for v in VARIANTS}
    print("\n| variant | steps/s | steps per CPU-second | s/epoch (wall) | input wait | val acc |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for v in VARIANTS:
        m = med[v]
        print(f"| {v} | {m['steps_per_s']:.1f} | {m['steps_per_cpu_s']:.1f} | {m['epoch_s']:.2f} | "
              f"{m['input_wait']:.1%} | {m['val_accuracy']:.3f} |")
    for v in ("archspec", "archspec-nondet"):
        ratio = {k: (med[v][k] / med["tuned"][k], med[v][k] / med["naive"][k])
                 for k in ("steps_per_s", "steps_per_cpu_s")}
        wall = (med["tuned"]["epoch_s"] / med[v]["epoch_s"], med["naive"]["epoch_s"] / med[v]["epoch_s"])
        print(f"\n{v}: steps/s {ratio['steps_per_s'][0]:.3f}x tuned, {ratio['steps_per_s'][1]:.3f}x naive; "
              f"steps per CPU-second {ratio['steps_per_cpu_s'][0]:.3f}x tuned, "
              f"{ratio['steps_per_cpu_s'][1]:.3f}x naive; "
              f"wall per epoch {wall[0]:.3f}x tuned, {wall[1]:.3f}x naive")


if __name__ == "__main__":
    main()
