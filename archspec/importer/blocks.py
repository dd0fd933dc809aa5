"""Repeated structure as blocks: runs of consecutive entries whose Keras names share a prefix
(``conv2_block1_1_conv`` ... ``conv2_block1_out``) and that recur with the same layers and
wiring, up to a few argument values, become one block with parameters, used once per run.

A use is named by the prefix and its members by the rest of the Keras name, underscore
included (``conv2_block1`` + ``_1_conv``), so a Keras name is always the use's name followed
by the member's; the Keras model archspec builds names that layer ``conv2_block1._1_conv``.
Groups are chosen greedily by the lines they save; the blocked spec must analyse exactly as
the flat one (every layer's shape and parameters), or the flat spec is kept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional, Sequence

from archspec.importer.block_params import block_params
from archspec.importer.read_back import layer_results, read_back
from archspec.importer.to_entries import Entry, Imported
from archspec.importer.writer import entries_text, scalar, spec_text
from archspec.layers.catalog import all_kinds

if TYPE_CHECKING:
    from archspec.api import Compiled


@dataclass(frozen=True)
class Run:
    """Consecutive entries ``start:stop`` named ``prefix`` + member; ``sources`` the outside
    tensors they take, in the order the members first take them (the block's inputs)."""

    prefix: str
    start: int
    stop: int
    sources: tuple[str, ...]
    signature: tuple


@dataclass
class Block:
    name: str
    runs: list[Run]
    members: list[Entry]            # with $param arguments and member-relative inputs
    params: dict[str, Any]          # parameter -> default (the most common value)
    given: list[dict[str, Any]]     # per run: the parameters that differ from the default
    inputs: tuple[str, ...]         # the names of its inputs inside it (``in`` alone for one)
    frozen: bool = False            # every member with weights frozen: ``trainable: false`` on each use


def input_names(count: int) -> tuple[str, ...]:
    """A block's names for its inputs: ``in`` for one; declared ``x``, ``skip``... for several.

    >>> input_names(1), input_names(3)
    (('in',), ('x', 'skip', 'skip2'))
    """
    return ("in",) if count == 1 else ("x", "skip", *(f"skip{i}" for i in range(2, count)))


def with_blocks(imported: Imported, source: str, flat: tuple[str, "Compiled"],
                header: Sequence[str]) -> tuple[str, "Compiled"]:
    """The spec text with repeated runs as blocks and its analysis, or ``flat`` (the flat text
    and its analysis) when blocks save no line or would analyse differently."""
    blocks = choose_blocks(imported.entries)
    if not blocks:
        return flat
    entries, outputs = _with_uses(imported, blocks)
    lines = [line for block in blocks for line in _block_lines(block)]
    blocked = replace(imported, entries=entries, outputs=outputs)
    # The saving counts the whole files, this comment included (its two lines, whatever the numbers).
    unsaid = spec_text(blocked, source, lines, [*header, *_saving_note(len(blocks), 0, 0)])
    flat_lines = flat[0].count("\n")
    saved = flat_lines - unsaid.count("\n")
    if saved <= 0:
        return flat
    text = spec_text(blocked, source, lines, [*header, *_saving_note(len(blocks), saved, flat_lines)])
    compiled = _read_back_or_none(text, source)
    if compiled is None or layer_results(compiled) != layer_results(flat[1]):
        return flat
    return text, compiled


def _saving_note(count: int, saved: int, flat_lines: int) -> list[str]:
    return [f"{count} block{'s' if count > 1 else ''} of repeated layers save {saved:,} lines "
            f"({flat_lines:,} without them).", "A block member's Keras name is its use's name followed by its own "
            "(conv2_block2 + _1_conv); archspec build names it use.member."]


def _read_back_or_none(text: str, source: str) -> Optional["Compiled"]:
    """The blocked spec's analysis, or None when archspec cannot read it (the flat spec is kept)."""
    from archspec.errors import UserError

    try:
        return read_back(text, source)
    except UserError:
        return None


def choose_blocks(entries: list[Entry]) -> list[Block]:
    """Groups of runs with one signature, chosen greedily by the lines they save, none overlapping."""
    groups: dict[tuple, list[Run]] = {}
    for run in _runs(entries):
        groups.setdefault(run.signature, []).append(run)
    taken: set[int] = set()
    chosen: list[Block] = []
    names: set[str] = set(all_kinds())
    while True:
        best: Optional[tuple[int, list[Run]]] = None
        for runs in groups.values():
            free = _disjoint([r for r in runs if not taken.intersection(range(r.start, r.stop))])
            if len(free) >= 2:
                saving = _saving(entries, free)
                if saving > 0 and (best is None or saving > best[0]):
                    best = (saving, free)
        if best is None:
            return sorted(chosen, key=lambda b: b.runs[0].start)
        runs = best[1]
        for run in runs:
            taken.update(range(run.start, run.stop))
        chosen.append(_block(entries, runs, names))


def _runs(entries: list[Entry]) -> list[Run]:
    """Every run of two or more consecutive entries under one name prefix that takes exactly
    one tensor from outside and is referred to from outside only by its members' names."""
    shared = {e.share for e in entries if e.share}
    prefixes: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        parts = entry.name.split("_")
        for k in range(1, len(parts)):
            prefixes.setdefault("_".join(parts[:k]), []).append(i)
    runs = []
    written = {e.name for e in entries} | {"in", "input", "previous"}
    later_outputs: dict[str, set[int]] = {}  # a layer -> the entries that take one of its later outputs
    for i, entry in enumerate(entries):
        for ref in entry.inputs:
            if ":" in ref:
                later_outputs.setdefault(ref.split(":")[0], set()).add(i)
    for prefix, indices in prefixes.items():
        spans = _contiguous(indices)
        if prefix in written or len(spans) > 1:
            continue  # the use would take a layer's name (MobileNet's conv1 beside conv1_bn), or be two uses
        for start, stop in spans:
            members = entries[start:stop]
            if stop - start < 2 or any(e.share or e.name in shared for e in members):
                continue
            run = _run(prefix, start, stop, members, later_outputs)
            if run is not None:
                runs.append(run)
    return runs


def _contiguous(indices: list[int]) -> list[tuple[int, int]]:
    """
    >>> _contiguous([1, 2, 3, 7, 8])
    [(1, 4), (7, 9)]
    """
    spans, start = [], indices[0]
    for a, b in zip(indices, indices[1:] + [None]):
        if b != a + 1:
            spans.append((start, a + 1))
            start = b
    return spans


def _run(prefix: str, start: int, stop: int, members: list[Entry],
         later_outputs: dict[str, set[int]]) -> Optional[Run]:
    inside = {e.name for e in members}
    sources = tuple(dict.fromkeys(ref for e in members for ref in e.inputs if ref.split(":")[0] not in inside))
    if not 1 <= len(sources) <= MAX_INPUTS:
        return None
    if any(not start <= i < stop for name in inside for i in later_outputs.get(name, ())):
        return None  # a member's later output used outside: left flat
    local = dict(zip(sources, input_names(len(sources))))
    cut = len(prefix)
    # Arguments are left out of the signature: a value missing in one run is the kind's default there.
    signature = tuple((e.name[cut:], e.kind, tuple(_local(ref, cut, local) for ref in e.inputs), e.trainable)
                      for e in members)
    return Run(prefix, start, stop, sources, signature)


MAX_INPUTS = 3  # a run taking more outside tensors than this is rarely one unit of a design


def _local(ref: str, cut: int, local: dict[str, str]) -> str:
    """A member's input inside the block: the block's input's name, or a member's (its name after the prefix)."""
    return local.get(ref) or ref[cut:]


def _disjoint(runs: list[Run]) -> list[Run]:
    kept, end = [], -1
    for run in sorted(runs, key=lambda r: r.start):
        if run.start >= end:
            kept.append(run)
            end = run.stop
    return kept


def _saving(entries: list[Entry], runs: list[Run]) -> int:
    """Lines saved: the runs' lines, less one definition and two or three lines per use."""
    per_run = [len(entries_text(entries[r.start:r.stop], None)) for r in runs]
    definition = per_run[0] + 3
    return sum(per_run) - definition - 3 * len(runs)


def _block(entries: list[Entry], runs: list[Run], names: set[str]) -> Block:
    cut = len(runs[0].prefix)
    template = entries[runs[0].start:runs[0].stop]
    values: dict[tuple[int, str], list] = {}
    keys: list[list[str]] = []
    for m, member in enumerate(template):
        defaults = all_kinds()[member.kind].arg_map
        keys.append(list(dict.fromkeys(k for r in runs for k in entries[r.start + m].args)))
        for key in keys[-1]:
            column = [entries[r.start + m].args.get(key, defaults[key].default) for r in runs]
            if any(v != column[0] for v in column):
                values[(m, key)] = column
    params, given, written = block_params(values, len(runs))
    members = []
    inputs = input_names(len(runs[0].sources))
    local = dict(zip(runs[0].sources, inputs))
    # A block of frozen layers (a frozen base model's) is frozen at its uses, not member by member.
    frozen = all(not m.trainable or m.weightless for m in template) and not all(m.weightless for m in template)
    for m, member in enumerate(template):
        args = {key: written.get((m, key), member.args.get(key)) for key in keys[m]}
        members.append(Entry(member.name[cut:], member.kind, args, [_local(ref, cut, local) for ref in member.inputs],
                             keras_name=member.keras_name, trainable=member.trainable or frozen))
    return Block(_block_name(runs[0].prefix, names), runs, members, params, given, inputs, frozen)


WORD = re.compile(r"[A-Za-z]+")


def _block_name(prefix: str, taken: set[str]) -> str:
    """A CamelCase name from the prefix's words (``conv2_block1`` -> ConvBlock), unique."""
    base = "".join(w.capitalize() for w in WORD.findall(prefix)) or "Block"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}{i}", i + 1
    taken.add(name)
    return name


