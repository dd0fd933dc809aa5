"""Training: from a spec's ``train:`` section to a trained model and a run directory.

Importing this package never imports TensorFlow: ``schema`` and ``config`` are pure Python
(``archspec validate`` embeds the schema), and every module that needs TensorFlow or Keras
imports it itself. The Python entry point is :func:`archspec.train.runner.train_model`.

One job per module:

- ``schema``: the JSON Schema of ``train:``; ``config``: defaults and resolution (no TF)
- ``sources``, ``records``, ``synthetic_shapes``: data sources opened into the forms of
  ``source_data`` (arrays, file lists or record streams)
- ``pipeline``: tf.data (per-epoch order as a function of seed and epoch, batch, cache,
  prefetch, parallel map); ``augment``: Keras preprocessing layers with stateless seeds
- ``tasks``: default losses, metrics and output checks; ``datasets``: data checked against
  the model, split into training and validation pipelines
- ``objects``: optimizer, schedule, loss, metrics and callbacks from their spec entries
- ``rundir``, ``checkpoint``, ``recorder``, ``plots``: the run directory and resume
- ``session``: what both training loops share (model, data and settings prepared before the
  first step, the start-up files); ``failures``: TensorFlow errors as archspec errors
- ``runner``: ``train_model``; ``distribute``: strategies, precision, seeds;
  ``multiworker``: the training step for MultiWorkerMirroredStrategy
- ``inference``, ``export``, ``activations``: what a finished run is used for
- ``cli``: the click commands (train, evaluate, predict, export, activations)
"""
from __future__ import annotations

__all__ = ["TRAIN_SCHEMA"]

from archspec.train.schema import TRAIN_SCHEMA
