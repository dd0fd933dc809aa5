"""The check behind `archspec explain`'s promise: every number it prints at the end of an
equation equals the analysis (summary), per layer and per axis."""
from __future__ import annotations

from archspec.analysis.explain import explain
from archspec.analysis.receptive import receptive_fields
from archspec.analysis.shape_pass import Analysis
from archspec.layers.arithmetic import product, same_pads
from archspec.layers.equations import Equation


def expected(info, field, key: tuple) -> list:
    """The analysis's numbers that an equation with ``key`` must produce."""
    what, axes = key[0], key[1] if len(key) > 1 else ()
    scalar = {"params": info.params.total, "trainable": info.params.trainable,
              "non_trainable": info.params.non_trainable, "macs": info.macs, "values": product(info.out_shape)}
    if what in scalar:
        return [scalar[what]]
    per_axis = {"shape": lambda a: info.out_shape[a], "rf": lambda a: field.size[a],
                "jump": lambda a: field.stride[a], "eff_pad": lambda a: field.padding[a],
                "keff": lambda a: info.window.kernel[a],
                "same_pad": lambda a: sum(same_pads(info.in_shapes[0][a], info.window.kernel[a],
                                                    int(info.window.stride[a])))}
    return [per_axis[what](a) for a in axes]


def check_agreement(analysis: Analysis) -> int:
    """Assert every keyed equation agrees with the analysis, and that a layer with params or
    MACs has an equation for them; return how many equations were checked."""
    fields = receptive_fields(analysis)
    count = 0
    for info, lines in explain(analysis):
        keys = set()
        for line in lines:
            if isinstance(line, Equation) and line.key:
                want = expected(info, fields[info.node.name], line.key)
                assert all(w is not None and abs(float(line.value) - w) < 1e-9 for w in want), \
                    f"{info.node.name}: {line.render()} but analysis {want}"
                keys.add(line.key[0])
                count += 1
        if info.params.total:
            assert keys & {"params", "trainable"}, f"{info.node.name}: no equation for its params"
        if info.macs:
            assert "macs" in keys, f"{info.node.name}: no equation for its MACs"
    return count
