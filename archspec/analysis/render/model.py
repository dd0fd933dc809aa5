"""The drawable graph: boxes, edges labelled with shapes, and block clusters.

Built from an analysis; every renderer (SVG, Mermaid, DOT, HTML) draws this, never the IR.
With ``depth``, blocks nested deeper than ``depth`` collapse into one box each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from archspec.analysis.shape_pass import Analysis, LayerInfo
from archspec.graph.ir import producer
from archspec.layers.arithmetic import as_tuple, fmt_shape
from archspec.layers.registry import Family

# Boxes that are not layers are drawn as if of a family of their own (not a layer family).
INPUT = Family("input", "Input", "#ffffff", "inputs")
BLOCK = Family("block", "Block", "#d5ecea", "blocks")
WEIGHTS_LABEL = "same weights"  # the dashed link of a shared application to the weights it uses


@dataclass(frozen=True)
class Box:
    """One box: a layer, a graph input, or a collapsed block."""

    id: str
    title: str            # the layer's local name
    subtitle: str         # type and the arguments that matter, e.g. "Conv2D 3x3/2, 64"
    family: Family        # its title and fill colour
    scope: tuple[str, ...]
    out_shape: str
    is_output: bool = False


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str            # the shape flowing along it


@dataclass
class Drawing:
    name: str
    boxes: list[Box] = field(default_factory=list)       # topological order
    edges: list[Edge] = field(default_factory=list)
    # Dashed links from a shared application to the box whose weights it uses; not data flow,
    # so the layout ranks boxes by ``edges`` alone and the links are drawn over it.
    weight_links: list[Edge] = field(default_factory=list)
    clusters: dict[tuple[str, ...], str] = field(default_factory=dict)  # path -> "name (Block)"

    def box(self, box_id: str) -> Box:
        return next(b for b in self.boxes if b.id == box_id)


def brief(info: LayerInfo) -> str:
    """The arguments a reader of a diagram wants: kernel/stride, filters or units, rate.

    Written ``3x3/2, 64``: a 3x3 window with stride 2 and 64 output channels.
    """
    args = info.node.args
    n = max(len(info.in_shapes[0]) - 1, 1)
    parts = []
    window = args.get("kernel_size", args.get("pool_size"))
    if window is not None and not isinstance(window, str):
        text = "x".join(str(k) for k in as_tuple(window, n))
        strides = args.get("strides")
        if strides is not None and any(s != 1 for s in as_tuple(strides, n)):
            text += "/" + "x".join(str(s) for s in dict.fromkeys(as_tuple(strides, n)))
        dilation = args.get("dilation_rate", 1)
        if any(d != 1 for d in as_tuple(dilation, n)):
            text += " d" + "x".join(str(d) for d in dict.fromkeys(as_tuple(dilation, n)))
        parts.append(text)
    for key in ("filters", "units"):
        if key in args:
            parts.append(str(args[key]))
    if "rate" in args:
        parts.append(f"rate {args['rate']}")
    if info.node.kind == "Activation":
        parts.append(str(args["activation"]))
    return ", ".join(parts)


def _layer_box(info: LayerInfo, outputs: set[str]) -> Box:
    extra = brief(info) + (f", shares {info.node.shares}" if info.node.shares else "")  # one Keras layer, called again
    return Box(info.node.name, info.node.local_name, f"{info.node.kind} {extra.lstrip(', ')}".strip(), info.kind.family,
               info.node.scope, fmt_shape(info.out_shape), info.node.name in outputs)


def drawing(analysis: Analysis, depth: Optional[int] = None) -> Drawing:
    """Boxes and edges of the network, blocks deeper than ``depth`` collapsed."""
    graph = analysis.graph
    outputs = {producer(o) for o in graph.outputs}
    result = Drawing(graph.name)
    owner: dict[str, str] = {}   # layer or input name -> the box that shows it
    for name, shape in graph.inputs.items():
        result.boxes.append(Box(name, name, "Input", INPUT, (), fmt_shape(shape)))
        owner[name] = name
    members: dict[str, list[LayerInfo]] = {}
    for info in analysis.layers:
        scope = info.node.scope
        if depth is not None and len(scope) > depth:
            path = scope[: depth + 1]
            box_id = "/".join(path)
            if box_id not in members:
                members[box_id] = []
                result.boxes.append(Box(box_id, path[-1], graph.blocks[path].block, BLOCK, path[:-1], ""))
            members[box_id].append(info)
            owner[info.node.name] = box_id
        else:
            result.boxes.append(_layer_box(info, outputs))
            owner[info.node.name] = info.node.name
    _finish_blocks(result, members, outputs)
    result.edges = _edges(analysis, owner)
    result.weight_links = _weight_links(analysis, owner)
    # In the order the boxes come (a set's order changes from run to run with string hashing).
    visible = dict.fromkeys(b.scope[: i + 1] for b in result.boxes for i in range(len(b.scope)))
    result.clusters = {p: f"{p[-1]} ({graph.blocks[p].block})" for p in sorted(visible, key=len) if p in graph.blocks}
    return result


def _finish_blocks(result: Drawing, members: dict[str, list[LayerInfo]], outputs: set[str]) -> None:
    """A collapsed block shows its last layer's output shape."""
    for index, box in enumerate(result.boxes):
        if box.id in members:
            last = members[box.id][-1]
            params = sum(i.params.total for i in members[box.id])
            result.boxes[index] = Box(box.id, box.title, f"{box.subtitle}, {params:,} params", BLOCK, box.scope,
                                      fmt_shape(last.out_shape), any(i.node.name in outputs for i in members[box.id]))


def _weight_links(analysis: Analysis, owner: dict[str, str]) -> list[Edge]:
    """One link per pair of boxes where one applies the other's weights (a collapsed shared
    block instance: one link to the instance it shares); a copied layer without weights
    (pooling in a shared tower) has none to link to."""
    links: dict[tuple[str, str], Edge] = {}
    for info in analysis.layers:
        if info.node.shares and analysis.info(info.node.shares).params.total:
            source, target = owner[info.node.name], owner[info.node.shares]
            if source != target:
                links.setdefault((source, target), Edge(source, target, WEIGHTS_LABEL))
    return list(links.values())


def _edges(analysis: Analysis, owner: dict[str, str]) -> list[Edge]:
    edges: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()
    for info in analysis.layers:
        target = owner[info.node.name]
        for source_name in info.node.inputs:
            source = owner[producer(source_name)]
            which = source_name[len(producer(source_name)) + 1:]  # a layer's other output: "state_h [16]"
            if source == target or (source, target, which) in seen:
                continue
            seen.add((source, target, which))
            edges.append(Edge(source, target, f"{which} {fmt_shape(analysis.shapes[source_name])}".strip()))
    return edges
