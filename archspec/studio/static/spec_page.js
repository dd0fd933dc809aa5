// The spec editor page: the open file, its analysis as the user types, saving and drafts.
import * as api from "./api.js";
import {createEditor, showErrors, jumpToLine, replaceText, entryLineAt, entryName} from "./editor.js";
import {renderTable, renderTotals, rowsByLine, highlightRow, rowMatches, formatCount, formatShape} from "./table.js";
import {renderGraph, highlightNode} from "./graph.js";
import {readSchema} from "./schema.js";
import {loadDraft, storeDraft, dropDraft} from "./drafts.js";
import {openConflictDialog} from "./conflict.js";

// An edit after a quiet spell is analysed at once; a burst of keystrokes waits for a pause
// this long, so fast typing sends one request per pause, not one per key.
const DEBOUNCE_MS = 150;
// Each keystroke asks for the table only (the picture's layout is half of a big network's
// analysis); the explain lines and the picture follow once the typing pauses this long.
const DETAIL_PAUSE_MS = 400;
const KEYSTROKE_PARTS = ["summary"];
const DETAIL_PARTS = ["explain", "graph_svg"];
const ALL_PARTS = [...KEYSTROKE_PARTS, ...DETAIL_PARTS];
const $ = (id) => document.getElementById(id);

const state = {
  view: null, schema: null, doc: null,  // doc: {key, path (null for a zoo spec), version, diskText}
  rows: new Map(), summaryLayers: [], explain: {}, analyses: 0, parts: ALL_PARTS,
  timer: null, detailTimer: null, inFlight: false, rerun: false, lastStart: -Infinity, currentName: null,
};

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = `status ${kind}`;
}

function applySummary(body) {
  const summary = body.summary || {layers: []};
  const errors = body.errors || [];
  state.rows = rowsByLine(summary);
  state.summaryLayers = summary.layers || [];
  showErrors(state.view, errors);
  renderTable($("summary"), summary, body.ok ? null : errors.find((e) => e.severity !== "warning"));
  renderTotals($("totals"), summary, !body.ok);
  renderErrorList(errors);
  $("graph").classList.add("stale");  // until the picture of this text arrives
  showCursorLayer(currentLine(), "rows");  // the rows were redrawn and may have moved
  state.analyses += 1;
  document.body.dataset.analyses = String(state.analyses);
  document.dispatchEvent(new CustomEvent("studio:analysed", {detail: {ok: body.ok, serverMs: body.elapsed_ms}}));
}

function applyDetails(body) {
  state.explain = body.explain || {};
  renderGraph($("graph"), body.graph_svg, (name) => jumpToName(name));
  $("graph").classList.remove("stale");
  showCursorLayer(currentLine(), "details");
}

function currentLine() {
  return state.view.state.doc.lineAt(state.view.state.selection.main.head).number;
}

function renderErrorList(errors) {
  const list = $("errors");
  list.replaceChildren(...errors.map((e) => {
    const li = document.createElement("li");
    li.className = e.severity === "warning" ? "warning" : "error";
    li.textContent = `${e.line}:${e.col}: ${e.message}${e.hint ? `; ${e.hint}` : ""}`;
    li.onclick = () => jumpToLine(state.view, e.line);
    return li;
  }));
}

/** The analysis of the editor's text now, or null when the text changed before it came back
 * (a stale answer would underline the wrong places). */
async function analyseText(parts) {
  const text = state.view.state.doc.toString();
  const {status, body} = await api.analyse(text, state.doc.path || `${state.doc.key}.yaml`, parts);
  if (text !== state.view.state.doc.toString()) return null;
  if (status !== 200) {
    setStatus(api.errorText(body), "error");
    return null;
  }
  return body;
}

async function runAnalysis() {
  state.timer = null;
  if (state.inFlight) { state.rerun = true; return; }
  state.inFlight = true;
  state.lastStart = performance.now();
  const parts = state.parts;
  state.parts = KEYSTROKE_PARTS;
  const body = await analyseText(parts);
  state.inFlight = false;
  if (body) {
    applySummary(body);
    if (parts.includes("graph_svg")) applyDetails(body);
    else scheduleDetails();
  }
  if (state.rerun) { state.rerun = false; runAnalysis(); }
}

function scheduleDetails() {
  clearTimeout(state.detailTimer);
  state.detailTimer = setTimeout(async () => {
    if (state.timer || state.inFlight) return scheduleDetails();  // still typing
    const body = await analyseText(DETAIL_PARTS);
    if (body) applyDetails(body);
  }, DETAIL_PAUSE_MS);
}

function onChange(text) {
  clearTimeout(state.timer);
  const quiet = !state.inFlight && performance.now() - state.lastStart >= DEBOUNCE_MS;
  if (quiet) runAnalysis(); else state.timer = setTimeout(runAnalysis, DEBOUNCE_MS);
  if (text === state.doc.diskText) {
    dropDraft(state.doc.key);
    setStatus(state.doc.path ? "saved" : "zoo spec (not a file)");
  } else {
    const kept = storeDraft(state.doc.key, text, state.doc.version);
    setStatus(kept ? "unsaved (kept in this browser)" : "unsaved (this browser cannot keep drafts)", "dirty");
  }
}

/** Highlight the row and box of the layer at `line` and show its explain lines. `redrawn`
 * says what just arrived: "rows" (a new table: only the row's mark, no scrolling, so a
 * keystroke costs no layout of the picture), "details" (the picture and explain lines), or
 * nothing (the cursor moved: only a change of layer does anything). */
