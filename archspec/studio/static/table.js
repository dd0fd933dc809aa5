// The summary table and totals, as `archspec summary` prints them, from the analysis's JSON.
// Rows come from `summary.layers`; when the spec is broken they stop at the first broken
// layer and a last row says where and why.

const NUMBER = new Intl.NumberFormat("en-US");

export const formatCount = (n) => (n === null || n === undefined ? "?" : NUMBER.format(n));
export const formatShape = (shape) =>
  Array.isArray(shape) ? `[${shape.map((d) => (d === null ? "?" : d)).join(", ")}]` : String(shape ?? "");
export const formatField = (field) => (Array.isArray(field) && field.length ? field.map((d) => d ?? "?").join("x") : "-");

/** A count in short form as `summary` prints it: 416.52K, 25.56M, 4.09G. */
export function shortCount(n) {
  const prefixes = [[1e9, "G"], [1e6, "M"], [1e3, "K"]];
  for (const [size, prefix] of prefixes) if (Math.abs(n) >= size) return `${(n / size).toFixed(2)}${prefix}`;
  return String(n);
}

/** Bytes in binary units as `summary` prints them: 241.04 KiB. */
export function shortBytes(n) {
  const units = [[2 ** 30, "GiB"], [2 ** 20, "MiB"], [2 ** 10, "KiB"]];
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toFixed(2)} ${unit}`;
  return `${n} B`;
}

const CELL_CLASSES = ["name", "", "shape", "num", "num", "num"];

/** A layer row's six cells as text: name, type, output shape, params, MACs, receptive field. */
export function layerCells(row) {
  return [row.name, row.type, formatShape(row.output_shape), formatCount(row.params),
          row.macs === null ? "?" : formatCount(row.macs), formatField(row.receptive_field)];
}

function layerRow() {
  const tr = document.createElement("tr");
  for (const cls of CELL_CLASSES) {
    const td = tr.appendChild(document.createElement("td"));
    if (cls) td.className = cls;
  }
  return tr;
}

// Writes only what differs: an edit changes a few rows of a big network's table, and every
// node written costs the browser style and layout work before the next frame.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function setData(tr, key, value) {
  const text = String(value);
  if (tr.dataset[key] !== text) tr.dataset[key] = text;
}

function fillRow(tr, row) {
  setData(tr, "line", row.line);
  setData(tr, "name", row.name);
  const texts = layerCells(row);
  for (let i = 0; i < texts.length; i++) setText(tr.cells[i], texts[i]);
  if (tr.cells[0].title !== row.name) tr.cells[0].title = row.name;  // a block's layers are named by their path: conv2/block1/conv0
}

/** Fill `table` (a <table>) with one row per layer; each row carries its line in data-line.
 * The rows already there are reused (in order) and only their changed cells rewritten. */
export function renderTable(table, summary, firstError) {
  const body = table.tBodies[0];
  const layers = summary.layers || [];
  const rows = body.rows;  // live
  const last = rows[rows.length - 1];
  if (last && last.classList.contains("broken")) last.remove();  // only ever the last row
  while (rows.length > layers.length) body.lastElementChild.remove();
  const kept = rows.length;
  const added = document.createDocumentFragment();
  for (let i = 0; i < layers.length; i++) fillRow(i < kept ? rows[i] : added.appendChild(layerRow()), layers[i]);
  if (firstError) {
    const tr = added.appendChild(document.createElement("tr"));
    tr.className = "broken";
    tr.dataset.line = firstError.line;
    const td = tr.appendChild(document.createElement("td"));
    td.textContent = `line ${firstError.line}: ${firstError.message}`;
    td.colSpan = 6;
  }
  body.appendChild(added);
}

/** The totals line: params (trainable / non-trainable), MACs, memory. */
export function renderTotals(element, summary, partial) {
  const sum = (key) => (summary.layers || []).reduce((a, r) => a + (r[key] || 0), 0);
  const params = summary.total_params ?? sum("params");
  const macs = summary.total_macs ?? sum("macs");
  const parts = [`${formatCount(params)} params`];
  if (summary.trainable_params !== undefined) {
    parts.push(`(${formatCount(summary.trainable_params)} trainable, ${formatCount(summary.non_trainable_params)} non-trainable)`);
  }
  parts.push(`· ${formatCount(macs)} MACs (${shortCount(macs)})`);
  if (summary.param_bytes !== undefined) parts.push(`· weights ${shortBytes(summary.param_bytes)}`);
  if (summary.output_shapes && !partial) parts.push(`· output ${summary.output_shapes.map(formatShape).join(", ")}`);
  element.textContent = (partial ? "up to the first error: " : "") + parts.join(" ");
  element.classList.toggle("partial", Boolean(partial));
}

/** The first row of each line (a block's layers share the lines of its definition). */
export function rowsByLine(summary) {
  const byLine = new Map();
  for (const row of summary.layers || []) if (row.line && !byLine.has(row.line)) byLine.set(row.line, row);
  return byLine;
}

/** The rows a name stands for: the layer's own, or every layer of a block instance ("conv2/..."). */
export const rowMatches = (rowName, name) => Boolean(name) && (rowName === name || rowName.startsWith(`${name}/`));

/** Highlight the rows of one layer or block instance (and scroll the first into view when `scroll`). */
export function highlightRow(table, name, scroll = true) {
  let first = null;
  for (const tr of table.tBodies[0].rows) {
    const on = rowMatches(tr.dataset.name || "", name);
    tr.classList.toggle("current", on);
    if (on && !first) first = tr;
  }
  if (first && scroll) first.scrollIntoView({block: "nearest"});
}
