"""The training commands: train, evaluate, predict, export, activations.

Importing this module imports neither TensorFlow nor Keras; each command imports them in
its body. Commands raise archspec errors; ``archspec.cli``'s group maps them to messages and
exit codes (2 for bad input, 1 for a failed run).
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable

import click

from archspec.errors import ArchspecError, UserError
from archspec.io import force_option
from archspec.train.schema import STRATEGIES


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is emitted (click's test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _setup_logging(quiet: bool = False) -> None:
    logger = logging.getLogger("archspec.train")
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


def spec_model(spec: str, overrides: tuple[str, ...] = ()) -> tuple[Any, Callable[[], Any]]:
    """(the compiled spec, a factory of its Keras model); compiling imports no TensorFlow."""
    from archspec.api import compile_spec

    compiled = compile_spec(spec, overrides)

    def factory() -> Any:
        from archspec.keras_backend.model_builder import build_model
        return build_model(compiled.graph)

    return compiled, factory


def _spec_text(data: dict[str, Any], train: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump({**{k: v for k, v in data.items() if k != "train"}, "train": train},
                          sort_keys=False, allow_unicode=True)


def _flag_overrides(train: dict[str, Any], **flags: Any) -> dict[str, Any]:
    """Apply --data/--epochs/... to a copy of the train section (flags win over --set)."""
    import copy

    from archspec.train.config import parse_data_flag
    train = copy.deepcopy(train)
    data = train.setdefault("data", {})
    if flags.get("data"):
        data["source"] = parse_data_flag(flags["data"], spec_source=data.get("source"))
    if flags.get("validation_data"):
        data["validation"] = parse_data_flag(flags["validation_data"], spec_source=data.get("validation"))
    if flags.get("batch_size"):
        data["batch_size"] = flags["batch_size"]
    for key in ("epochs", "seed", "strategy", "mixed_precision", "jit_compile", "steps_per_execution",
                "steps_per_epoch"):
        if flags.get(key) is not None:
            train[key] = flags[key]
    return train


@click.command("train")
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.option("--data", metavar="SOURCE",
              help="builtin:digits | builtin:shapes | npz:PATH | images:DIR | tfrecord:GLOB | "
                   "coco:PATH.json | yolo:DIR")
@click.option("--validation-data", metavar="SOURCE", help="A separate validation source (same forms as --data).")
@click.option("--epochs", type=click.IntRange(min=1), help="Number of epochs (with --resume: train longer).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Global batch size.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for everything random.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a spec value, e.g. --set train.data.batch_size=128 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), help="Run directory (default runs/<name>-<time>).")
@click.option("--runs-dir", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="Where new run directories go.")
@click.option("--resume", type=click.Path(file_okay=False), metavar="RUN_DIR",
              help="Continue a run from its last intact checkpoint; SPEC and the other options may be given "
                   "again and must match the run (only --epochs may change).")
@click.option("--strategy", type=click.Choice(STRATEGIES), help="tf.distribute strategy.")
@click.option("--mixed-precision/--no-mixed-precision", default=None, help="mixed_float16 on GPU, bfloat16 on CPU.")
@click.option("--jit-compile/--no-jit-compile", default=None, help="XLA-compile the training step.")
@click.option("--steps-per-execution", type=click.IntRange(min=1), help="Steps per compiled call.")
@click.option("--steps-per-epoch", type=click.IntRange(min=1), help="Cap on steps per epoch.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def train_command(spec: str | None, resume: str | None, quiet: bool, runs_dir: str, **flags: Any) -> None:
    """Train the model of SPEC; writes a run directory (or continues one with --resume)."""
    _setup_logging(quiet)
    if resume:
        result = _resume(resume, spec, flags)
    elif spec:
        result = _train_new(spec, runs_dir, flags)
    else:
        raise click.UsageError("give a SPEC file, or --resume RUN_DIR")
    _report(result)


def _train_new(spec: str, runs_dir: str, flags: dict[str, Any]) -> Any:
    from archspec.train.config import config_to_dict, resolve_config
    from archspec.train.distribute import is_other_worker
    from archspec.train.rundir import RunDir
    from archspec.train.runner import train_model

    compiled, factory = spec_model(spec, flags.pop("overrides"))
    doc, name = compiled.document, compiled.graph.name
    train = _flag_overrides(dict((doc.data or {}).get("train") or {}), **flags)
    cfg = resolve_config(train, locate=doc.loc, base_dir=Path(spec).resolve().parent)
    other_worker = is_other_worker(cfg.strategy)  # the chief's --out, which it may have filled already
    run = RunDir.for_worker(flags.get("out")) if other_worker else RunDir.create(name, flags.get("out"), runs_dir)
    try:
        return train_model(factory, cfg, run.path, spec_text=_spec_text(doc.data, config_to_dict(cfg)),
                           command=sys.argv, locate=doc.loc, name=name, head=compiled.head)
    except ArchspecError:
        if not other_worker:
            run.discard_if_unused()  # stopped before training started: leave no empty run behind
        raise


def _resume(run_dir: str, spec: str | None, flags: dict[str, Any]) -> Any:
    """Continue a run. SPEC, --set and the flags may be given again; they must agree with
    the run (see ``archspec.train.resume``), and only --epochs may change."""
    from archspec.train.config import config_to_dict, resolve_config
    from archspec.train.resume import check_same_network, check_settings, overlay_train
    from archspec.train.rundir import RunDir
    from archspec.train.runner import load_run_config, train_model

    run = RunDir.open(run_dir)
    if flags.get("out") and Path(flags["out"]).resolve() != run.path.resolve():
        raise UserError(f"--out {flags['out']} is not the run being resumed",
                        f"the run continues in its own directory, {run.path}")
    run_spec = run / "spec.yaml"
    if not run_spec.is_file():
        raise UserError(f"{run.path} has no spec.yaml", "is this a run directory written by archspec train?")
    compiled, factory = spec_model(str(run_spec))
    given = compiled
    overrides = flags.pop("overrides")
    if spec or overrides:
        given, _ = spec_model(spec or str(run_spec), overrides)
        check_same_network(given.graph, compiled.graph)
    cfg = load_run_config(run)
    epochs = flags.pop("epochs") or cfg.epochs
    train = overlay_train(config_to_dict(cfg), (given.document.data or {}).get("train"))
    base = Path(spec).resolve().parent if spec else run.path
    check_settings(cfg, resolve_config(_flag_overrides(train, **flags), locate=given.document.loc, base_dir=base))
    return train_model(factory, cfg.replace(epochs=epochs), run.path, resume=True, command=sys.argv,
                       locate=compiled.document.loc, name=compiled.graph.name, head=compiled.head)


def _report(result: Any) -> None:
    metrics = result.metrics
    click.echo(f"{result.status} after epoch {metrics.get('epoch', 0)}: {_metric_text(metrics)}")
    best = next((row for row in result.history if row.get("epoch") == metrics.get("best_epoch")), None)
    if best is not None and metrics.get("best_epoch") != metrics.get("epoch"):
        click.echo(f"best epoch {best['epoch']} ({metrics.get('monitor')}): {_metric_text(best)} -> best.keras")
    click.echo(f"run directory: {result.run_dir}")


def _metric_text(values: dict[str, Any]) -> str:
    shown = {k: v for k, v in values.items() if k.startswith("val_") and isinstance(v, float)} or \
        {k: v for k, v in values.items() if isinstance(v, float) and k not in ("best_value", "learning_rate")}
    return ", ".join(f"{k} {v:.4f}" for k, v in shown.items())


def _open_run(run_dir: str, which: str) -> tuple[Any, Any, Any, Path]:
    """(run directory, its train config, its saved model, the model's file)."""
    from archspec.train.inference import load_run_model, model_file
    from archspec.train.rundir import RunDir
    from archspec.train.runner import load_run_config

    run = RunDir.open(run_dir)
    path = model_file(run, which)
    return run, load_run_config(run), load_run_model(run, path), path


_model_option = click.option("--model", "which", type=click.Choice(["best", "last"]), default="best",
                             show_default=True, help="Which saved model of the run.")


@click.command("evaluate")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--data", metavar="SOURCE", help="Evaluate on this whole source instead of the run's validation data.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default: the run's).")
@_model_option
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate_command(run_dir: str, data: str | None, batch_size: int | None, which: str, as_json: bool) -> None:
    """Metrics of a run's model on held-out data."""
    _setup_logging()
    from archspec.train.config import parse_data_flag
    from archspec.train.inference import evaluate_run, evaluation_config, saved_epoch

    run, cfg, model, path = _open_run(run_dir, which)
    source = parse_data_flag(data, spec_source=cfg.data.source) if data else None
    if cfg.task in ("detection", "instance_segmentation"):
        from archspec.train.detection.predict import evaluate_detection, evaluation_lines
        part, scores = evaluate_detection(run, cfg, model, source)
        click.echo(json.dumps(scores, indent=2) if as_json else "\n".join(evaluation_lines(part, scores)))
        return
    result = evaluate_run(run, evaluation_config(cfg, source, batch_size), model, source is not None)
    epoch = saved_epoch(run, path)
    if as_json:
        click.echo(json.dumps(result.as_json(path, epoch), indent=2))
        return
    click.echo(f"model: {path}" + (f" (after epoch {epoch})" if epoch else ""))
    click.echo(f"data: {result.source}, {result.part}: {result.samples} samples")
    for key, value in result.metrics.items():
        click.echo(f"{key}: {value:.4f}")


