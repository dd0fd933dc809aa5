"""``archspec plugins``: the installed plugins, the kinds each adds, and those that failed.

Exit 0 when every plugin loaded, 1 when one was skipped (so the command doubles as a check
that a plugin installs cleanly). Pure Python: loading a plugin never imports Keras.
"""
from __future__ import annotations

import json
import os

import click

from archspec import plugins

FORMATS = ("text", "json")


def describe(found: list[plugins.Plugin]) -> str:
    """The text listing: one paragraph per plugin.

    >>> print(describe([plugins.Plugin("example", "pkg.kinds", "pkg", "0.1", ("Blur",), ("coords",)),
    ...                 plugins.Plugin("broken", "bad", error="ImportError: no")]))
    pkg 0.1 (entry point 'example': pkg.kinds)
      kinds: Blur
      families: coords
    entry point 'broken' (entry point 'broken': bad)
      skipped: ImportError: no
    """
    if not found:
        if os.environ.get(plugins.DISABLE_VARIABLE, "") not in ("", "0"):
            return f"plugins are turned off ({plugins.DISABLE_VARIABLE} is set)"
        return (f"no plugins installed (a package adds layer kinds through the entry-point group {plugins.GROUP}; "
                "see docs/plugins.md)")
    lines = []
    for plugin in found:
        lines.append(f"{plugin.label} (entry point '{plugin.name}': {plugin.target})")
        if plugin.error:
            lines.append(f"  skipped: {plugin.error}")
            continue
        lines.append(f"  kinds: {', '.join(sorted(plugin.kinds)) or '(none)'}")
        if plugin.families:
            lines.append(f"  families: {', '.join(plugin.families)}")
    return "\n".join(lines)


def as_json(found: list[plugins.Plugin]) -> str:
    """The listing for tools: name, entry point, distribution, version, kinds, families, error."""
    return json.dumps([{"name": p.name, "target": p.target, "dist": p.dist, "version": p.version,
                        "kinds": sorted(p.kinds), "families": list(p.families), "error": p.error}
                       for p in found], indent=2)


def add_commands(group: click.Group) -> None:
    """Add ``plugins`` to the CLI."""

    @group.command("plugins")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
    def plugins_command(fmt: str) -> None:
        """The installed plugins (entry-point group archspec.layers), their kinds, and failures."""
        found = plugins.plugins()
        click.echo(as_json(found) if fmt == "json" else describe(found))
        if any(p.error for p in found):
            click.get_current_context().exit(1)
