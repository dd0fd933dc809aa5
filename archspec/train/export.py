"""Exports through Keras's own ``model.export(format=...)``, each checked by loading it back.

| ``--format`` | Keras format | written | loaded back with |
| --- | --- | --- | --- |
| savedmodel | ``tf_saved_model`` | a folder | ``tf.saved_model.load(...).serve`` |
| tflite | ``litert`` | ``.tflite`` | ``tf.lite.Interpreter`` |
| onnx | ``onnx`` (tf2onnx) | ``.onnx`` | ``onnxruntime.InferenceSession`` |

The export is written under a temporary name and renamed into place, so an interrupted
export never replaces a good one.
"""
from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from archspec.errors import RunFailure, UserError
from archspec.io import write_output_with

FORMATS: dict[str, tuple[str, str]] = {"savedmodel": ("tf_saved_model", ""), "tflite": ("litert", ".tflite"),
                                       "onnx": ("onnx", ".onnx")}


def default_path(run_path: Path, fmt: str) -> Path:
    return run_path / "export" / ("savedmodel" if fmt == "savedmodel" else f"model{FORMATS[fmt][1]}")


def check_available(fmt: str) -> None:
    """ONNX needs tf2onnx and onnxruntime (``pip install "archspec[onnx]"``)."""
    if fmt == "onnx":
        missing = [m for m in ("tf2onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
        if missing:
            raise UserError(f"--format onnx needs {' and '.join(missing)}, which are not installed",
                            'pip install "archspec[onnx]" (tf2onnx, onnx, onnxruntime)')


def export_model(model: Any, fmt: str, out: Path, inputs: Iterable[Path] = (), force: bool = False) -> Path:
    """Export ``model`` to ``out`` (a folder for savedmodel, a file otherwise) under
    ``archspec.io``'s rules for a command's output: never over ``inputs`` (the run directory),
    over an existing file or an earlier SavedModel only with ``force``."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    check_available(fmt)
    suffix = FORMATS[fmt][1]
    out = Path(out)
    if suffix and out.suffix != suffix:
        raise UserError(f"a {fmt} export is a {suffix} file; got {out}", f"e.g. -o model{suffix}")
    _call_once(model)
    write_output_with(out, lambda tmp: _export(model, fmt, tmp), inputs, force,
                      folder_marker=None if suffix else "saved_model.pb")
    return out


def _export(model: Any, fmt: str, tmp: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # tf2onnx's NumPy 2 shims
            model.export(str(tmp), format=FORMATS[fmt][0], verbose=False)
    except OSError:
        raise  # archspec.io names the path and keeps the previous export
    except Exception as exc:  # noqa: BLE001 - converter failures become a run failure with its message
        raise RunFailure(f"{fmt} export failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                         "try another format") from None


def _call_once(model: Any) -> None:
    """A loaded model has never been called; the ONNX exporter insists that it has."""
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    model(np.zeros((1, *shape), np.float32), training=False)


def run_exported(fmt: str, path: Path, x: np.ndarray) -> np.ndarray:
    """Predictions of an exported model on ``x`` (N, ...) float32."""
    if fmt == "savedmodel":
        import tensorflow as tf
        loaded = tf.saved_model.load(str(path))  # keep a reference: its functions use its variables
        return np.asarray(loaded.serve(tf.constant(x)))
    if fmt == "tflite":
        return _run_tflite(path, x)
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: x})[0])


def _run_tflite(path: Path, x: np.ndarray) -> np.ndarray:
    import warnings

    import tensorflow as tf

    from archspec.tensorflow_noise import stderr_captured
    # TFLite's C++ side writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to file
    # descriptor 2; it is shown only if the run fails.
    with stderr_captured(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice (LiteRT)
        interpreter = tf.lite.Interpreter(model_path=str(path))
        index = interpreter.get_input_details()[0]["index"]
        outputs = []
        for sample in x:  # one at a time: the exported signature may fix the batch size at 1
            interpreter.resize_tensor_input(index, [1, *sample.shape])
            interpreter.allocate_tensors()
            interpreter.set_tensor(index, sample[None])
            interpreter.invoke()
            outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0])
    return np.stack(outputs)


def verify_export(model: Any, fmt: str, path: Path, samples: int = 4, seed: int = 0,
                  atol: float = 1e-4) -> float:
    """Compare the export's predictions with Keras's on random inputs; return the max difference."""
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    x = np.random.default_rng(seed).random((samples, *shape), dtype=np.float32)
    want = np.asarray(model.predict(x, verbose=0), np.float32)
    got = run_exported(fmt, path, x).reshape(want.shape)
    diff = float(np.max(np.abs(got - want)))
    if not np.allclose(got, want, atol=atol, rtol=1e-3):
        raise RunFailure(f"the {fmt} export at {path} predicts differently from the Keras model "
                         f"(largest difference {diff:.3g})", "report this with the spec")
    return diff
