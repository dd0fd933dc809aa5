"""The import pipeline, as a short chain: read the config, flatten it, drop the masks Keras
propagates (the built model propagates them itself), map layers to entries,
find repeated blocks, write the text, and check that archspec reads the result back."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from archspec.importer.graph import model_graph
from archspec.importer.keras_config import InputShape, checked_model, read_source
from archspec.importer.masks import without_propagated_masks
from archspec.importer.read_back import read_back, with_output_names, with_weightless_marked
from archspec.importer.to_entries import Imported, to_entries
from archspec.importer.writer import spec_text

if TYPE_CHECKING:
    from archspec.api import Compiled


@dataclass(frozen=True)
class ImportResult:
    """The spec text and its analysis. ``lines`` and ``lines_without_blocks`` count the lines
    of the whole file written with and without blocks (comments included): blocks saved
    their difference, the number the spec's comment and the command's message both give."""

    text: str
    imported: Imported
    lines_without_blocks: int
    notes: dict[str, list[str]]
    compiled: "Compiled"  # the text compiled: the import's own check, reused by its callers

    @property
    def lines(self) -> int:
        return self.text.count("\n")

    @property
    def lines_saved(self) -> int:
        return self.lines_without_blocks - self.lines

    @property
    def left_out(self) -> int:
        """How many layer settings the spec could not name (initializers), listed in its comment."""
        return sum(len(layers) for layers in self.notes.values())


def import_model(source: str, blocks: bool = True, input_shape: Optional[InputShape] = None) -> ImportResult:
    """The spec text of the model ``source`` names (see ``keras_config.read_source``)."""
    return import_config(read_source(source, input_shape), source, blocks)


def import_config(config: dict, source: str, blocks: bool = True) -> ImportResult:
    """The spec text of a serialised model (``keras.saving.serialize_keras_object(model)``,
    checked by ``keras_config.checked_model``); ``source`` names it in messages."""
    config = json.loads(json.dumps(config))  # as a .keras file holds it: lists, not tuples
    imported = to_entries(without_propagated_masks(model_graph(checked_model(config, source)), source), source)
    header = _header(imported)
    imported, flat, compiled = _flat(imported, source, header)
    text = flat
    if blocks:
        from archspec.importer.blocks import with_blocks

        text, compiled = with_blocks(imported, source, (flat, compiled), header)
    return ImportResult(text, imported, flat.count("\n"), imported.notes, compiled)


def _flat(imported: Imported, source: str, header: list[str]) -> tuple[Imported, str, "Compiled"]:
    """The flat spec and its analysis, with a layer's later outputs named as the analysis names
    them (the config holds only their index) and ``trainable: false`` only on layers with
    weights; the names change the text, not the analysis."""
    text = spec_text(imported, source, header=header)
    compiled = read_back(text, source)
    named = with_weightless_marked(with_output_names(imported, compiled), compiled)
    if named is imported:
        return imported, text, compiled
    text = spec_text(named, source, header=header)
    return named, text, read_back(text, source)


def _header(imported: Imported) -> list[str]:
    """Comment lines naming what the spec does not hold: a mixed-precision policy (training's
    --mixed-precision chooses one) and the initializers the spec cannot name (they matter only
    to training from scratch, never to a shape, a count or an output)."""
    lines = [f"Computed under the Keras dtype policy {policy} ({_some(layers)}): archspec builds float32; "
             "`archspec train --mixed-precision` trains under a mixed policy."
             for policy, layers in imported.policies.items()]
    if not imported.notes:
        return lines
    return lines + ["Left out (initializers without an archspec name; they matter only when training from scratch):"] \
        + [f"  {note}: {_some(layers)}" for note, layers in imported.notes.items()]


def _some(names: list[str], shown: int = 3) -> str:
    """
    >>> _some(["a", "b"]), _some(["a", "b", "c", "d", "e"])
    ('a, b', 'a, b, c and 2 more')
    """
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" and {len(names) - shown} more"
