"""Shape, parameter and cost analysis over the IR: pure Python, closed-form rules only."""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable, Mapping, Optional, Sequence

from archspec.analysis.tensors import Outputs, canonical, canonical_all, shared_weight_errors
from archspec.errors import SpecError, SpecErrors, SpecWarning, Stage
from archspec.graph.ir import OUTPUT_MARK, Graph, Node, producer
from archspec.layers.catalog import LayerError, LayerKind, Params, Shape, Window, all_kinds
from archspec.layers.registry import Caveat
from archspec.layers.arithmetic import fmt_shape


@dataclass(frozen=True)
class LayerInfo:
    node: Node
    kind: LayerKind
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    params: Params
    macs: Optional[int]              # per sample; None when the MAC rule needs a size that is unknown
    window: Optional[Window]
    extra_outputs: Outputs = ()      # the outputs after the first: (name, shape), as the spec names them

    @property
    def outputs(self) -> tuple[tuple[str, Shape], ...]:
        """Every output as (tensor name, shape): the layer's own, then ``layer:name`` for the others."""
        return ((self.node.name, self.out_shape),
                *((f"{self.node.name}{OUTPUT_MARK}{name}", shape) for name, shape in self.extra_outputs))


@dataclass(frozen=True)
class Analysis:
    graph: Graph
    layers: tuple[LayerInfo, ...]
    shapes: Mapping[str, Shape]
    warnings: tuple[SpecWarning, ...] = ()   # valid settings that some TensorFlow kernels cannot run

    # The totals are read by several reports of one analysis: each is summed once.
    @cached_property
    def params(self) -> Params:
        trainable = sum(info.params.trainable for info in self.layers)
        return Params(trainable, sum(info.params.non_trainable for info in self.layers))

    @cached_property
    def macs(self) -> int:
        """MACs per sample of the layers whose MACs are known (see ``macs_unknown``)."""
        return sum(info.macs for info in self.layers if info.macs is not None)

    @cached_property
    def macs_unknown(self) -> tuple[str, ...]:
        """Layers whose MACs depend on a size that is unknown (not in ``macs``)."""
        return tuple(info.node.name for info in self.layers if info.macs is None)

    def output_shapes(self) -> list[Shape]:
        return [self.shapes[o] for o in self.graph.outputs]

    def info(self, name: str) -> LayerInfo:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, LayerInfo]:
        return {info.node.name: info for info in self.layers}


def _source(name: str, graph: Graph) -> str:
    return f"'{name}'" if name not in graph.inputs else f"the input '{name}'"


def _where_from(node: Node, graph: Graph, shapes: Mapping[str, Shape]) -> str:
    if len(node.inputs) == 1:
        return f" from {_source(node.inputs[0], graph)}"
    return " (inputs: " + ", ".join(f"{_source(i, graph)} {fmt_shape(shapes[i])}" for i in node.inputs) + ")"


def layer_macs(kind: LayerKind, node: Node, ins: tuple[Shape, ...], out: Shape) -> Optional[int]:
    """The kind's MAC count, or None when it has a MAC rule and a size it reads is unknown
    (counting it as 0 or 1 would make the total look exact)."""
    if kind.counts_macs and any(d is None for shape in (*ins, out) for d in shape):
        return None
    return kind.macs(node.args, ins, out)


Rules = tuple[Shape, Params, Optional[int], Optional[Window], list[Caveat], Outputs]


def layer_rules(kind: LayerKind, node: Node, ins: tuple[Shape, ...], model_inputs: Sequence[bool]) -> Rules:
    """A layer's output shape, params, MACs, window, caveats and other outputs; LayerError when
    its input does not fit."""
    out = kind.output_shape(node.args, ins, model_inputs)
    return (out, kind.params(node.args, ins, out), layer_macs(kind, node, ins, out),
            kind.window(node.args, ins, out) if kind.window else None, kind.caveats(node.args, ins),
            tuple(kind.extra_outputs(node.args, ins, out)))


