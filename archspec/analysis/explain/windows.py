"""Explanations of windowed layers: convolutions, their transposes, pooling."""
from __future__ import annotations

from typing import Optional, Sequence

from archspec.analysis.explain.arith import AXES, SIDES, Equation, Line, mul, num, per_axis
from archspec.analysis.shape_pass import LayerInfo
from archspec.layers.common import explicit_pads
from archspec.layers.arithmetic import as_tuple, same_pads


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


