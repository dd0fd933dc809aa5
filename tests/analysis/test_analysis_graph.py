"""`archspec graph`: the pure-Python layout's geometry, SVG/Mermaid/DOT/HTML, the CLI."""
from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from itertools import combinations

import pytest
from analysis_support import analysis_of, check_golden, spec, text_analysis
from click.testing import CliRunner

from archspec.analysis.render import render
from archspec.analysis.render.layout import layout
from archspec.analysis.render.model import INPUT, drawing
from archspec.cli import main

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module", params=["resnet50", "inception", "kinds"])
def laid_out(request):
    d = drawing(analysis_of(request.param))
    return d, layout(d)


def _box(lay, v):
    return (lay.x[v] - lay.w[v] / 2, lay.y[v] - lay.h[v] / 2, lay.x[v] + lay.w[v] / 2, lay.y[v] + lay.h[v] / 2)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_boxes_never_overlap(laid_out):
    d, lay = laid_out
    boxes = [_box(lay, b.id) for b in d.boxes]
    assert not any(_overlap(a, b) for a, b in combinations(boxes, 2))


def test_boxes_sit_inside_their_blocks_and_only_there(laid_out):
    d, lay = laid_out
    for b in d.boxes:
        x0, y0, x1, y1 = _box(lay, b.id)
        for path, (cx0, cy0, cx1, cy1) in lay.clusters.items():
            inside = cx0 <= x0 and x1 <= cx1 and cy0 <= y0 and y1 <= cy1
            assert inside == (b.scope[: len(path)] == path), (b.id, path)


def test_sibling_blocks_do_not_overlap(laid_out):
    _, lay = laid_out
    for (p, a), (q, b) in combinations(lay.clusters.items(), 2):
        nested = p[: len(q)] == q or q[: len(p)] == p
        assert nested or not _overlap(a, b), (p, q)


def test_edges_run_from_bottom_to_top_and_downwards(laid_out):
    d, lay = laid_out
    assert len(lay.routes) == len(d.edges)
    for source, target, points in lay.routes:
        assert points[0][1] == pytest.approx(lay.y[source] + lay.h[source] / 2)
        assert points[-1][1] == pytest.approx(lay.y[target] - lay.h[target] / 2)
        assert all(a[1] <= b[1] for a, b in zip(points, points[1:]))
        assert _box(lay, source)[0] <= points[0][0] <= _box(lay, source)[2]
        assert _box(lay, target)[0] <= points[-1][0] <= _box(lay, target)[2]


