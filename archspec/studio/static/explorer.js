// The explorer (a run directory): draw a digit or drop an image, and watch the prediction and
// every convolutional layer's feature maps, laid out by the network's stages, update.
// A dropped image keeps its own size and aspect on the pad (up to MAX_SIDE a side), so the
// server predicts on the image itself, as `archspec predict` would on the file: a detection,
// instance-segmentation or keypoints run answers with predict's picture of it, boxes (or
// keypoints) in the image's pixels, shown with a list of what was found.
import * as api from "./api.js";
import {startCurves} from "./curves.js";
import {formatShape} from "./table.js";

// While the user draws, at most one prediction request is in flight and a new one starts
// no sooner than this after the last: the maps follow the pen without queueing requests.
const THROTTLE_MS = 120;
const PAD_SIDE = 280;   // the blank pad's pixels, and the longest side it is shown at
const MAX_SIDE = 1024;  // a larger dropped image is scaled down to this longest side (aspect kept)
const $ = (id) => document.getElementById(id);

const state = {run: null, inFlight: false, again: false, last: -Infinity, timer: null, predictions: 0};

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = `status ${kind}`;
}

/** The pad as a width x height picture, shown within PAD_SIDE css pixels, aspect kept. */
function sizePad(pad, width, height) {
  pad.width = width;
  pad.height = height;
  const shown = PAD_SIDE / Math.max(width, height);
  Object.assign(pad.style, {width: `${Math.round(width * shown)}px`, height: `${Math.round(height * shown)}px`});
}

function clearPad(pad) {
  const ctx = pad.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
}

const round = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));

/** A small table: a header row, then one row per item. */
function table(className, header, rows) {
  const t = Object.assign(document.createElement("table"), {className});
  const head = t.appendChild(document.createElement("tr"));
  for (const text of header) head.appendChild(Object.assign(document.createElement("th"), {textContent: text}));
  for (const cells of rows) {
    const tr = t.appendChild(document.createElement("tr"));
    for (const text of cells) tr.appendChild(Object.assign(document.createElement("td"), {textContent: text}));
  }
  return t;
}

/** Detections (class, score, box in the image's pixels) or keypoints (name, x, y, peak) as a table. */
function foundList(prediction) {
  if (prediction.detections) {
    if (!prediction.detections.length) {
      return Object.assign(document.createElement("p"), {className: "found",
        textContent: `no box scores ${prediction.threshold} or more`});
    }
    const masks = prediction.task === "instance_segmentation";
    return table("found", ["class", "score", "box x1, y1 – x2, y2", ...(masks ? ["area"] : [])],
      prediction.detections.map((d) => [d.class, d.score.toFixed(2),
        `${round(d.box[0])}, ${round(d.box[1])} – ${round(d.box[2])}, ${round(d.box[3])}`,
        ...(masks ? [`${d.area} px`] : [])]));
  }
  return table("found", ["keypoint", "x", "y", "peak"],
    prediction.keypoints.map((k) => [k.name, round(k.x), round(k.y), k.peak.toFixed(2)]));
}

/** A prediction as the task gives it: bars of top classes, a mask picture, predict's picture of
 * the boxes, masks or keypoints with a list of them, or values. */
function renderPrediction(prediction) {
  const box = $("prediction");
  box.replaceChildren();
  if (prediction.top) {
    for (const [label, prob] of prediction.top) {
      const bar = box.appendChild(document.createElement("div"));
      bar.className = "bar";
      const fill = Object.assign(document.createElement("span"), {className: "fill"});
      fill.style.width = `${Math.round(prob * 160)}px`;
      bar.append(Object.assign(document.createElement("span"), {className: "label", textContent: String(label).padStart(3)}),
                 fill, `${(prob * 100).toFixed(1)}%`);
    }
  }
  if (prediction.mask_png) box.appendChild(Object.assign(document.createElement("img"), {src: prediction.mask_png, alt: "mask"}));
  if (prediction.picture_png) {
    const [height, width] = prediction.image_size;
    const picture = Object.assign(document.createElement("img"), {src: prediction.picture_png, className: "picture",
      alt: `${prediction.task} of the ${width}x${height} image`});
    picture.dataset.scale = String(prediction.scale);
    box.append(picture, foundList(prediction));
  }
  if (prediction.output) {
    box.appendChild(Object.assign(document.createElement("pre"), {textContent: `output: ${JSON.stringify(prediction.output)}`}));
  }
}

/** Which channel of a tile grid the mouse is over (null in the gaps or past the last channel). */
export function channelAt(img, map, event) {
  const rect = img.getBoundingClientRect();
  const rows = Math.ceil(map.channels / map.columns);
  const col = Math.floor(((event.clientX - rect.left) / rect.width) * map.columns);
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * rows);
  const channel = row * map.columns + col;
  return col >= 0 && col < map.columns && row >= 0 && channel < map.channels ? channel : null;
}

function mapFigure(map) {
  const figure = Object.assign(document.createElement("figure"), {className: "map"});
  const img = figure.appendChild(document.createElement("img"));
  img.src = map.png;
  img.alt = `${map.layer} feature maps`;
  img.dataset.layer = map.layer;
  const rows = Math.ceil(map.channels / map.columns);
  const scale = Math.max(1, Math.floor(Math.min(4, 360 / (map.columns * map.tile[1]), 360 / (rows * map.tile[0]))));
  img.onload = () => { img.style.width = `${img.naturalWidth * scale}px`; };
  const info = $("map-info");
  img.onmousemove = (event) => {
    const channel = channelAt(img, map, event);
    if (channel === null) { info.style.display = "none"; return; }
    info.textContent = `${map.layer} channel ${channel + 1} of ${map.channels} · values ${map.min.toFixed(3)} .. ` +
      `${map.max.toFixed(3)} · receptive field ${map.rf ?? "?"} px of the input`;
    Object.assign(info.style, {display: "block", left: `${event.clientX + 14}px`, top: `${event.clientY + 14}px`});
  };
  img.onmouseleave = () => { info.style.display = "none"; };
  figure.appendChild(Object.assign(document.createElement("figcaption"),
    {textContent: `${map.layer} ${formatShape(map.shape)}`}));
  return figure;
}

