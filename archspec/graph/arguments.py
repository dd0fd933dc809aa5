"""Values of one lowering: expressions evaluated at their place, a layer's arguments checked
against its kind (defaults filled, one checked copy per kind and value), a block use's
params bound, and the model's ``vars`` and input shapes. Errors are collected in the list the
lowering shares, never raised."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from archspec.errors import Location, SpecError, Stage, did_you_mean, shown
from archspec.graph.size_limits import shown_int, too_large
from archspec.layers.catalog import LayerKind
from archspec.spec.expressions import ExpressionError, evaluate, is_expression
from archspec.spec.load import Document, PathKey
from archspec.spec.schema import REQUIRED_PARAM
from archspec.spec.validate import check_args, check_nested


CHECKED_LIMIT = 20_000  # checked arguments remembered across lowerings (see checked_args)
_CHECKED: dict[tuple, tuple[LayerKind, dict]] = {}


class Invalid(str):
    """Marks a value whose expression failed (already reported)."""


@dataclass
class Arguments:
    """Evaluates and checks the values written in one document; errors go to ``errors``."""

    doc: Document
    errors: list[SpecError]
    checked: dict[tuple, dict] = field(default_factory=dict)  # see checked_args
    arg_locs: dict[PathKey, dict[str, Location]] = field(default_factory=dict)
    evaluated: dict[tuple[int, int], tuple[dict, dict, dict, tuple]] = field(default_factory=dict)  # see evaluated

    def error(self, message: str, hint: str, loc: Location, stage: Stage = Stage.ARGUMENTS) -> None:
        self.errors.append(SpecError(message, hint, loc, stage))

    def subst(self, value: Any, env: dict[str, Any], path: PathKey) -> Any:
        """Evaluate references and expressions inside a value, reporting at its place."""
        if isinstance(value, dict):
            return {k: self.subst(v, env, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.subst(v, env, path + (i,)) for i, v in enumerate(value)]
        if is_expression(value):
            try:
                return evaluate(value, env)
            except ExpressionError as exc:
                self.error(f"in {shown(value, 100)}: {exc.message}", exc.hint or "fix the expression",
                           self.doc.loc(path))
                return Invalid(value)
        return value

    # ------------------------------------------------------------ the document's own values
    def variables(self, given: dict) -> dict[str, Any]:
        """The top-level ``vars``, each evaluated with the ones before it."""
        env: dict[str, Any] = {}
        for name, value in given.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(name)):
                self.error(f"invalid var name {shown(name)}", "use letters, digits and '_'",
                           self.doc.key_loc(("vars", name)), Stage.STRUCTURE)
                continue
            env[name] = self.subst(value, env, ("vars", name))
        return env

    def input_shapes(self, data: dict, env: dict[str, Any]) -> tuple[dict[str, tuple], dict[str, Location]]:
        """The model's input shapes (``input:`` or ``inputs:``) and where each is written."""
        given = {"input": data["input"]} if "input" in data else dict(data["inputs"])
        shapes, locs = {}, {}
        for name, shape in given.items():
            path = ("input",) if "input" in data else ("inputs", name)
            value = self.subst(shape, env, path)
            if isinstance(value, list) and any(isinstance(v, Invalid) for v in value):
                continue  # the expression's own error says what is wrong
            big = too_large(value)
            if big is not None:
                where = path + (value.index(big),) if isinstance(value, list) and big in value else path
                self.error(f"input '{name}' has a size ({shown_int(big)}) larger than 2**63 - 1, the largest "
                           "TensorFlow can hold", "use a smaller size", self.doc.loc(where))
                continue
            if not is_shape(value):
                self.error(f"input '{name}' has shape {shown(value)}", "sizes must be positive integers or null",
                           self.doc.loc(path))
                continue
            shapes[name], locs[name] = tuple(value), self.doc.loc(path)
        return shapes, locs

    # ------------------------------------------------------------ a layer's arguments
    def checked_args(self, kind: LayerKind, given: dict, path: PathKey, env: dict[str, Any], label: str,
                     loc: Location) -> Optional[tuple[dict, dict]]:
        """A layer's arguments with defaults filled, and where each is written; None when a value
        leaves no layer to build. Arguments that pass every check are remembered by kind and
        value: the instances of a repeat, of a block used many times, and layers written alike
        share one checked copy instead of checking (and holding) one each; and so do the
        lowerings of one process (the studio lowers its text at each keystroke)."""
        args, key = self.evaluated_args(given, env, path)
        arg_locs = self.arg_locs.get(path)
        if arg_locs is None:  # one entry's places serve each of its instances
            arg_locs = self.arg_locs[path] = {k: self.doc.loc(path + (k,)) for k in given}
        memo: Optional[tuple] = (kind.name, key)
        try:
            known = self.checked.get(memo)
        except TypeError:  # a value no key can hold (a set): checked each time, and refused
            known, memo = None, None
        if known is None and memo is not None:
            shared = _CHECKED.get(memo)
            if shared is not None and shared[0] is kind:  # the same record (a plugin may reuse a name)
                known = self.checked[memo] = shared[1]
        if known is not None:
            return known, arg_locs
        if any(isinstance(v, Invalid) for v in args.values()) or self._too_large(args, label, arg_locs):
            return None  # reported
        errors_before = len(self.errors)
        full_args = self._full_args(kind, args, path, label, loc, arg_locs)
        if len(self.errors) == errors_before and memo is not None:  # errors name the instance: never shared
            self.checked[memo] = full_args
            if len(_CHECKED) >= CHECKED_LIMIT:
                _CHECKED.clear()
            _CHECKED[memo] = (kind, full_args)
        return full_args, arg_locs

    def _too_large(self, args: dict, label: str, arg_locs: dict[str, Location]) -> bool:
        for arg, value in args.items():
            if too_large(value) is not None:
                self.error(f"{label}: '{arg}' holds {shown_int(too_large(value))}, larger than 2**63 - 1, the "
                           "largest size TensorFlow can hold", "use a smaller value", arg_locs[arg])
                return True
        return False

    def _full_args(self, kind: LayerKind, args: dict, path: PathKey, label: str, loc: Location,
                   arg_locs: dict[str, Location]) -> dict:
        """The arguments checked (schema, nested layers, the kind's own rule), defaults filled."""
        key_locs = {k: self.doc.key_loc(path + (k,)) for k in args}
        arg_errors = check_args(kind, args, label, loc, arg_locs, key_locs)
        arg_errors += check_nested(kind, args, label,
                                   lambda at, key: (self.doc.key_loc if key else self.doc.loc)(path + at))
        self.errors.extend(arg_errors)
        if arg_errors:
            return dict(args)
        full_args = kind.with_defaults(args)
        for problem in kind.check(full_args):
            self.error(f"{label}: {problem.message}", problem.hint or "", arg_locs.get(problem.arg, loc))
        return full_args

    def evaluated_args(self, given: dict, env: dict[str, Any], path: PathKey) -> tuple[dict, tuple]:
        """``subst(given, env)`` and its value key, once per pair of objects (a repeat's
        instances evaluate the same arguments in the same environment). The pair is kept with
        the result, so neither object's id can be reused by another while it is remembered."""
        if not given:
            return {}, (dict, ())
        known = self.evaluated.get((id(given), id(env)))
        if known is not None and known[0] is given and known[1] is env:
            return known[2], known[3]
        errors_before = len(self.errors)
        args = self.subst(given, env, path)
        key = value_key(args)
        if len(self.errors) == errors_before:  # an expression's error is reported at every instance
            self.evaluated[(id(given), id(env))] = (given, env, args, key)
        return args, key

    # ------------------------------------------------------------ a block use's params
    def block_params(self, block: str, params: dict, block_path: PathKey, given: dict, path: PathKey,
                     env: dict[str, Any], globals_: dict[str, Any], loc: Location) -> Optional[dict[str, Any]]:
        """The environment a block use's members see: the top-level vars and the block's params,
        given at the use (evaluated in ``env``, where it is written) or by default; None when a
        param is unknown or a required one is missing (reported)."""
        ok = True
        for name in given:
            if name not in params:
                hint = did_you_mean(str(name), list(params)) or \
                    (f"its params are {', '.join(params)}" if params else "it takes no params")
                self.error(f"block '{block}' has no param {shown(name)}", hint, self.doc.key_loc(path + (name,)))
                ok = False
        values = dict(globals_)
        for name, default in params.items():
            if name in given:
                values[name] = self.subst(given[name], env, path + (name,))
            elif default == REQUIRED_PARAM:
                self.error(f"block '{block}' needs the param '{name}'", f"add {name}: ... to its arguments", loc)
                ok = False
            else:
                values[name] = self.subst(default, values, block_path + ("params", name))
        return values if ok else None


def is_shape(value: Any) -> bool:
    """
    >>> is_shape([28, 28, None]), is_shape([0, 3]), is_shape([True]), is_shape([])
    (True, False, False, False)
    """
    return isinstance(value, list) and len(value) > 0 and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in value)


def value_key(value: Any) -> tuple:
    """A key equal only for equal values of equal types, as the argument checks see them
    (``1``, ``1.0`` and ``True`` differ; so do ``0.0`` and ``-0.0``).

    >>> value_key({"a": [1, 2.0]}) == value_key({"a": [1, 2]})
    False
    """
    if isinstance(value, dict):
        return (dict, tuple((k, value_key(v)) for k, v in value.items()))
    if isinstance(value, list):
        return (list, tuple(value_key(v) for v in value))
    return (type(value), repr(value) if isinstance(value, float) else value)