def test_svg_is_standalone_xml_with_every_layer_and_shape():
    analysis = analysis_of("inception")
    root = ET.fromstring(render(analysis, "svg", layout="builtin"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for info in analysis.layers:
        assert info.node.local_name in texts
    assert "[16, 16, 64]" in texts and "output [10]" in texts
    assert "mixed_a (Inception)" in texts and "mixed_b (Inception)" in texts
    assert len(root.findall(f"{SVG}path")) == sum(len(i.node.inputs) for i in analysis.layers)
    assert not any("href" in k for e in root.iter() for k in e.attrib)


def test_depth_collapses_blocks_into_boxes():
    d = drawing(analysis_of("resnet50"), depth=0)
    assert len(d.boxes) == 1 + 6 + 16 + 2          # input, stem, 16 blocks, pooling and head
    assert not d.clusters
    block = d.box("conv3_1")
    assert block.subtitle == "ConvBlock, 383,232 params" and block.out_shape == "[28, 28, 512]"
    assert [e.label for e in d.edges if e.target == "conv3_1"] == ["[56, 56, 256]"]


def test_golden_mermaid():
    check_golden("graph_inception.mmd", render(analysis_of("inception"), "mermaid"))


def test_dot_has_clusters_and_labelled_edges():
    text = render(analysis_of("inception"), "dot")
    assert text.count('subgraph "cluster_') == 2 and text.count("{") == text.count("}")
    assert 'n2 -> n3 [label="[16, 16, 32]"];' in text


def test_html_page_needs_no_network():
    text = render(analysis_of("inception"), "html", layout="builtin")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "</html>" in text
    assert "src=" not in text and "https://" not in text


def test_cli_writes_each_format(tmp_path):
    runner = CliRunner()
    for suffix, start in ((".svg", "<svg"), (".mmd", "flowchart TD"), (".dot", "digraph"), (".html", "<!DOCTYPE")):
        out = tmp_path / f"net{suffix}"
        result = runner.invoke(main, ["graph", str(spec("lenet5")), "-o", str(out), "--layout", "builtin"])
        assert result.exit_code == 0, result.output
        assert out.read_text().startswith(start)


def test_cli_refuses_unknown_suffix_and_missing_graphviz(tmp_path, monkeypatch):
    runner = CliRunner()
    result = runner.invoke(main, ["graph", str(spec("lenet5")), "-o", str(tmp_path / "net.png")])
    assert result.exit_code == 2 and "cannot tell the format" in result.output
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(main, ["graph", str(spec("lenet5")), "--layout", "graphviz"])
    assert result.exit_code == 2 and "needs the Graphviz 'dot' program" in result.output


def test_graphviz_is_used_when_present(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\ncat > /dev/null\necho '<svg xmlns=\"http://www.w3.org/2000/svg\">dot</svg>'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    result = CliRunner().invoke(main, ["graph", str(spec("lenet5"))])
    assert result.exit_code == 0 and ">dot</svg>" in result.output
    result = CliRunner().invoke(main, ["graph", str(spec("lenet5")), "--layout", "builtin"])
    assert ">dot</svg>" not in result.output


def test_cli_says_what_it_drew(tmp_path):
    runner = CliRunner()
    out = tmp_path / "net.svg"
    result = runner.invoke(main, ["graph", str(spec("resnet50")), "--depth", "0", "-o", str(out),
                                  "--layout", "builtin"])
    d = drawing(analysis_of("resnet50"), depth=0)
    assert result.output == f"wrote {out}: {len(d.boxes)} boxes, {len(d.edges)} edges; 16 blocks drawn as one box " \
                            "each (--depth 0)\n"
    result = runner.invoke(main, ["graph", str(spec("lenet5")), "-o", str(tmp_path / "net.mmd")])
    assert result.output.endswith(": 9 boxes, 8 edges\n")     # the input and 8 layers, no block


def test_box_colours_come_from_the_family_records():
    analysis = analysis_of("kinds")
    d = drawing(analysis)
    assert all(d.box(i.node.name).family is i.kind.family for i in analysis.layers)
    root = ET.fromstring(render(analysis, "svg", layout="builtin"))
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("class", "").startswith("box")}
    assert fills == {i.kind.family.colour for i in analysis.layers} | {INPUT.colour}
    mermaid = render(analysis, "mermaid")
    assert {f"classDef {i.kind.family.name} fill:{i.kind.family.colour},stroke:#555" for i in analysis.layers} <= set(
        line.strip() for line in mermaid.splitlines())


SIAMESE = """archspec: 1
name: siamese
inputs: {left: [12, 12, 1], right: [12, 12, 1]}
blocks:
  Tower:
    layers: [Conv2D: {filters: 4, kernel_size: 3}, GlobalAveragePooling2D, Dense: {units: 5}]
layers:
  - Tower: {}
    name: tower_l
    inputs: left
  - share: tower_l
    name: tower_r
    inputs: right
  - Dense: {units: 3}
    name: head_l
    inputs: tower_l
  - Dense: {units: 2}
    name: deep
  - share: head_l
    name: head_r
    inputs: tower_r
  - Concatenate: {}
    inputs: [deep, head_r]
"""


@pytest.fixture(scope="module")
def siamese():
    return text_analysis(SIAMESE)


def test_a_shared_application_links_to_its_weights_in_every_format(siamese):
    d = drawing(siamese)
    links = [(e.source, e.target) for e in d.weight_links]
    assert links == [("tower_r/conv2d_1", "tower_l/conv2d_1"), ("tower_r/dense_1", "tower_l/dense_1"),
                     ("head_r", "head_l")]  # pooling has no weights, so no link
    assert len(layout(d).routes) == len(d.edges)  # links are drawn over the layout, not ranked in it
    root = ET.fromstring(render(siamese, "svg", layout="builtin"))
    dashed = [p for p in root.iter(f"{SVG}path") if p.get("class") == "weights"]
    assert len(dashed) == 3 and "stroke-dasharray" in root.find(f"{SVG}style").text
    assert [p.find(f"{SVG}title").text for p in dashed][2] == "head_r: same weights as head_l"
    page = render(siamese, "html", layout="builtin")
    assert page.count('class="weights"') == 3
    ids = {b.id: f"n{k}" for k, b in enumerate(d.boxes)}
    mermaid = render(siamese, "mermaid")
    assert f'{ids["head_r"]} -.->|"same weights"| {ids["head_l"]}' in mermaid
    dot = render(siamese, "dot")
    assert dot.count("style=dashed") == 3 and "constraint=false" in dot


def test_a_collapsed_shared_instance_links_to_the_instance_it_shares(siamese):
    d = drawing(siamese, depth=0)
    assert [(e.source, e.target) for e in d.weight_links] == [("tower_r", "tower_l"), ("head_r", "head_l")]
    root = ET.fromstring(render(siamese, "svg", depth=0, layout="builtin"))
    width = float(root.get("viewBox").split()[2])
    lay = layout(d)
    assert width >= max(lay.x[b] + lay.w[b] / 2 for b in ("tower_r", "tower_l"))  # the curves fit the picture


def test_the_cli_counts_the_links(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(SIAMESE)
    result = CliRunner().invoke(main, ["graph", str(path), "-o", str(tmp_path / "net.mmd")])
    assert result.output.endswith(": 12 boxes, 11 edges, 3 dashed links to shared weights\n"), result.output
