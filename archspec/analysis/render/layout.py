"""A layered (Sugiyama-style) layout in pure Python, so pictures need no graphviz.

1. ranks: longest path from the inputs (an input sits just above its first user);
2. long edges get a dummy point on every rank they cross, so they route around boxes;
3. order within a rank: barycentre sweeps, keeping each block's boxes side by side;
4. x: each box pulled towards its neighbours' mean, boxes kept apart by isotonic
   regression (pool-adjacent-violators), a wider gap where a block's border runs;
5. y: rows, with room between them for shape labels and block borders.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from archspec.analysis.render.model import Drawing

CHAR_W = 6.6                      # text metrics of the 11-12px sans-serif the SVG uses
BOX_PAD, BOX_H = 12.0, 40.0
H_GAP, ROW_GAP = 26.0, 34.0
MARGIN, MARGIN_STEP, LABEL_H = 10.0, 9.0, 16.0
SWEEPS, PLACEMENTS = 6, 12


@dataclass
class Layout:
    """Positions (centres) and sizes of boxes, edge routes, cluster rectangles."""

    x: dict[str, float] = field(default_factory=dict)
    y: dict[str, float] = field(default_factory=dict)
    w: dict[str, float] = field(default_factory=dict)
    h: dict[str, float] = field(default_factory=dict)
    routes: list[tuple[str, str, list[tuple[float, float]]]] = field(default_factory=list)
    clusters: dict[tuple[str, ...], tuple[float, float, float, float]] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0


def box_width(title: str, subtitle: str) -> float:
    """
    >>> box_width("conv1", "Conv2D 7x7/2, 64") > box_width("relu", "ReLU")
    True
    """
    return max(len(title) * (CHAR_W + 0.6), len(subtitle) * CHAR_W, 40.0) + 2 * BOX_PAD


def ranks(ids: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the sources; a source is then lowered to just above its first user.

    >>> ranks(["a", "x", "b", "c"], [("a", "b"), ("b", "c"), ("x", "c")])
    {'a': 0, 'x': 1, 'b': 1, 'c': 2}
    """
    preds: dict[str, list[str]] = {i: [] for i in ids}
    succs: dict[str, list[str]] = {i: [] for i in ids}
    for s, t in edges:
        preds[t].append(s)
        succs[s].append(t)
    rank: dict[str, int] = {}
    for i in ids:  # ids are in topological order
        rank[i] = max((rank[p] + 1 for p in preds[i]), default=0)
    for i in ids:
        if not preds[i] and succs[i]:
            rank[i] = min(rank[t] for t in succs[i]) - 1
    return rank


@dataclass
class _Graph:
    """The layered graph with dummy points: ids, ranks, scope and edges between layers."""

    rank: dict[str, int]
    scope: dict[str, tuple[str, ...]]
    up: dict[str, list[str]]
    down: dict[str, list[str]]
    chains: list[tuple[str, str, list[str]]]   # (source, target, points in order incl. dummies)
    dummies: dict[str, tuple[str, str]]        # dummy point -> the (source, target) of its edge


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def layered(drawing: Drawing) -> _Graph:
    ids = [b.id for b in drawing.boxes]
    rank = ranks(ids, [(e.source, e.target) for e in drawing.edges])
    scope = {b.id: b.scope for b in drawing.boxes}
    spans = _real_spans(rank, scope)
    up: dict[str, list[str]] = {i: [] for i in ids}
    down: dict[str, list[str]] = {i: [] for i in ids}
    chains: list[tuple[str, str, list[str]]] = []
    dummies: dict[str, tuple[str, str]] = {}
    for k, e in enumerate(drawing.edges):
        points = [e.source]
        for r in range(rank[e.source] + 1, rank[e.target]):
            d = f"\0{k}:{r}"
            rank[d], scope[d] = r, _dummy_scope(scope[e.source], scope[e.target], r, spans)
            up[d], down[d] = [], []
            dummies[d] = (e.source, e.target)
            points.append(d)
        points.append(e.target)
        for a, b in zip(points, points[1:]):
            down[a].append(b)
            up[b].append(a)
        chains.append((e.source, e.target, points))
    return _Graph(rank, scope, up, down, chains, dummies)


