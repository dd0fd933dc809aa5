"""The equations of a windowed layer's output size (convolution, pooling, fixed kernels),
per spatial axis, with the padding Keras applies: what their ``explain`` rules share.

They read the same padding helpers (``explicit_pads``) and arithmetic (``window_length``,
``same_pads``, ``dilated``) as the shape rules, so the text and the number cannot part.
"""
from __future__ import annotations

from typing import Optional, Sequence

from archspec.layers.axes import SIDES, axis_symbols
from archspec.layers.common import explicit_pads
from archspec.layers.equations import Equation, Line, Product, factor, per_axis
from archspec.layers.registry import Args, Shape
from archspec.layers.arithmetic import dilated, same_pads, window_length


def kernel_factors(kernels: Sequence[int]) -> tuple:
    """The kernel's factors of a weight count: ``K`` on one axis, ``K_h*K_w`` on two.

    >>> [f[0] for f in kernel_factors((3, 3))], [f[0] for f in kernel_factors((5,))]
    (['K_h', 'K_w'], ['K'])
    """
    if len(kernels) == 1:
        return (factor("K", kernels[0]),)
    return tuple(factor(f"K_{a.lower()}", k) for a, k in zip(axis_symbols(len(kernels)), kernels))


def output_factors(out: Shape) -> tuple:
    """The output positions as factors: ``H'*W'`` (unknown sizes must be ruled out first)."""
    return tuple(factor(f"{a}'", size) for a, size in zip(axis_symbols(len(out) - 1), out[:-1]))


def window_lines(args: Args, in_shape: Shape, kernels: Sequence[int], strides: Sequence[int],
                 dilations: Sequence[int]) -> list[Line]:
    """Output size of a convolution or pooling, per axis, with the padding Keras applies."""
    sizes = in_shape[:-1]
    n, names = len(sizes), axis_symbols(len(sizes))
    lines: list[Line] = []
    is_dilated = any(d != 1 for d in dilations)
    keff = [dilated(k, d) for k, d in zip(kernels, dilations)]
    if is_dilated:
        lines += per_axis([f"K_eff({a})" for a in names], "d*(K - 1) + 1",
                          [f"{d}*({k} - 1) + 1" for k, d in zip(kernels, dilations)], "keff",
                          "a dilated kernel spans this many positions")
    k_sym = "K_eff" if is_dilated else "K"
    pads = explicit_pads(args, sizes, kernels, strides, dilations)
    mode = args.get("padding", "valid")
    known = [i for i, s in enumerate(sizes) if s is not None]
    if len(known) < n:
        lines.append(f"{', '.join(names[i] for i in range(n) if i not in known)} unknown: that output size is "
                     "unknown too (None), as in Keras")
    if pads is not None and mode == "same":
        lines.append(f"padding 'same' with padding_mode {args.get('padding_mode')}: archspec pads "
                     + ", ".join(f"{p[0]} + {p[1]} on {a}" for a, p in zip(names, pads))
                     + " (Keras's 'same' amounts), then applies the window with 'valid'")
    if pads is not None or mode == "valid":
        return lines + _valid_lines(names, sizes, keff, strides, pads or [(0, 0)] * n, k_sym, known)
    lines += per_axis([f"{names[i]}'" for i in known], [f"ceil({names[i]} / S)" for i in known],
                      [f"ceil({sizes[i]} / {strides[i]})" for i in known], "shape", axes=known)
    if mode == "causal":
        return lines + [f"causal: Keras pads {k_sym} - 1 = {keff[0] - 1} zeros at the start, none at the end"]
    return lines + _same_pad_lines(names, sizes, keff, strides, k_sym)


def _valid_lines(names: Sequence[str], sizes: Sequence[Optional[int]], keff: Sequence[int], strides: Sequence[int],
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


def _same_pad_lines(names: Sequence[str], sizes: Sequence[Optional[int]], keff: Sequence[int],
                    strides: Sequence[int], k_sym: str) -> list[Line]:
    """The padding TensorFlow applies for 'same': total, then the odd pixel after."""
    lines: list[Line] = []
    for i, (axis, size) in enumerate(zip(names, sizes)):
        if size is None:
            lines.append(f"'same' padding on {axis} depends on the unknown input size")
            continue
        out = window_length(size, keff[i], strides[i], "same")
        lines.append(Equation(f"P_total({axis})", f"max(({axis}' - 1)*S + {k_sym} - {axis}, 0)",
                              f"max(({out} - 1)*{strides[i]} + {keff[i]} - {size}, 0)", ("same_pad", (i,))))
        before, after = same_pads(size, keff[i], strides[i])
        first, last = SIDES.get(axis, ("before", "after"))
        lines.append(f"Keras pads {before} {first} and {after} {last} on {axis} (floor(P_total/2) before; the odd "
                     f"one goes after)" if before != after else f"Keras pads {before} {first} and {after} {last} on "
                     f"{axis}")
    return lines


UNKNOWN_MACS = "MACs: unknown output size, not counted (summary shows ?)"


def macs_line(weights: Product, out: Shape) -> Line:
    """``MACs = weights*H'*W'``: the weights applied at every output position; or why not counted."""
    if None in out:
        return UNKNOWN_MACS
    total = weights.times(*output_factors(out))
    return Equation("MACs", total.symbols, total.numbers, ("macs",))
