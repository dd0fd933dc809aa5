"""Pictures of a network: SVG (own layout, or Graphviz's when asked and installed), Mermaid,
DOT and a self-contained HTML page. ``render(analysis, "svg")`` is the one entry point;
``drawing`` then ``render_drawing`` when the caller also wants to say what was drawn."""
from __future__ import annotations

import html
import shutil
import subprocess
from typing import Optional

from archspec.analysis.render.model import BLOCK, Drawing, drawing
from archspec.analysis.render.svg import to_svg
from archspec.analysis.render.text import to_dot, to_mermaid
from archspec.analysis.shape_pass import Analysis
from archspec.errors import RunFailure, UserError

FORMATS = {".svg": "svg", ".mmd": "mermaid", ".mermaid": "mermaid", ".dot": "dot", ".gv": "dot", ".html": "html",
           ".htm": "html"}
LAYOUTS = ("auto", "builtin", "graphviz")


def graphviz_svg(d: Drawing, timeout: float = 60.0) -> str:
    """Lay the DOT text out with the ``dot`` program."""
    exe = shutil.which("dot")
    if exe is None:
        raise UserError("--layout graphviz needs the Graphviz 'dot' program on PATH",
                        "install graphviz, or use --layout builtin (the default when dot is missing)")
    try:
        done = subprocess.run([exe, "-Tsvg"], input=to_dot(d), capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise RunFailure(f"graphviz took more than {timeout:.0f} s", "use --layout builtin or --depth 1") from None
    if done.returncode != 0:
        raise RunFailure(f"graphviz failed: {done.stderr.strip()[:300]}", "use --layout builtin")
    return done.stdout


def svg(d: Drawing, layout: str = "auto") -> str:
    """SVG from our own layout, or from Graphviz when ``layout`` asks for it (auto: if installed)."""
    if layout == "graphviz" or (layout == "auto" and shutil.which("dot")):
        return graphviz_svg(d)
    return to_svg(d)


def page(d: Drawing, analysis: Analysis, picture: str) -> str:
    """A standalone HTML page: the totals, zoom buttons, and the SVG inline (no network)."""
    p = analysis.params
    macs = f"{'&ge; ' if analysis.macs_unknown else ''}{analysis.macs:,} MACs per sample"
    facts = (f"{p.total:,} parameters ({p.trainable:,} trainable) &middot; {macs} "
             f"&middot; {len(analysis.layers)} layers &middot; {html.escape(analysis.graph.file)}")
    body = picture[picture.find("<svg"):]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(d.name)}</title>
<style>
 body {{ font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }}
 header {{ position: sticky; top: 0; background: #f7f7f7; border-bottom: 1px solid #ddd; padding: 8px 16px; }}
 h1 {{ font-size: 18px; margin: 0 0 4px 0; }} .facts {{ font-size: 13px; color: #555; }}
 button {{ margin-right: 4px; }} #picture {{ padding: 16px; overflow: auto; }}
 #picture svg {{ transform-origin: 0 0; }}
</style></head>
<body><header><h1>{html.escape(d.name)}</h1><div class="facts">{facts}</div>
<div><button onclick="zoom(1.25)">+</button><button onclick="zoom(0.8)">&minus;</button>
<button onclick="zoom(0)">fit width</button></div></header>
<div id="picture">
{body}</div>
<script>
 let scale = 1; const pic = document.querySelector('#picture svg');
 function zoom(f) {{
   const w = pic.viewBox.baseVal.width;
   scale = f === 0 ? Math.min(1, (window.innerWidth - 40) / w) : scale * f;
   pic.style.width = (w * scale) + 'px'; pic.style.height = (pic.viewBox.baseVal.height * scale) + 'px';
 }}
</script></body></html>
"""


def render(analysis: Analysis, fmt: str, depth: Optional[int] = None, layout: str = "auto") -> str:
    """The picture as text in ``fmt``: svg, mermaid, dot or html."""
    return render_drawing(drawing(analysis, depth), analysis, fmt, layout)


def render_drawing(d: Drawing, analysis: Analysis, fmt: str, layout: str = "auto") -> str:
    """A drawing of ``analysis`` as text in ``fmt``."""
    if fmt == "mermaid":
        return to_mermaid(d)
    if fmt == "dot":
        return to_dot(d)
    picture = svg(d, layout)
    return page(d, analysis, picture) if fmt == "html" else picture


def what_was_drawn(d: Drawing, depth: Optional[int]) -> str:
    """Boxes and edges drawn, and how many blocks became one box each at ``depth``."""
    blocks = sum(1 for b in d.boxes if b.family is BLOCK)
    text = f"{len(d.boxes)} boxes, {len(d.edges)} edges"
    if d.weight_links:
        text += f", {len(d.weight_links)} dashed link{'s' if len(d.weight_links) > 1 else ''} to shared weights"
    if blocks:
        text += f"; {blocks} block{'s' if blocks > 1 else ''} drawn as one box each (--depth {depth})"
    return text


__all__ = ["FORMATS", "LAYOUTS", "render", "render_drawing", "what_was_drawn", "drawing", "to_svg", "to_dot",
           "to_mermaid"]
