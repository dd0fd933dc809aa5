// The run's training curves from /api/history (history.csv), redrawn when the file changes:
// one small chart per metric with its validation twin ("loss" with "val_loss").
import {getHistory} from "./api.js";

const REFRESH_MS = 3000;
const COLOURS = {train: "#1f4e79", val: "#d9480f"};

/** Metric name -> {train: column index, val: column index}, from the history's columns. */
export function metricColumns(columns) {
  const metrics = new Map();
  columns.forEach((name, i) => {
    if (name === "epoch") return;
    const val = name.startsWith("val_");
    const base = val ? name.slice(4) : name;
    if (!metrics.has(base)) metrics.set(base, {});
    metrics.get(base)[val ? "val" : "train"] = i;
  });
  return metrics;
}

function chart(title, series, epochs) {
  const canvas = Object.assign(document.createElement("canvas"), {width: 300, height: 150});
  canvas.dataset.metric = title;
  canvas.dataset.epochs = String(epochs.length);
  const ctx = canvas.getContext("2d");
  const values = Object.values(series).flat().filter(Number.isFinite);
  if (!values.length) return canvas;
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const pad = {l: 44, r: 8, t: 16, b: 18};
  const x = (i) => pad.l + (epochs.length > 1 ? (i / (epochs.length - 1)) : 0.5) * (canvas.width - pad.l - pad.r);
  const y = (v) => canvas.height - pad.b - ((v - lo) / (hi - lo || 1)) * (canvas.height - pad.t - pad.b);
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#333";
  ctx.fillText(title, pad.l, 11);
  Object.keys(series).forEach((kind, i) => {
    ctx.fillStyle = COLOURS[kind];
    ctx.fillText(kind === "val" ? "validation" : "training", canvas.width - 130 + i * 60, 11);
  });
  ctx.fillStyle = "#333";
  ctx.fillText(hi.toPrecision(3), 2, pad.t + 4);
  ctx.fillText(lo.toPrecision(3), 2, canvas.height - pad.b);
  ctx.fillText(`epoch ${epochs[0] ?? ""} .. ${epochs[epochs.length - 1] ?? ""}`, pad.l, canvas.height - 4);
  for (const [kind, points] of Object.entries(series)) {
    ctx.strokeStyle = COLOURS[kind];
    ctx.fillStyle = COLOURS[kind];
    ctx.beginPath();
    points.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
    points.forEach((v, i) => ctx.fillRect(x(i) - 1.5, y(v) - 1.5, 3, 3));
  }
  return canvas;
}

/** Draw every metric of a history ({columns, rows}) into `container`. */
export function renderCurves(container, history) {
  const epochIndex = history.columns.indexOf("epoch");
  const epochs = history.rows.map((r, i) => (epochIndex >= 0 ? r[epochIndex] : i + 1));
  const charts = [];
  for (const [metric, cols] of metricColumns(history.columns)) {
    const series = {};
    for (const kind of ["train", "val"]) if (cols[kind] !== undefined) series[kind] = history.rows.map((r) => Number(r[cols[kind]]));
    charts.push(chart(metric, series, epochs));
  }
  container.replaceChildren(...charts);
  if (!charts.length) container.textContent = "no epochs recorded yet";
}

/** Fetch the history now and every few seconds; redraw only when history.csv changed. */
export function startCurves(container) {
  let mtime = null;
  const refresh = async () => {
    const {status, body} = await getHistory();
    if (status !== 200) container.textContent = body.error || "no history";
    else if (body.mtime !== mtime) {
      mtime = body.mtime;
      renderCurves(container, body);
    }
  };
  refresh();
  return setInterval(refresh, REFRESH_MS);
}