def _remembered_rules(graph: Graph) -> Callable[[LayerKind, Node, tuple[Shape, ...]], Rules]:
    """``layer_rules``, computed once per arguments object and input shapes: the layers of a
    repeat (or of a block used many times) share one checked arguments object, and the rules
    are pure functions of it. The arguments object is alive in the graph, so its id is its own."""
    known: dict[tuple[str, int, tuple[Shape, ...]], Rules] = {}

    def rules(kind: LayerKind, node: Node, ins: tuple[Shape, ...]) -> Rules:
        key = (node.kind, id(node.args), ins)
        found = known.get(key)
        if found is None:  # a LayerError leaves nothing remembered: the next layer is told the same
            found = known[key] = layer_rules(kind, node, ins, [i in graph.inputs for i in node.inputs])
        return found
    return rules


def analyse(graph: Graph) -> Analysis:
    """Compute every layer's output shapes, params and MACs; raise SpecErrors with all problems.

    The analysis's graph names every tensor as ``tensors.canonical`` does (``layer:name``). A
    shared application's params are counted at the layer it shares (0 at its own row), once
    the weights its input needs are checked to be the same."""
    kinds = all_kinds()
    rules = _remembered_rules(graph)
    shapes: dict[str, Shape] = dict(graph.inputs)
    extras: dict[str, Outputs] = {}
    infos: list[LayerInfo] = []
    errors: list[SpecError] = []
    warnings: list[SpecWarning] = []
    for written in graph.nodes:
        node = _canonical_node(written, extras, errors)
        if any(i not in shapes for i in node.inputs):
            continue  # an input already failed; do not cascade
        kind = kinds[node.kind]
        ins = tuple(shapes[i] for i in node.inputs)
        try:
            out, params, macs, window, caveats, extra = rules(kind, node, ins)
        except LayerError as exc:
            message = f"{node.kind} '{node.name}': {exc.message}"
            if exc.arg is None:  # the problem is the input, not an argument: say where it comes from
                message += _where_from(node, graph, shapes) + graph.share_note(node)
            errors.append(SpecError(message, exc.hint or "", node.arg_loc(exc.arg), Stage.SHAPES))
            continue
        if not node.trainable:  # frozen: every weight non-trainable, as Keras counts a layer.trainable = False
            params = Params(0, params.total)
        info = LayerInfo(node, kind, ins, out, params, macs, window, extra)
        extras[node.name] = extra
        shapes.update(info.outputs)
        infos.append(info)
        warnings += [SpecWarning(node.arg_loc(c.arg), f"{node.kind} '{node.name}': {c.message}", c.hint)
                     for c in caveats]
    outputs = canonical_all(graph.outputs, graph.output_locs, extras, errors)
    errors += shared_weight_errors(infos, graph.share_note)
    errors += _check_expectations(graph, shapes, extras)
    if errors:
        raise SpecErrors(errors)
    if outputs != graph.outputs or any(a.node is not b for a, b in zip(infos, graph.nodes)):
        graph = replace(graph, nodes=tuple(i.node for i in infos), outputs=outputs)
    return Analysis(graph, tuple(replace(i, params=Params()) if i.node.shares else i for i in infos), shapes,
                    tuple(warnings))


def _canonical_node(node: Node, extras: Mapping[str, Outputs], errors: list[SpecError]) -> Node:
    """The node with each input named ``layer:name`` where it takes a layer's other output."""
    if not any(OUTPUT_MARK in i for i in node.inputs):
        return node
    return replace(node, inputs=canonical_all(node.inputs, node.input_locs, extras, errors))


def _check_expectations(graph: Graph, shapes: Mapping[str, Shape], extras: Mapping[str, Outputs]) -> list[SpecError]:
    errors = []
    for e in graph.expectations:
        tensor = canonical(e.node, extras, e.loc)  # a block's first output may be 'layer:1'
        if not isinstance(tensor, str) or tensor not in shapes:
            continue  # a name that failed is reported already
        actual = shapes[tensor]
        if len(actual) != len(e.shape) or any(w is not None and a != w for a, w in zip(actual, e.shape)):
            note = graph.share_note(graph.node(producer(tensor))) if producer(tensor) not in graph.inputs else ""
            errors.append(SpecError(f"'{tensor}' outputs {fmt_shape(actual)} but expect says {fmt_shape(e.shape)}"
                                    f"{note}",
                                    "fix the layers above or the expectation", e.loc, Stage.EXPECTATIONS))
    return errors
