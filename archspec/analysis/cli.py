"""Commands of the analysis subsystem: ``graph``, ``diff`` and ``explain``.

``archspec.cli`` calls ``add_commands(main)``; nothing heavy is imported until a command runs.
Each command parses its options, makes one ``archspec.api`` call and hands the result to one
renderer.
"""
from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Optional, Sequence

import click

if TYPE_CHECKING:
    from archspec.api import InputShape


def select_layers(names: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """Layer names matching each request: a full name, a name inside blocks, a repeated
    entry's name (``conv`` for ``conv_1``, ``conv_2``...), or a glob.

    >>> select_layers(["c1", "b/conv", "b/pool"], ["c1", "conv", "b/*"])
    ['c1', 'b/conv', 'b/pool']
    >>> select_layers(["s/conv_1", "s/conv_2", "s/pool"], ["s/conv"])
    ['s/conv_1', 's/conv_2']
    """
    from archspec.errors import UserError, did_you_mean

    chosen: dict[str, None] = {}  # in order, each once (a list's `in` made '*' over many layers quadratic)
    for request in wanted:
        hits = [n for n in names if n == request] or [n for n in names if n.rsplit("/", 1)[-1] == request] or \
            [n for n in names if fnmatch.fnmatchcase(n, request)] or \
            [n for n in names if re.fullmatch(re.escape(request) + r"_\d+", n)]
        if not hits:
            hint = did_you_mean(request, list(names)) or "run `archspec summary` for the layer names"
            raise UserError(f"no layer named '{request}'", hint)
        chosen.update(dict.fromkeys(hits))
    return list(chosen)


def add_commands(group: click.Group) -> None:
    """Add ``graph``, ``diff`` and ``explain`` to the archspec command group."""
    from archspec.cli import _all_errors_option, _set_option, depth_option, input_option
    from archspec.io import force_option

    @group.command()
    @click.argument("spec", type=click.Path(dir_okay=False))
    @click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
                  help="File to write: .svg, .mmd, .dot or .html (the suffix picks the format). Default: stdout.")
    @click.option("--format", "fmt", type=click.Choice(["svg", "mermaid", "dot", "html"]), default=None,
                  help="Format when it cannot come from the file name (default svg).")
    @depth_option
    @click.option("--layout", type=click.Choice(["auto", "builtin", "graphviz"]), default="auto", show_default=True,
                  help="SVG layout: archspec's own, Graphviz's dot, or auto (dot when installed).")
    @input_option
    @_set_option
    @_all_errors_option
    @force_option
    def graph(spec: str, output: Optional[str], fmt: Optional[str], depth: Optional[int], layout: str,
              input_shape: Optional[InputShape], overrides: tuple[str, ...], force: bool) -> None:
        """Draw the network: shapes on the edges, blocks as clusters."""
        from pathlib import Path

        from archspec.analysis.render import FORMATS, drawing, render_drawing, what_was_drawn
        from archspec.api import compile_spec

        if fmt is None and output and output != "-":
            fmt = FORMATS.get(Path(output).suffix.lower())
            if fmt is None:
                raise click.BadParameter(f"cannot tell the format of '{output}'; use a .svg, .mmd, .dot or .html "
                                         "name, or --format", param_hint="-o/--output")
        analysis = compile_spec(spec, overrides, input_shape).analysis
        picture = drawing(analysis, depth)
        text = render_drawing(picture, analysis, fmt or "svg", layout)
        if output and output != "-":
            from archspec.io import write_output

            write_output(output, text, inputs=[spec], force=force)
            click.echo(f"wrote {output}: {what_was_drawn(picture, depth)}")
        else:
            click.echo(text, nl=False)

    @group.command()
    @click.argument("spec_a", type=click.Path(dir_okay=False))
    @click.argument("spec_b", type=click.Path(dir_okay=False))
    @click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
    @click.option("--all", "show_all", is_flag=True, help="Also list the layers that did not change.")
    @input_option
    @_set_option
    @_all_errors_option
    def diff(spec_a: str, spec_b: str, fmt: str, show_all: bool, input_shape: Optional[InputShape],
             overrides: tuple[str, ...]) -> None:
        """Compare two networks layer by layer: shapes, params, MACs, totals."""
        from archspec.analysis.diff import diff as compare
        from archspec.api import analyse_spec

        click.echo(compare(analyse_spec(spec_a, overrides, input_shape), analyse_spec(spec_b, overrides, input_shape),
                           fmt, show_all))

    @group.command()
    @click.argument("spec", type=click.Path(dir_okay=False))
    @click.argument("layers", nargs=-1)
    @input_option
    @_set_option
    @_all_errors_option
    def explain(spec: str, layers: tuple[str, ...], input_shape: Optional[InputShape],
                overrides: tuple[str, ...]) -> None:
        """The arithmetic behind each layer's row, numbers substituted.

        LAYERS are names as `summary` shows them (block/layer), a layer's own name, or a glob
        such as 'stage1/*'; none means every layer.
        """
        from archspec.analysis.explain import explain as explain_layers
        from archspec.analysis.explain import render
        from archspec.api import compile_spec

        analysis = compile_spec(spec, overrides, input_shape).analysis
        names = select_layers([i.node.name for i in analysis.layers], layers) if layers else None
        click.echo(render(explain_layers(analysis, names)), nl=False)
