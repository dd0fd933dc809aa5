"""``archspec evaluate`` of a keypoints run trained on object data: the loss and MAE on the heatmaps
drawn of the objects' keypoints, and PCK and OKS AP of the instances grouped for the objects,
on the run's validation split (or source), or on a whole given source."""
from __future__ import annotations

from typing import Any

from archspec.errors import UserError
from archspec.train.config import TrainConfig
from archspec.train.datasets import ModelIO
from archspec.train.rundir import RunDir


def evaluate_pose_objects(run: RunDir, cfg: TrainConfig, model: Any, given_source: bool) -> Any:
    """The run's :class:`~archspec.train.inference.Evaluation` on object data."""
    from archspec.train.inference import Evaluation
    from archspec.train.objects import build_loss, build_metrics
    from archspec.train.pose.callback import object_pose_scores, summary_settings
    from archspec.train.pose.session import object_pipelines
    from archspec.train.tasks import output_activation

    io = ModelIO.of(model)
    train, validation = object_pipelines(cfg, io)
    pipeline = train if given_source else validation
    if pipeline is None:
        raise UserError("the run has no validation data to evaluate on", "pass --data SOURCE")
    activation = output_activation(model)
    model.compile(loss=build_loss(cfg, activation, lambda p: None),
                  metrics=build_metrics(cfg, io.output_shape[-1], activation, lambda p: None))
    results = model.evaluate(pipeline.evaluate(), return_dict=True, verbose=0)
    summary = run.read_json("data.json") if (run / "data.json").is_file() else {}
    results.update(object_pose_scores(model, pipeline.raw(), summary_settings(cfg, model, summary)))
    description = pipeline.data.description
    if given_source:
        part = "all images"
    elif cfg.data.validation is not None:
        part = "the run's validation source"
    else:
        part = f"the run's validation split ({cfg.data.validation_split:.0%} held out with seed {cfg.seed})"
    return Evaluation(description, part, pipeline.size, {k: float(v) for k, v in results.items()})
