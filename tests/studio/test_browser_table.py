"""The summary table is redrawn in place: an edit's new analysis rewrites only the cells that
changed (a big network's table is most of the page's work per keystroke), and the rows still
read exactly as a fresh table's would, with the broken-layer row last."""
from __future__ import annotations

import json
from typing import Any

from test_browser import chrome, served, wait  # noqa: F401  (fixtures; the module skips without chromium)

from selenium import webdriver  # noqa: E402

# Renders three analyses into one table and reports, after each, every row's cells and data,
# and which rows (<tr>) and cell texts (the text nodes in the <td>s) are the very nodes of the
# render before: a cell written again has a new text node.
SCRIPT = """
const done = arguments[arguments.length - 1];
import("/static/table.js").then((table) => {
  const layer = (name, channels, line) => ({name, type: "Conv2D", output_shape: [8, 8, channels],
    params: channels * 10, macs: channels * 100, receptive_field: [3, 3], line});
  const grid = document.createElement("table");
  grid.appendChild(document.createElement("tbody"));
  const snapshot = () => [...grid.tBodies[0].rows].map((tr) => ({
    cells: [...tr.cells].map((td) => td.textContent), line: tr.dataset.line, name: tr.dataset.name || null,
    broken: tr.classList.contains("broken")}));
  const nodes = () => [...grid.tBodies[0].rows].map((tr) => [tr, ...[...tr.cells].map((td) => td.firstChild)]);
  const same = (before, after) => after.map((row, i) => row.map((node, j) => Boolean(before[i])
    && before[i][j] === node));
  const out = [];
  table.renderTable(grid, {layers: [layer("a", 4, 3), layer("b", 8, 4), layer("c", 16, 5)]}, {line: 9, message: "bad"});
  out.push({rows: snapshot()});
  let before = nodes();
  table.renderTable(grid, {layers: [layer("a", 4, 3), layer("b", 6, 4), layer("c", 16, 5), layer("d", 2, 6)]}, null);
  out.push({rows: snapshot(), same: same(before, nodes())});
  before = nodes();
  table.renderTable(grid, {layers: [layer("a", 4, 3)]}, {line: 4, message: "worse"});
  out.push({rows: snapshot(), same: same(before, nodes())});
  done(JSON.stringify(out));
}, (err) => done(JSON.stringify({error: String(err)})));
"""


def row(name: str, c: int, line: int) -> dict[str, Any]:
    """A layer's row as SCRIPT's layer(name, c, line) renders it."""
    return {"cells": [name, "Conv2D", f"[8, 8, {c}]", f"{c * 10}", f"{c * 100:,}", "3x3"], "line": str(line),
            "name": name, "broken": False}


def broken(line: int, message: str) -> dict[str, Any]:
    return {"cells": [f"line {line}: {message}"], "line": str(line), "name": None, "broken": True}


def test_the_table_rewrites_only_changed_cells_and_reads_as_a_fresh_one(chrome: webdriver.Chrome,  # noqa: F811
                                                                       served: Any) -> None:  # noqa: F811
    _, url = served
    chrome.get(url)
    wait(chrome, lambda d: d.execute_script("return !!window.studio"))
    first, second, third = json.loads(chrome.execute_async_script(SCRIPT))
    assert first["rows"] == [row("a", 4, 3), row("b", 8, 4), row("c", 16, 5), broken(9, "bad")]
    assert second["rows"] == [row("a", 4, 3), row("b", 6, 4), row("c", 16, 5), row("d", 2, 6)]
    # the rows are kept, and of b's cells only shape, params and MACs are written again; the
    # broken row gave way to a new layer's row
    kept, rewritten = [True] * 7, [True, True, True, False, False, False, True]
    assert second["same"][:3] == [kept, rewritten, kept] and not any(second["same"][3])
    assert third["rows"] == [row("a", 4, 3), broken(4, "worse")]
    assert third["same"][0] == kept and not any(third["same"][1])
