"""The graph IR: frozen records that every later stage reads. No YAML, no Keras."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from archspec.errors import Location

Shape = tuple  # tuple[Optional[int], ...] without the batch axis
OUTPUT_MARK = ":"  # "lstm:state_h", "lstm:1": one of a layer's outputs after the first


def producer(tensor: str) -> str:
    """The node (or graph input) a tensor name comes from.

    >>> producer("enc/lstm:state_h"), producer("conv1")
    ('enc/lstm', 'conv1')
    """
    return tensor.split(OUTPUT_MARK, 1)[0]


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
    shares: Optional[str] = None       # the node whose weights this application uses (written first)
    input_locs: tuple[Location, ...] = ()  # where each input is named (the entry's place when implicit)
    trainable: bool = True             # false: frozen (``trainable: false``), every parameter non-trainable

    @property
    def local_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def arg_loc(self, arg: Optional[str]) -> Location:
        return self.arg_locs.get(arg, self.loc) if arg else self.loc

    def input_loc(self, index: int) -> Location:
        return self.input_locs[index] if index < len(self.input_locs) else self.loc

    @property
    def weights_of(self) -> str:
        """The node that owns the weights this node applies: itself unless it is shared."""
        return self.shares or self.name


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
    shares: tuple[str, ...] = ()       # the instance whose weights this one's layers use
    output: str = ""                   # the first output its block declares (outputs: [a, b]); "": its last layer's


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
    output_locs: tuple[Location, ...] = ()  # where each output is named

    def node(self, name: str) -> Node:
        return self._by_name[name]

    def share_note(self, node: Node) -> str:
        """For a member of a shared block instance, the ``share:`` entry that applies it (an
        error at the member's line in the block would not say which use failed); else ''."""
        for depth in range(1, len(node.scope) + 1):
            instance = self.blocks.get(node.scope[:depth])
            if instance is not None and instance.shares:
                return (f" (in '{'/'.join(instance.path)}', the share: of '{'/'.join(instance.shares)}' at "
                        f"line {instance.loc.line})")
        return ""

    @property
    def _by_name(self) -> dict[str, Node]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {n.name: n for n in self.nodes}
            object.__setattr__(self, "_index", cached)
        return cached
