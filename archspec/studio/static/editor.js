// The spec editor: CodeMirror 6 with YAML highlighting, schema completion, the analysis's
// errors as lint diagnostics, and a hover card with the numbers of the layer on that line.
import {
  EditorView, EditorState, EditorSelection, keymap, lineNumbers, highlightActiveLine,
  highlightActiveLineGutter, drawSelection, hoverTooltip, syntaxHighlighting,
  defaultHighlightStyle, indentOnInput, bracketMatching, indentUnit, yaml, lintGutter,
  setDiagnostics, autocompletion, completionKeymap, closeBrackets, closeBracketsKeymap,
  defaultKeymap, history, historyKeymap, indentWithTab,
} from "./vendor/codemirror.js";
import {completionSource, kindOnLine} from "./schema.js";
import {formatCount, formatShape, formatField} from "./table.js";

/** Character offset of a 1-based line:col in the document, clamped to the document. */
export function offsetOf(doc, line, col) {
  const ln = doc.line(Math.min(Math.max(line || 1, 1), doc.lines));
  return Math.min(ln.from + Math.max((col || 1) - 1, 0), ln.to);
}

/** The line of the list entry (`- Kind: ...`) a 1-based line belongs to, or null outside one. */
export function entryLineAt(doc, line) {
  let inner = Infinity;  // the least indentation seen below the candidate entry line
  for (let n = line; n >= 1 && n > line - 300; n--) {
    const text = doc.line(n).text;
    if (!text.trim() || text.trim().startsWith("#")) continue;
    const dash = text.match(/^(\s*)-(\s|$)/);
    if (dash && (n === line || dash[1].length < inner)) return n;
    const indent = text.match(/^\s*/)[0].length;
    if (indent === 0) return null;
    inner = Math.min(inner, indent);
  }
  return null;
}

/** The `name:` an entry starting at `entry` (a 1-based line) gives itself, or null. */
export function entryName(doc, entry) {
  const first = doc.line(entry).text;
  const keyIndent = first.match(/^\s*-\s+/)[0].length;  // the entry's own keys line up after "- "
  for (let n = entry; n <= doc.lines && n < entry + 50; n++) {
    const text = doc.line(n).text;
    if (n > entry && text.trim() && !text.trim().startsWith("#") && text.match(/^\s*/)[0].length < keyIndent) break;
    const m = text.slice(n === entry ? keyIndent : 0).match(/^\s*name:\s*["']?([A-Za-z_][A-Za-z0-9_.-]*)/);
    if (m && (n === entry || text.match(/^\s*/)[0].length === keyIndent)) return m[1];
  }
  return null;
}

/** CodeMirror diagnostics for the analysis's errors (an empty range grows to the word). */
export function diagnostics(doc, errors) {
  return errors.map((e) => {
    const from = offsetOf(doc, e.line, e.col);
    let to = e.end_line ? offsetOf(doc, e.end_line, e.end_col) : from;
    if (to <= from) {
      const line = doc.lineAt(from);
      const rest = line.text.slice(from - line.from).match(/^[^\s,:{}\[\]]*/)[0].length;
      to = rest ? from + rest : Math.min(line.to, from + 1);
    }
    return {from, to, severity: e.severity === "warning" ? "warning" : "error",
            message: e.hint ? `${e.message}\nhint: ${e.hint}` : e.message, source: e.stage || undefined};
  });
}

/** The argument of `kindInfo` whose key is under column `at` of a flow line, as [name, schema]. */
function argumentAt(text, at, kindInfo) {
  const props = kindInfo.properties || {};
  for (const m of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*:/g)) {
    if (at >= m.index && at <= m.index + m[1].length && props[m[1]]) return [m[1], props[m[1]]];
  }
  return null;
}

/** The card shown over a layer's line: its numbers (when analysed), the kind's and the argument's docs. */
function hoverCard(row, kindInfo, arg) {
  const dom = document.createElement("div");
  dom.className = "hover-card";
  const lines = row ? [
    ["layer", `${row.name} (${row.type})`],
    ["output", formatShape(row.output_shape)],
    ["params", formatCount(row.params)],
    ["MACs", row.macs === null ? "unknown" : formatCount(row.macs)],
    ["receptive field", formatField(row.receptive_field)],
  ] : [];
  if (arg) lines.push([arg[0], arg[1].description || ""]);
  for (const [key, value] of lines) {
    const div = dom.appendChild(document.createElement("div"));
    div.append(Object.assign(document.createElement("b"), {textContent: `${key}: `}), value);
  }
  if (kindInfo && kindInfo.description) {
    dom.appendChild(Object.assign(document.createElement("div"), {className: "doc", textContent: kindInfo.description}));
  }
  return dom;
}

/**
 * The editor in `parent`. `hooks`: onChange(text), onCursorLine(line), onSave(),
 * rowAtLine(line) -> the summary row of that line's entry or null, schemaInfo() -> readSchema() result or null.
 */
export function createEditor(parent, text, hooks) {
  const hover = hoverTooltip((view, pos) => {
    const line = view.state.doc.lineAt(pos);
    const row = hooks.rowAtLine(line.number);
    const info = hooks.schemaInfo();
    const kind = info ? kindOnLine(line.text, info.kinds) : null;
    const arg = kind ? argumentAt(line.text, pos - line.from, info.kinds[kind]) : null;
    if (!row && !kind) return null;
    return {pos: line.from, end: line.to, above: true, create: () => ({
      dom: row ? hoverCard(row, kind && info.kinds[kind], arg) : hoverCard(null, info.kinds[kind], arg),
    })};
  }, {hoverTime: 250});
  const completion = autocompletion({override: [(ctx) => {
    const info = hooks.schemaInfo();
    return info ? completionSource(info)(ctx) : null;
  }]});
  const updates = EditorView.updateListener.of((u) => {
    if (u.docChanged) hooks.onChange(u.state.doc.toString());
    if (u.docChanged || u.selectionSet) hooks.onCursorLine(u.state.doc.lineAt(u.state.selection.main.head).number);
  });
  const saveKey = {key: "Mod-s", preventDefault: true, run: () => { hooks.onSave(); return true; }};
  const state = EditorState.create({doc: text, extensions: [
    lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), drawSelection(), history(),
    indentUnit.of("  "), indentOnInput(), bracketMatching(), closeBrackets(), yaml(),
    syntaxHighlighting(defaultHighlightStyle, {fallback: true}), lintGutter(), EditorView.lineWrapping, completion, hover, updates,
    keymap.of([saveKey, ...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap,
               ...completionKeymap, indentWithTab]),
  ]});
  return new EditorView({state, parent});
}

/** Show the analysis's errors as diagnostics (underlines, gutter marks, messages). */
export function showErrors(view, errors) {
  view.dispatch(setDiagnostics(view.state, diagnostics(view.state.doc, errors)));
}

/** Put the cursor at the start of a 1-based line, scrolled into the middle, and focus. */
export function jumpToLine(view, line) {
  const pos = offsetOf(view.state.doc, line, 1);
  view.dispatch({selection: EditorSelection.cursor(pos), effects: EditorView.scrollIntoView(pos, {y: "center"})});
  view.focus();
}

/** Replace the whole text (a reload from disk, a zoo spec) without losing the editor. */
export function replaceText(view, text) {
  view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}});
}
