"""``archspec import SOURCE [-o FILE]``: a Keras model as a readable spec."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import click

from archspec.io import force_option

if TYPE_CHECKING:
    from archspec.importer.run import ImportResult


def add_commands(main: click.Group) -> None:
    # archspec.cli imports this module to register it: its --input option is taken from it only now.
    from archspec.cli import input_option

    main.add_command(input_option(import_command))


@click.command("import")
@click.argument("source")
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the spec ('-': standard output).")
@click.option("--no-blocks", is_flag=True, help="Write every layer, without finding repeated blocks.")
@force_option
def import_command(source: str, output: Optional[str], no_blocks: bool, input_shape: Optional[tuple],
                   force: bool) -> None:
    """A Keras model as a spec: SOURCE is a .keras file or applications:NAME (a Keras Applications
    model, built with weights=None, for --input HxWxC when given). Nothing in a .keras file is run:
    its config.json is read as data."""
    from archspec.importer.run import import_model
    from archspec.io import is_stdout, write_output

    result = import_model(source, blocks=not no_blocks, input_shape=input_shape)
    inputs = [] if source.startswith("applications:") else [source]
    write_output(output or "-", result.text, inputs=inputs, force=force)
    where = "" if is_stdout(output or "-") else f"wrote {output}: "
    click.echo(f"{where}{len(result.imported.entries):,} layers in {result.lines:,} lines{_saved(result)}", err=True)
    if result.left_out:
        click.echo(f"left out {result.left_out:,} initializer{'s' if result.left_out > 1 else ''} archspec cannot name "
                   "(listed in the spec's first comment; they change no shape, count or output, only training "
                   "from scratch)", err=True)


def _saved(result: "ImportResult") -> str:
    """The saving the spec's comment states: the lines of the file without blocks less its own."""
    if result.lines_saved <= 0:
        return ""
    return f"; blocks saved {result.lines_saved:,} lines ({result.lines_without_blocks:,} without them)"
