"""``archspec explain``: the arithmetic behind every row of the summary, numbers substituted.

Each rule is written the way lecture notes work their examples,
``H' = floor((H - K + 2P) / S) + 1 = floor((32 - 5 + 2*0) / 1) + 1 = 28``, and the value at the
end is obtained by evaluating the substituted text itself (exactly, with fractions), so the
printed arithmetic is the arithmetic that gives the number. The formulas are written here
independently of the layer rules; the tests check that every value equals the analysis.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Optional, Sequence, Union

from archspec.analysis.receptive import Field, Step, layer_step, receptive_fields
from archspec.analysis.shapes import Analysis, LayerInfo
from archspec.layers.common import explicit_pads
from archspec.layers.shapes import as_tuple, fmt_shape, product, same_pads

Value = Union[int, Fraction]
Line = Union["Equation", str]
_FUNCS = {"floor": math.floor, "ceil": math.ceil, "max": max, "min": min}
AXES = {1: ("T",), 2: ("H", "W"), 3: ("D", "H", "W")}
SIDES = {"T": ("start", "end"), "D": ("front", "back"), "H": ("top", "bottom"), "W": ("left", "right")}


# ---------------------------------------------------------------- exact arithmetic
def evaluate(text: str) -> Value:
    """Evaluate integer arithmetic with ``+ - * / //``, floor, ceil, max, min; exact.

    >>> evaluate("floor((32 - 5 + 2*0) / 1) + 1")
    28
    >>> evaluate("ceil(7 / 2)"), evaluate("3*3*(64/2)*128 + 128"), evaluate("max((16 - 1)*2 + 5 - 32, 0)")
    (4, 36992, 3)
    >>> evaluate("1 / 2")
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


@dataclass(frozen=True)
class Equation:
    """``lhs = general = substituted = value``; ``key`` names the analysis number it gives."""

    lhs: str
    general: str
    substituted: str
    key: tuple = ()
    note: str = ""

    @property
    def value(self) -> Value:
        return evaluate(self.substituted)

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


def per_axis(lhs: Sequence[str], general: Union[str, Sequence[str]], substituted: Sequence[str], key: str,
             note: str = "", axes: Optional[Sequence[int]] = None) -> list[Line]:
    """One equation per axis, or one for all axes when they read the same (``H' = W' = ...``).

    ``general`` is one text or one per axis; ``axes`` are the layer axes the items stand for.
    """
    axes = list(range(len(lhs))) if axes is None else list(axes)
    generals = [general] * len(lhs) if isinstance(general, str) else list(general)
    if len(lhs) > 1 and len(set(substituted)) == 1:
        return [Equation(" = ".join(lhs), generals[0], substituted[0], (key, tuple(axes)), note)]
    return [Equation(name, g, text, (key, (axis,)), note)
            for name, g, text, axis in zip(lhs, generals, substituted, axes)]


# ---------------------------------------------------------------- shapes of windowed layers
def _spatial(info: LayerInfo) -> tuple[int, tuple, tuple]:
    n = len(info.in_shapes[0]) - 1
    return n, AXES.get(n, tuple(f"X{i + 1}" for i in range(n))), info.in_shapes[0][:-1]


