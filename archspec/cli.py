"""The command line. The only module that turns errors into messages and exit codes.

Exit codes: 0 success; 2 the user's input is wrong (spec, data, command line); 1 a run failed.
validate/summary/layers/schema never import TensorFlow or Keras.
"""
from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

import click

from archspec.errors import ArchspecError, SpecErrors, UserError
from archspec.io import force_option
from archspec.layers.arithmetic import DTYPE_BYTES

if TYPE_CHECKING:
    from archspec.analysis.shape_pass import Analysis
    from archspec.api import InputShape

SUMMARY_FORMATS = ("table", "json", "markdown")  # what archspec.analysis.report.render writes
# Modules of the optional extras, and the extra that installs each.
EXTRAS = {"tensorflow": "tf", "keras": "tf", "numpy": "tf", "matplotlib": "tf", "sklearn": "tf", "skimage": "tf",
          "PIL": "tf", "tensorboard": "tf", "h5py": "tf", "tf2onnx": "onnx", "onnx": "onnx", "onnxruntime": "onnx",
          "starlette": "studio", "uvicorn": "studio"}


class ArchspecGroup(click.Group):
    """A click group whose ``main`` maps archspec errors to messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchspecError as exc:
            all_errors = bool(ctx.meta.get("archspec.all_errors"))
            text = exc.format(all_errors)
            click.echo(text, err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except ModuleNotFoundError as exc:
            root = (exc.name or "").split(".")[0]
            if root not in EXTRAS:
                raise
            extra = EXTRAS[root]
            click.echo(f"this command needs {root}, which is not installed; install the '{extra}' extra: "
                       f"pip install -e \".[{extra}]\" in archspec's checkout", err=True)
            ctx.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if os.environ.get("ARCHSPEC_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}; this is a bug in archspec, please report it "
                       "(set ARCHSPEC_DEBUG=1 for the traceback)", err=True)
            ctx.exit(1)


@click.group(cls=ArchspecGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="archspec")
@click.option("--verbose", is_flag=True, envvar="ARCHSPEC_VERBOSE",
              help="Show TensorFlow's start-up logging (or set ARCHSPEC_VERBOSE=1).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """archspec: neural network architectures in YAML, checked without running them."""
    if ctx.invoked_subcommand != "plugins":  # which lists the failures itself
        from archspec import plugins
        plugins.report_failures_with(lambda text: click.echo(text, err=True))
    if not verbose:
        from archspec.tensorflow_noise import quiet_tensorflow
        quiet_tensorflow()


class InputShapeType(click.ParamType):
    """``--input 64x64x3`` as a shape tuple (``?`` for an unknown size); a bad one is a usage error."""

    name = "HxWxC"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        if isinstance(value, tuple):
            return value
        from archspec.api import parse_input_shape
        try:
            return parse_input_shape(value)
        except UserError as exc:
            self.fail(exc.format(), param, ctx)


def input_option(f: Callable) -> Callable:
    return click.option("--input", "input_shape", type=InputShapeType(), default=None, metavar="HxWxC",
                        help="Override the input shape, e.g. 64x64x3; ? for an unknown size.")(f)


def depth_option(f: Callable) -> Callable:
    return click.option("--depth", type=click.IntRange(min=0), default=None,
                        help="Levels of nesting to show: 0 = top level only, each block collapsed to one row or "
                             "box (default: everything).")(f)


def print_warnings(analysis: Analysis) -> None:
    """The analysis's warnings on stderr (settings that build but may not run everywhere)."""
    for warning in analysis.warnings:
        click.echo(warning.format(), err=True)


def _all_errors_option(f: Callable) -> Callable:
    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        ctx.meta["archspec.all_errors"] = value
        return value
    return click.option("--all-errors", is_flag=True, expose_value=False, callback=remember, is_eager=True,
                        help="Show every error found, not only the most relevant one.")(f)


def _set_option(f: Callable) -> Callable:
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                        help="Override a value of the spec, e.g. --set vars.classes=10 (repeatable).")(f)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_set_option
@_all_errors_option
def validate(specs: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Check spec files: silent with exit 0, or file:line:col errors with exit 2."""
    from archspec.api import compile_spec

    ctx = click.get_current_context()
    failed = False
    for path in specs:
        try:
            print_warnings(compile_spec(path, overrides).analysis)
        except SpecErrors as exc:
            failed = True
            click.echo(exc.format(bool(ctx.meta.get("archspec.all_errors"))), err=True)
    if failed:
        ctx.exit(2)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(SUMMARY_FORMATS), default="table", show_default=True)
@depth_option
@input_option
@click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for activation memory.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="float32", show_default=True,
              help="Data type of activations and parameters, for their bytes.")
@_set_option
@_all_errors_option
def summary(spec: str, fmt: str, depth: Optional[int], input_shape: Optional[InputShape], batch_size: int,
            dtype: str, overrides: tuple[str, ...]) -> None:
    """Every layer's output shape, parameters and cost, from the closed-form rules."""
    from archspec.analysis.report import render
    from archspec.api import analyse_spec

    report = analyse_spec(spec, overrides, input_shape, batch_size, dtype)
    print_warnings(report.analysis)
    click.echo(render(report, fmt, depth))


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Where to save the .keras file "
              "(default: <name>.keras).")
@click.option("--verify", is_flag=True, help="Re-check every layer's shape and params against the analysis.")
@input_option
@_set_option
@_all_errors_option
@force_option
def build(spec: str, output: Optional[str], verify: bool, input_shape: Optional[InputShape],
          overrides: tuple[str, ...], force: bool) -> None:
    """Compile a spec into a Keras model and save it as .keras."""
    from archspec.api import compile_spec

    compiled = compile_spec(spec, overrides, input_shape)
    print_warnings(compiled.analysis)
    from archspec.keras_backend.model_builder import build_model, build_verified
    from archspec.keras_backend.save import save_model

    model = build_verified(compiled.graph, compiled.analysis) if verify else build_model(compiled.graph)
    path = output or f"{compiled.graph.name}.keras"
    save_model(model, path, inputs=[spec], force=force)
    checked = " (verified against the analysis)" if verify else ""
    click.echo(f"saved {path}: {model.count_params():,} params{checked}")


@main.command()
@click.argument("name", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def layers(name: Optional[str], fmt: str) -> None:
    """The supported layer kinds, or one kind's arguments."""
    from archspec.docs import describe_kind, kind_named, list_kinds

    if fmt == "json":
        from archspec.layers.catalog import all_kinds
        from archspec.spec.schema import kind_schema

        chosen = {name: kind_named(name)} if name else all_kinds()
        click.echo(json.dumps({k: kind_schema(v, expressions=False) for k, v in chosen.items()}, indent=2))
        return
    click.echo(describe_kind(name) if name else list_kinds())


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@force_option
def schema(output: Optional[str], force: bool) -> None:
    """Print the JSON Schema of spec files (Draft 2020-12)."""
    from archspec.spec.schema import published_schema

    text = json.dumps(published_schema(), indent=2) + "\n"
    if output:
        from archspec.io import write_output
        write_output(output, text, force=force)
    else:
        click.echo(text, nl=False)


def _register_extensions() -> None:
    """Commands that live with their subsystems (training, zoo, pictures...)."""
    import importlib

    for module in ("archspec.train.cli", "archspec.analysis.cli", "archspec.zoo", "archspec.plugin_cli",
                   "archspec.importer.cli", "archspec.studio.cli"):
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            if exc.name and exc.name.startswith(module):
                continue
            raise
        mod.add_commands(main)


_register_extensions()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
