"""`$name` references and `${...}` arithmetic, evaluated over Python's ``ast``, never ``eval``.

The language: numbers, strings, booleans, names of vars and block params, ``+ - * / // % **``,
unary ``-``/``+``/``not``, comparisons, ``and``/``or``, ``a if cond else b``, and calls of
``min``, ``max``, ``round``, ``abs``, ``int``, ``float``, ``ceil``, ``floor``. Anything else is
an ExpressionError.

Evaluation is bounded, because a spec may come from a generator or an attacker: the text, the
syntax tree and every intermediate value have a size limit, and an operation whose result would
cross one (``9**9**9``, ``'a' * 10**9``) is refused before it is computed, so no expression takes
more than microseconds or more than a few kilobytes. A result that is not a finite real number
(``1e308 * 10`` is inf, ``(-1) ** 0.5`` is complex) is an error too.
"""
from __future__ import annotations

import ast
import math
import operator
import re
from functools import lru_cache
from typing import Any, Callable, Mapping

from archspec.errors import shown

_WHOLE_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_WHOLE_EXPR = re.compile(r"^\$\{(.*)\}$", re.S)
# No brace inside ${...}: the language has none, and a match that fails at the next '{' keeps the
# search linear ('${' repeated 40,000 times took 17 s when [^}]* scanned on to the end each time).
_PART = re.compile(r"\$\{([^{}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_DOLLAR_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

MAX_SOURCE_CHARS = 1_000   # the text of one ${...}
MAX_NODES = 500            # nodes of its syntax tree
MAX_DEPTH = 50             # nesting of its syntax tree (the evaluator recurses once per level)
MAX_INT_DIGITS = 300       # so every integer also converts to a float (whose limit is ~1.8e308)
MAX_TEXT_CHARS = 10_000    # a string value, and a string with expressions substituted
_INT_LIMIT = 10 ** MAX_INT_DIGITS

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
_ARITHMETIC_HINT = "use arithmetic, comparisons, min/max/round and a if cond else b"


class ExpressionError(ValueError):
    """An expression that is malformed, unsafe, too large or refers to an unknown name."""

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
    >>> evaluate("${9 ** 9 ** 9}", {})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archspec.spec.expressions.ExpressionError: '9 ** 387420489' would have about 369,693,100 digits, more than ...
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

    return _bounded_text(_PART.sub(substitute, text), "the text with its expressions substituted")


def evaluate_expression(source: str, env: Mapping[str, Any]) -> Any:
    """Evaluate the inside of ``${...}``; ``$name`` inside it is the same as ``name``."""
    return _Evaluator(env).visit(_parse(source))


@lru_cache(maxsize=4096)  # a block's expressions are evaluated once per use of the block
def _parse(source: str) -> ast.expr:
    """The checked syntax tree of an expression's text."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"the expression is {len(source):,} characters long, more than the "
                              f"{MAX_SOURCE_CHARS:,} allowed", "compute the value in parts, under 'vars:'")
    source = _DOLLAR_NAME.sub(r"\1", source).strip()
    if not source:
        raise ExpressionError("empty expression '${}'", "write an expression such as ${filters * 2}")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression '{source}': {exc.msg}",
                              "use numbers, names, + - * / // % ( ), min, max, round, and a if c else b") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep",
                              "compute the value in parts, under 'vars:'") from None
    _check_tree(tree.body)
    return tree.body


def _check_tree(root: ast.expr) -> None:
    """Refuse a syntax tree with too many nodes or too deep a nesting, without recursing."""
    count, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts",
                                  "compute the value in parts, under 'vars:'")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep",
                                  "compute the value in parts, under 'vars:'")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _lookup(name: str, env: Mapping[str, Any]) -> Any:
    if name not in env:
        from archspec.errors import did_you_mean
        known = sorted(env)
        hint = did_you_mean(name, known) or (f"known names: {', '.join(known)}" if known else
                                             "define it under 'vars:' or as a block param")
        raise ExpressionError(f"unknown name {shown('$' + name)}", hint)
    return env[name]


@lru_cache(maxsize=4096)  # every node evaluated is shown (for its error, if any): its trees are _parse's, kept
def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 80 else f"{text[:60]}...{text[-15:]}"


def _bounded(value: Any, what: str) -> Any:
    """The value of an expression's part, or an ExpressionError if it is not a finite real
    number, a bounded integer or text, a boolean or null."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if -_INT_LIMIT < value < _INT_LIMIT:
            return value
        raise ExpressionError(f"{what} has about {_digits(value):,} digits, more than the {MAX_INT_DIGITS} "
                              "an expression may compute", "use smaller numbers")
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        word = "is not a number (nan)" if math.isnan(value) else "is infinite"
        raise ExpressionError(f"{what} {word}", "use smaller numbers")
    if isinstance(value, complex):
        raise ExpressionError(f"{what} is a complex number ({value})",
                              "a fractional power of a negative number has no real value")
    if isinstance(value, str):
        return _bounded_text(value, what)
    return value  # a list or mapping from vars, used as a whole value


def _bounded_text(value: str, what: str) -> str:
    if len(value) <= MAX_TEXT_CHARS:
        return value
    raise ExpressionError(f"{what} is {len(value):,} characters long, more than the {MAX_TEXT_CHARS:,} allowed",
                          "use shorter text")


def _digits(value: int) -> int:
    """Decimal digits of an integer, estimated from its bits (str() refuses the largest)."""
    return int(abs(value).bit_length() * math.log10(2)) + 1


def _number(value: Any) -> bool:
    return isinstance(value, (int, float))  # bool is an int, as in Python


def _check_operands(op: ast.operator, left: Any, right: Any, shown: str) -> None:
    """Refuse operand types the language does not combine, and results too large to compute."""
    text_ok = (isinstance(op, ast.Add) and isinstance(left, str) and isinstance(right, str)) or \
        (isinstance(op, ast.Mult) and (isinstance(left, str) and isinstance(right, int)
                                       or isinstance(left, int) and isinstance(right, str)))
    if not (text_ok or (_number(left) and _number(right))):
        raise ExpressionError(f"cannot compute '{shown}' with {_kind(left)} and {_kind(right)}", _ARITHMETIC_HINT)
    if isinstance(op, ast.Mult) and text_ok:
        text, times = (left, right) if isinstance(left, str) else (right, left)
        if len(text) * max(times, 0) > MAX_TEXT_CHARS:
            raise ExpressionError(f"'{shown}' would be {len(text) * times:,} characters long, more than the "
                                  f"{MAX_TEXT_CHARS:,} allowed", "use shorter text")
    if isinstance(op, ast.Pow) and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        digits = right * math.log10(abs(left))
        if digits > MAX_INT_DIGITS:
            raise ExpressionError(f"'{shown}' would have about {int(digits) + 1:,} digits, more than the "
                                  f"{MAX_INT_DIGITS} an expression may compute", "use a smaller exponent")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if _number(value):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "null" if value is None else f"a {'list' if isinstance(value, list) else 'mapping'}"


class _Evaluator(ast.NodeVisitor):
    def __init__(self, env: Mapping[str, Any]) -> None:
        self.env = env

    def visit(self, node: ast.AST) -> Any:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"'{_shown(node)}' is not allowed in an expression", _ARITHMETIC_HINT)
        return _bounded(method(node), f"'{_shown(node)}'")

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
            raise ExpressionError(f"the operator in '{_shown(node)}' is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        _check_operands(node.op, left, right, _shown_operation(node, left, right))
        try:
            result = op(left, right)
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero in '{_shown(node)}'") from None
        except OverflowError:  # float ** raises; float * and + return inf: both are the same mistake
            result = math.inf
        if isinstance(result, float) and math.isinf(result):
            raise ExpressionError(f"'{_shown(node)}' overflows to infinity", "use smaller numbers")
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Any:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"the operator in '{_shown(node)}' is not allowed")
        operand = self.visit(node.operand)
        if not isinstance(node.op, ast.Not) and not _number(operand):
            raise ExpressionError(f"cannot compute '{_shown(node)}' with {_kind(operand)}", _ARITHMETIC_HINT)
        return op(operand)

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [self.visit(v) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def visit_Compare(self, node: ast.Compare) -> bool:
        left = self.visit(node.left)
        for op_node, right_node in zip(node.ops, node.comparators):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise ExpressionError(f"the comparison in '{_shown(node)}' is not allowed")
            right = self.visit(right_node)
            try:
                if not op(left, right):
                    return False
            except TypeError:
                raise ExpressionError(f"cannot compare {_kind(left)} and {_kind(right)} in '{_shown(node)}'") \
                    from None
            left = right
        return True

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else _shown(node.func)
        function = FUNCTIONS.get(name) if isinstance(node.func, ast.Name) else None
        if function is None or node.keywords:
            raise ExpressionError(f"calling '{name}' is not allowed",
                                  f"only {', '.join(sorted(FUNCTIONS))} may be called")
        args = [self.visit(a) for a in node.args]
        if name == "round" and len(args) == 2 and isinstance(args[1], int) and abs(args[1]) > MAX_INT_DIGITS:
            raise ExpressionError(f"'{_shown(node)}' rounds to {args[1]:,} digits, more than the {MAX_INT_DIGITS} "
                                  "an expression may compute", "round to fewer digits")
        if name in ("int", "float") and args and isinstance(args[0], str) and len(args[0]) > MAX_INT_DIGITS:
            raise ExpressionError(f"'{_shown(node)}' converts {len(args[0]):,} characters of text, more than the "
                                  f"{MAX_INT_DIGITS} a number may have", "use smaller numbers")
        try:
            return function(*args)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(f"'{_shown(node)}' failed: {exc}") from None


def _shown_operation(node: ast.BinOp, left: Any, right: Any) -> str:
    """A power with its operands' values (``9 ** 387420489``), so that the limit names the
    numbers it refused; any other operation as written."""
    if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int):
        return f"{left!r} ** {right!r}"
    return _shown(node)