def _real_spans(rank: dict[str, int], scope: dict[str, tuple[str, ...]]) -> dict[tuple[str, ...], tuple[int, int]]:
    spans: dict[tuple[str, ...], tuple[int, int]] = {}
    for v, s in scope.items():
        for k in range(1, len(s) + 1):
            lo, hi = spans.get(s[:k], (rank[v], rank[v]))
            spans[s[:k]] = (min(lo, rank[v]), max(hi, rank[v]))
    return spans


def _dummy_scope(source: tuple[str, ...], target: tuple[str, ...], r: int,
                 spans: dict[tuple[str, ...], tuple[int, int]]) -> tuple[str, ...]:
    """The deepest block of either end whose rows include row ``r``: a skip connection
    into a block (its ``in``) is drawn inside that block's rectangle."""
    best = _common(source, target)
    for s in (source, target):
        for k in range(len(s), len(best), -1):
            lo, hi = spans.get(s[:k], (r + 1, r - 1))
            if lo <= r <= hi and k > len(best):
                best = s[:k]
                break
    return best


def order(g: _Graph) -> list[list[str]]:
    """Rows of ids, ordered to keep edges short and blocks together."""
    rows: list[list[str]] = [[] for _ in range(max(g.rank.values(), default=0) + 1)]
    for i in g.rank:  # insertion order: topological, then dummies
        rows[g.rank[i]].append(i)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        sequence = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
        for r in sequence:
            ref = rows[r - 1] if downward else rows[r + 1]
            pos = {v: k for k, v in enumerate(ref)}
            links = g.up if downward else g.down
            bary = {v: _mean([pos[u] for u in links[v] if u in pos], k) for k, v in enumerate(rows[r])}
            rows[r] = _group_sort(rows[r], bary, g.scope, 0)
    return rows


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _group_sort(items: list[str], key: dict[str, float], scope: dict[str, tuple[str, ...]], level: int) -> list[str]:
    """Sort by barycentre, keeping the items of one block (at this nesting level) together."""
    groups: dict[object, list[str]] = {}
    for v in items:
        s = scope[v]
        groups.setdefault(s[level] if len(s) > level else ("\0", v), []).append(v)
    ranked = sorted(groups.items(), key=lambda kv: _mean([key[v] for v in kv[1]], 0.0))
    out: list[str] = []
    for g, members in ranked:
        out += members if isinstance(g, tuple) else _group_sort(members, key, scope, level + 1)
    return out


def _separation(a: str, b: str, g: _Graph, w: dict[str, float], depth: dict[tuple, int]) -> float:
    """Centre distance between neighbours: half widths, a gap, and room for block borders."""
    common = _common(g.scope[a], g.scope[b])
    borders = [MARGIN + MARGIN_STEP * depth.get(g.scope[v][: k + 1], 0)
               for v in (a, b) for k in range(len(common), len(g.scope[v]))]
    return (w[a] + w[b]) / 2 + H_GAP + sum(sorted(borders)[-2:])


