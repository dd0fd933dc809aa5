"""What an entry's ``inputs:`` binds: a layer's list of tensors, or a block's named inputs.

A block declares its tensor inputs with ``inputs: [x, skip]`` (none declared: one input,
``in``); a use binds them by name (``inputs: {x: up3, skip: down2}``) or by position
(``inputs: [up3, down2]``). ``in`` is always the first. Missing, extra and unknown bindings
are errors at the place they are written, with a did-you-mean. A block's ``outputs: [a, b]``
names the entries whose outputs a use gives (``use`` the first, ``use:b`` another).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from archspec.errors import Location, did_you_mean, shown
from archspec.graph.names import NameRef, Ref
from archspec.layers.catalog import LayerKind
from archspec.spec.load import Document, PathKey

Report = Callable[[str, str, Location], None]  # message, hint, where (a GRAPH-stage error)


def written_inputs(doc: Document, given: Any, path: PathKey, scope: tuple[str, ...], previous: Optional[Ref],
                   report: Report) -> list[Ref]:
    """The references of ``inputs:`` written as a name or a list (``previous``: the entry above)."""
    if given is None:
        if previous is None:
            report("this entry takes no input: with several model inputs the first layer must name them",
                   "add inputs: [name, ...]", doc.key_loc(path))
            return []
        return [previous]
    names = [given] if isinstance(given, str) else given
    refs: list[Ref] = []
    for i, name in enumerate(names):
        loc = doc.loc(path + ("inputs",) if isinstance(given, str) else path + ("inputs", i))
        ref = _ref(name, scope, previous, loc, report)
        if ref is not None:
            refs.append(ref)
    return refs


def _ref(name: str, scope: tuple[str, ...], previous: Optional[Ref], loc: Location, report: Report) -> Optional[Ref]:
    if name != "previous":
        return NameRef(scope, name, loc)
    if previous is None:
        report("'previous' has no entry above it", "name the input instead", loc)
    return previous


def layer_inputs(doc: Document, given: Any, path: PathKey, scope: tuple[str, ...], previous: Optional[Ref],
                 report: Report) -> list[Ref]:
    """A layer's inputs; a mapping (which binds a block's named inputs) is an error."""
    if isinstance(given, dict):
        report("a layer's inputs are a name or a list; a mapping binds the named inputs of a block",
               f"write inputs: [{', '.join(map(str, given.values()))}]", doc.loc(path + ("inputs",)))
        return []
    return written_inputs(doc, given, path, scope, previous, report)


def block_inputs(doc: Document, block: str, declared: Sequence[str], given: Any, path: PathKey,
                 scope: tuple[str, ...], previous: Optional[Ref], report: Report) -> Optional[list[Ref]]:
    """A block use's inputs in the order the block declares them; None when one is wrong
    (reported). ``declared`` is empty for a block of one input."""
    names = list(declared) or ["in"]
    where = doc.loc(path + ("inputs",)) if given is not None else doc.key_loc(path)
    if isinstance(given, dict):
        return _by_name(doc, block, names, given, path, scope, previous, report)
    refs = written_inputs(doc, given, path, scope, previous, report)
    if len(refs) == len(names):
        return refs
    if given is None and not refs:  # no entry above: reported
        return refs if names == ["in"] else None
    received = len([given] if isinstance(given, str) else given) if given is not None else 1
    if received == len(names):
        return None  # a reference failed and is reported
    report(f"block '{block}' takes {_count(names)} but receives {received}", _binding_hint(names), where)
    return None


def _by_name(doc: Document, block: str, names: list[str], given: dict, path: PathKey, scope: tuple[str, ...],
             previous: Optional[Ref], report: Report) -> Optional[list[Ref]]:
    ok = True
    for key in given:
        if key not in names:
            hint = did_you_mean(str(key), names) or f"its inputs are {', '.join(names)}"
            report(f"block '{block}' has no input {shown(key)}", hint, doc.key_loc(path + ("inputs", key)))
            ok = False
    missing = [n for n in names if n not in given]
    if missing:
        report(f"block '{block}' needs the input{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}",
               "add " + ", ".join(f"{n}: NAME" for n in missing) + " to inputs", doc.loc(path + ("inputs",)))
        ok = False
    refs = [_ref(str(given[n]), scope, previous, doc.loc(path + ("inputs", n)), report) for n in names if n in given]
    return [r for r in refs if r is not None] if ok and all(r is not None for r in refs) else None


def _count(names: list[str]) -> str:
    """
    >>> _count(["in"]), _count(["x", "skip"])
    ('one input', '2 inputs (x, skip)')
    """
    return "one input" if names == ["in"] else f"{len(names)} inputs ({', '.join(names)})"


def _binding_hint(names: list[str]) -> str:
    if names == ["in"]:
        return "join the inputs with a merge layer first, or declare the block's inputs: [a, b]"
    return "bind them by name: inputs: {" + ", ".join(f"{n}: ..." for n in names) + "}"


def check_declared(doc: Document, block: str, declared: Any, path: PathKey, report: Report) -> list[str]:
    """A block definition's ``inputs:`` (names, schema-checked): unique and not reserved."""
    if not declared:
        return []
    names: list[str] = []
    for i, name in enumerate(declared):
        if name in ("in", "previous") or name in names:
            why = "is a reserved name" if name in ("in", "previous") else "is declared twice"
            report(f"block '{block}': input {shown(name)} {why}", "choose another name for it",
                   doc.loc(path + (i,)))
            continue
        names.append(name)
    return names


def check_outputs(doc: Document, block: str, declared: Any, path: PathKey, report: Report) -> list[str]:
    """A block definition's ``outputs:`` (names of its entries, schema-checked): each once."""
    names: list[str] = []
    for i, name in enumerate(declared or []):
        if name in names:
            report(f"block '{block}': output {shown(name)} is declared twice", "list each output once",
                   doc.loc(path + (i,)))
            continue
        names.append(name)
    return names


def check_count(report: Report, kind: LayerKind, inputs: Sequence[Any], label: str, loc: Location) -> None:
    """A layer given fewer or more inputs than its kind takes (no inputs: reported already)."""
    lo, hi = kind.inputs
    if inputs and (len(inputs) < lo or (hi is not None and len(inputs) > hi)):
        want = f"at least {lo}" if hi is None else f"exactly {lo}" if lo == hi else f"{lo} to {hi}"
        hint = "list them: inputs: [a, b]" if lo > 1 else "give one input (use a merge layer such as Add or " \
                                                          "Concatenate to join several)"
        report(f"{label} takes {want} input{'s' if lo > 1 or hi != 1 else ''} but receives {len(inputs)}", hint, loc)