@click.command("predict")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True,
              help="Classification: how many classes to list per image.")
@click.option("--masks-dir", type=click.Path(file_okay=False),
              help="Segmentation: write each mask here, a PNG of class ids with a colour per class.")
@click.option("--pictures-dir", type=click.Path(file_okay=False),
              help="Keypoints: draw each image's keypoints and skeleton (train.keypoints.skeleton) here, "
                   "as STEM.pose.png. Detection: draw each image's boxes here as STEM.detections.png, beside "
                   "detections.json (default RUN_DIR/predictions); instance segmentation: each instance's mask "
                   "tinted in its own colour too, and its RLE in detections.json.")
@_model_option
@click.option("--json", "as_json", is_flag=True, help="Print predictions as JSON lines.")
@force_option
def predict_command(run_dir: str, images: tuple[str, ...], top_k: int, masks_dir: str | None,
                    pictures_dir: str | None, which: str, as_json: bool, force: bool) -> None:
    """Top-k classes, labels, values, masks or keypoints for image files."""
    _setup_logging()
    from archspec.train.inference import predict_images, trained_letterboxed
    from archspec.train.mask_png import write_mask

    run, cfg, model, _ = _open_run(run_dir, which)
    if cfg.task in ("detection", "instance_segmentation"):
        _predict_boxes(run, cfg, model, images, pictures_dir, as_json, force)
        return
    if masks_dir and cfg.task != "segmentation":
        raise click.UsageError(f"--masks-dir writes segmentation masks; this run's task is {cfg.task}")
    if pictures_dir and cfg.task != "keypoints":
        raise click.UsageError(f"--pictures-dir draws keypoints; this run's task is {cfg.task}")
    mask_paths = _mask_paths(images, masks_dir, force) if masks_dir else {}
    picture_paths = _mask_paths(images, pictures_dir, force, ".pose.png", "--pictures-dir") if pictures_dir else {}
    summary = run.read_json("data.json") if (run / "data.json").is_file() else {}
    names = summary.get("class_names")
    if cfg.task == "keypoints":
        from archspec.train.pose.callback import summary_settings
        pose = summary_settings(cfg, model, summary)
        names = pose.names
    for prediction in predict_images(model, cfg.task, images, names, trained_letterboxed(summary)):
        if as_json:
            click.echo(json.dumps(prediction.as_json(top_k)))
        else:
            click.echo(f"{prediction.path}: {prediction.describe(top_k)}")
        if masks_dir:
            path = mask_paths[prediction.path]
            click.echo(f"  mask: {write_mask(prediction.class_mask(), path)}", err=as_json)
        if pictures_dir:
            click.echo(f"  picture: {_draw_pose(prediction, pose, picture_paths[prediction.path])}", err=as_json)


