"""Load a spec file: safe YAML with YAML 1.2 scalars, duplicate-key errors and positions.

PyYAML's ``safe_load`` follows YAML 1.1: ``1e-3`` stays a string, ``no`` becomes False and
a duplicate key silently wins. We compose PyYAML's node tree with YAML 1.2 core-schema
resolvers and build the data ourselves, so every value keeps its line and column and only
plain data types (maps, lists, strings, numbers, booleans, null) can ever be produced.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from archspec.errors import Location, SpecError, SpecErrors, Stage, shown
from archspec.spec.encoding import character_error, decode_spec
from archspec.spec.yaml_limits import BoundedComposer, YAMLLimitError
from archspec.spec.yaml_syntax import syntax_error

PathKey = tuple  # a path into the data: keys and list indices


class _Resolver12(BaseResolver):
    """Implicit tags of the YAML 1.2 core schema."""

    yaml_implicit_resolvers: dict = {}


_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_MAP, _SEQ, _MERGE = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"

_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")

_Resolver12.add_implicit_resolver(_BOOL, _BOOL_RE, list("tTfF"))
_Resolver12.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
_Resolver12.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+0123456789."))
_Resolver12.add_implicit_resolver(_NULL, _NULL_RE, ["~", "n", "N", ""])
_Resolver12.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])


class _Composer(Reader, Scanner, Parser, BoundedComposer, _Resolver12):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        BoundedComposer.__init__(self)
        _Resolver12.__init__(self)


if yaml.__with_libyaml__:
    class _FastComposer(BoundedComposer, yaml._yaml.CParser, _Resolver12):  # type: ignore[name-defined,misc]
        """LibYAML's events, composed by our bounded composer (LibYAML's own has no limits, and
        crashes on deep nesting) with our resolvers: the same nodes and marks, four times faster."""

        def __init__(self, stream: str) -> None:
            yaml._yaml.CParser.__init__(self, stream)  # type: ignore[attr-defined]
            BoundedComposer.__init__(self)
            _Resolver12.__init__(self)


def _compose(text: str) -> Node | None:
    """The node tree; LibYAML when available. Errors always come from the pure-Python parser,
    whose messages (and our hints on them) are the ones the golden files hold."""
    if yaml.__with_libyaml__:
        try:
            return _FastComposer(text).get_single_node()
        except yaml.YAMLError:
            pass
    composer = _Composer(text)
    try:
        return composer.get_single_node()
    finally:
        composer.dispose()


def _int(text: str) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


_SCALARS = {
    _STR: str,
    _INT: _int,
    _FLOAT: _float,
    _BOOL: lambda t: t.lower() == "true",
    _NULL: lambda t: None,
}
# What an explicit standard tag reads (``!!bool maybe`` is an error, not false), and how to say it.
_FITS = {_INT: (_INT_RE, "an integer such as 12, 0x1F or 0o17"), _FLOAT: (_FLOAT_RE, "a number such as 0.5 or 1e-3"),
         _BOOL: (_BOOL_RE, "true or false"), _NULL: (_NULL_RE, "null, ~ or nothing")}
_NODE_KINDS = {_SEQ: "a list", _MAP: "a mapping", **dict.fromkeys(_SCALARS, "a plain value")}


@dataclass
class Document:
    """A loaded spec: plain data plus the position of every value and every key."""

    path: str
    data: Any
    text: str = ""
    positions: dict[PathKey, Location] = field(default_factory=dict)
    key_positions: dict[PathKey, Location] = field(default_factory=dict)

    def loc(self, path: PathKey) -> Location:
        """Position of the value at ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path and path not in self.positions:
            path = path[:-1]
        return self.positions.get(path, Location(self.path, 1, 1))

    def key_loc(self, path: PathKey) -> Location:
        """Position of the key whose value is at ``path`` (of the item, for list items)."""
        path = tuple(path)
        return self.key_positions.get(path) or self.loc(path)


def _short(tag: str) -> str:
    """A standard tag as written: ``!!bool``."""
    return tag.replace("tag:yaml.org,2002:", "!!")


