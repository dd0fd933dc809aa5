"""The import pipeline, as a short chain: read the config, flatten it, map layers to entries,
find repeated blocks, write the text, and check that archspec reads the result back."""
from __future__ import annotations

import json
from dataclasses import dataclass

from archspec.errors import SpecErrors, UserError
from archspec.importer.graph import model_graph
from archspec.importer.keras_config import checked_model, read_source
from archspec.importer.to_entries import Imported, to_entries
from archspec.importer.writer import spec_text


@dataclass(frozen=True)
class ImportResult:
    text: str
    imported: Imported
    lines_without_blocks: int
    notes: dict[str, list[str]]

    @property
    def lines(self) -> int:
        return self.text.count("\n")


def import_model(source: str, blocks: bool = True) -> ImportResult:
    """The spec text of the model ``source`` names (see ``keras_config.read_source``)."""
    return import_config(read_source(source), source, blocks)


def import_config(config: dict, source: str, blocks: bool = True) -> ImportResult:
    """The spec text of a serialised model (``keras.saving.serialize_keras_object(model)``,
    checked by ``keras_config.checked_model``); ``source`` names it in messages."""
    config = json.loads(json.dumps(config))  # as a .keras file holds it: lists, not tuples
    imported = to_entries(model_graph(checked_model(config, source)), source)
    flat = spec_text(imported, source, header=_header(imported))
    text = flat
    if blocks:
        from archspec.importer.blocks import with_blocks

        text = with_blocks(imported, source, flat.count("\n"), _header(imported))
    check_text(text, source)
    return ImportResult(text, imported, flat.count("\n"), imported.notes)


def _header(imported: Imported) -> list[str]:
    """Comment lines naming the settings left out: initializers the spec cannot name (they
    matter only to training from scratch, never to a shape, a count or an output)."""
    if not imported.notes:
        return []
    return ["Left out (initializers without an archspec name; they matter only when training from scratch):"] + \
        [f"  {note}: {_some(layers)}" for note, layers in imported.notes.items()]


def _some(names: list[str], shown: int = 3) -> str:
    """
    >>> _some(["a", "b"]), _some(["a", "b", "c", "d", "e"])
    ('a, b', 'a, b, c and 2 more')
    """
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" and {len(names) - shown} more"


def check_text(text: str, source: str) -> None:
    """The spec must validate: an import that archspec cannot read back is refused, not written."""
    from archspec.api import compile_text

    try:
        compile_text(text, f"<import of {source}>")
    except SpecErrors as exc:
        raise UserError(f"the spec imported from {source} does not validate: {exc.format()}",
                        "this is a bug in archspec import, or a model archspec cannot express; please report it") \
            from None
