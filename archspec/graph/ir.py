"""The graph IR: frozen records that every later stage reads. No YAML, no Keras."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from archspec.errors import Location

Shape = tuple  # tuple[Optional[int], ...] without the batch axis


@dataclass(frozen=True)
class Node:
    """One layer: blocks expanded, repeats unrolled, expressions evaluated, names resolved."""

    name: str                          # unique; block members are "block/layer"
    kind: str                          # registered layer kind, e.g. "Conv2D"
    args: Mapping[str, Any]            # every argument, defaults filled
    inputs: tuple[str, ...]            # names of nodes or graph inputs
    loc: Location                      # where the entry's layer key is written
    arg_locs: Mapping[str, Location] = field(default_factory=dict)
    scope: tuple[str, ...] = ()        # enclosing block instances, outermost first

    @property
    def local_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def arg_loc(self, arg: Optional[str]) -> Location:
        return self.arg_locs.get(arg, self.loc) if arg else self.loc


@dataclass(frozen=True)
class Expectation:
    """An ``expect:`` shape assertion on an entry's output."""

    node: str
    shape: Shape
    loc: Location


@dataclass(frozen=True)
class BlockInstance:
    """One use of a block: its path of instance names, its type, and where it is used."""

    path: tuple[str, ...]
    block: str
    loc: Location


@dataclass(frozen=True)
class Graph:
    name: str
    inputs: Mapping[str, Shape]
    input_locs: Mapping[str, Location]
    nodes: tuple[Node, ...]            # topologically ordered
    outputs: tuple[str, ...]
    file: str = "<string>"
    description: str = ""
    expectations: tuple[Expectation, ...] = ()
    blocks: Mapping[tuple[str, ...], BlockInstance] = field(default_factory=dict)
    limits: Mapping[str, Any] = field(default_factory=dict)
    limit_locs: Mapping[str, Location] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        return self._by_name[name]

    @property
    def _by_name(self) -> dict[str, Node]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_index", cached)
        return cached