def _with_uses(imported: Imported, blocks: list[Block]) -> tuple[list[Entry], list[str]]:
    """The top-level entries with each run replaced by its block use, and references into a
    run rewritten: its last member is the use, any other ``use/member``."""
    renamed: dict[str, str] = {}
    uses: dict[int, tuple[Block, int]] = {}
    for block in blocks:
        for i, run in enumerate(block.runs):
            uses[run.start] = (block, i)
            members = imported.entries[run.start:run.stop]
            for member in members[:-1]:
                renamed[member.name] = f"{run.prefix}/{member.name[len(run.prefix):]}"
            renamed[members[-1].name] = run.prefix
    out: list[Entry] = []
    i = 0
    while i < len(imported.entries):
        if i in uses:
            block, n = uses[i]
            run = block.runs[n]
            out.append(Entry(run.prefix, block.name, block.given[n], [_renamed(s, renamed) for s in run.sources],
                             trainable=not block.frozen))
            i = run.stop
            continue
        entry = imported.entries[i]
        out.append(replace(entry, inputs=[_renamed(r, renamed) for r in entry.inputs],
                           share=_renamed(entry.share, renamed) if entry.share else None))
        i += 1
    return out, [_renamed(r, renamed) for r in imported.outputs]


def _renamed(ref: str, renamed: dict[str, str]) -> str:
    base, colon, index = ref.partition(":")
    return renamed.get(base, base) + colon + index


def _block_lines(block: Block) -> list[str]:
    params = "{" + ", ".join(f"{p}: {scalar(v)}" for p, v in block.params.items()) + "}"
    lines = [f"  {block.name}:", f"    params: {params}"]
    if len(block.inputs) > 1:
        lines.append(f"    inputs: {scalar(list(block.inputs))}")
    return lines + ["    layers:"] + entries_text(block.members, block.inputs[0], indent="      ")
