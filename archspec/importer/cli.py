"""``archspec import SOURCE [-o FILE]``: a Keras model as a readable spec."""
from __future__ import annotations

from typing import Optional

import click

from archspec.io import force_option


def add_commands(main: click.Group) -> None:
    main.add_command(import_command)


@click.command("import")
@click.argument("source")
@click.option("-o", "--output", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where to write the spec ('-': standard output).")
@click.option("--no-blocks", is_flag=True, help="Write every layer, without finding repeated blocks.")
@force_option
def import_command(source: str, output: Optional[str], no_blocks: bool, force: bool) -> None:
    """A Keras model as a spec: SOURCE is a .keras file or applications:NAME (a Keras Applications
    model, built with weights=None). Nothing in a .keras file is run: its config.json is read as data."""
    from archspec.importer.run import import_model
    from archspec.io import is_stdout, write_output

    result = import_model(source, blocks=not no_blocks)
    inputs = [] if source.startswith("applications:") else [source]
    write_output(output or "-", result.text, inputs=inputs, force=force)
    where = "" if is_stdout(output or "-") else f"wrote {output}: "
    saved = result.lines_without_blocks - result.lines
    blocks = f"; blocks saved {saved:,} lines ({result.lines_without_blocks:,} without them)" if saved > 0 else ""
    click.echo(f"{where}{len(result.imported.entries):,} layers in {result.lines:,} lines{blocks}", err=True)