def window_lines(info: LayerInfo, kernels: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int]) -> list[Line]:
    """Output size of a convolution or pooling, per axis, with the padding Keras applies."""
    n, names, sizes = _spatial(info)
    lines: list[Line] = []
    dilated = any(d != 1 for d in dilations)
    keff = [d * (k - 1) + 1 for k, d in zip(kernels, dilations)]
    if dilated:
        lines += per_axis([f"K_eff({a})" for a in names], "d*(K - 1) + 1",
                          [f"{d}*({k} - 1) + 1" for k, d in zip(kernels, dilations)], "keff",
                          "a dilated kernel spans this many positions")
    k_sym = "K_eff" if dilated else "K"
    pads = explicit_pads(info.node.args, sizes, kernels, strides, dilations)
    mode = info.node.args.get("padding", "valid")
    known = [i for i, s in enumerate(sizes) if s is not None]
    if len(known) < n:
        lines.append(f"{', '.join(names[i] for i in range(n) if i not in known)} unknown: that output size is "
                     "unknown too (None), as in Keras")
    if pads is not None and mode == "same":
        lines.append(f"padding 'same' with padding_mode {info.node.args.get('padding_mode')}: archspec pads "
                     + ", ".join(f"{p[0]} + {p[1]} on {a}" for a, p in zip(names, pads))
                     + " (Keras's 'same' amounts), then applies the window with 'valid'")
    if pads is not None or mode == "valid":
        return lines + _valid_lines(names, sizes, keff, strides, pads or [(0, 0)] * n, k_sym, known)
    lines += per_axis([f"{names[i]}'" for i in known], [f"ceil({names[i]} / S)" for i in known],
                      [f"ceil({sizes[i]} / {strides[i]})" for i in known], "shape", axes=known)
    if mode == "causal":
        return lines + [f"causal: Keras pads {k_sym} - 1 = {keff[0] - 1} zeros at the start, none at the end"]
    return lines + _same_pad_lines(names, sizes, keff, strides, k_sym)


def _valid_lines(names: Sequence[str], sizes: Sequence, keff: Sequence[int], strides: Sequence[int],
                 pads: Sequence[tuple[int, int]], k_sym: str, known: list[int]) -> list[Line]:
    """floor((H - K + 2P) / S) + 1, or with P_before + P_after when the sides differ."""
    generals, texts = [], []
    for i in known:
        (b, a), axis = pads[i], names[i]
        if b == a:
            generals.append(f"floor(({axis} - {k_sym} + 2P) / S) + 1")
            texts.append(f"floor(({sizes[i]} - {keff[i]} + 2*{b}) / {strides[i]}) + 1")
        else:
            generals.append(f"floor(({axis} - {k_sym} + P_before + P_after) / S) + 1")
            texts.append(f"floor(({sizes[i]} - {keff[i]} + {b} + {a}) / {strides[i]}) + 1")
    return per_axis([f"{names[i]}'" for i in known], generals, texts, "shape", axes=known)