/** Feature maps grouped by the stage of their layer (from /api/run), in network order. */
function renderMaps(maps) {
  const stageOf = new Map((state.run.layers || []).map((l) => [l.name, l.stage]));
  const stages = new Map();
  for (const map of maps) {
    const stage = stageOf.get(map.layer) ?? "";
    if (!stages.has(stage)) stages.set(stage, []);
    stages.get(stage).push(map);
  }
  $("maps").replaceChildren(...[...stages].map(([stage, group]) => {
    const div = Object.assign(document.createElement("div"), {className: "stage"});
    div.appendChild(Object.assign(document.createElement("h3"), {textContent: stage ? `${stage} maps` : ""}));
    div.append(...group.map(mapFigure));
    return div;
  }));
}

function showFilters(png) {
  const img = $("filters");
  img.hidden = !png;
  if (!png || img.src === png) return;
  img.onload = () => { img.style.width = `${Math.min(280, img.naturalWidth * 4)}px`; };  // a few pixels per weight
  img.src = png;
}

async function predictNow(pad) {
  state.timer = null;
  if (state.inFlight) { state.again = true; return; }
  state.inFlight = true;
  state.last = performance.now();
  const {status, body} = await withRetries(() => api.predict(pad.toDataURL("image/png")));
  state.inFlight = false;
  if (status === 200) {
    renderPrediction(body.prediction || {});
    renderMaps(body.feature_maps || []);
    showFilters(body.filters_png);
    state.predictions += 1;
    document.body.dataset.predictions = String(state.predictions);
    setStatus("ready");
  } else {
    setStatus(api.errorText(body), "error");
  }
  if (state.again) { state.again = false; predictNow(pad); }
}

function schedulePrediction(pad) {
  if (state.timer) return;
  const wait = Math.max(0, state.last + THROTTLE_MS - performance.now());
  state.timer = setTimeout(() => predictNow(pad), wait);
}

function enableDrawing(pad) {
  const ctx = pad.getContext("2d");
  let drawing = false;
  const point = (e) => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.onpointerdown = (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...point(e));
  };
  pad.onpointermove = (e) => {
    if (!drawing) return;
    // a pen as thick as the strokes of the training digits once the pad is scaled to the input
    Object.assign(ctx, {strokeStyle: "#fff", lineWidth: Math.max(pad.width, pad.height) / 8, lineCap: "round",
                        lineJoin: "round"});
    ctx.lineTo(...point(e));
    ctx.stroke();
    schedulePrediction(pad);
  };
  pad.onpointerup = () => { drawing = false; schedulePrediction(pad); };
  $("clear").onclick = () => { sizePad(pad, PAD_SIDE, PAD_SIDE); clearPad(pad); schedulePrediction(pad); };
}

function enableDrop(pad) {
  pad.ondragover = (e) => { e.preventDefault(); pad.classList.add("drop"); };
  pad.ondragleave = () => pad.classList.remove("drop");
  pad.ondrop = (e) => {
    e.preventDefault();
    pad.classList.remove("drop");
    const file = e.dataTransfer.files[0];
    if (!file || !file.type.startsWith("image/")) return setStatus("drop an image file (PNG, JPEG...)", "error");
    const img = new Image();
    img.onload = () => {
      // the image at its own size (a large one scaled down, aspect kept): what predict would see of the file
      const shrink = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
      sizePad(pad, Math.max(1, Math.round(img.naturalWidth * shrink)), Math.max(1, Math.round(img.naturalHeight * shrink)));
      clearPad(pad);
      pad.getContext("2d").drawImage(img, 0, 0, pad.width, pad.height);
      URL.revokeObjectURL(img.src);
      schedulePrediction(pad);
    };
    img.src = URL.createObjectURL(file);
  };
}

// The first request loads Keras and the model, which on a slow machine outlasts the server's
// time limit (503) while the loading goes on in its worker: ask again a few times.
const RETRIES = 8;
const RETRY_MS = 2000;

async function withRetries(call) {
  let answer = await call();
  for (let i = 0; i < RETRIES && answer.status === 503; i++) {
    setStatus("loading the run's model (Keras starts on the first request)…");
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    answer = await call();
  }
  return answer;
}

export async function startExplorer(session) {
  $("save").hidden = true;
  setStatus("loading the run's model…");
  const {status, body} = await withRetries(api.getRun);
  if (status !== 200) return setStatus(api.errorText(body), "error");
  state.run = body;
  $("file-name").textContent = `${body.spec_name} · ${body.task} · input ${formatShape(body.input_shape)}`;
  const pad = $("pad");
  sizePad(pad, PAD_SIDE, PAD_SIDE);
  clearPad(pad);
  enableDrawing(pad);
  enableDrop(pad);
  if (body.picture) $("draw-pane").querySelector("h2").textContent = "drop an image, or draw";
  setStatus(body.picture ? "drop an image on the black square (or draw on it)" : "draw on the black square");
  window.studio = {pad, state};  // for the browser tests
  startCurves($("curves"));
  predictNow(pad);  // the blank pad's maps, so the page is never empty
}