def _predict_boxes(run: Any, cfg: Any, model: Any, images: tuple[str, ...], out_dir: str | None, as_json: bool,
                   force: bool) -> None:
    from archspec.train.detection.predict import write_predictions

    listing, rows = write_predictions(run, cfg, model, images, out_dir, force)
    for row in rows:
        click.echo(json.dumps(row) if as_json else f"{row['image']}: {row['class']} {row['score']:.2f} at {row['bbox']}")
    click.echo(f"{len(rows)} detection(s) in {len(images)} image(s): {listing} and a picture per image beside it",
               err=as_json)


def _draw_pose(prediction: Any, pose: Any, path: Path) -> Path:
    """The keypoints and skeleton drawn on the image file itself (at its own size)."""
    from archspec.train.inference import load_image
    from archspec.train.pose.picture import draw_pose

    pixels = load_image(prediction.path, (*prediction.image_size, 3))[0]
    return draw_pose(pixels, prediction.keypoints(), pose.skeleton, pose.names, path)


def _mask_paths(images: tuple[str, ...], masks_dir: str, force: bool, suffix: str = ".mask.png",
                option: str = "--masks-dir") -> dict[str, Path]:
    """Where each image's mask (or picture) goes (``STEM.mask.png``), checked before anything is
    written: never over an input image or another image's mask, an existing file only with --force."""
    from archspec.io import check_output

    paths: dict[str, Path] = {}
    for image in images:
        path = Path(masks_dir) / f"{Path(image).stem}{suffix}"
        clash = next((other for other, taken in paths.items() if taken == path), None)
        if clash is not None:
            raise UserError(f"{image} and {clash} would both write their mask to {path}",
                            "rename one of the images, or predict them in separate runs of the command")
        check_output(path, images, force, option=option)
        paths[image] = path
    return paths


