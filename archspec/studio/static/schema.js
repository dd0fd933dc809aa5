// Completion from the published JSON Schema (/api/schema): layer kinds where an entry starts,
// a kind's arguments inside its mapping (flow `{...}` or indented), an argument's enum values
// after its key, an entry's own keys (name, inputs, repeat...) and the top-level keys.

const KEY = /[A-Za-z_][A-Za-z0-9_]*$/;

/** The parts of the schema completion reads, with the kinds sorted by name. */
export function readSchema(schema) {
  const defs = schema.$defs || {};
  const kinds = defs.layer || {};
  const entryProps = ((defs.entry && defs.entry.anyOf) || []).find((s) => s.properties);
  return {
    kinds,
    kindNames: Object.keys(kinds).sort(),
    entryKeys: entryProps ? entryProps.properties : {},
    topKeys: schema.properties || {},
  };
}

/** The values an argument's schema allows by name (enums and booleans), for completion. */
export function enumValues(argSchema) {
  const found = [];
  const visit = (s) => {
    if (!s || typeof s !== "object") return;
    if (Array.isArray(s.enum)) found.push(...s.enum.filter((v) => v !== null).map(String));
    if (s.type === "boolean") found.push("true", "false");
    for (const key of ["anyOf", "oneOf"]) (s[key] || []).forEach(visit);
  };
  visit(argSchema);
  return [...new Set(found)];
}

function indentOf(line) {
  return line.match(/^\s*/)[0].length;
}

/** The kind whose flow mapping `Kind: {` is still open before the cursor on this line. */
function openFlowKind(before, kinds) {
  let depth = 0;
  for (let i = before.length - 1; i >= 0; i--) {
    const ch = before[i];
    if (ch === "}") depth++;
    else if (ch === "{") {
      if (depth > 0) { depth--; continue; }
      const m = before.slice(0, i).match(/([A-Za-z_][A-Za-z0-9_]*)\s*:\s*$/);
      return m && kinds[m[1]] ? m[1] : null;
    }
  }
  return null;
}

/** The kind owning an indented argument line: the nearest line above, less indented, `Kind:`. */
function blockKind(doc, lineNo, indent, kinds) {
  for (let n = lineNo - 1; n >= 1 && n > lineNo - 50; n--) {
    const text = doc.line(n).text;
    if (!text.trim() || text.trim().startsWith("#")) continue;
    const own = indentOf(text.replace(/^(\s*)-\s/, "$1  "));
    if (own >= indent) continue;
    const m = text.match(/^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(#.*)?$/);
    return m && kinds[m[1]] ? m[1] : null;
  }
  return null;
}

function options(names, describe, apply) {
  return names.map((name) => ({label: name, info: describe(name) || undefined, apply: apply ? apply(name) : name}));
}

function argOptions(info, kind) {
  const props = (info.kinds[kind] && info.kinds[kind].properties) || {};
  return options(Object.keys(props), (a) => props[a].description, (a) => `${a}: `);
}

/** A CodeMirror completion source over `info` (from readSchema). */
export function completionSource(info) {
  return (context) => {
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    const word = before.match(KEY);
    const from = word ? context.pos - word[0].length : context.pos;
    const result = (opts) => (opts.length ? {from, options: opts, validFor: /^[A-Za-z0-9_]*$/} : null);
    if (!word && !context.explicit && !/[{,:]\s$/.test(before)) return null;

    const flowKind = openFlowKind(before, info.kinds);
    if (flowKind) {
      const value = before.match(/([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([A-Za-z0-9_]*)$/);
      if (value && value[1] !== flowKind) {
        const arg = (info.kinds[flowKind].properties || {})[value[1]];
        return result(options(enumValues(arg), () => ""));
      }
      if (/[{,]\s*[A-Za-z0-9_]*$/.test(before)) return result(argOptions(info, flowKind));
      return null;
    }
    if (/^\s*-\s+[A-Za-z0-9_]*$/.test(before)) {
      return result(options(info.kindNames, (k) => info.kinds[k].description));
    }
    const valueLine = before.match(/^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:\s+([A-Za-z0-9_]*)$/);
    const keyLine = before.match(/^(\s*)[A-Za-z0-9_]*$/);
    const indent = (valueLine || keyLine) ? (valueLine || keyLine)[1].length : -1;
    if (indent === 0 && keyLine) {
      return result(options(Object.keys(info.topKeys), (k) => info.topKeys[k].description, (k) => `${k}: `));
    }
    if (indent > 0) {
      const kind = blockKind(context.state.doc, line.number, indent, info.kinds);
      if (kind && valueLine) {
        const arg = (info.kinds[kind].properties || {})[valueLine[2]];
        return result(options(enumValues(arg), () => ""));
      }
      if (kind) return result(argOptions(info, kind));
      if (keyLine) {
        const keys = Object.keys(info.entryKeys);
        return result(options(keys, (k) => info.entryKeys[k].description, (k) => `${k}: `)
          .concat(options(info.kindNames, (k) => info.kinds[k].description)));
      }
    }
    return null;
  };
}

/** The layer kind named on a line (`- Conv2D: {...}` or `- Flatten`), or null. */
export function kindOnLine(text, kinds) {
  const m = text.match(/^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(:|$|#)/);
  return m && kinds[m[1]] ? m[1] : null;
}
