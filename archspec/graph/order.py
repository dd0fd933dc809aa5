"""Topological order of the IR, with cycles and unconnected layers reported where written."""
from __future__ import annotations

import heapq
from typing import Mapping, Sequence

from archspec.errors import Location, SpecError, SpecErrors, Stage
from archspec.graph.ir import Node, producer


def topological_order(nodes: Sequence[Node], inputs: Mapping[str, tuple], outputs: Sequence[str],
                      input_locs: Mapping[str, Location] | None = None) -> tuple[Node, ...]:
    """Kahn's algorithm taking the earliest-written ready node first, so the order is the
    file's wherever the file's order is valid; raise SpecErrors on a cycle or dead layer."""
    by_name = {n.name: n for n in nodes}
    position = {n.name: i for i, n in enumerate(nodes)}
    waiting = {n.name: sum(1 for i in n.inputs if producer(i) in by_name) for n in nodes}
    users: dict[str, list[str]] = {}
    for n in nodes:
        for i in n.inputs:
            users.setdefault(producer(i), []).append(n.name)
    ready = [position[n.name] for n in nodes if waiting[n.name] == 0]
    heapq.heapify(ready)
    ordered: list[Node] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        ordered.append(node)
        for user in users.get(node.name, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, position[user])
    if len(ordered) < len(nodes):
        stuck = [n for n in nodes if waiting[n.name] > 0]
        cycle = _find_cycle(stuck, by_name)
        raise SpecErrors([SpecError(f"the layers {' -> '.join(cycle)} form a cycle",
                                    "a layer cannot take its own output as input; check 'inputs'",
                                    by_name[cycle[0]].loc)], Stage.GRAPH)
    _check_connected(ordered, inputs, outputs, input_locs or {})
    return tuple(ordered)


def _find_cycle(stuck: list[Node], by_name: dict[str, Node]) -> list[str]:
    node = stuck[0]
    path: list[str] = []
    while node.name not in path:
        path.append(node.name)
        node = next(by_name[producer(i)] for i in node.inputs if producer(i) in {s.name for s in stuck})
    return path[path.index(node.name):] + [node.name]


def _check_connected(ordered: list[Node], inputs: Mapping[str, tuple], outputs: Sequence[str],
                     input_locs: Mapping[str, Location]) -> None:
    """Every layer must feed an output and every input must be used, or Keras would drop them."""
    needed = {producer(o) for o in outputs}
    for node in reversed(ordered):
        if node.name in needed:
            needed.update(producer(i) for i in node.inputs)
    errors = [SpecError(f"layer '{n.name}' does not lead to any output", "connect it, list it under 'outputs:', "
                        "or remove it", n.loc) for n in ordered if n.name not in needed]
    errors += [SpecError(f"input '{name}' is not used by any layer", "give it to a layer with 'inputs:' or remove it",
                         input_locs.get(name)) for name in inputs if name not in needed]
    if errors:
        raise SpecErrors(errors, Stage.GRAPH)
