"""The imported spec read back by archspec: its analysis, which names a layer's other outputs,
proves blocks change nothing, and is what the import returns (so nothing is analysed twice)."""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from archspec.errors import SpecErrors, UserError
from archspec.importer.to_entries import Imported

if TYPE_CHECKING:
    from archspec.api import Compiled


def read_back(text: str, source: str) -> "Compiled":
    """The compiled spec; an import that archspec cannot read back is refused, not written."""
    from archspec.api import compile_text

    try:
        return compile_text(text, f"<import of {source}>")
    except SpecErrors as exc:
        raise UserError(f"the spec imported from {source} does not validate: {exc.format()}",
                        "this is a bug in archspec import, or a model archspec cannot express; please report it") \
            from None


def layer_results(compiled: "Compiled") -> dict[str, tuple]:
    """Each layer's outputs (names and shapes) and parameters, by its flat name (a block
    member's name without the '/': the Keras name), for comparing two texts of one model."""
    return {info.node.name.replace("/", ""): (info.extra_outputs, tuple(info.out_shape), info.params)
            for info in compiled.analysis.layers}


def with_weightless_marked(imported: Imported, compiled: "Compiled") -> Imported:
    """``imported`` with the layers that have no weights marked ``weightless`` and not frozen:
    Keras's ``trainable = False`` on a ReLU or a padding (every layer of a frozen base model)
    changes nothing, and the spec says ``trainable: false`` only where it freezes weights."""
    weightless = {info.node.name for info in compiled.analysis.layers if info.params.total == 0}
    if not any(e.name in weightless and not e.trainable for e in imported.entries):
        return imported
    entries = [replace(e, trainable=True, weightless=True) if e.name in weightless and e.share is None else e
               for e in imported.entries]
    return replace(imported, entries=entries)


def with_output_names(imported: Imported, compiled: "Compiled") -> Imported:
    """``imported`` with each reference to a layer's later output by index (``encoder:1``, as
    the Keras config holds it) written by the output's name (``encoder:state_h``), as the
    analysis of the flat spec ``compiled`` names it."""
    names = {f"{info.node.name}:{i}": f"{info.node.name}:{name}"
             for info in compiled.analysis.layers for i, (name, _) in enumerate(info.extra_outputs, 1)}
    if not names:
        return imported
    entries = [replace(e, inputs=[names.get(ref, ref) for ref in e.inputs]) for e in imported.entries]
    return replace(imported, entries=entries, outputs=[names.get(ref, ref) for ref in imported.outputs])
