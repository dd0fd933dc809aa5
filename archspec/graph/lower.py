"""Lowering: a checked document becomes the graph IR.

Blocks are expanded, repeats unrolled, expressions evaluated and arguments checked against
their kinds (``arguments.py``), inputs bound (``bindings.py``), shares applied (``sharing.py``),
names resolved (``names.py``; forward references allowed), and nodes put in topological order.
Every node keeps where it was written. Errors are collected, not raised one by one.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Optional

from archspec.errors import Location, SpecError, SpecErrors, Stage, did_you_mean, shown
from archspec.graph.arguments import Arguments, is_shape
from archspec.graph.bindings import (block_inputs, check_count, check_declared, check_outputs, layer_inputs,
                                     written_inputs)
from archspec.graph.ir import BlockInstance, Expectation, Graph, Node
from archspec.graph.names import BlockOutputs, NameRef, Names, Ref, snake_case
from archspec.graph.sharing import Expected, Pending, ShareUse, Sharing
from archspec.graph.size_limits import MAX_BLOCK_DEPTH, MAX_LAYERS, LayerCounter
from archspec.graph.order import topological_order
from archspec.layers.catalog import LayerKind, all_kinds
from archspec.spec.load import Document, PathKey
from archspec.spec.schema import ENTRY_KEY_SCHEMAS, REQUIRED_PARAM
from archspec.spec.validate import arguments_hint

ENTRY_KEYS = tuple(ENTRY_KEY_SCHEMAS)  # the keys an entry may carry beside its layer key
SHARE = "share"  # the entry key that applies a layer (or block instance) again, instead of a layer key
RESERVED = ("previous", "in")
REQUIRED = REQUIRED_PARAM


@dataclass
class _Block:
    name: str
    params: dict
    layers: list
    path: PathKey
    inputs: list[str] = field(default_factory=list)  # declared tensor inputs; none: one, 'in'
    outputs: list[str] = field(default_factory=list)  # declared outputs (entry names); none: the last entry


@dataclass
class _Lowering:
    doc: Document
    kinds: dict[str, LayerKind]
    errors: list[SpecError] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    names: Names = field(init=False)
    blocks: dict[str, _Block] = field(default_factory=dict)
    instances: dict[tuple[str, ...], BlockInstance] = field(default_factory=dict)
    instance_outputs: dict[tuple[str, ...], Ref] = field(default_factory=dict)
    shares: list[ShareUse] = field(default_factory=list)
    expectations: list[Expected] = field(default_factory=list)
    globals: dict[str, Any] = field(default_factory=dict)
    counter: Optional[LayerCounter] = None
    values: Arguments = field(init=False)

    def error(self, message: str, hint: str, loc: Location, stage: Stage = Stage.GRAPH) -> None:
        self.errors.append(SpecError(message, hint, loc, stage))

    def __post_init__(self) -> None:
        self.names = Names(frozenset(self._input_names()), lambda: {p.name for p in self.pending})
        self.values = Arguments(self.doc, self.errors)

    # ------------------------------------------------------------ top level
    def run(self) -> Graph:
        data = self.doc.data
        self.globals = self.values.variables(data.get("vars") or {})
        self.blocks = self._block_defs(data.get("blocks") or {})
        self.counter = LayerCounter(self.kinds, {n: (b.params, b.layers) for n, b in self.blocks.items()},
                                    self.globals, ENTRY_KEYS, REQUIRED)
        inputs, input_locs = self.values.input_shapes(data, self.globals)
        declared = self._input_names()  # known even when a shape failed, so errors do not cascade
        self.names.symbols[()] = {name: name for name in declared}
        first: Optional[Ref] = next(iter(declared)) if len(declared) == 1 else None
        last = self.entries(data["layers"], ("layers",), (), self.globals, first, [])
        outputs = self._outputs(data, last)
        Sharing(self.doc, self.names, self.pending, self.instances, self.instance_outputs, self.expectations,
                {n: b.inputs for n, b in self.blocks.items()}, self.error,
                partial(check_count, self.error)).apply(self.shares)
        nodes = self._nodes()
        self._check_block_outputs()
        if self.errors:
            raise SpecErrors(self.errors)
        out_names = tuple(self.names.resolve_reported(o, self.errors) for o in outputs)
        expectations = tuple(Expectation(self.names.resolve_reported(e.ref, self.errors), e.shape, e.loc)
                             for e in self.expectations)
        if self.errors:
            raise SpecErrors(self.errors)
        ordered = topological_order(nodes, inputs, out_names, input_locs)
        limits = data.get("limits") or {}
        return Graph(str(data["name"]), inputs, input_locs, ordered, out_names, self.doc.path,
                     str(data.get("description", "")), expectations, self.instances, limits,
                     {k: self.doc.loc(("limits", k)) for k in limits},
                     tuple(o.loc if isinstance(o, NameRef) else None for o in outputs))

    def _nodes(self) -> list[Node]:
        """The expanded layers with their inputs resolved (failures added to the errors)."""
        nodes = []
        for p in self.pending:
            names = [self.names.resolve_reported(ref, self.errors) for ref in p.inputs]
            locs = tuple(ref.loc if isinstance(ref, NameRef) else p.loc for ref in p.inputs)
            nodes.append(Node(p.name, p.kind.name, p.args, tuple(names), p.loc, p.arg_locs, p.scope, p.shares, locs,
                              p.trainable))
        return nodes

    def _check_block_outputs(self) -> None:
        """Every output a block declares names an entry of it, in each instance (reported once
        per place: the instances of one block fail alike), used or not."""
        reported = {e.loc for e in self.errors}
        for path, out in self.instance_outputs.items():
            if not isinstance(out, BlockOutputs):
                continue
            found: list[SpecError] = []
            resolved = [self.names.resolve_reported(ref, found) for ref in out.named.values()]
            self.errors.extend(e for e in found if e.loc not in reported)
            reported.update(e.loc for e in found)
            if resolved[0]:
                self.instances[path] = replace(self.instances[path], output=resolved[0])

    def _block_defs(self, given: dict) -> dict[str, _Block]:
        blocks = {}
        for name, body in given.items():
            if name in self.kinds:
                self.error(f"block '{name}' has the name of a layer kind", "rename the block",
                           self.doc.key_loc(("blocks", name)), Stage.STRUCTURE)
                continue
            declared = check_declared(self.doc, name, body.get("inputs"), ("blocks", name, "inputs"), self.error)
            outputs = check_outputs(self.doc, name, body.get("outputs"), ("blocks", name, "outputs"), self.error)
            blocks[name] = _Block(name, dict(body.get("params") or {}), body["layers"], ("blocks", name), declared,
                                  outputs)
        return blocks

    def _outputs(self, data: dict, last: Optional[Ref]) -> list[Ref]:
        given = data.get("outputs")
        if given is None:
            return [last] if last is not None else []
        names = [given] if isinstance(given, str) else given
        return [NameRef((), n, self.doc.loc(("outputs",) if isinstance(given, str) else ("outputs", i)))
                for i, n in enumerate(names)]

    # ------------------------------------------------------------ entries
    def entries(self, items: list, path: PathKey, scope: tuple[str, ...], env: dict[str, Any],
                previous: Optional[Ref], stack: list[str]) -> Optional[Ref]:
        """Expand a list of entries in one scope; return the reference to the last one's output."""
        table = self.names.symbols.setdefault(scope, {})
        given_names = {e.get("name") for e in items if isinstance(e, dict)}
        counters: dict[str, int] = {}
        for i, entry in enumerate(items):
            previous = self.entry(entry, path + (i,), scope, env, previous, stack, table, given_names, counters)
        return previous

    def entry(self, entry: Any, path: PathKey, scope: tuple[str, ...], env: dict[str, Any], previous: Optional[Ref],
              stack: list[str], table: dict[str, Ref], given_names: set, counters: dict[str, int]) -> Optional[Ref]:
        entry = {entry: None} if isinstance(entry, str) else entry
        type_name = self._entry_type(entry, path)
        if type_name is None:
            return previous
        inputs = self._entry_inputs(entry, type_name, path, scope, previous)
        if inputs is None:
            return previous
        repeat = self.values.subst(entry.get("repeat", 1), env, path + ("repeat",))
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 0:
            self.error(f"repeat must be an integer >= 0; received: {shown(repeat)}", "fix repeat",
                       self.doc.loc(path + ("repeat",)), Stage.ARGUMENTS)
            return previous
        if repeat == 0:  # the entry is left out; its name (if any) stands for its input
            if entry.get("name") is not None and len(inputs) == 1:
                table[entry["name"]] = inputs[0]
            return inputs[0] if len(inputs) == 1 else previous
        name = entry.get("name")
        if name in RESERVED or (not scope and name in self._input_names()):
            self.error(f"'{name}' is a reserved name", "choose another name", self.doc.loc(path + ("name",)))
        if type_name != SHARE and self._too_many_layers(entry, type_name, env, stack, repeat, path):
            return previous
        if type_name == SHARE and "trainable" in entry:
            self.error("a share entry applies its layer's weights as that layer has them",
                       "write trainable: on the layer it shares", self.doc.loc(path + ("trainable",)), Stage.STRUCTURE)
        out: Optional[Ref] = None
        for k in range(repeat):
            local = self._instance_name(name, k, "repeat" in entry, type_name, table, given_names, counters)
            given = entry.get("inputs") if k == 0 else None  # a share binds its inputs once its target is known
            start = len(self.pending)
            out = self._instance(entry, type_name, path, scope, env, local, inputs, given, previous if k == 0 else out,
                                 stack)
            if entry.get("trainable") is False:  # the layer, or every layer of the block use, is frozen
                for pending in self.pending[start:]:
                    pending.trainable = False
            if out is None:
                return previous
            inputs = [out] + inputs[1:] if type_name in self.blocks else [out]
            if local != name:
                table.setdefault(local, out)  # auto and repeat-instance names can be referred to too
        self._named(entry, name, out, path, scope, env, table)
        return out

    def _entry_type(self, entry: dict, path: PathKey) -> Optional[str]:
        """The entry's layer kind or block (SHARE for a share entry), or None when it has none (reported)."""
        types = [k for k in entry if k not in ENTRY_KEYS]
        if SHARE in entry and not types:
            return SHARE
        if len(types) != 1 or SHARE in entry:
            what = "no layer type" if not types else f"{len(types)} layer types ({', '.join(map(str, types))})"
            if SHARE in entry:
                what = f"'share' and {what}"
            self.error(f"an entry needs exactly one layer or block key, but this one has {what}",
                       "split it into one entry per layer" + (" (a share entry has no layer key)" if SHARE in entry
                                                              else ""), self.doc.key_loc(path), Stage.STRUCTURE)
            return None
        type_name = types[0]
        type_loc = self.doc.key_loc(path + (type_name,))
        if type_name not in self.kinds and type_name not in self.blocks:
            hint = did_you_mean(str(type_name), list(self.kinds) + list(self.blocks)) or \
                "run `archspec layers` for the layer kinds, or define it under 'blocks:'"
            self.error(f"unknown layer or block {shown(type_name)}", hint, type_loc, Stage.STRUCTURE)
            return None
        args = entry[type_name]
        if args is not None and not isinstance(args, dict):
            self.error(f"the arguments of {type_name} must be a mapping, not {shown(args)}",
                       arguments_hint(type_name, args, self.kinds.get(type_name) or self.blocks[type_name].params),
                       self.doc.loc(path + (type_name,)), Stage.STRUCTURE)
            return None
        return type_name

    def _instance(self, entry: dict, type_name: str, path: PathKey, scope: tuple[str, ...], env: dict[str, Any],
                  local: str, inputs: list[Ref], given: Any, previous: Optional[Ref],
                  stack: list[str]) -> Optional[Ref]:
        """One instance of an entry (one of its repeats): a layer, a block use or a share."""
        if type_name == SHARE:
            use = ShareUse(NameRef(scope, str(entry[SHARE]), self.doc.loc(path + (SHARE,))),
                           "/".join(scope + (local,)), scope, given, previous, path, self.doc.key_loc(path + (SHARE,)))
            self.shares.append(use)
            return use.output
        type_loc = self.doc.key_loc(path + (type_name,))
        args = entry[type_name] or {}
        if type_name in self.kinds:
            return self._layer(self.kinds[type_name], args, path + (type_name,), scope, env, local, inputs, type_loc)
        return self._block(self.blocks[type_name], args, path + (type_name,), scope, env, local, inputs, type_loc,
                           stack)

    def _named(self, entry: dict, name: Optional[str], out: Optional[Ref], path: PathKey, scope: tuple[str, ...],
               env: dict[str, Any], table: dict[str, Ref]) -> None:
        """Enter the entry's written name, and its expectation."""
        if name is not None:
            if name in table and (scope, name) in self.names.symbol_locs:
                first = self.names.symbol_locs[(scope, name)]
                self.error(f"duplicate name {shown(name)} (first used at line {first.line})",
                           "names must be unique in their scope; rename one", self.doc.loc(path + ("name",)))
            table[name] = out  # type: ignore[assignment]
            self.names.symbol_locs[(scope, name)] = self.doc.loc(path + ("name",))
        if "expect" in entry and out is not None:
            shape = self.values.subst(entry["expect"], env, path + ("expect",))
            if is_shape(shape):
                self.expectations.append(Expected(scope, out, tuple(shape), self.doc.loc(path + ("expect",))))

    def _too_many_layers(self, entry: dict, type_name: str, env: dict[str, Any], stack: list[str], repeat: int,
                         path: PathKey) -> bool:
        """Refuse, before expanding it, an entry that would take the model past MAX_LAYERS layers."""
        assert self.counter is not None
        # An instance counts as one layer at least: expanding it costs work even if its layers fail.
        each = 1 if type_name in self.kinds else \
            max(self.counter.block(type_name, entry[type_name] or {}, env, stack), 1)
        total = len(self.pending) + repeat * each
        if total <= MAX_LAYERS:
            return False
        if "repeat" in entry:
            what = f"repeat: {repeat:,} of {each:,} layer{'s' if each > 1 else ''}"
            loc = self.doc.loc(path + ("repeat",))
        else:
            what = f"block '{type_name}' of {each:,} layers"
            loc = self.doc.key_loc(path + (type_name,))
        self.error(f"this entry ({what}) takes the model to {total:,} layers, more than the {MAX_LAYERS:,} a spec "
                   "may have", "lower the repeat count or the size of the blocks it repeats", loc, Stage.ARGUMENTS)
        return True

    def _input_names(self) -> list[str]:
        data = self.doc.data
        return ["input"] if "input" in data else list(data.get("inputs") or {})

    def _entry_inputs(self, entry: dict, type_name: str, path: PathKey, scope: tuple[str, ...],
                      previous: Optional[Ref]) -> Optional[list[Ref]]:
        """The entry's inputs (a block's in its declared order); None when they are wrong (reported).
        A share's inputs are bound once its target is known: here they only stand in for ``repeat: 0``."""
        given = entry.get("inputs")
        if type_name == SHARE:
            return [] if isinstance(given, dict) else written_inputs(self.doc, given, path, scope, previous, _quiet)
        if type_name in self.blocks:
            block = self.blocks[type_name]
            return block_inputs(self.doc, block.name, block.inputs, given, path, scope, previous, self.error)
        return layer_inputs(self.doc, given, path, scope, previous, self.error)

    def _instance_name(self, name: Optional[str], k: int, numbered: bool, type_name: str, table: dict,
                       given_names: set, counters: dict[str, int]) -> str:
        if name is not None:  # with repeat: present, NAME_1..NAME_n whatever n is, so names stay put as n changes
            return f"{name}_{k + 1}" if numbered else name
        base = snake_case(type_name)
        while True:
            counters[base] = counters.get(base, 0) + 1
            candidate = f"{base}_{counters[base]}"
            if candidate not in given_names and candidate not in table:
                return candidate

    def _layer(self, kind: LayerKind, given: dict, path: PathKey, scope: tuple[str, ...], env: dict[str, Any],
               local: str, inputs: list[Ref], loc: Location) -> Optional[str]:
        full = "/".join(scope + (local,))
        label = f"{kind.name} '{full}'"
        checked = self.values.checked_args(kind, given, path, env, label, loc)
        if checked is None:
            return full  # the problem is already reported
        full_args, arg_locs = checked
        check_count(self.error, kind, inputs, label, loc)
        self.pending.append(Pending(full, kind, full_args, list(inputs), loc, arg_locs, scope))
        return full

    def _block(self, block: _Block, given: dict, path: PathKey, scope: tuple[str, ...], env: dict[str, Any],
               local: str, inputs: list[Ref], loc: Location, stack: list[str]) -> Optional[Ref]:
        if block.name in stack:
            self.error(f"block '{block.name}' uses itself ({' -> '.join(stack + [block.name])})",
                       "a block cannot contain itself", loc)
            return None
        if len(stack) >= MAX_BLOCK_DEPTH:
            self.error(f"blocks nest more than {MAX_BLOCK_DEPTH} deep here ({' -> '.join(stack[:3])} -> ... -> "
                       f"{block.name})", "use fewer levels of blocks inside blocks", loc, Stage.STRUCTURE)
            return None
        values = self.values.block_params(block.name, block.params, block.path, given, path, env, self.globals, loc)
        if values is None:
            return None
        inner = scope + (local,)
        self.instances[inner] = BlockInstance(inner, block.name, loc)
        # Members reach the bound tensors through the instance's table (so a shared copy can rebind them).
        self.names.symbols[inner] = dict(zip(["in", *block.inputs], inputs[:1] + inputs)) if inputs else {}
        for name in block.inputs:
            self.names.symbol_locs[(inner, name)] = self.doc.loc(block.path + ("inputs",))
        first = NameRef(inner, "in", loc) if inputs else None
        out = self.entries(block.layers, block.path + ("layers",), inner, values, first, stack + [block.name])
        if block.outputs:
            out = BlockOutputs(block.name, {name: NameRef(inner, name, self.doc.loc(block.path + ("outputs", i)))
                                            for i, name in enumerate(block.outputs)})
        if out is not None:
            self.instance_outputs[inner] = out
        return out

def _quiet(message: str, hint: str, loc: Location) -> None:
    """Reports nothing: what it is given is reported where it is checked."""


def lower(doc: Document) -> Graph:
    """Lower a structurally valid document to the graph IR; raise SpecErrors."""
    return _Lowering(doc, all_kinds()).run()
