"""Shape, parameter and cost analysis over the IR: pure Python, closed-form rules only."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from archspec.errors import SpecError, SpecErrors
from archspec.graph.ir import Graph, Node
from archspec.layers.registry import LayerError, LayerKind, Params, Shape, Window, all_kinds
from archspec.layers.arithmetic import fmt_shape, product

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass(frozen=True)
class LayerInfo:
    node: Node
    kind: LayerKind
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    params: Params
    macs: int
    window: Optional[Window]

    @property
    def activations(self) -> int:
        """Values in this layer's output for one sample (unknown sizes count as 0)."""
        return product(self.out_shape) or 0


@dataclass(frozen=True)
class Analysis:
    graph: Graph
    layers: tuple[LayerInfo, ...]
    shapes: Mapping[str, Shape]
    extra: dict = field(default_factory=dict)   # filled by later passes (receptive field, memory)

    @property
    def params(self) -> Params:
        total = Params()
        for info in self.layers:
            total = total + info.params
        return total

    @property
    def macs(self) -> int:
        return sum(info.macs for info in self.layers)

    def output_shapes(self) -> list[Shape]:
        return [self.shapes[o] for o in self.graph.outputs]

    def info(self, name: str) -> LayerInfo:
        return next(i for i in self.layers if i.node.name == name)


def _source(name: str, graph: Graph) -> str:
    return f"'{name}'" if name not in graph.inputs else f"the input '{name}'"


def _where_from(node: Node, graph: Graph, shapes: Mapping[str, Shape]) -> str:
    if len(node.inputs) == 1:
        return f" from {_source(node.inputs[0], graph)}"
    return " (inputs: " + ", ".join(f"{_source(i, graph)} {fmt_shape(shapes[i])}" for i in node.inputs) + ")"


def analyse(graph: Graph) -> Analysis:
    """Compute every layer's output shape, params and MACs; raise SpecErrors with all problems."""
    kinds = all_kinds()
    shapes: dict[str, Shape] = dict(graph.inputs)
    infos: list[LayerInfo] = []
    errors: list[SpecError] = []
    for node in graph.nodes:
        if any(i not in shapes for i in node.inputs):
            continue  # an input already failed; do not cascade
        kind = kinds[node.kind]
        ins = tuple(shapes[i] for i in node.inputs)
        try:
            out = kind.shape(node.args, ins)
            info = LayerInfo(node, kind, ins, out, kind.params(node.args, ins, out), kind.macs(node.args, ins, out),
                             kind.window(node.args, ins, out) if kind.window else None)
        except LayerError as exc:
            message = f"{node.kind} '{node.name}': {exc.message}"
            if exc.arg is None:  # the problem is the input, not an argument: say where it comes from
                message += _where_from(node, graph, shapes)
            errors.append(SpecError(message, exc.hint or "", node.arg_loc(exc.arg), 35))
            continue
        shapes[node.name] = out
        infos.append(info)
    errors += _check_expectations(graph, shapes)
    if errors:
        raise SpecErrors(errors)
    return Analysis(graph, tuple(infos), shapes)


def _check_expectations(graph: Graph, shapes: Mapping[str, Shape]) -> list[SpecError]:
    errors = []
    for e in graph.expectations:
        if e.node not in shapes:
            continue
        actual = shapes[e.node]
        if len(actual) != len(e.shape) or any(w is not None and a != w for a, w in zip(actual, e.shape)):
            errors.append(SpecError(f"'{e.node}' outputs {fmt_shape(actual)} but expect says {fmt_shape(e.shape)}",
                                    "fix the layers above or the expectation", e.loc, 45))
    return errors


def activation_bytes(analysis: Analysis, batch: int = 1, dtype: str = "float32") -> int:
    """Bytes of all layer outputs (and inputs) for a batch: what a forward pass materialises."""
    values = sum(info.activations for info in analysis.layers)
    values += sum(product(s) or 0 for s in analysis.graph.inputs.values())
    return values * batch * DTYPE_BYTES[dtype]


def param_bytes(analysis: Analysis, dtype: str = "float32") -> int:
    return analysis.params.total * DTYPE_BYTES[dtype]