def _mark(file: str, node: Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node tree into plain data, recording positions and errors."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.errors: list[SpecError] = []

    def build(self, node: Node, path: PathKey) -> Any:
        self.doc.positions[path] = _mark(self.doc.path, node)
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            self._check_tag(node, _SEQ)
            return [self._item(child, path + (i,)) for i, child in enumerate(node.value)]
        self._check_tag(node, _MAP)
        return self._mapping(node, path)

    def _item(self, child: Node, path: PathKey) -> Any:
        self.doc.key_positions[path] = _mark(self.doc.path, child)
        return self.build(child, path)

    def _mapping(self, node: MappingNode, path: PathKey) -> dict:
        result: dict = {}
        for key_node, value_node, from_merge in self._pairs(node):
            if not isinstance(key_node, ScalarNode):
                self.errors.append(SpecError("a mapping key must be a plain value, not a list or mapping",
                                             "write the key as text", _mark(self.doc.path, key_node)))
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str):  # every key of a spec names something, and names are text
                read_as = "null" if key is None else "a boolean" if isinstance(key, bool) else "a number"
                self.errors.append(SpecError(f"the key {shown(key_node.value)} is read as {read_as}, but keys must be text",
                                             f"quote it: {shown(key_node.value)}", _mark(self.doc.path, key_node)))
                key = key_node.value
            if key in result:
                if not from_merge:  # a merged key never overrides an explicit one (YAML's rule)
                    first = self.doc.key_positions[path + (key,)]
                    self.errors.append(SpecError(
                        f"duplicate key {shown(key)} (first written at line {first.line})",
                        "a key may appear once in a mapping; remove or rename one of them",
                        _mark(self.doc.path, key_node)))
                continue
            self.doc.key_positions[path + (key,)] = _mark(self.doc.path, key_node)
            result[key] = self.build(value_node, path + (key,))
        return result

    def _pairs(self, node: MappingNode) -> Iterator[tuple[Node, Node, bool]]:
        """Key/value pairs, explicit ones first, then those of YAML merge keys (``<<: *anchor``)."""
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
            else:
                yield key_node, value_node, False
        for value_node in merges:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, MappingNode):
                    for key_node, inner, _ in self._pairs(source):
                        yield key_node, inner, True
                else:
                    self.errors.append(SpecError("'<<' must merge a mapping", "point it at an anchored mapping",
                                                 _mark(self.doc.path, source)))

    def _check_tag(self, node: Node, expected: str) -> None:
        if node.tag != expected:
            self._misfit_tag(node, _NODE_KINDS[expected])

    def _scalar(self, node: ScalarNode) -> Any:
        construct = _SCALARS.get(node.tag)
        if construct is None:
            self._misfit_tag(node, "a plain value")
            return node.value
        pattern, fits = _FITS.get(node.tag, (None, ""))
        if pattern is not None and not pattern.match(node.value):
            self.errors.append(SpecError(f"{shown(node.value)} is not a valid {_short(node.tag)}",
                                         f"a {_short(node.tag)} is {fits}: fix the value or remove the tag",
                                         _mark(self.doc.path, node)))
            return node.value
        try:
            return construct(node.value)
        except ValueError:  # Python reads integers of at most 4,300 digits
            self.errors.append(SpecError(f"this integer has {len(node.value):,} digits, too many to read",
                                         "a spec's numbers are far smaller: fix the value", _mark(self.doc.path, node)))
            return node.value

    def _misfit_tag(self, node: Node, kind: str) -> None:
        """A standard tag on a node it cannot describe (``!!map [1]``), or any other tag (refused)."""
        if node.tag not in _NODE_KINDS:
            self._unsafe_tag(node)
            return
        self.errors.append(SpecError(f"{kind} cannot be read as {_short(node.tag)}",
                                     "fix the value or remove the tag", _mark(self.doc.path, node)))

    def _unsafe_tag(self, node: Node) -> None:
        self.errors.append(SpecError(
            f"the YAML tag '{node.tag}' is not allowed",
            "a spec holds only plain data (mappings, lists, text, numbers, booleans); remove the tag",
            _mark(self.doc.path, node)))


def load_text(text: str, path: str = "<string>") -> Document:
    """Parse spec text into a Document; raise SpecErrors with positions.

    >>> doc = load_text("a: 1e-3\\nb: no\\nc: [1, 0x10]\\n")
    >>> doc.data
    {'a': 0.001, 'b': 'no', 'c': [1, 16]}
    >>> str(doc.loc(("c", 1)))
    '<string>:3:8'
    """
    doc = Document(path=path, data=None, text=text)
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        raise SpecErrors([syntax_error(path, text, exc)], Stage.FILE) from None
    except YAMLLimitError as exc:
        raise SpecErrors([exc.located(path)], Stage.FILE) from None
    except yaml.YAMLError as exc:  # the reader's: a character YAML refuses
        refused = character_error(path, text) or SpecError(
            f"cannot read the file as YAML: {' '.join(str(exc).split())}", "save it as UTF-8 text", Location(path, 1, 1))
        raise SpecErrors([refused], Stage.FILE) from None
    if root is None:
        raise SpecErrors([SpecError("the file is empty", "a spec needs at least 'archspec: 1', 'name', "
                                    "an input and 'layers'", Location(path, 1, 1))], Stage.FILE)
    builder = _Builder(doc)
    doc.data = builder.build(root, ())
    if builder.errors:
        raise SpecErrors(builder.errors, Stage.FILE)
    return doc


# Far above any spec a person or a generator writes (100,000 layers take about 3 MB), and low
# enough that reading /dev/zero or a mistaken data file ends at once instead of filling memory.
MAX_SPEC_BYTES = 64 * 1024 * 1024


def load_file(path: str | Path) -> Document:
    """Read and parse a spec file; a missing, unreadable, oversized or non-regular file is a SpecError."""
    name = str(path)
    try:
        text = decode_spec(_read_spec_bytes(Path(path), name), name)
    except FileNotFoundError:
        raise SpecErrors([SpecError(f"no such file: {name}", "check the path", Location(name))], Stage.FILE) from None
    except IsADirectoryError:
        raise SpecErrors([SpecError(f"{name} is a directory, not a spec file", "name a .yaml file",
                                    Location(name))], Stage.FILE) from None
    except SpecError as exc:  # not UTF-8 text
        raise SpecErrors([exc], Stage.FILE) from None
    except OSError as exc:
        raise SpecErrors([SpecError(f"cannot read {name}: {exc.strerror}", "check the path and its permissions",
                                    Location(name))], Stage.FILE) from None
    return load_text(text, name)


def _read_spec_bytes(path: Path, name: str) -> bytes:
    """The file's bytes, refusing devices and sockets (a device may never end) and anything
    larger than ``MAX_SPEC_BYTES``. Pipes are read (``archspec validate <(generate)``)."""
    if path.is_char_device() or path.is_block_device() or path.is_socket():
        raise SpecError(f"{name} is a device or socket, not a spec file", "name a .yaml file", Location(name))
    chunks, size = [], 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):  # in pieces: a pipe has no size to check first
            size += len(chunk)
            if size > MAX_SPEC_BYTES:
                raise SpecError(f"{name} is larger than {MAX_SPEC_BYTES // (1024 * 1024)} MiB, too large for a "
                                "spec", "is this the right file? A spec of 100,000 layers takes about 3 MB",
                                Location(name))
            chunks.append(chunk)
    return b"".join(chunks)

