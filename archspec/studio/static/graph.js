// The network picture: the server's SVG (shapes on the edges, blocks as clusters). Each box is
// a <g> whose <title> starts with the layer's name ("c1: Conv2D 5x5, 6 -> [28, 28, 6]"), which
// is how a click finds the layer and a cursor move highlights it.
import {rowMatches} from "./table.js";

/** The layer name of a box's <g>, from its title, or null. */
export function nodeName(g) {
  const title = g.querySelector(":scope > title");
  if (!title) return null;
  const text = title.textContent;
  const colon = text.indexOf(":");
  return colon > 0 ? text.slice(0, colon) : null;
}

/** Show `svgText` in `container`; onNode(name) is called when a box is clicked. */
export function renderGraph(container, svgText, onNode) {
  if (!svgText) {
    container.replaceChildren();
    return;
  }
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return;  // a parse error document: keep the last good picture
  for (const g of svg.querySelectorAll("g")) {
    const name = nodeName(g);
    if (name && g.querySelector(":scope > rect")) {
      g.classList.add("node");
      g.dataset.name = name;
    }
  }
  container.replaceChildren(document.importNode(svg, true));
  container.onclick = (event) => {
    const g = event.target.closest("g.node");
    if (g) onNode(g.dataset.name);
  };
}

/** Mark the box of one layer (or every box of a block instance) as current (and scroll it into view when `scroll`). */
export function highlightNode(container, name, scroll = true) {
  let found = null;
  for (const g of container.querySelectorAll("g.node")) {
    const on = rowMatches(g.dataset.name, name);
    g.classList.toggle("current", on);
    if (on && !found) found = g;
  }
  if (found && scroll) found.scrollIntoView({block: "nearest", inline: "nearest"});
}
