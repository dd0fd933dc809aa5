"""Detection and instance segmentation under ``--strategy multi-worker``: the losses of a
replica's slice of the global batch, and the epoch's mAP.

One process averages each loss term over the whole batch: objectness (anchors) and the
IoU-aware class scores (anchor-free) over every cell of every image, the box and class terms
over the batch's matches (or positive points), the mask loss over its matches. A replica
sees only its slice, so the terms averaged over positives would be averaged over the wrong
count (a slice with one match would weigh it like a slice with fifty). Inside
:func:`global_batch_counts` (the multi-worker step's replica function),
:func:`batch_total` sums those counts over the replicas (one all-reduce per level and one for
the masks): each term's denominator is the global batch's count divided by the replicas, which
Keras's own 1/replicas scaling of every compiled loss (``scale_loss_for_distribution``) then
turns into the replica's share of the one-process term. The means over cells need nothing:
every replica holds as many images. The replicas' losses sum to the one-process loss and the
all-reduced gradients are its gradients, to float rounding. Outside the context (one process,
``mirrored``'s ``fit``, validation) every count is the batch's own, as before.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

# Set in the thread tracing a replica's loss (MirroredStrategy runs each local replica in a
# thread of its own); read when the step is traced.
_STATE = threading.local()


@contextmanager
def global_batch_counts() -> Iterator[None]:
    """While tracing a replica's loss, make :func:`batch_total` count over the global batch."""
    outer = getattr(_STATE, "active", False)
    _STATE.active = True
    try:
        yield
    finally:
        _STATE.active = outer


def batch_total(count: Any) -> tuple[Any, float]:
    """(``count`` over the global batch, the replicas it is split across): the count summed over
    the replicas inside :func:`global_batch_counts` in a step with several, else ``(count, 1.0)``.

    A term averaged over positives divides its replica's sum by ``max(total, floor) / replicas``.
    """
    import tensorflow as tf

    if getattr(_STATE, "active", False):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas > 1:
            total = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(count))
            return total, float(replicas)
    return count, 1.0


def per_replica(value: Any) -> Any:
    """``value`` / the replicas of the current strategy, as Keras scales every compiled loss
    (``keras.src.losses.loss.scale_loss_for_distribution``): for a loss term added by hand."""
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return value / float(replicas) if replicas > 1 else value


def object_loss(output_losses: Sequence[Any], mask_loss: Callable[[Any, Any], Any] | None
                ) -> Callable[[Any, Any], Any]:
    """The loss one process's ``compute_loss`` computes (without the model's regularisation):
    each output's Keras loss (None: the prototypes, which have none) plus the mask term.

    In a replica function inside :func:`global_batch_counts` it is that replica's share of the
    global batch's loss; elsewhere the batch's loss (validation)."""
    import tensorflow as tf

    def loss(y: Any, y_pred: Any) -> Any:
        terms = [fn(target, pred) for fn, target, pred in zip(output_losses, y, y_pred) if fn is not None]
        total = tf.add_n([tf.cast(term, tf.float32) for term in terms])
        if mask_loss is not None:
            total += tf.cast(per_replica(mask_loss(y, y_pred)), tf.float32)
        return total

    return loss


def replica_object_loss(output_losses: Sequence[Any], mask_loss: Callable[[Any, Any], Any] | None
                        ) -> Callable[[Any, Any], Any]:
    """:func:`object_loss` with its counts over the global batch, for ``strategy.run``."""
    loss = object_loss(output_losses, mask_loss)

    def replica_loss(y: Any, y_pred: Any) -> Any:
        with global_batch_counts():
            return loss(y, y_pred)

    return replica_loss


def map_logs(session: Any) -> Callable[[], dict[str, float]]:
    """The epoch's ``val_map``, ``val_map50`` (and ``val_mask_map``, ``val_mask_map50``) as the
    one-process callback computes them (pycocotools on the whole validation split), as a
    function for the multi-worker loop; nothing without validation data."""
    from archspec.train.detection.session import box_map
    from archspec.train.instances.evaluation import epoch_logs

    import keras

    if session.data.validation is None:
        return dict
    # The same layers as a model made outside the strategy: Keras's predict step (instance
    # segmentation's detector) under MultiWorkerMirroredStrategy would gather every worker's batch.
    local = keras.Model(session.model.inputs, session.model.outputs, name=session.model.name)
    evaluation = box_map(local, session.head, session.cfg, session.data.validation)
    return lambda: epoch_logs(evaluation.scores())
