"""SVG of a drawing laid out by ``layout``: boxes, curved edges with shapes, block rectangles."""
from __future__ import annotations

from typing import Sequence
from xml.sax.saxutils import escape

from archspec.analysis.render.layout import Layout, layout
from archspec.analysis.render.model import Drawing

STYLE = """
  text { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; fill: #222; }
  .title { font-size: 12px; font-weight: bold; }
  .sub { font-size: 11px; fill: #333; }
  .shape { font-size: 10.5px; fill: #1f4e79; }
  .halo { fill: #ffffff; stroke: #ffffff; stroke-width: 3.5px; stroke-linejoin: round; }
  .out { font-size: 10.5px; fill: #7a1f1f; font-weight: bold; }
  .cluster { font-size: 11px; font-weight: bold; fill: #44615e; }
  .cluster.halo { fill: #f3f8f7; stroke: #f3f8f7; }
  .edge { fill: none; stroke: #555; stroke-width: 1.3px; }
  .box { stroke: #555; stroke-width: 1px; }
  .box.output { stroke: #7a1f1f; stroke-width: 2.2px; }
  .weights { fill: none; stroke: #8a5a00; stroke-width: 1.2px; stroke-dasharray: 5 3; }
  .weights-label { font-size: 10px; fill: #8a5a00; }
"""
BULGE = 36.0  # how far right of the boxes a weight link curves, so it does not cross the data edges
CLUSTER_FILLS = ("#f3f8f7", "#e6f0ef", "#d9e8e6", "#cde0de")


def path_data(points: Sequence[tuple[float, float]]) -> str:
    """An SVG path through the points: straight where vertical, else an S-curve.

    >>> path_data([(0, 0), (0, 10), (20, 30)])
    'M0.0,0.0 L0.0,10.0 C0.0,20.0 20.0,20.0 20.0,30.0'
    """
    x0, y0 = points[0]
    parts = [f"M{x0:.1f},{y0:.1f}"]
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        if abs(ax - bx) < 0.5:
            parts.append(f"L{bx:.1f},{by:.1f}")
        else:
            mid = (by - ay) / 2
            parts.append(f"C{ax:.1f},{ay + mid:.1f} {bx:.1f},{by - mid:.1f} {bx:.1f},{by:.1f}")
    return " ".join(parts)


def _clusters(drawing: Drawing, lay: Layout) -> list[str]:
    out = []
    for path, (x0, y0, x1, y1) in sorted(lay.clusters.items(), key=lambda kv: len(kv[0])):
        fill = CLUSTER_FILLS[min(len(path) - 1, len(CLUSTER_FILLS) - 1)]
        out.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" rx="8" '
                   f'fill="{fill}" stroke="#8fb3ae" stroke-width="1.2"/>')
        for cls in ("cluster halo", "cluster"):
            out.append(f'<text class="{cls}" x="{x0 + 8:.1f}" y="{y0 + 13:.1f}">'
                       f'{escape(drawing.clusters[path])}</text>')
    return out


def _edges(drawing: Drawing, lay: Layout) -> list[str]:
    out, labelled = [], set()
    labels = {(e.source, e.target): e.label for e in drawing.edges}
    for _, _, points in lay.routes:
        out.append(f'<path class="edge" d="{path_data(points)}" marker-end="url(#arrow)"/>')
    for source, target, points in lay.routes:
        if source in labelled:
            continue
        labelled.add(source)
        x, y = points[0]
        text = escape(labels[(source, target)])
        for cls in ("shape halo", "shape"):  # a white outline first, so the label reads over lines
            out.append(f'<text class="{cls}" x="{x + 5:.1f}" y="{y + 14:.1f}">{text}</text>')
    return out


def link_path(lay: Layout, source: str, target: str) -> tuple[str, tuple[float, float]]:
    """The dashed curve of a weight link and where its label goes. Boxes side by side (a Siamese
    pair) are joined between their facing sides; otherwise the curve leaves both right sides
    and bends right of them, clear of the data edges that run top to bottom."""
    (sx, sy, sw), (tx, ty, tw) = ((lay.x[b], lay.y[b], lay.w[b] / 2) for b in (source, target))
    if abs(sy - ty) < 1:
        side = 1 if tx > sx else -1
        x0, x1, sag = sx + side * sw, tx - side * tw, sy + 10
        return f"M{x0:.1f},{sy:.1f} C{x0 + side * 12:.1f},{sag:.1f} {x1 - side * 12:.1f},{sag:.1f} {x1:.1f},{ty:.1f}", \
            ((x0 + x1) / 2 - 30, sag + 12)
    x0, x1 = sx + sw, tx + tw
    bend = max(x0, x1) + BULGE
    return f"M{x0:.1f},{sy:.1f} C{bend:.1f},{sy:.1f} {bend:.1f},{ty:.1f} {x1:.1f},{ty:.1f}", (bend - 6, (sy + ty) / 2)


def _weight_links(drawing: Drawing, lay: Layout) -> list[str]:
    """A dashed curve from each shared application to the box whose weights it uses."""
    out = []
    for e in drawing.weight_links:
        d, (lx, ly) = link_path(lay, e.source, e.target)
        out.append(f'<path class="weights" d="{d}" marker-end="url(#arrow)"><title>{escape(e.source)}: '
                   f'{escape(e.label)} as {escape(e.target)}</title></path>')
        out.append(f'<text class="weights-label" x="{lx:.1f}" y="{ly:.1f}">{escape(e.label)}</text>')
    return out


def _width(drawing: Drawing, lay: Layout) -> float:
    """The picture's width, with room for the weight links' curves and labels on the right."""
    ends = [lay.x[b] + lay.w[b] / 2 for e in drawing.weight_links for b in (e.source, e.target)]
    return max([lay.width] + [x + BULGE + 70 for x in ends])


def _boxes(drawing: Drawing, lay: Layout) -> list[str]:
    out = []
    for b in drawing.boxes:
        x, y, w, h = lay.x[b.id], lay.y[b.id], lay.w[b.id], lay.h[b.id]
        cls = "box output" if b.is_output else "box"
        fill = b.family.colour
        out.append(f'<g><title>{escape(b.id)}: {escape(b.subtitle)} -&gt; {escape(b.out_shape)}</title>'
                   f'<rect class="{cls}" x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
                   f'rx="6" fill="{fill}"/>'
                   f'<text class="title" x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle">{escape(b.title)}</text>'
                   f'<text class="sub" x="{x:.1f}" y="{y + 11:.1f}" text-anchor="middle">{escape(b.subtitle)}</text>'
                   "</g>")
        if b.is_output:
            out.append(f'<text class="out" x="{x:.1f}" y="{y + h / 2 + 15:.1f}" text-anchor="middle">'
                       f'output {escape(b.out_shape)}</text>')
    return out


def to_svg(drawing: Drawing, lay: Layout | None = None) -> str:
    """The whole picture as a standalone SVG document (no external fonts or scripts)."""
    lay = lay or layout(drawing)
    width = _width(drawing, lay)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{lay.height:.0f}" '
            f'viewBox="0 0 {width:.1f} {lay.height:.1f}">')
    defs = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>')
    body = ([f"<title>{escape(drawing.name)}</title>", f"<style>{STYLE}</style>", defs,
             '<rect width="100%" height="100%" fill="#ffffff"/>']
            + _clusters(drawing, lay) + _edges(drawing, lay) + _boxes(drawing, lay) + _weight_links(drawing, lay))
    return "\n".join([head] + body + ["</svg>"]) + "\n"
