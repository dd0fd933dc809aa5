"""Explanations of the other layer families, and the table of explainers."""
from __future__ import annotations

from typing import Callable

from archspec.analysis.explain.arith import Equation, Line, mul, num, per_axis
from archspec.analysis.explain.windows import _bias, _spatial, conv_lines, transpose_lines
from archspec.analysis.shape_pass import LayerInfo
from archspec.layers.arithmetic import as_tuple, fmt_shape, product


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


