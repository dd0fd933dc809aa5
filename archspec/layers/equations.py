"""The equations a kind's ``explain`` rule writes, and their exact evaluation.

An equation is written the way lecture notes work their examples,
``H' = floor((H - K + 2P) / S) + 1 = floor((32 - 5 + 2*0) / 1) + 1 = 28``; its value is the
evaluation of the substituted text itself (exactly, with fractions), so the printed
arithmetic is the arithmetic that gives the number. ``Product`` is a list of named factors
that a rule multiplies and its explanation prints, from the same list.

Pure Python and free of the rest of the layers package, so every family module can use it.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence, Union

Value = Union[int, Fraction]
Line = Union["Equation", str]
_FUNCS = {"floor": math.floor, "ceil": math.ceil, "max": max, "min": min}


# ---------------------------------------------------------------- exact arithmetic
def evaluate_exact(text: str) -> Value:
    """Evaluate integer arithmetic with ``+ - * / //``, floor, ceil, max, min; exact.

    >>> evaluate_exact("floor((32 - 5 + 2*0) / 1) + 1")
    28
    >>> evaluate_exact("ceil(7 / 2)"), evaluate_exact("3*3*(64/2)*128 + 128"), evaluate_exact("max(3 - 32, 0)")
    (4, 36992, 0)
    >>> evaluate_exact("1 / 2")
    Fraction(1, 2)
    """
    return _eval(ast.parse(text, mode="eval").body)


def _eval(node: ast.AST) -> Value:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return _whole(Fraction(node.value).limit_denominator(10**6))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv):
        a, b = _eval(node.left), _eval(node.right)
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
               ast.Div: lambda: Fraction(a) / Fraction(b), ast.FloorDiv: lambda: a // b}
        return _whole(ops[type(node.op)]())
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
        return _whole(_FUNCS[node.func.id](*(_eval(a) for a in node.args)))
    raise ValueError(f"not arithmetic: {ast.dump(node)}")


def _whole(value: Value) -> Value:
    return int(value) if isinstance(value, Fraction) and value.denominator == 1 else value


# ---------------------------------------------------------------- writing numbers
def show(value: Value) -> str:
    """A value as the notes print it: thousands separators, decimals for fractions.

    >>> show(2432), show(Fraction(1, 2)), show(Fraction(7, 3))
    ('2,432', '0.5', '2.333')
    """
    if isinstance(value, Fraction):
        return f"{float(value):.4g}"
    return f"{value:,}"


def num(value: object) -> str:
    """A number as written inside a formula: ints plain, fractions as decimals.

    >>> num(3), num(0.5), num(Fraction(1, 4)), num(2.0), num(-2)
    ('3', '0.5', '0.25', '2', '(-2)')
    """
    if isinstance(value, Fraction):
        value = float(value)
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"({text})" if text.startswith("-") else text


def mul(*values: object) -> str:
    """``5*5*3``; strings (already formatted terms) are kept as given.

    >>> mul(5, 5, "(64/2)", 128)
    '5*5*(64/2)*128'
    """
    return "*".join(v if isinstance(v, str) else num(v) for v in values)


# ---------------------------------------------------------------- equations
@dataclass(frozen=True)
class Equation:
    """``lhs = general = substituted = value``; ``key`` names the analysis number it gives:
    ``("params",)``, ``("trainable",)``, ``("non_trainable",)``, ``("macs",)``, ``("values",)``
    or a per-axis ``("shape", axes)``, ``("keff", axes)``, ``("same_pad", axes)``,
    ``("rf", axes)``, ``("jump", axes)``, ``("eff_pad", axes)``."""

    lhs: str
    general: str
    substituted: str
    key: tuple = ()
    note: str = ""

    @property
    def value(self) -> Value:
        return evaluate_exact(self.substituted)

    def render(self) -> str:
        """
        >>> Equation("H'", "floor((H - K + 2P) / S) + 1", "floor((32 - 5 + 2*0) / 1) + 1").render()
        "H' = floor((H - K + 2P) / S) + 1 = floor((32 - 5 + 2*0) / 1) + 1 = 28"
        """
        parts = [self.lhs]
        if self.general and self.general != self.substituted:
            parts.append(self.general)
        if self.substituted.replace(",", "") != show(self.value).replace(",", ""):
            parts.append(self.substituted)
        parts.append(show(self.value))
        return " = ".join(parts) + (f"   ({self.note})" if self.note else "")


def render_line(line: Line) -> str:
    """An equation rendered, or a note as it is."""
    return line.render() if isinstance(line, Equation) else line


def per_axis(lhs: Sequence[str], general: Union[str, Sequence[str]], substituted: Sequence[str], key: str,
             note: str = "", axes: Optional[Sequence[int]] = None) -> list[Line]:
    """One equation per axis, or one for all axes when they read the same (``H' = W' = ...``).

    ``general`` is one text or one per axis; ``axes`` are the layer axes the items stand for.

    >>> [e.render() for e in per_axis(["H'", "W'"], "H*f", ["4*2", "4*2"], "shape")]
    ["H' = W' = H*f = 4*2 = 8"]
    """
    axes = list(range(len(lhs))) if axes is None else list(axes)
    generals = [general] * len(lhs) if isinstance(general, str) else list(general)
    if len(lhs) > 1 and len(set(substituted)) == 1:
        return [Equation(" = ".join(lhs), generals[0], substituted[0], (key, tuple(axes)), note)]
    return [Equation(name, g, text, (key, (axis,)), note)
            for name, g, text, axis in zip(lhs, generals, substituted, axes)]


# ---------------------------------------------------------------- products of named factors
Factor = tuple[str, int, str]  # symbol, value, as printed


def factor(symbol: str, value: int, shown: Optional[str] = None) -> Factor:
    """A named factor; ``shown`` is how the numbers print it when not as its value."""
    return symbol, value, num(value) if shown is None else shown


@dataclass(frozen=True)
class Product:
    """Factors a rule multiplies; ``symbols`` and ``numbers`` are how explain prints them.

    >>> w = Product((factor("K_h", 3), factor("K_w", 3), factor("(C_in/g)", 2, "(8/4)"), factor("C_out", 16)))
    >>> w.value, w.symbols, w.numbers
    (288, 'K_h*K_w*(C_in/g)*C_out', '3*3*(8/4)*16')
    >>> w.times(factor("H'", 4)).numbers
    '3*3*(8/4)*16*4'
    """

    factors: tuple[Factor, ...]

    @property
    def value(self) -> int:
        return math.prod(value for _, value, _ in self.factors)

    @property
    def symbols(self) -> str:
        return "*".join(symbol for symbol, _, _ in self.factors)

    @property
    def numbers(self) -> str:
        return "*".join(shown for _, _, shown in self.factors)

    def times(self, *factors: Factor) -> "Product":
        return Product(self.factors + tuple(factors))


__all__ = ["Value", "Line", "evaluate_exact", "show", "num", "mul", "Equation", "render_line", "per_axis",
           "Factor", "factor", "Product"]
