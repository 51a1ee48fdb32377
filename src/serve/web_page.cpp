#include "serve/web_page.h"

namespace yolo9k::serve {

namespace {

// Browser contract, which tests/browser relies on: #model, #thresh, #file, #view (canvas),
// #json, #status; <body data-state="idle|busy|done|error">, #view's data-drawn = boxes drawn;
// window.yolo9kColour(class_id) = the [r, g, b] a class's boxes are stroked in. The
// highest-scoring box is drawn last, so it is on top.
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>yolo9k serve</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; color: #222; background: #f4f4f4; }
  header { background: #222; color: #eee; padding: 8px 16px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 16px; margin: 0 8px 0 0; }
  header label { display: flex; gap: 6px; align-items: center; }
  main { display: flex; gap: 16px; padding: 16px; align-items: flex-start; flex-wrap: wrap; }
  #drop { flex: 1 1 480px; min-height: 320px; border: 2px dashed #999; border-radius: 6px; background: #fff;
          display: flex; align-items: center; justify-content: center; position: relative; }
  #drop.over { border-color: #0a7; background: #efe; }
  #drop p { color: #777; }
  #view { max-width: 100%; display: none; }
  aside { flex: 0 1 420px; min-width: 280px; }
  #status { margin: 0 0 8px; min-height: 1.4em; }
  #status.error { color: #b00; font-weight: bold; }
  #json { background: #fff; border: 1px solid #ccc; padding: 8px; max-height: 70vh; overflow: auto; font-size: 12px; white-space: pre-wrap; }
</style>
</head>
<body data-state="idle">
<header>
  <h1>yolo9k serve</h1>
  <label>model <select id="model"></select></label>
  <label>threshold <input id="thresh" type="range" min="0" max="1" step="0.01" value="0.5">
    <output id="thresh-value">0.50</output></label>
  <label>image <input id="file" type="file" accept="image/jpeg,image/png,image/bmp"></label>
</header>
<main>
  <div id="drop"><p id="hint">Drop an image here, or choose one above.</p><canvas id="view"></canvas></div>
  <aside><p id="status">Loading the model list…</p><pre id="json"></pre></aside>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const PALETTE = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                 [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [220, 190, 255],
                 [170, 110, 40], [255, 250, 200], [128, 0, 0], [170, 255, 195], [128, 128, 0], [255, 215, 180],
                 [0, 0, 128], [128, 128, 128]];
window.yolo9kColour = (classId) => PALETTE[((classId % PALETTE.length) + PALETTE.length) % PALETTE.length];
let current = null;  // the File shown
let generation = 0;  // answers to superseded requests are dropped

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function loadModels() {
  try {
    const reply = await fetch("/v1/models");
    if (!reply.ok) throw new Error(`${reply.status} ${reply.statusText}`);
    const body = await reply.json();
    const select = $("model");
    const chosen = select.value;
    select.textContent = "";
    for (const m of body.models) {
      const option = document.createElement("option");
      option.value = m.name;
      option.textContent = m.ready ? `${m.name} (${m.classes} classes, ${m.input_width}x${m.input_height})` : `${m.name} (loading)`;
      select.appendChild(option);
    }
    if (chosen) select.value = chosen;
    if (body.models.some((m) => !m.ready)) setTimeout(loadModels, 1000);  // refresh until all are loaded
    if (!current) setStatus(body.models.length ? "Choose or drop an image." : "No model is served.", !body.models.length);
  } catch (e) {
    setStatus("Cannot list the models: " + e, true);
  }
}

function draw(bitmap, detections) {
  const canvas = $("view");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const g = canvas.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  const line = Math.max(3, Math.round(Math.max(bitmap.width, bitmap.height) / 250));
  g.lineWidth = line;
  g.font = `${Math.max(12, 4 * line)}px system-ui, sans-serif`;
  g.textBaseline = "top";
  const ordered = [...detections].sort((a, b) => a.score - b.score);  // best on top
  for (const d of ordered) {
    const [r, gr, b] = window.yolo9kColour(d.class_id);
    const colour = `rgb(${r}, ${gr}, ${b})`;
    const [x1, y1, x2, y2] = d.box.map(Math.round);
    g.strokeStyle = colour;
    g.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const label = `${d.name} ${(100 * d.score).toFixed(0)}%`;
    const w = g.measureText(label).width + 2 * line, h = 4 * line + 4;
    const ly = y1 - h >= 0 ? y1 - h : y1;
    g.fillStyle = colour;
    g.fillRect(x1 - line / 2, ly, w, h);
    g.fillStyle = (r * 299 + gr * 587 + b * 114) / 1000 > 140 ? "#000" : "#fff";
    g.fillText(label, x1 + line / 2, ly + 2);
  }
  canvas.style.display = "block";
  $("hint").style.display = "none";
  canvas.dataset.drawn = String(detections.length);
}

async function detect() {
  if (!current) return;
  const mine = ++generation;
  const model = $("model").value;
  if (!model) { setStatus("No model to run.", true); return; }
  document.body.dataset.state = "busy";
  setStatus(`Detecting with ${model}…`, false);
  const url = `/v1/models/${encodeURIComponent(model)}/detect?thresh=${encodeURIComponent($("thresh").value)}`;
  try {
    const reply = await fetch(url, {method: "POST", body: current,
                                    headers: {"Content-Type": current.type || "application/octet-stream"}});
    const text = await reply.text();
    if (mine !== generation) return;
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      document.body.dataset.state = "error";
      setStatus(`${reply.status}: the reply is not JSON`, true);
      $("json").textContent = text;
      return;
    }
    $("json").textContent = JSON.stringify(body, null, 2);
    if (!reply.ok) {
      document.body.dataset.state = "error";
      setStatus(`${reply.status}: ${body.error}`, true);
      return;
    }
    const bitmap = await createImageBitmap(current);
    if (mine !== generation) return;
    draw(bitmap, body.detections);
    const n = body.detections.length;
    setStatus(`${n} detection${n === 1 ? "" : "s"} in ${body.timing_ms.total.toFixed(1)} ms (batch of ${body.batch_size}).`, false);
    document.body.dataset.state = "done";
  } catch (e) {
    if (mine !== generation) return;
    document.body.dataset.state = "error";
    setStatus("Request failed: " + e, true);
  }
}

function choose(file) {
  if (!file) return;
  current = file;
  detect();
}

$("file").addEventListener("change", (e) => choose(e.target.files[0]));
$("model").addEventListener("change", detect);
const showThreshold = () => { $("thresh-value").textContent = Number($("thresh").value).toFixed(2); };
$("thresh").addEventListener("input", showThreshold);
$("thresh").addEventListener("change", () => { showThreshold(); detect(); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); choose(e.dataTransfer.files[0]); });
loadModels();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view web_page_html() { return kPage; }

}  // namespace yolo9k::serve