def isotonic(targets: Sequence[float], gaps: Sequence[float], weights: Sequence[float] | None = None) -> list[float]:
    """Positions closest to ``targets`` (weighted least squares) with x[i] - x[i-1] >= gaps[i-1]:
    pool-adjacent-violators on the targets minus the cumulative gaps.

    >>> isotonic([0, 0, 0], [10, 10])
    [-10.0, 0.0, 10.0]
    >>> isotonic([0, 50], [10])
    [0.0, 50.0]
    >>> [round(v, 1) for v in isotonic([0, 0], [10], [1.0, 0.0])]
    [0.0, 10.0]
    """
    weights = list(weights) if weights is not None else [1.0] * len(targets)
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for t, o, w in zip(targets, offsets, weights):
        blocks.append([t - o, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            total = w1 + w2
            mean = (m1 * w1 + m2 * w2) / total if total > 0 else (m1 + m2) / 2
            blocks.append([mean, total, c1 + c2])
    values = [m for m, _, c in blocks for _ in range(int(c))]
    return [float(v + o) for v, o in zip(values, offsets)]


def place_x(rows: list[list[str]], g: _Graph, w: dict[str, float], depth: dict[tuple, int]) -> dict[str, float]:
    x: dict[str, float] = {}
    for row in rows:
        gaps = [_separation(a, b, g, w, depth) for a, b in zip(row, row[1:])]
        x.update(zip(row, isotonic([0.0] * len(row), gaps)))
    for sweep in range(PLACEMENTS):
        downward = sweep % 2 == 0
        for row in rows if downward else rows[::-1]:
            links = g.up if downward else g.down
            targets = [_target(v, links[v], g, x, 0 if downward else 1) for v in row]
            gaps = [_separation(a, b, g, w, depth) for a, b in zip(row, row[1:])]
            # boxes get their place first; the points of long edges make room around them
            weights = [0.05 if v in g.dummies else 1.0 for v in row]
            x.update(zip(row, isotonic(targets, gaps, weights)))
    low = min(x[v] - w[v] / 2 for v in x) if x else 0.0
    return {v: p - low for v, p in x.items()}


def _target(v: str, links: list[str], g: _Graph, x: dict[str, float], end: int) -> float:
    """Where a point would like to be: at the mean of its neighbours above (``end`` 0) or
    below (1). A box sees a long edge at the box at its far end, not at the edge's nearest
    bend, so a skip connection does not pull a merge sideways (no drift along a ResNet) while
    the branches of an inception module still centre their concatenation."""
    if not links:
        return x[v]
    if v in g.dummies:
        return sum(x[u] for u in links) / len(links)
    return sum(x[g.dummies[u][end]] if u in g.dummies else x[u] for u in links) / len(links)


def nesting(paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """How many levels of blocks each block contains (0 for one without inner blocks).

    >>> nesting([("a",), ("a", "b"), ("a", "b", "c"), ("d",)])
    {('a',): 2, ('a', 'b'): 1, ('a', 'b', 'c'): 0, ('d',): 0}
    """
    result = {p: 0 for p in paths}
    for p in paths:
        for k in range(1, len(p)):
            parent = p[:k]
            if parent in result:
                result[parent] = max(result[parent], len(p) - k)
    return result


def _margin(path: tuple[str, ...], depth: dict[tuple, int]) -> float:
    return MARGIN + MARGIN_STEP * depth.get(path, 0)


def _title_room(path: tuple[str, ...], depth: dict[tuple, int]) -> float:
    """Above a block's boxes: its margin and a title line for it and each block inside."""
    return _margin(path, depth) + LABEL_H * (1 + depth.get(path, 0))


def _spans(g: _Graph, paths: Sequence[tuple[str, ...]]) -> dict[tuple[str, ...], tuple[int, int]]:
    spans = _real_spans(g.rank, g.scope)
    return {p: spans[p] for p in paths if p in spans}


def place_y(rows: list[list[str]], spans: dict[tuple, tuple[int, int]], depth: dict[tuple, int]) -> list[float]:
    """Row centres: room for shape labels, and for the borders and titles of blocks."""
    ys, y = [], BOX_H / 2 + MARGIN
    ending, opening = [0.0] * len(rows), [0.0] * len(rows)
    for p, (lo, hi) in spans.items():  # one pass over the blocks, not one per row
        if hi < len(rows):
            ending[hi] = max(ending[hi], _margin(p, depth))
        if lo < len(rows):
            opening[lo] = max(opening[lo], _title_room(p, depth))
    for r in range(len(rows)):
        y += opening[r]
        ys.append(y)
        y += BOX_H + ROW_GAP + ending[r]
    return ys


def layout(drawing: Drawing) -> Layout:
    """Positions for every box, a route for every edge, a rectangle for every block."""
    g = layered(drawing)
    rows = order(g)
    depth = nesting(list(drawing.clusters))
    result = Layout()
    for b in drawing.boxes:
        result.w[b.id], result.h[b.id] = box_width(b.title, b.subtitle), BOX_H
    for d in g.dummies:
        result.w[d], result.h[d] = 8.0, 0.0
    result.x = place_x(rows, g, result.w, depth)
    spans = _spans(g, list(drawing.clusters))
    ys = place_y(rows, spans, depth)
    result.y = {v: ys[g.rank[v]] for v in g.rank}
    result.clusters = _rectangles(drawing, g, result, depth)
    result.routes = _routes(g, result)
    _shift(result)
    return result


def _rectangles(drawing: Drawing, g: _Graph, lay: Layout, depth: dict[tuple, int]) -> dict[tuple, tuple]:
    extents = _extents(g, lay)
    rects = {}
    for path in drawing.clusters:
        if path not in extents:
            continue
        left, top, right, bottom = extents[path]
        m = _margin(path, depth)
        rects[path] = (left - m, top - _title_room(path, depth), right + m, bottom + m)
    return rects


def _extents(g: _Graph, lay: Layout) -> dict[tuple, tuple[float, float, float, float]]:
    """Left, top, right and bottom of the boxes inside each block, in one pass over the boxes
    (each adds to the blocks around it) rather than one pass per block."""
    extents: dict[tuple, tuple[float, float, float, float]] = {}
    for v, scope in g.scope.items():
        box = (lay.x[v] - lay.w[v] / 2, lay.y[v] - lay.h[v] / 2, lay.x[v] + lay.w[v] / 2, lay.y[v] + lay.h[v] / 2)
        for k in range(1, len(scope) + 1):
            known = extents.get(scope[:k])
            extents[scope[:k]] = box if known is None else (min(known[0], box[0]), min(known[1], box[1]),
                                                            max(known[2], box[2]), max(known[3], box[3]))
    return extents


def _ports(g: _Graph, lay: Layout) -> dict[tuple[str, str, int], float]:
    """Spread the ends of several edges over a box's top or bottom side."""
    ports: dict[tuple[str, str, int], float] = {}
    for k, (_, _, points) in enumerate(g.chains):
        ports[("out", points[0], k)] = lay.x[points[1]]
        ports[("in", points[-1], k)] = lay.x[points[-2]]
    for side in ("out", "in"):
        by_box: dict[str, list[tuple[float, int]]] = {}
        for (s, v, k), x in ports.items():
            if s == side:
                by_box.setdefault(v, []).append((x, k))
        for v, ends in by_box.items():
            ends.sort()
            step = min(18.0, lay.w[v] / (len(ends) + 1))
            for i, (_, k) in enumerate(ends):
                ports[(side, v, k)] = lay.x[v] + (i - (len(ends) - 1) / 2) * step
    return ports


def _routes(g: _Graph, lay: Layout) -> list[tuple[str, str, list[tuple[float, float]]]]:
    ports = _ports(g, lay)
    routes = []
    for k, (source, target, points) in enumerate(g.chains):
        route = [(ports[("out", source, k)], lay.y[source] + lay.h[source] / 2)]
        for d in points[1:-1]:
            route += [(lay.x[d], lay.y[d] - BOX_H / 2), (lay.x[d], lay.y[d] + BOX_H / 2)]
        route.append((ports[("in", target, k)], lay.y[target] - lay.h[target] / 2))
        routes.append((source, target, route))
    return routes


def _shift(lay: Layout) -> None:
    """Move everything so the picture starts at (MARGIN, MARGIN); set its size."""
    xs = [lay.x[v] - lay.w[v] / 2 for v in lay.x] + [r[0] for r in lay.clusters.values()]
    ys = [lay.y[v] - lay.h[v] / 2 for v in lay.y] + [r[1] for r in lay.clusters.values()]
    dx, dy = MARGIN - min(xs, default=0.0), MARGIN - min(ys, default=0.0)
    lay.x = {v: p + dx for v, p in lay.x.items()}
    lay.y = {v: p + dy for v, p in lay.y.items()}
    lay.clusters = {p: (a + dx, b + dy, c + dx, d + dy) for p, (a, b, c, d) in lay.clusters.items()}
    lay.routes = [(s, t, [(x + dx, y + dy) for x, y in pts]) for s, t, pts in lay.routes]
    right = [lay.x[v] + lay.w[v] / 2 + 110 for v in lay.x] + [r[2] for r in lay.clusters.values()]
    bottom = [lay.y[v] + lay.h[v] / 2 + 24 for v in lay.y] + [r[3] for r in lay.clusters.values()]
    lay.width, lay.height = max(right, default=0.0) + MARGIN, max(bottom, default=0.0) + MARGIN
