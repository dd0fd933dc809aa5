"""`$name` references and `${...}` arithmetic, evaluated over Python's ``ast``, never ``eval``.

The language: numbers, strings, booleans, names of vars and block params, ``+ - * / // % **``,
unary ``-``/``+``/``not``, comparisons, ``and``/``or``, ``a if cond else b``, and calls of
``min``, ``max``, ``round``, ``abs``, ``int``, ``float``. Anything else is an ExpressionError.
"""
from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any, Callable, Mapping

_WHOLE_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_WHOLE_EXPR = re.compile(r"^\$\{(.*)\}$", re.S)
_PART = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_DOLLAR_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "round": round, "abs": abs, "int": int, "float": float,
    "ceil": math.ceil, "floor": math.floor,
}


class ExpressionError(ValueError):
    """An expression that is malformed, unsafe or refers to an unknown name."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def is_expression(value: Any) -> bool:
    """True when a value contains a reference or expression.

    >>> is_expression("$filters"), is_expression("${a + 1}"), is_expression("same")
    (True, True, False)
    """
    return isinstance(value, str) and "$" in value and _PART.search(value) is not None


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate one string that may hold references and expressions.

    A value that is wholly one reference or expression keeps its type; inside a longer
    string each is substituted as text.

    >>> evaluate("$f", {"f": 64})
    64
    >>> evaluate("${f * 4}", {"f": 64})
    256
    >>> evaluate("${f // 2 if f > 32 else f}", {"f": 64})
    32
    >>> evaluate("stage_${i}_conv", {"i": 2})
    'stage_2_conv'
    >>> evaluate("${__import__('os')}", {})
    Traceback (most recent call last):
    ...
    archspec.spec.expressions.ExpressionError: calling '__import__' is not allowed
    """
    whole = _WHOLE_REF.match(text)
    if whole:
        return _lookup(whole.group(1), env)
    whole = _WHOLE_EXPR.match(text)
    if whole and "${" not in whole.group(1):
        return evaluate_expression(whole.group(1), env)

    def substitute(match: re.Match[str]) -> str:
        value = evaluate_expression(match.group(1), env) if match.group(1) is not None \
            else _lookup(match.group(2), env)
        return str(value)

    return _PART.sub(substitute, text)


def evaluate_expression(source: str, env: Mapping[str, Any]) -> Any:
    """Evaluate the inside of ``${...}``; ``$name`` inside it is the same as ``name``."""
    source = _DOLLAR_NAME.sub(r"\1", source).strip()
    if not source:
        raise ExpressionError("empty expression '${}'", "write an expression such as ${filters * 2}")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression '{source}': {exc.msg}",
                              "use numbers, names, + - * / // % ( ), min, max, round, and a if c else b") from None
    return _Evaluator(env).visit(tree.body)


def _lookup(name: str, env: Mapping[str, Any]) -> Any:
    if name not in env:
        from archspec.errors import did_you_mean
        known = sorted(env)
        hint = did_you_mean(name, known) or (f"known names: {', '.join(known)}" if known else
                                             "define it under 'vars:' or as a block param")
        raise ExpressionError(f"unknown name '${name}'", hint)
    return env[name]


class _Evaluator(ast.NodeVisitor):
    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in an expression",
                                  "use arithmetic, comparisons, min/max/round and a if cond else b")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, (int, float, str, bool)) or node.value is None:
            return node.value
        raise ExpressionError(f"the constant {node.value!r} is not allowed")

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        return _lookup(node.id, self.env)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"the operator in '{ast.unparse(node)}' is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 64:
            raise ExpressionError(f"exponent {right} is too large")
        try:
            return op(left, right)
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero in '{ast.unparse(node)}'") from None
        except TypeError:
            raise ExpressionError(f"cannot compute '{ast.unparse(node)}' with {left!r} and {right!r}") from None

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"the operator in '{ast.unparse(node)}' is not allowed")
        try:
            return op(self.visit(node.operand))
        except TypeError:
            raise ExpressionError(f"cannot compute '{ast.unparse(node)}'") from None

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [self.visit(v) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op_node, right_node in zip(node.ops, node.comparators):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise ExpressionError(f"the comparison in '{ast.unparse(node)}' is not allowed")
            right = self.visit(right_node)
            try:
                if not op(left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {left!r} and {right!r}") from None
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        function = FUNCTIONS.get(name) if isinstance(node.func, ast.Name) else None
        if function is None or node.keywords:
            raise ExpressionError(f"calling '{name}' is not allowed",
                                  f"only {', '.join(sorted(FUNCTIONS))} may be called")
        args = [self.visit(a) for a in node.args]
        try:
            return function(*args)
        except (TypeError, ValueError) as exc:
            raise ExpressionError(f"'{ast.unparse(node)}' failed: {exc}") from None
