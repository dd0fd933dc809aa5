"""``share: NAME``: a layer, or every layer of a block instance, applied again with its weights.

Shares are applied once every entry is expanded, since NAME may refer forward; a share of a
block instance waits for the shares inside that instance, and a share of a share for the
share. A layer share becomes a node with the layer's kind and arguments whose ``shares``
names the node written first. An instance share copies the instance's nodes, symbol tables,
nested instances and ``expect:`` checks under the new path, the bound inputs replaced by the
share's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from archspec.errors import Location, shown
from archspec.graph.bindings import block_inputs, layer_inputs
from archspec.graph.ir import OUTPUT_MARK, BlockInstance
from archspec.graph.names import BlockOutputs, Deferred, NameRef, Names, Ref, Unresolved
from archspec.graph.size_limits import MAX_LAYERS
from archspec.layers.catalog import LayerKind
from archspec.spec.load import Document, PathKey

Scope = tuple[str, ...]


@dataclass
class Pending:
    """A layer expanded but not yet resolved: its inputs are references."""

    name: str
    kind: LayerKind
    args: dict
    inputs: list[Ref]
    loc: Location
    arg_locs: dict
    scope: Scope
    shares: Optional[str] = None
    trainable: bool = True


@dataclass(frozen=True)
class Expected:
    """An ``expect:`` written in ``scope``, on the output ``ref``; copied with a shared instance."""

    scope: Scope
    ref: Ref
    shape: tuple
    loc: Location


@dataclass
class ShareUse:
    """One ``share:`` entry instance, waiting to be applied."""

    target: NameRef
    name: str                     # the full name of this application
    scope: Scope
    given_inputs: Any             # ``inputs:`` as written, bound once the target is known
    previous: Optional[Ref]
    path: PathKey
    loc: Location
    output: Deferred = field(default_factory=Deferred)


@dataclass
class Sharing:
    """What applying shares reads and extends of one lowering."""

    doc: Document
    names: Names
    pending: list[Pending]
    instances: dict[Scope, BlockInstance]
    instance_outputs: dict[Scope, Ref]
    expectations: list[Expected]                  # a shared instance's copies check its members' too
    block_inputs: dict[str, list[str]]            # each block's declared input names
    error: Callable[[str, str, Location], None]
    check_count: Callable[[LayerKind, list[Ref], str, Location], None]

    def apply(self, uses: list[ShareUse]) -> None:
        """Apply every share, each after what it copies; the ones left form a cycle."""
        waiting = list(uses)
        while waiting:
            names = {u.name for u in waiting}
            left = [u for u in waiting if not self._applied(u, names)]
            if len(left) == len(waiting):
                for use in left:
                    self.error(f"share '{use.name}' depends on itself through {shown(use.target.name)}",
                               "share a layer or block that is not itself built from this share", use.loc)
                return
            waiting = left

    def _applied(self, use: ShareUse, waiting: set[str]) -> bool:
        """Apply ``use`` and say so, or False when what it shares is still waiting."""
        path = self._instance_path(use.target)
        if path is not None:
            prefix = "/".join(path)
            if any(w == prefix or w.startswith(prefix + "/") for w in waiting):
                return False
            self._share_instance(use, path)
            return True
        written = "/".join(use.scope + (use.target.name,))
        if any(written == w or written.startswith(w + "/") for w in waiting):
            return False
        try:
            target = self.names.resolve(use.target)
        except Unresolved as exc:
            if exc.error.message:
                self.error(exc.error.message, exc.error.hint or "", exc.error.loc)
            return True
        if target in waiting:
            return False
        self._share_layer(use, target)
        return True

    def _instance_path(self, target: NameRef) -> Optional[Scope]:
        path = target.scope + tuple(target.name.split("/"))
        return path if path in self.instances else None

    def _share_layer(self, use: ShareUse, target: str) -> None:
        owner = next((p for p in self.pending if p.name == target), None)
        if owner is None:
            what = "an input" if target in self.names.inputs else "one output of a layer" \
                if OUTPUT_MARK in target else "not a layer"
            self.error(f"share {shown(use.target.name)}: '{target}' is {what}", "share a layer or a block instance",
                       use.target.loc)
            return
        inputs = layer_inputs(self.doc, use.given_inputs, use.path, use.scope, use.previous, self.error)
        self.check_count(owner.kind, inputs, f"{owner.kind.name} '{use.name}' (shares '{owner.name}')", use.loc)
        self.pending.append(Pending(use.name, owner.kind, owner.args, inputs, use.loc, owner.arg_locs, use.scope,
                                    owner.shares or owner.name))
        use.output.target = use.name
        self.names.forget_layers()

    def _share_instance(self, use: ShareUse, path: Scope) -> None:
        instance = self.instances[path]
        declared = self.block_inputs.get(instance.block, [])
        bound = block_inputs(self.doc, instance.block, declared, use.given_inputs, use.path, use.scope,
                             use.previous, self.error)
        if bound is None:
            return
        new = use.scope + (use.name.rsplit("/", 1)[-1],)
        members = [p for p in self.pending if p.scope[: len(path)] == path]
        if len(self.pending) + len(members) > MAX_LAYERS:
            self.error(f"share '{use.name}' takes the model to {len(self.pending) + len(members):,} layers, more than "
                       f"the {MAX_LAYERS:,} a spec may have", "share fewer layers", use.loc)
            return
        moved = _Move(path, new)
        for scope in [s for s in self.names.symbols if s[: len(path)] == path]:
            table = {k: moved.ref(v) for k, v in self.names.symbols[scope].items()}
            if scope == path:
                table.update(zip(["in", *declared], [bound[0], *bound]) if bound else {})
            self.names.symbols[moved.scope(scope)] = table
        for p in members:
            self.pending.append(Pending(moved.name(p.name), p.kind, p.args, [moved.ref(r) for r in p.inputs], p.loc,
                                        p.arg_locs, moved.scope(p.scope), p.shares or p.name))
        for inner in [i for i in self.instances if i[: len(path)] == path]:
            copied = self.instances[inner]
            self.instances[moved.scope(inner)] = replace(copied, path=moved.scope(inner), shares=copied.shares or inner,
                                                         loc=use.loc if inner == path else copied.loc)
            if inner in self.instance_outputs:
                self.instance_outputs[moved.scope(inner)] = moved.ref(self.instance_outputs[inner])
        self.expectations += [replace(e, scope=moved.scope(e.scope), ref=moved.ref(e.ref))
                              for e in list(self.expectations) if e.scope[: len(path)] == path]
        use.output.target = moved.ref(self.instance_outputs[path]) if path in self.instance_outputs else None
        self.names.forget_layers()


@dataclass(frozen=True)
class _Move:
    """Renames from one instance path to another: node names, scopes and references."""

    old: Scope
    new: Scope

    def scope(self, scope: Scope) -> Scope:
        return self.new + scope[len(self.old):]

    def name(self, name: str) -> str:
        old, new = "/".join(self.old), "/".join(self.new)
        inside = name == old or name.startswith(old + "/") or name.startswith(old + OUTPUT_MARK)
        return new + name[len(old):] if inside else name

    def ref(self, ref: Ref) -> Ref:
        if isinstance(ref, str):
            return self.name(ref)
        if isinstance(ref, NameRef):
            return NameRef(self.scope(ref.scope), ref.name, ref.loc) if ref.scope[: len(self.old)] == self.old else ref
        if isinstance(ref, BlockOutputs):
            return BlockOutputs(ref.block, {name: self.ref(r) for name, r in ref.named.items()})
        return self.ref(ref.target) if ref.target is not None else ref
