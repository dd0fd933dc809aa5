"""Detection training throughput: specs/yolo-tiny.yaml built by archspec against the same
network written by hand in Keras, both trained with the same YOLOv5 loss (one LevelLoss per
level), optimizer and batches.

The batches are fixed tensors (builtin:shapes images letterboxed once, with their padded
targets) so that only the model's compiled training step is measured: images/s over ``--steps``
steps after ``--warmup`` steps (tracing excluded), per wall-clock second and per CPU-second of
the process (steadier on a shared machine). The variants alternate for ``--rounds`` rounds;
medians are printed with the ratio archspec / hand-written.

    python benchmarks/detection_throughput.py                 # 3 rounds of 30 steps
    python benchmarks/detection_throughput.py --rounds 1 --steps 10
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "yolo-tiny.yaml"


def archspec_model() -> Any:
    from archspec.api import compile_spec
    from archspec.keras_backend.model_builder import build_model
    return build_model(compile_spec(SPEC).graph)


def hand_written_model() -> Any:
    """yolo-tiny as one would write it in Keras: the same layers, sizes and order."""
    import keras
    from keras import layers

    def unit(x: Any, filters: int, kernel: int = 3) -> Any:
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        return layers.LeakyReLU(negative_slope=0.1)(x)

    inputs = keras.Input((64, 64, 3))
    x = layers.MaxPooling2D(2)(unit(inputs, 16))
    x = layers.MaxPooling2D(2)(unit(x, 32))
    x = layers.MaxPooling2D(2)(unit(x, 64))
    c4 = unit(x, 64)
    neck = unit(unit(layers.MaxPooling2D(2)(c4), 128), 64, 1)
    p4 = layers.Conv2D(24, 1)(unit(neck, 128))
    up = layers.UpSampling2D(2)(unit(neck, 32, 1))
    p3 = layers.Conv2D(24, 1)(unit(layers.Concatenate()([up, c4]), 64))
    return keras.Model(inputs, [p3, p4], name="yolo_tiny_keras")


def batches(batch_size: int) -> tuple[Any, tuple[Any, ...]]:
    import tensorflow as tf

    from archspec.train.annotations.load import load_objects
    from archspec.train.annotations.dataset import object_dataset
    from archspec.train.detection.data import packed_targets

    data = load_objects({"builtin": "shapes", "samples": batch_size}, "detection")
    images, targets = next(iter(object_dataset(data, (64, 64, 3), batch_size)))
    return tf.constant(images), packed_targets(targets, 2)


def images_per_second(factory: Callable[[], Any], x: Any, y: Any, warmup: int, steps: int) -> tuple[float, float]:
    import keras

    from archspec.api import compile_spec
    from archspec.train.detection.loss import head_losses

    keras.utils.set_random_seed(0)
    model = factory()
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss=head_losses(compile_spec(SPEC).head, {}),
                  jit_compile=False)
    for _ in range(warmup):
        model.train_on_batch(x, y)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.train_on_batch(x, y)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    count = steps * int(x.shape[0])
    return count / wall, count / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    x, y = batches(args.batch_size)
    results: dict[str, list[tuple[float, float]]] = {"archspec": [], "keras": []}
    for _ in range(args.rounds):
        for name, factory in (("archspec", archspec_model), ("keras", hand_written_model)):
            results[name].append(images_per_second(factory, x, y, args.warmup, args.steps))
    median = {name: (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows))
              for name, rows in results.items()}
    for name, (wall, cpu) in median.items():
        print(f"{name:9s} {wall:8.1f} images/s wall, {cpu:8.1f} images per CPU-second")
    print(f"ratio archspec / hand-written Keras: {median['archspec'][0] / median['keras'][0]:.3f} wall, "
          f"{median['archspec'][1] / median['keras'][1]:.3f} per CPU-second "
          f"({args.rounds} rounds of {args.steps} steps, batch {args.batch_size})")


if __name__ == "__main__":
    main()
