"""The page's pure functions (static/*.js), run in the same headless Chromium as the page:
completion from the schema in every YAML form, the entry a line belongs to and its name, a
block instance's rows, diagnostics' ranges, the channel under the mouse, the curves' metric pairs.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from test_browser import chrome, served, wait  # noqa: F401  (fixtures; the module skips without chromium)

from selenium import webdriver  # noqa: E402

# Runs `body` (JavaScript with the page's modules imported as cm, schema, editor, table,
# explorer, curves, and the schema as `published`) and returns what it returns.
HARNESS = """
const [body, done] = [arguments[0], arguments[arguments.length - 1]];
Promise.all(["vendor/codemirror", "schema", "editor", "table", "explorer", "curves"].map((m) => import(`/static/${m}.js`)))
  .then(async ([cm, schema, editor, table, explorer, curves]) => {
    const published = await (await fetch("/api/schema")).json();
    return new Function("cm", "schema", "editor", "table", "explorer", "curves", "published", body)(
      cm, schema, editor, table, explorer, curves, published);
  }).then((value) => done(JSON.stringify(value)), (err) => done(JSON.stringify({error: String(err)})));
"""

COMPLETE = """
const info = schema.readSchema(published);
const complete = (text) => {
  const pos = text.indexOf("|");
  const state = cm.EditorState.create({doc: text.replace("|", "")});
  const result = schema.completionSource(info)({state, pos, explicit: true});
  return result ? result.options.map((o) => o.label) : null;
};
"""


@pytest.fixture(scope="module")
def run_js(chrome: webdriver.Chrome, served) -> Any:  # noqa: F811
    _, url = served
    chrome.get(url)
    wait(chrome, lambda d: d.execute_script("return !!window.studio"))

    def run(body: str) -> Any:
        value = json.loads(chrome.execute_async_script(HARNESS, body))
        assert not (isinstance(value, dict) and "error" in value), value
        return value
    return run


@pytest.mark.parametrize("text, wanted, unwanted", [
    ("layers:\n  - Conv|", {"Conv1D", "Conv2D", "Conv2DTranspose"}, {"filters"}),
    ("layers:\n  - Conv2D: {filters: 8, ker|", {"kernel_size"}, {"Conv2D", "units"}),
    ("layers:\n  - Conv2D: {padding: |", {"valid", "same"}, {"filters"}),
    ("layers:\n  - Dense: {use_bias: |", {"true", "false"}, set()),
    ("layers:\n  - Conv2D:\n      filters: 8\n      stri|", {"strides"}, {"units"}),
    ("layers:\n  - Conv2D:\n      padding: s|", {"same", "valid"}, set()),
    ("layers:\n  - Dense: {units: 3}\n    na|", {"name", "inputs", "repeat", "expect"}, {"units"}),
    ("archspec: 1\nna|", {"name", "input", "layers", "blocks"}, {"Conv2D"}),
])
def test_completion_reads_the_schema_in_every_yaml_form(run_js, text: str, wanted: set[str], unwanted: set[str]) -> None:
    labels = set(run_js(COMPLETE + f"return complete({json.dumps(text)});") or [])
    assert wanted <= labels and not unwanted & labels


def test_entry_lines_diagnostics_channels_and_metrics(run_js) -> None:
    got = run_js("""
        const doc = cm.EditorState.create({doc: [
          "name: n", "layers:", "  - Conv2D:", "      filters: 8", "", "    name: c", "  - Flatten",
          "  - Dense: {units: 3}", "outputs: c"].join("\\n")}).doc;
        const entries = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => editor.entryLineAt(doc, n));
        const names = [3, 7, 8].map((n) => editor.entryName(doc, n));
        const nested = cm.EditorState.create({doc: [
          "layers:", "  - name: first", "    Stage: {filters: 64}", "  - Stage:", "      filters: 8",
          "      name: not_the_entrys", "    name: conv2"].join("\\n")}).doc;
        names.push(editor.entryName(nested, 2), editor.entryName(nested, 4));
        const matches = [["conv2/block1/conv0", "conv2"], ["conv2", "conv2"], ["conv20", "conv2"], ["c1", null]].map(
          ([row, name]) => table.rowMatches(row, name));
        const ranges = editor.diagnostics(doc, [
          {line: 4, col: 7, end_line: 4, end_col: 14, message: "m", hint: "h", severity: "error"},
          {line: 8, col: 20, message: "no end", severity: "warning"},
          {line: 99, col: 1, message: "past the end"}]).map((d) => [doc.sliceString(d.from, d.to), d.severity, d.message]);
        const img = {getBoundingClientRect: () => ({left: 10, top: 20, width: 300, height: 200})};
        const map = {channels: 5, columns: 3};
        const channels = [[11, 21], [309, 21], [111, 121], [250, 150]].map(
          ([x, y]) => explorer.channelAt(img, map, {clientX: x, clientY: y}));
        const metrics = [...curves.metricColumns(["epoch", "accuracy", "loss", "val_accuracy", "val_loss", "lr"])];
        const rows = table.rowsByLine({layers: [{name: "a", line: 3}, {name: "b", line: 3}, {name: "c", line: 7}]});
        return {entries, names, matches, ranges, channels, metrics, rows: [...rows].map(([l, r]) => [l, r.name])};
    """)
    assert got["entries"] == [None, None, 3, 3, 3, 3, 7, 8, None]
    assert got["names"] == ["c", None, None, "first", "conv2"]   # the entry's own name: key, not an argument's
    assert got["matches"] == [True, True, False, False]
    assert got["ranges"] == [["filters", "error", "m\nhint: h"], ["3", "warning", "no end"],
                             ["outputs", "error", "past the end"]]
    assert got["channels"] == [0, 2, 4, None]          # the second row's third tile is past the 5th channel
    assert got["metrics"] == [["accuracy", {"train": 1, "val": 3}], ["loss", {"train": 2, "val": 4}], ["lr", {"train": 5}]]
    assert got["rows"] == [[3, "a"], [7, "c"]]        # a block's layers share their definition's lines: the first


def test_totals_and_numbers_read_as_summary_prints_them(run_js) -> None:
    got = run_js("""
        const el = document.createElement("div");
        table.renderTotals(el, {layers: [{params: 10, macs: 5}, {params: 2, macs: null}]}, true);
        const grid = document.createElement("table");
        grid.appendChild(document.createElement("tbody"));
        table.renderTable(grid, {layers: [{name: "conv2/block1/conv0", block: "conv2/block1", type: "Conv2D",
          output_shape: [56, 56, 64], params: 4160, macs: null, receptive_field: [3, 3], line: 26}]},
          {line: 40, message: "broken"});
        const cells = [...grid.querySelectorAll("tr")].map((tr) => [...tr.cells].map((td) => td.textContent));
        return [cells, table.shortCount(416520), table.shortCount(25557032), table.shortBytes(246824), table.formatShape([null, 3]),
                table.formatField([5, 5]), table.formatField([]), el.textContent];
    """)
    cells = got.pop(0)
    assert cells == [["conv2/block1/conv0", "Conv2D", "[56, 56, 64]", "4,160", "?", "3x3"], ["line 40: broken"]]
    assert got == ["416.52K", "25.56M", "241.04 KiB", "[?, 3]", "5x5", "-", "up to the first error: 12 params · 5 MACs (5)"]