def _same_pad_lines(names: Sequence[str], sizes: Sequence, keff: Sequence[int], strides: Sequence[int],
                    k_sym: str) -> list[Line]:
    """The padding TensorFlow applies for 'same': total, then the odd pixel after."""
    lines: list[Line] = []
    for i, (axis, size) in enumerate(zip(names, sizes)):
        if size is None:
            lines.append(f"'same' padding on {axis} depends on the unknown input size")
            continue
        out = -(-size // strides[i])
        total = Equation(f"P_total({axis})", f"max(({axis}' - 1)*S + {k_sym} - {axis}, 0)",
                         f"max(({out} - 1)*{strides[i]} + {keff[i]} - {size}, 0)", ("same_pad", (i,)))
        before, after = same_pads(size, keff[i], strides[i])
        first, last = SIDES.get(axis, ("before", "after"))
        lines.append(total)
        lines.append(f"Keras pads {before} {first} and {after} {last} on {axis} (floor(P_total/2) before; the odd "
                     f"one goes after)" if before != after else f"Keras pads {before} {first} and {after} {last} on "
                     f"{axis}")
    return lines


# ---------------------------------------------------------------- per family
def _kernel_strides(info: LayerInfo, n: int) -> tuple[tuple, tuple, tuple]:
    args = info.node.args
    if "pool_size" in args:
        pools = as_tuple(args["pool_size"], n)
        return pools, pools if args.get("strides") is None else as_tuple(args["strides"], n), (1,) * n
    if info.node.kind == "FixedConv2D":
        from archspec.layers.fixed import kernels_of

        m = kernels_of(args)[0]
        return (len(m), len(m[0])), as_tuple(args["strides"], 2), (1, 1)
    dil = as_tuple(args.get("dilation_rate", 1), n) if "dilation_rate" in args else (1,) * n
    return as_tuple(args["kernel_size"], n), as_tuple(args["strides"], n), dil


def _k_syms(n: int) -> list[str]:
    return ["K"] if n == 1 else [f"K_{a.lower()}" for a in AXES[n]]


def _out_syms(n: int) -> list[str]:
    return [f"{a}'" for a in AXES.get(n, ())]


def conv_lines(info: LayerInfo) -> list[Line]:
    """Conv, depthwise, separable, unshared (LC), tiled and fixed-kernel convolutions; pooling."""
    n, _, _ = _spatial(info)
    kernels, strides, dilations = _kernel_strides(info, n)
    lines = window_lines(info, kernels, strides, dilations)
    family = info.node.kind.rstrip("123D")
    maker = {"Conv": _conv_params, "DepthwiseConv": _depthwise_params, "SeparableConv": _separable_params,
             "LocallyConnected": _lc_params, "TiledConv": _tiled_params, "FixedConv": _fixed_params}
    if family in maker:
        lines += maker[family](info, n, kernels)
    return lines


def _bias(info: LayerInfo, sym: str, value: object) -> tuple[str, str]:
    return (f" + {sym}", f" + {num(value)}") if info.node.args.get("use_bias", True) else ("", "")


def _macs_line(general: str, text: str, info: LayerInfo) -> list[Line]:
    if None in info.out_shape:
        return ["MACs: unknown output size, counted as 0 (as summary does)"]
    return [Equation("MACs", general, text, ("macs",))]


def _conv_params(info: LayerInfo, n: int, kernels: Sequence[int]) -> list[Line]:
    c_in, c_out, groups = info.in_shapes[0][-1], info.out_shape[-1], info.node.args.get("groups", 1)
    c_sym, c_val = ("C_in", c_in) if groups == 1 else ("(C_in/g)", f"({c_in}/{groups})")
    b_sym, b_val = _bias(info, "C_out", c_out)
    ks = "*".join(_k_syms(n))
    lines: list[Line] = [Equation("params", f"{ks}*{c_sym}*C_out{b_sym}", f"{mul(*kernels, c_val, c_out)}{b_val}",
                                  ("params",))]
    return lines + _macs_line(f"{ks}*{c_sym}*C_out*{'*'.join(_out_syms(n))}",
                              mul(*kernels, c_val, c_out, *info.out_shape[:-1]), info)


def _depthwise_params(info: LayerInfo, n: int, kernels: Sequence[int]) -> list[Line]:
    c_in, m = info.in_shapes[0][-1], info.node.args["depth_multiplier"]
    b_sym, b_val = _bias(info, "C_in*M", f"{c_in}*{m}")
    ks = "*".join(_k_syms(n))
    return [Equation("params", f"{ks}*C_in*M{b_sym}", f"{mul(*kernels, c_in, m)}{b_val}", ("params",),
                     "one filter per input channel, M = depth_multiplier")] + \
        _macs_line(f"{ks}*C_out*{'*'.join(_out_syms(n))}", mul(*kernels, info.out_shape[-1], *info.out_shape[:-1]),
                   info)


def _separable_params(info: LayerInfo, n: int, kernels: Sequence[int]) -> list[Line]:
    c_in, m, c_out = info.in_shapes[0][-1], info.node.args["depth_multiplier"], info.out_shape[-1]
    b_sym, b_val = _bias(info, "C_out", c_out)
    ks = "*".join(_k_syms(n))
    outs = "*".join(_out_syms(n))
    return [Equation("params", f"{ks}*C_in*M + C_in*M*C_out{b_sym}",
                     f"{mul(*kernels, c_in, m)} + {mul(c_in, m, c_out)}{b_val}", ("params",),
                     "depthwise, then a 1x1 convolution")] + \
        _macs_line(f"({ks}*C_in*M + C_in*M*C_out)*{outs}",
                   f"({mul(*kernels, c_in, m)} + {mul(c_in, m, c_out)})*{mul(*info.out_shape[:-1])}", info)


def _lc_params(info: LayerInfo, n: int, kernels: Sequence[int]) -> list[Line]:
    c_in, c_out = info.in_shapes[0][-1], info.out_shape[-1]
    b_sym, b_val = _bias(info, "C_out", c_out)
    ks, outs = "*".join(_k_syms(n)), "*".join(_out_syms(n))
    return [Equation("params", f"{outs}*({ks}*C_in*C_out{b_sym})",
                     f"{mul(*info.out_shape[:-1])}*({mul(*kernels, c_in, c_out)}{b_val})", ("params",),
                     "a separate kernel and bias at every output position")] + \
        _macs_line(f"{ks}*C_in*C_out*{outs}", mul(*kernels, c_in, c_out, *info.out_shape[:-1]), info)


def _tiled_params(info: LayerInfo, n: int, kernels: Sequence[int]) -> list[Line]:
    c_in, c_out = info.in_shapes[0][-1], info.out_shape[-1]
    tiles = as_tuple(info.node.args["tiles"], 2)
    b_sym, b_val = _bias(info, "C_out", c_out)
    ks, outs = "*".join(_k_syms(n)), "*".join(_out_syms(n))
    return [Equation("params", f"t_h*t_w*({ks}*C_in*C_out{b_sym})", f"{mul(*tiles)}*({mul(*kernels, c_in, c_out)}"
                     f"{b_val})", ("params",), "t_h x t_w kernels cycled over the output positions")] + \
        _macs_line(f"{ks}*C_in*C_out*{outs}", mul(*kernels, c_in, c_out, *info.out_shape[:-1]), info)


def _fixed_params(info: LayerInfo, n: int, kernels: Sequence[int]) -> list[Line]:
    from archspec.layers.fixed import kernels_of

    c_in, count = info.in_shapes[0][-1], len(kernels_of(info.node.args))
    lines: list[Line] = [Equation("params", "K_h*K_w*C_in*k", mul(*kernels, c_in, count), ("params",),
                                  "frozen: non-trainable; k = number of kernels")]
    if info.node.args["combine"] == "depthwise":
        return lines + _macs_line("K_h*K_w*C_out*H'*W'", mul(*kernels, *info.out_shape[-1:], *info.out_shape[:-1]),
                                  info)
    return lines + _macs_line("K_h*K_w*C_in*k*H'*W'", mul(*kernels, c_in, count, *info.out_shape[:-1]), info)


def transpose_lines(info: LayerInfo) -> list[Line]:
    """Transposed convolution: output size, params, and MACs counted on the input grid."""
    n, names, sizes = _spatial(info)
    args = info.node.args
    kernels, strides, dilations = (as_tuple(args[a], n) for a in ("kernel_size", "strides", "dilation_rate"))
    keff = [d * (k - 1) + 1 for k, d in zip(kernels, dilations)]
    op = args.get("output_padding")
    ops = (None,) * n if op is None else as_tuple(op, n)
    known = [i for i, size in enumerate(sizes) if size is not None]
    lines: list[Line] = [f"{names[i]}' unknown: the input's {names[i]} is unknown" for i in range(n) if i not in known]
    rules = [_transpose_rule(names[i], sizes[i], keff[i], strides[i], ops[i], args["padding"]) for i in known]
    notes = {note for _, _, note in rules}
    if len(notes) == 1:
        lines += per_axis([f"{names[i]}'" for i in known], [g for g, _, _ in rules], [t for _, t, _ in rules], "shape",
                          notes.pop(), axes=known)
    else:
        lines += [Equation(f"{names[i]}'", g, t, ("shape", (i,)), note) for i, (g, t, note) in zip(known, rules)]
    c_in, c_out = info.in_shapes[0][-1], info.out_shape[-1]
    b_sym, b_val = _bias(info, "C_out", c_out)
    ks = "*".join(_k_syms(n))
    lines.append(Equation("params", f"{ks}*C_in*C_out{b_sym}", f"{mul(*kernels, c_in, c_out)}{b_val}", ("params",)))
    if None in sizes:
        return lines + ["MACs: unknown input size, counted as 0"]
    return lines + [Equation("MACs", f"{ks}*C_in*C_out*{'*'.join(names)}", mul(*kernels, c_in, c_out, *sizes),
                             ("macs",), "counted on the input grid: each input position scatters a kernel")]


def _transpose_rule(axis: str, size: int, k: int, s: int, op: Optional[int], padding: str) -> tuple[str, str, str]:
    """(general form, numbers, note) of a transposed convolution's output size on one axis.

    >>> _transpose_rule("H", 7, 3, 2, None, "valid")
    ('H*S + max(K - S, 0)', '7*2 + max(3 - 2, 0)', '')
    """
    if op is None and padding == "valid":
        return f"{axis}*S + max(K - S, 0)", f"{size}*{s} + max({k} - {s}, 0)", ""
    if op is None:
        return f"{axis}*S", f"{size}*{s}", "'same'"
    pad = k // 2 if padding == "same" else 0
    return (f"({axis} - 1)*S + K - 2P + output_padding", f"({size} - 1)*{s} + {k} - 2*{pad} + {op}",
            "P = floor(K/2) for 'same', 0 for 'valid'")


def dense_lines(info: LayerInfo) -> list[Line]:
    c_in, units = info.in_shapes[0][-1], info.node.args["units"]
    b_sym, b_val = _bias(info, "U", units)
    lines: list[Line] = [Equation("params", f"C_in*U{b_sym}", f"{mul(c_in, units)}{b_val}", ("params",))]
    lead = info.in_shapes[0][:-1]
    if not lead:
        return lines + [Equation("MACs", "C_in*U", mul(c_in, units), ("macs",))]
    if None in lead:
        return lines + ["MACs: per position C_in*U; unknown positions, counted once (as summary does)"]
    return lines + [Equation("MACs", "C_in*U*positions", mul(c_in, units, *lead), ("macs",),
                             "applied at every position of the leading axes")]


def flatten_lines(info: LayerInfo) -> list[Line]:
    shape = info.in_shapes[0]
    if None in shape:
        return ["N unknown: the input has an unknown size"]
    return [Equation("N", "product of the input's sizes", mul(*shape), ("shape", (0,)))]


def reshape_lines(info: LayerInfo) -> list[Line]:
    shape = info.in_shapes[0]
    if None in shape:
        return [f"{fmt_shape(shape)} -> {fmt_shape(info.out_shape)} (unknown sizes stay unknown)"]
    return [Equation("values", "product of the input's sizes", mul(*shape), ("values",),
                     f"rearranged as {fmt_shape(info.out_shape)}")]


def norm_lines(info: LayerInfo) -> list[Line]:
    args = info.node.args
    axis = args.get("axis", -1)
    c = info.in_shapes[0][axis]
    affine = int(bool(args.get("center", True))) + int(bool(args.get("scale", True)))
    words = " and ".join(w for w, on in (("beta", args.get("center", True)), ("gamma", args.get("scale", True))) if on)
    if info.node.kind != "BatchNormalization":
        return [Equation("params", f"{affine}*C", mul(affine, c), ("params",), words or "no learned weights")]
    return [Equation("trainable", f"{affine}*C", mul(affine, c), ("trainable",), words or "none"),
            Equation("non-trainable", "2*C", mul(2, c), ("non_trainable",), "moving mean and moving variance"),
            Equation("params", "trainable + non-trainable", f"{affine * c} + {2 * c}", ("params",))]


def merge_lines(info: LayerInfo) -> list[Line]:
    shapes = ", ".join(fmt_shape(s) for s in info.in_shapes)
    if info.node.kind != "Concatenate":
        return [f"element-wise {info.node.kind} of {shapes}: the shapes agree (a size of 1 broadcasts), so the "
                f"output is {fmt_shape(info.out_shape)}"]
    rank = len(info.out_shape)
    axis = info.node.args["axis"]
    ax = axis - 1 if axis > 0 else rank + axis
    parts = [s[ax] for s in info.in_shapes]
    sym = "C" if ax == rank - 1 else f"axis {axis}"
    if None in parts:
        return [f"concatenation of {shapes} on {sym}: unknown size"]
    return [Equation(f"{sym}'", " + ".join(f"{sym}_{i + 1}" for i in range(len(parts))),
                     " + ".join(num(p) for p in parts), ("shape", (ax,)), "the other axes must agree")]


def resize_lines(info: LayerInfo) -> list[Line]:
    """ZeroPadding, Cropping and UpSampling: sizes added, removed or multiplied per axis."""
    from archspec.layers.resize import side_pairs

    n, names, sizes = _spatial(info)
    kind, args = info.node.kind, info.node.args
    known = [i for i, size in enumerate(sizes) if size is not None]
    if kind.startswith("ZeroPadding"):
        pairs = side_pairs(args["padding"], n)
        generals = [f"{a} + P_before + P_after" for a in names]
        texts = [f"{sizes[i]} + {pairs[i][0]} + {pairs[i][1]}" for i in known]
    elif kind.startswith("Cropping"):
        pairs = side_pairs(args["cropping"], n)
        generals = [f"{a} - C_before - C_after" for a in names]
        texts = [f"{sizes[i]} - {pairs[i][0]} - {pairs[i][1]}" for i in known]
    else:
        factors = as_tuple(args["size"], n)
        generals = [f"{a}*f" for a in names]
        texts = [f"{sizes[i]}*{factors[i]}" for i in known]
    unknown = [f"{names[i]}' unknown" for i in range(n) if i not in known]
    return unknown + per_axis([f"{names[i]}'" for i in known], [generals[i] for i in known], texts, "shape",
                              axes=known)


def global_lines(info: LayerInfo) -> list[Line]:
    return [f"one value per channel over all {product(info.in_shapes[0][:-1]) or '?'} positions: "
            f"{fmt_shape(info.in_shapes[0])} -> {fmt_shape(info.out_shape)}"]


def prelu_lines(info: LayerInfo) -> list[Line]:
    shared = info.node.args.get("shared_axes") or []
    kept = [d for i, d in enumerate(info.in_shapes[0], 1) if i not in shared]
    return [Equation("params", "one slope per unshared position", mul(*kept), ("params",))]


EXPLAINERS: dict[str, Callable[[LayerInfo], list[Line]]] = {
    "Dense": dense_lines, "Flatten": flatten_lines, "Reshape": reshape_lines, "PReLU": prelu_lines,
}


def shape_lines(info: LayerInfo) -> list[Line]:
    """The rows' shape and parameter arithmetic for one layer."""
    kind = info.node.kind
    if kind in EXPLAINERS:
        return EXPLAINERS[kind](info)
    if kind.endswith("Transpose"):
        return transpose_lines(info)
    if kind.startswith("Global"):
        return global_lines(info)
    if info.kind.family == "norm":
        return norm_lines(info)
    if info.kind.is_merge:
        return merge_lines(info)
    if info.kind.family == "resize":
        return resize_lines(info)
    if info.window is not None:
        return conv_lines(info)
    return [f"shape unchanged: {fmt_shape(info.out_shape)}"]


# ---------------------------------------------------------------- receptive field
def rf_lines(info: LayerInfo, inputs: Sequence[Field], out: Field) -> list[Line]:
    """How the receptive field, effective stride (jump j) and effective padding change here."""
    if not out.rank:
        return []
    step = layer_step(info)
    names = AXES.get(out.rank, tuple(f"X{i + 1}" for i in range(out.rank)))
    src = inputs[0]
    label = (lambda sym: [f"{sym}({a})" for a in names]) if out.rank > 1 else (lambda sym: [sym])
    if step.rule == "window" and None not in src.size:
        dilated = any(d != 1 for d in as_tuple(info.node.args.get("dilation_rate", 1), out.rank))
        return _window_rf(step, src, label, "K_eff" if dilated else "K")
    if step.rule == "upsample" and None not in src.size:
        factors = [max(1, round(1 / s)) for s in step.stride]
        return per_axis(label("RF"), "RF_in + (ceil(K/f) - 1)*j_in",
                        [f"{num(r)} + (ceil({k}/{f}) - 1)*{num(j)}"
                         for r, k, f, j in zip(src.size, step.kernel, factors, src.stride)], "rf",
                        "an output position depends on at most ceil(K/f) input positions") + \
            per_axis(label("j"), "j_in / f", [f"{num(j)} / {f}" for j, f in zip(src.stride, factors)], "jump")
    if step.rule == "whole" and None not in out.size:
        sizes = info.in_shapes[0][:-1]
        return per_axis(label("RF"), "RF_in + (n - 1)*j_in",
                        [f"{num(r)} + ({n} - 1)*{num(j)}" for r, n, j in zip(src.size, sizes, src.stride)], "rf",
                        "the whole input: the union of all n positions")
    if step.rule == "merge" and None not in out.size and all(f.rank == out.rank for f in inputs):
        lines = per_axis(label("RF"), "max over the inputs",
                         [f"max({', '.join(num(f.size[i]) for f in inputs)})" for i in range(out.rank)], "rf")
        return lines + ([f"note: {out.note}"] if out.note else [])
    shown = ", ".join(f"{a} {num(r) if r is not None else '?'}" for a, r in zip(names, out.size))
    if out.whole:
        return [f"RF: the whole input ({shown})"]
    return [f"RF unchanged ({shown}): the layer works position by position" if step.rule == "identity"
            else f"RF: {shown}"]


def _window_rf(step: Step, src: Field, label: Callable[[str], list[str]], k_sym: str) -> list[Line]:
    lines = per_axis(label("RF"), f"RF_in + ({k_sym} - 1)*j_in",
                     [f"{num(r)} + ({k} - 1)*{num(j)}" for r, k, j in zip(src.size, step.kernel, src.stride)], "rf")
    lines += per_axis(label("j"), "j_in*S", [f"{num(j)}*{num(s)}" for j, s in zip(src.stride, step.stride)], "jump")
    if None in src.padding or None in step.pad:
        return lines + ["P_eff unknown: 'same' padding here depends on an unknown input size"]
    return lines + per_axis(label("P_eff"), "P_in + P*j_in",
                            [f"{num(p)} + {num(q)}*{num(j)}" for p, q, j in zip(src.padding, step.pad, src.stride)],
                            "eff_pad")


# ---------------------------------------------------------------- the whole explanation
def yaml_text(value: object) -> str:
    """A value as a spec writes it.

    >>> yaml_text(["sobel_x", [1, 2]]), yaml_text(False), yaml_text(None)
    ('[sobel_x, [1, 2]]', 'false', 'null')
    """
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def given_args(info: LayerInfo) -> str:
    """The arguments that differ from their defaults, as ``key=value``.

    Layer-side options that change no number (activation, initializers) are left out.
    """
    skip = ("activation", "name", "seed")
    defaults = {a.name: a.default for a in info.kind.args}
    shown = [f"{k}={yaml_text(v)}" for k, v in info.node.args.items()
             if v != defaults.get(k) and k not in skip and not k.endswith(("_initializer", "_regularizer"))]
    return ", ".join(shown)


def header(info: LayerInfo) -> str:
    """``name (Kind: args), file:line: input -> output``."""
    ins = ", ".join(fmt_shape(s) for s in info.in_shapes)
    args = given_args(info)
    kind = f"{info.node.kind}: {args}" if args else info.node.kind
    return f"{info.node.name} ({kind}), {info.node.loc}: {ins} -> {fmt_shape(info.out_shape)}"


def explain_layer(info: LayerInfo, fields: dict[str, Field]) -> list[Line]:
    """Every equation of one layer: shape, params, MACs, then the receptive field."""
    inputs = [fields[i] for i in info.node.inputs]
    return shape_lines(info) + rf_lines(info, inputs, fields[info.node.name])


def explain(analysis: Analysis, names: Optional[Sequence[str]] = None) -> list[tuple[LayerInfo, list[Line]]]:
    """(layer, lines) for the chosen layers (all when ``names`` is empty), in graph order."""
    fields = receptive_fields(analysis)
    wanted = set(names) if names else None
    return [(info, explain_layer(info, fields)) for info in analysis.layers
            if wanted is None or info.node.name in wanted]


def render(explained: Sequence[tuple[LayerInfo, list[Line]]]) -> str:
    """Plain text: a header per layer, one indented line per equation or note."""
    blocks = []
    for info, lines in explained:
        body = [f"  {line.render() if isinstance(line, Equation) else line}" for line in lines]
        blocks.append("\n".join([header(info)] + body))
    return "\n\n".join(blocks) + "\n"
