"""Limits on what a YAML document may make the loader build: nesting depth and aliases.

YAML lets a small file describe an enormous or endless tree: an alias (``*a``) repeats its
anchor's whole content, so nine lines of ten aliases each ("billion laughs") expand to 10**9
values; an alias inside its own anchor (``&a [*a]``) is a cycle; and ``[[[[...]]]]`` nests as
deep as the file is long, which overflows the stack of a recursive composer (LibYAML's C one
crashes the interpreter). :class:`BoundedComposer` composes PyYAML's node tree with every
node counted as it arrives, so these are refused at the line where the limit is crossed,
before anything large is built.

Aliases may make the document at most ``ALIAS_FACTOR`` times larger than it is written, once
it holds more than ``ALIAS_FLOOR`` values: sharing an anchored mapping between layers (as
``yaml.dump`` does for a repeated Python object) stays far below that, an alias bomb does not.
"""
from __future__ import annotations

from typing import Any

from yaml.composer import Composer
from yaml.error import Mark
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import Node

from archspec.errors import Location, SpecError

MAX_DEPTH = 50          # nested mappings and lists; the zoo nests at most 8 deep
ALIAS_FLOOR = 100_000   # values after expansion that aliases may always reach
ALIAS_FACTOR = 10       # beyond the floor, values after expansion per value written


class YAMLLimitError(Exception):
    """A document that crosses one of the limits; ``located`` makes it a SpecError."""

    def __init__(self, message: str, hint: str, mark: Mark) -> None:
        super().__init__(message)
        self.message, self.hint, self.mark = message, hint, mark

    def located(self, path: str) -> SpecError:
        return SpecError(self.message, self.hint, Location(path, self.mark.line + 1, self.mark.column + 1))


class BoundedComposer(Composer):
    """PyYAML's composer, counting depth and values (aliases expanded) as it goes.

    It reads events from whichever parser it is mixed with (PyYAML's or LibYAML's).
    """

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.written = 0                    # nodes and aliases as written
        self.expanded = 0                   # nodes once every alias is replaced by its anchor's content
        self.anchor_sizes: dict[str, int] = {}
        self.open_anchors: set[str] = set()  # anchors whose node is still being composed

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        self.written += 1
        if event.__class__ is ScalarEvent and event.anchor is None:
            # Most nodes: nothing nests in a plain scalar and no alias can name it, so it is only
            # counted and composed directly (our resolvers have no path resolvers to descend).
            self.expanded += 1
            return self.compose_scalar_node(None)
        if isinstance(event, AliasEvent):
            self._count_alias(event.anchor, event.start_mark)
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise YAMLLimitError(f"the document nests mappings and lists more than {MAX_DEPTH} levels deep",
                                 "a spec needs far fewer levels; flatten this value", event.start_mark)
        start = self.expanded
        self.expanded += 1
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        node = super().compose_node(parent, index)
        if anchor is not None:
            self.open_anchors.discard(anchor)
            self.anchor_sizes[anchor] = self.expanded - start
        self.depth -= 1
        return node

    def _count_alias(self, anchor: str, mark: Mark) -> None:
        if anchor in self.open_anchors:
            raise YAMLLimitError(f"the alias *{anchor} is inside its own anchor &{anchor}, which would make the "
                                 "value contain itself without end", "refer to a value outside the anchored one",
                                 mark)
        self.expanded += self.anchor_sizes.get(anchor, 0)  # an unknown anchor is the composer's error
        limit = max(ALIAS_FLOOR, ALIAS_FACTOR * self.written)
        if self.expanded > limit:
            size = self.anchor_sizes.get(anchor, 0)
            raise YAMLLimitError(f"aliases expand the document past {limit:,} values ({self.written:,} written so far; "
                                 f"*{anchor} adds {size:,} each time)",
                                 "an alias repeats its anchor's whole content; repeat layers with repeat: or a "
                                 "block instead", mark)
