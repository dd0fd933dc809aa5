"""Names written in ``inputs``, ``outputs`` and ``share``, and what they stand for.

Lowering fills one symbol table per scope (the top level, each block instance) while it
expands entries; names are resolved once every entry is expanded, so they may refer forward.
A table maps a name to a reference: a node's name, another name still to resolve (a block's
input, a ``repeat: 0`` entry), or the output of a shared block instance, known only once the
shares are applied. ``layer:name`` and ``layer:1`` name one of a layer's outputs after the
first; the suffix is kept as written and checked by the shape pass, which knows the outputs.
A block that declares ``outputs: [a, b]`` gives each use's name a ``BlockOutputs``: ``use`` is
its first output, ``use:b`` (or ``use:1``) another, resolved here against the declaration.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional, Union

from archspec.errors import Location, SpecError, Stage, did_you_mean, shown
from archspec.graph.ir import OUTPUT_MARK


@dataclass(frozen=True)
class NameRef:
    """A name written in ``inputs``/``outputs``, to resolve once every entry is expanded."""

    scope: tuple[str, ...]
    name: str
    loc: Location


@dataclass(eq=False)
class Deferred:
    """The output of a shared block instance: set when the share is applied (None: it failed)."""

    target: Optional["Ref"] = None


@dataclass(eq=False)
class BlockOutputs:
    """The outputs a block declares (``outputs: [a, b]``), for one instance: the instance's
    name stands for the first, ``use:b`` (or ``use:1``) for one of them."""

    block: str
    named: dict[str, "Ref"]  # in the declared order

    @property
    def first(self) -> "Ref":
        return next(iter(self.named.values()))


Ref = Union[str, NameRef, Deferred, BlockOutputs]  # a node/input name, or a name still to resolve


class Unresolved(Exception):
    def __init__(self, error: SpecError) -> None:
        self.error = error


def split_output(name: str) -> tuple[str, Optional[str]]:
    """A written name and the output it selects (None: the first).

    >>> split_output("lstm:state_h"), split_output("lstm:0"), split_output("stage1/conv")
    (('lstm', 'state_h'), ('lstm', None), ('stage1/conv', None))
    """
    base, mark, which = name.partition(OUTPUT_MARK)
    return (base, None) if not mark or which == "0" else (base, which)


@dataclass
class Names:
    """The symbol tables of one lowering, and resolution over them."""

    inputs: frozenset[str]                     # the model's input names
    layer_names: Callable[[], set[str]]        # every node expanded so far, for "block/layer" names
    symbols: dict[tuple[str, ...], dict[str, Ref]] = field(default_factory=dict)
    symbol_locs: dict[tuple[tuple[str, ...], str], Location] = field(default_factory=dict)
    _layers: Optional[set[str]] = None

    def forget_layers(self) -> None:
        """New nodes were added (shared copies): the "block/layer" lookup must see them."""
        self._layers = None

    def resolve(self, ref: Ref) -> str:
        """The node or input name a reference stands for, following names that stand for names
        (``repeat: 0`` entries) in a loop, since such chains can be as long as the file."""
        resolved = self._follow(ref, False)
        assert isinstance(resolved, str)
        return resolved

    def _follow(self, ref: Ref, keep_outputs: bool) -> Union[str, BlockOutputs]:
        """``resolve``, or with ``keep_outputs`` the block outputs a name stands for, if it does."""
        seen: set[NameRef] = set()
        while not isinstance(ref, str):
            if isinstance(ref, BlockOutputs):
                if keep_outputs:
                    return ref
                ref = ref.first
                continue
            if isinstance(ref, Deferred):
                if ref.target is None:
                    raise Unresolved(SpecError("", "", None, Stage.GRAPH))  # the failed share is reported
                ref = ref.target
                continue
            if ref in seen:
                raise Unresolved(SpecError(f"{shown(ref.name)} refers to itself", "name another entry", ref.loc,
                                           Stage.GRAPH))
            seen.add(ref)
            base, which = split_output(ref.name)
            if which is None:
                ref = self._lookup(ref if base == ref.name else NameRef(ref.scope, base, ref.loc))
                continue
            owner = self._follow(NameRef(ref.scope, base, ref.loc), True)
            if isinstance(owner, BlockOutputs):
                ref = _selected(owner, base, which, ref.loc)
                continue
            return self._with_output(owner, which, ref)
        return ref

    def _with_output(self, resolved: str, which: str, ref: NameRef) -> str:
        if resolved in self.inputs:
            raise Unresolved(SpecError(f"the input '{resolved}' has one output, so {shown(ref.name)} names nothing",
                                       f"write '{resolved}'", ref.loc, Stage.GRAPH))
        if OUTPUT_MARK in resolved:
            raise Unresolved(SpecError(f"{shown(ref.name)} selects an output of an output", "write layer:output "
                                       "once", ref.loc, Stage.GRAPH))
        return f"{resolved}{OUTPUT_MARK}{which}"

    def _lookup(self, ref: NameRef) -> Ref:
        table = self.symbols.get(ref.scope, {})
        if ref.name not in table and "/" in ref.name:  # a layer inside a block: "stage1/conv1"
            if self._layers is None:  # once, not once per reference: a file may hold 100,000 of them
                self._layers = self.layer_names()
            full = "/".join(ref.scope + (ref.name,))
            if full in self._layers:
                return full
        if ref.name not in table:
            known = [n for n in table if n != "in"] + (["in"] if "in" in table else [])
            hint = did_you_mean(str(ref.name), known) or "name an entry above with 'name:'"
            where = f" in block '{ref.scope[-1]}'" if ref.scope else ""
            raise Unresolved(SpecError(f"unknown name {shown(ref.name)}{where}", hint, ref.loc, Stage.GRAPH))
        return table[ref.name]

    def resolve_reported(self, ref: Ref, errors: list[SpecError]) -> str:
        """``resolve``, with a failure added to ``errors`` (and "" returned)."""
        try:
            return self.resolve(ref)
        except Unresolved as exc:
            if exc.error.message:
                errors.append(exc.error)
            return ""


def _selected(outputs: BlockOutputs, use: str, which: str, loc: Location) -> Ref:
    """The output ``which`` (a declared name or its index) of the block instance ``use``."""
    names = list(outputs.named)
    if which.isdigit() and int(which) < len(names):
        return outputs.named[names[int(which)]]
    if which in outputs.named:
        return outputs.named[which]
    listed = ", ".join(f"{use}{OUTPUT_MARK}{n} ({i})" for i, n in enumerate(names))
    closest = did_you_mean(which, names)
    hint = closest.replace("'", f"'{use}{OUTPUT_MARK}", 1) if closest else "name one of them"
    raise Unresolved(SpecError(f"'{use}' (block '{outputs.block}') has no output {shown(which)}: its outputs are "
                               f"{listed}", hint, loc, Stage.GRAPH))


@lru_cache(maxsize=None)
def snake_case(name: str) -> str:
    """A kind's name as Keras names its layers by default (an entry without ``name:``).

    >>> snake_case("Conv2D"), snake_case("BatchNormalization"), snake_case("ReLU"), snake_case("Conv2DTranspose")
    ('conv2d', 'batch_normalization', 're_lu', 'conv2d_transpose')
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)  # keras.src.utils.naming.to_snake_case
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
