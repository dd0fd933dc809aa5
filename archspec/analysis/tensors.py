"""Tensors beyond one per layer: a layer's other outputs, and shared applications' weights.

A spec names a layer's outputs after the first ``layer:name`` or ``layer:1`` (lowering keeps
the suffix as written); once the layer's outputs are known, ``canonical`` names each one
``layer:name``, the form every report and pass reads. A shared application uses the weights
of the layer it shares, so the input it receives must need the same weights; with equal
arguments the weights are equal exactly when the params rule gives the same counts for both
inputs (every weight's size grows with the input sizes it reads).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence, Union

from archspec.errors import Location, SpecError, Stage, did_you_mean
from archspec.graph.ir import OUTPUT_MARK, Node
from archspec.layers.arithmetic import fmt_shape
from archspec.layers.registry import Shape

if TYPE_CHECKING:
    from archspec.analysis.shape_pass import LayerInfo

Outputs = tuple[tuple[str, Shape], ...]  # (name, shape) of the outputs after a layer's first


def canonical(tensor: str, extras: Mapping[str, Outputs], loc: Optional[Location]) -> Union[str, SpecError]:
    """The tensor as ``layer:name`` (``layer`` for the first output), or the error naming it.

    >>> extras = {"lstm": (("state_h", (8,)), ("state_c", (8,)))}
    >>> canonical("lstm:2", extras, None), canonical("lstm:state_h", extras, None), canonical("x", extras, None)
    ('lstm:state_c', 'lstm:state_h', 'x')
    >>> print(canonical("lstm:state", extras, None).message)
    'lstm' has no output 'state': its outputs are lstm (0), lstm:state_h (1), lstm:state_c (2)
    """
    layer, mark, which = tensor.partition(OUTPUT_MARK)
    if not mark or layer not in extras:
        return tensor  # a layer that failed is reported already
    names = [name for name, _ in extras[layer]]
    if which.isdigit() and 1 <= int(which) <= len(names):
        return f"{layer}{OUTPUT_MARK}{names[int(which) - 1]}"
    if which in names:
        return tensor
    listed = ", ".join([f"{layer} (0)"] + [f"{layer}{OUTPUT_MARK}{n} ({i})" for i, n in enumerate(names, 1)])
    if not names:
        return SpecError(f"'{layer}' has no output '{which}': its outputs are {listed}",
                         f"write '{layer}' (it returns one tensor)", loc, Stage.GRAPH)
    closest = did_you_mean(which, names)
    hint = closest.replace("'", f"'{layer}{OUTPUT_MARK}", 1) if closest else "name one of them"
    return SpecError(f"'{layer}' has no output '{which}': its outputs are {listed}", hint, loc, Stage.GRAPH)


def canonical_all(tensors: Sequence[str], locs: Sequence[Optional[Location]], extras: Mapping[str, Outputs],
                  errors: list[SpecError]) -> tuple[str, ...]:
    """``canonical`` of each tensor; an error is added to ``errors`` and its name kept as written."""
    out = []
    for i, tensor in enumerate(tensors):
        named = canonical(tensor, extras, locs[i] if i < len(locs) else None)
        if isinstance(named, SpecError):
            errors.append(named)
            named = tensor
        out.append(named)
    return tuple(out)


def shared_weight_errors(infos: Sequence["LayerInfo"], share_note: Callable[[Node], str]) -> list[SpecError]:
    """Shared applications whose input would need other weights than the layer they share;
    ``share_note`` names the share: entry of a member of a shared block instance."""
    owners = {info.node.name: info for info in infos}
    errors = []
    for info in infos:
        owner = owners.get(info.node.shares or "")
        if owner is None or owner.params == info.params:
            continue
        errors.append(SpecError(
            f"{info.node.kind} '{info.node.name}' shares the weights of '{owner.node.name}', which takes "
            f"{_shapes(owner.in_shapes)} ({owner.params.total:,} params), but it takes {_shapes(info.in_shapes)}, "
            f"which would need {info.params.total:,}{share_note(info.node)}",
            "give the shared application an input of the same size along the axes the weights read, or write a "
            "layer of its own", info.node.loc, Stage.SHAPES))
    return errors


def _shapes(shapes: Sequence[Shape]) -> str:
    return ", ".join(fmt_shape(s) for s in shapes)