@click.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["savedmodel", "tflite", "onnx"]), required=True)
@click.option("-o", "--output", type=click.Path(), help="Where to write (default RUN_DIR/export/...).")
@_model_option
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Load the export back and compare its predictions with Keras's.")
@force_option
def export_command(run_dir: str, fmt: str, output: str | None, which: str, verify: bool, force: bool) -> None:
    """Export a run's model with Keras's model.export (SavedModel, TFLite/LiteRT, ONNX)."""
    _setup_logging()
    from archspec.train.export import check_available, default_path, export_model, verify_export

    check_available(fmt)
    run, _, model, _ = _open_run(run_dir, which)
    path = export_model(model, fmt, Path(output) if output else default_path(run.path, fmt), [run.path], force)
    click.echo(f"exported {fmt}: {path}")
    if verify:
        diff = verify_export(model, fmt, path)
        click.echo(f"verified: predictions match Keras (largest difference {diff:.2e})")


@click.command("activations")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="activations.png", show_default=True,
              help="The feature maps' PNG.")
@click.option("--layers", help="Comma-separated layer names as `archspec summary` prints them (block/layer), "
                               "with explain's rules: a name inside blocks, a repeated entry's name, a glob "
                               "(default: one layer per spatial resolution).")
@click.option("--max-maps", type=click.IntRange(min=1), default=8, show_default=True, help="Channels per layer.")
@click.option("--filters", "filters_path", type=click.Path(dir_okay=False),
              help="Where to draw the first layer's filters (default OUTPUT-filters.png).")
@click.option("--no-filters", is_flag=True, help="Do not draw the filters.")
@_model_option
@force_option
def activations_command(run_dir: str, image: str, output: str, layers: str | None, max_maps: int,
                        filters_path: str | None, no_filters: bool, which: str, force: bool) -> None:
    """Draw feature maps of chosen layers for IMAGE, and the learned first-layer filters."""
    _setup_logging()
    from archspec.train.activation_pictures import render_feature_maps, render_filters
    from archspec.train.activations import choose_layers, feature_maps, first_conv_kernel, map_layers
    from archspec.io import check_output
    from archspec.train.inference import load_image

    target = None if no_filters else \
        Path(filters_path) if filters_path else Path(output).with_name(Path(output).stem + "-filters.png")
    for picture in filter(None, (Path(output), target)):
        check_output(picture, [image], force)
    run, _, model, _ = _open_run(run_dir, which)
    names = _summary_names(run)
    pixels = load_image(image, tuple(model.inputs[0].shape[1:]))
    wanted = [n.strip() for n in layers.split(",") if n.strip()] if layers else None
    chosen = choose_layers(map_layers(model, names), wanted, list(names.values()) if names else None)
    out = render_feature_maps(feature_maps(model, pixels, chosen), chosen, Path(output), pixels, max_maps)
    click.echo(f"feature maps: {out} ({', '.join(layer.name for layer in chosen)})")
    if target is not None:
        click.echo(f"filters: {render_filters(*first_conv_kernel(model, names), target)}")


def _summary_names(run: Any) -> dict[str, str] | None:
    """Keras layer name -> the name ``archspec summary`` prints, from the run's spec.yaml
    (None when the run has no spec that compiles: the Keras names are used then)."""
    from archspec.api import compile_spec
    from archspec.keras_backend.model_builder import keras_name

    try:
        graph = compile_spec(run / "spec.yaml").graph
    except ArchspecError:
        return None
    names = {keras_name(node.name): node.name for node in graph.nodes}
    names.update({keras_name(name): name for name in graph.inputs})
    return names


def add_commands(group: click.Group) -> None:
    """Add the training commands to the ``archspec`` group."""
    for command in (train_command, evaluate_command, predict_command, export_command, activations_command):
        group.add_command(command)
