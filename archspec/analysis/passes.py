"""The passes after shapes, and their typed result: what every report renders.

``run_passes`` adds to the shape analysis the receptive field of every tensor, the activation
memory for one batch size and dtype, and the merges whose paths are misaligned. The result
holds numbers and names only; ``report.py`` and ``render/`` turn them into text.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Optional

from archspec.analysis.memory import Memory, memory
from archspec.analysis.receptive import Field, receptive_fields
from archspec.analysis.shape_pass import Analysis
from archspec.layers.arithmetic import DTYPE_BYTES

if TYPE_CHECKING:
    from archspec.heads.head import Head


@dataclass(frozen=True)
class MergeNote:
    """A merge whose inputs see the model's input on different lattices."""

    layer: str       # the merge's full name
    kind: str
    line: int
    message: str     # the receptive-field pass's account of the misalignment


@dataclass(frozen=True)
class Report:
    """The shape analysis with receptive fields, memory and notes, for one batch size and dtype."""

    analysis: Analysis
    fields: Mapping[str, Field]        # every graph input and layer output
    memory: Memory
    notes: tuple[MergeNote, ...]
    head: Optional[Head] = None        # the spec's detection head, when it has one

    @property
    def batch_size(self) -> int:
        return self.memory.batch_size

    @property
    def dtype(self) -> str:
        return self.memory.dtype

    @property
    def param_bytes(self) -> int:
        """Bytes of every parameter stored as ``dtype``."""
        return self.analysis.params.total * DTYPE_BYTES[self.dtype]


def merge_notes(analysis: Analysis, fields: Mapping[str, Field]) -> tuple[MergeNote, ...]:
    return tuple(MergeNote(i.node.name, i.node.kind, i.node.loc.line, fields[i.node.name].note)
                 for i in analysis.layers if fields[i.node.name].note)


def run_passes(analysis: Analysis, batch_size: int = 1, dtype: str = "float32") -> Report:
    """Receptive fields, memory for ``batch_size`` samples of ``dtype``, and merge notes."""
    fields = receptive_fields(analysis)
    return Report(analysis, fields, memory(analysis, batch_size, dtype), merge_notes(analysis, fields))