function showCursorLayer(line, redrawn = null) {
  const doc = state.view.state.doc;
  const entry = entryLineAt(doc, line);
  const row = entry ? state.rows.get(entry) : null;
  // a block instance's line has no row of its own: its name stands for all its layers' rows
  const name = row ? row.name : entry ? entryName(doc, entry) : null;
  const moved = name !== state.currentName;
  if (!moved && !redrawn) return;
  state.currentName = name;
  highlightRow($("summary"), name, moved);
  if (!moved && redrawn === "rows") return;
  highlightNode($("graph"), name, moved);
  const lines = row ? state.explain[name] || [] : blockLines(name);
  $("explain").textContent = lines.join("\n");
  $("explain-title").textContent = name ? `explain ${name}` : "explain (put the cursor on a layer)";
}

/** A block instance's totals, from its layers' rows. */
function blockLines(name) {
  const rows = state.summaryLayers.filter((r) => rowMatches(r.name, name));
  if (!rows.length) return [];
  const sum = (key) => rows.reduce((a, r) => a + (r[key] || 0), 0);
  return [`block ${name}: ${rows.length} layers, output ${formatShape(rows[rows.length - 1].output_shape)}`,
          `params = ${formatCount(sum("params"))}`, `MACs = ${formatCount(sum("macs"))}`];
}

function jumpToName(name) {
  for (const row of state.rows.values()) if (row.name === name) return jumpToLine(state.view, row.line);
  const tr = [...$("summary").tBodies[0].rows].find((r) => r.dataset.name === name);
  if (tr) jumpToLine(state.view, Number(tr.dataset.line));
}

async function save(force = false) {
  const doc = state.doc;
  if (!state.writable) return setStatus("this session's files are read-only", "error");
  if (!doc.path) return setStatus(`a zoo spec is not a file: start one with \`archspec new ${doc.key.slice(4)} -o FILE\``, "error");
  const text = state.view.state.doc.toString();
  const {status, body} = await api.save(doc.path, text, doc.version, force);
  if (status === 200) {
    Object.assign(doc, {version: body.version, diskText: text});
    dropDraft(doc.key);
    return setStatus("saved");
  }
  if (status === 409 && body.conflict) {
    const choice = await openConflictDialog(body.disk_text);
    if (choice === "overwrite") return save(true);
    if (choice === "reload") {
      Object.assign(doc, {version: body.version, diskText: body.disk_text});
      replaceText(state.view, body.disk_text);
      dropDraft(doc.key);
      return setStatus("reloaded from disk");
    }
    return setStatus("not saved: the file changed on disk", "error");
  }
  setStatus(`not saved: ${api.errorText(body)}`, "error");
}

async function openDocument(key) {
  const zoo = key.startsWith("zoo:");
  const {status, body} = zoo ? await api.getZooSpec(key.slice(4)) : await api.getFile(key);
  if (status !== 200) return setStatus(api.errorText(body), "error");
  state.doc = {key, path: zoo ? null : body.path, version: zoo ? null : body.version, diskText: body.text};
  const draft = loadDraft(key);
  const text = draft && draft.text !== body.text ? draft.text : body.text;
  if (draft && draft.text !== body.text && !zoo) state.doc.version = draft.baseVersion;
  $("file-name").textContent = zoo ? `${key.slice(4)} (zoo)` : body.path;
  $("save").disabled = zoo || !state.writable;
  state.lastStart = -Infinity;  // analyse the new text at once, with its picture
  state.parts = ALL_PARTS;
  if (state.view) {
    replaceText(state.view, text);  // onChange analyses it
  } else {
    state.view = createEditor($("editor"), text, {
      onChange, onCursorLine: showCursorLayer, onSave: () => save(),
      rowAtLine: (line) => { const e = entryLineAt(state.view.state.doc, line); return e ? state.rows.get(e) || null : null; },
      schemaInfo: () => state.schema,
    });
    window.studio = {view: state.view, state};  // for the browser tests and the latency benchmark
    runAnalysis();
  }
  if (text !== body.text) setStatus("unsaved draft restored from this browser", "dirty");
  else setStatus(zoo ? "zoo spec (not a file)" : "saved");
}

function fileList(session) {
  const link = (key, label, title) => {
    const li = document.createElement("li");
    const a = li.appendChild(document.createElement("a"));
    a.href = `#${encodeURIComponent(key)}`;
    a.textContent = label;
    if (title) a.title = title;
    return li;
  };
  $("files").replaceChildren(...session.files.map((f) => link(f.path, f.path)));
  $("zoo").replaceChildren(...(session.zoo || []).map((z) =>
    link(`zoo:${z.name}`, z.name, `${z.description || ""} (${(z.params || 0).toLocaleString("en-US")} params)`)));
  $("sidebar").hidden = session.mode !== "folder";
}

export async function startSpecPage(session) {
  state.writable = session.writable !== false;  // the server says when its files are a record, not a draft
  fileList(session);
  $("save").onclick = () => save();
  document.addEventListener("keydown", (event) => {  // Ctrl-S outside the editor (the editor's own keymap ran first)
    if ((event.ctrlKey || event.metaKey) && event.key === "s" && !event.defaultPrevented) {
      event.preventDefault();
      save();
    }
  });
  $("summary").onclick = (event) => {
    const tr = event.target.closest("tr[data-line]");
    if (tr) jumpToLine(state.view, Number(tr.dataset.line));
  };
  const schema = await api.getSchema();
  if (schema.status === 200) state.schema = readSchema(schema.body);
  const fromHash = () => decodeURIComponent(location.hash.slice(1));
  window.addEventListener("hashchange", () => fromHash() && openDocument(fromHash()));
  const first = fromHash() || session.current || (session.files[0] && session.files[0].path)
    || (session.zoo && session.zoo[0] && `zoo:${session.zoo[0].name}`);
  if (first) await openDocument(first);
  else setStatus("this folder has no specs: open one from the zoo");
}
