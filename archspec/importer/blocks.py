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
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Optional, Sequence

from archspec.importer.to_entries import Entry, Imported
from archspec.importer.writer import entries_text, scalar, spec_text
from archspec.layers.catalog import all_kinds


@dataclass(frozen=True)
class Run:
    """Consecutive entries ``start:stop`` named ``prefix`` + member; ``source`` the one outside
    tensor they take (the block's ``in``)."""

    prefix: str
    start: int
    stop: int
    source: str
    signature: tuple


@dataclass
class Block:
    name: str
    runs: list[Run]
    members: list[Entry]            # with $param arguments and member-relative inputs
    params: dict[str, Any]          # parameter -> default (the most common value)
    given: list[dict[str, Any]]     # per run: the parameters that differ from the default


def with_blocks(imported: Imported, source: str, flat_lines: int, header: Sequence[str]) -> str:
    """The spec text with repeated runs as blocks, or the flat text when none saves lines."""
    flat = spec_text(imported, source, header=header)
    blocks = choose_blocks(imported.entries)
    if not blocks:
        return flat
    entries, outputs = _with_uses(imported, blocks)
    lines = [line for block in blocks for line in _block_lines(block)]
    text = spec_text(replace(imported, entries=entries, outputs=outputs), source, lines, header)
    saved = flat_lines - text.count("\n")
    if saved <= 0 or not _same_analysis(flat, text):
        return flat
    notes = [f"{len(blocks)} block{'s' if len(blocks) > 1 else ''} of repeated layers save {saved:,} lines "
             f"({flat_lines:,} without them).", "A block member's Keras name is its use's name followed by its own "
             "(conv2_block2 + _1_conv); archspec build names it use.member."]
    return spec_text(replace(imported, entries=entries, outputs=outputs), source, lines, [*header, *notes])


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
    for prefix, indices in prefixes.items():
        spans = _contiguous(indices)
        if prefix in written or len(spans) > 1:
            continue  # the use would take a layer's name (MobileNet's conv1 beside conv1_bn), or be two uses
        for start, stop in spans:
            members = entries[start:stop]
            if stop - start < 2 or any(e.share or e.name in shared for e in members):
                continue
            run = _run(prefix, start, stop, members, entries)
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


def _run(prefix: str, start: int, stop: int, members: list[Entry], entries: list[Entry]) -> Optional[Run]:
    inside = {e.name for e in members}
    outside = {ref for e in members for ref in e.inputs if ref.split(":")[0] not in inside}
    if len(outside) != 1:
        return None
    if any(ref.split(":")[0] in inside and ":" in ref for e in entries[:start] + entries[stop:] for ref in e.inputs):
        return None  # a member's second output used outside: left flat
    source = outside.pop()
    cut = len(prefix)
    # Arguments are left out of the signature: a value missing in one run is the kind's default there.
    signature = tuple((e.name[cut:], e.kind, tuple(_local(ref, inside, cut, source) for ref in e.inputs))
                      for e in members)
    return Run(prefix, start, stop, source, signature)


def _local(ref: str, inside: set[str], cut: int, source: str) -> str:
    if ref == source:
        return "in"
    return ref[cut:] if ref.split(":")[0] in inside else ref


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
    params, given, written = _params(values, len(runs))
    members = []
    inside = {e.name for e in template}
    for m, member in enumerate(template):
        args = {key: written.get((m, key), member.args.get(key)) for key in keys[m]}
        inputs = [_local(ref, inside, cut, runs[0].source) for ref in member.inputs]
        members.append(Entry(member.name[cut:], member.kind, args, inputs, keras_name=member.keras_name))
    return Block(_block_name(runs[0].prefix, names), runs, members, params, given)


def _params(values: dict[tuple[int, str], list], count: int) -> tuple[dict, list[dict], dict]:
    """Parameters for the varying argument values: one per distinct column of values, and an
    expression ``${k * p}`` for a column that is a whole multiple of an earlier one."""
    params: dict[str, Any] = {}
    columns: dict[str, list] = {}
    written: dict[tuple[int, str], str] = {}
    for (m, key), column in values.items():
        same = next((p for p, c in columns.items() if c == column), None)
        factor = None if same else next(((p, k) for p, c in columns.items() if (k := _multiple(c, column))), None)
        if same:
            written[(m, key)] = f"${same}"
        elif factor:
            written[(m, key)] = f"${{{factor[1]} * {factor[0]}}}"
        else:
            name = key if key not in columns else next(f"{key}_{i}" for i in range(2, 1000) if f"{key}_{i}" not in columns)
            columns[name] = column
            params[name] = Counter(scalar(v) for v in column).most_common(1)[0][0]
            params[name] = next(v for v in column if scalar(v) == params[name])
            written[(m, key)] = f"${name}"
    given = [{p: c[i] for p, c in columns.items() if c[i] != params[p]} for i in range(count)]
    return params, given, written


def _multiple(base: list, column: list) -> Optional[int]:
    """
    >>> _multiple([64, 128], [256, 512]), _multiple([64, 128], [256, 500])
    (4, None)
    """
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in base + column):
        return None
    k = column[0] // base[0]
    return k if k >= 2 and all(c == k * b for b, c in zip(base, column)) else None


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
            out.append(Entry(run.prefix, block.name, block.given[n], [_renamed(run.source, renamed)]))
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
    lines = [f"  {block.name}:", f"    params: {params}", "    layers:"]
    return lines + entries_text(block.members, "in", indent="      ")


def _same_analysis(flat: str, blocked: str) -> bool:
    """Whether both texts analyse to the same layers (a member's name without the '/' is the
    flat entry's): every output shape and parameter count."""
    from archspec.api import compile_text

    def layers(text: str) -> dict[str, tuple]:
        analysis = compile_text(text).analysis
        return {info.node.name.replace("/", ""): (info.outputs[1:], tuple(info.out_shape), info.params)
                for info in analysis.layers}

    return layers(flat) == layers(blocked)
