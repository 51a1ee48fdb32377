// Runs an ONNX model in ONNX Runtime (npm onnxruntime-node; NODE_PATH from scripts/onnxruntime.sh)
// for yolo9k's tests and `yolo9k bench --baselines onnxruntime`.
//   node onnxruntime_run.js run MODEL INPUT.bin N,C,H,W OUTDIR [THREADS]
//     feeds the raw little-endian floats of INPUT.bin; writes OUTDIR/<output>.bin and
//     OUTDIR/outputs.json ({name: dims}).
//   node onnxruntime_run.js bench MODEL N,C,H,W ITERATIONS THREADS
//     prints {"ms": [...]} for ITERATIONS timed runs after two warm-up runs.
//   node onnxruntime_run.js detect MODEL INPUT.bin IMAGE_W IMAGE_H THRESH NMS
//     a model exported with --decode boxes, on one letterboxed image (INPUT.bin, 1 x 3 x H x W):
//     the README's Python steps (scores = objectness x class probability above THRESH,
//     per-class NMS, boxes mapped back through darknet's letterbox) in JavaScript; prints
//     [{class_id, score, box: [x1, y1, x2, y2]}] in pixels of the IMAGE_W x IMAGE_H image.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function session(model, threads) {
  const options = { graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1 };
  if (threads > 0) options.intraOpNumThreads = threads;
  return ort.InferenceSession.create(model, options);
}

function dims(text) { return text.split(',').map(Number); }

async function run(model, inputPath, shape, outDir, threads) {
  const s = await session(model, threads);
  const bytes = fs.readFileSync(inputPath);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, shape) });
  const manifest = {};
  for (const name of s.outputNames) {
    const t = out[name];
    fs.writeFileSync(path.join(outDir, name + '.bin'), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    manifest[name] = t.dims;
  }
  fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify(manifest));
}

async function bench(model, shape, iterations, threads) {
  const s = await session(model, threads);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; ++i) data[i] = ((i * 2654435761) % 1000) / 1000;
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', data, shape) };
  for (let i = 0; i < 2; ++i) await s.run(feeds);
  const ms = [];
  for (let i = 0; i < iterations; ++i) {
    const t0 = process.hrtime.bigint();
    await s.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  process.stdout.write(JSON.stringify({ ms, version: ort.env.versions.node }) + '\n');
}

// darknet's letterbox fit: the side that limits is scaled to the input, the other by integer division.
function letterbox(imgW, imgH, netW, netH) {
  return netW / imgW < netH / imgH ? [netW, Math.floor(imgH * netW / imgW)] : [Math.floor(imgW * netH / imgH), netH];
}

function iou(a, b) {  // centre/size boxes
  const ow = Math.min(a[0] + a[2] / 2, b[0] + b[2] / 2) - Math.max(a[0] - a[2] / 2, b[0] - b[2] / 2);
  const oh = Math.min(a[1] + a[3] / 2, b[1] + b[3] / 2) - Math.max(a[1] - a[3] / 2, b[1] - b[3] / 2);
  if (ow <= 0 || oh <= 0) return 0;
  const inter = ow * oh;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

async function detect(model, inputPath, imgW, imgH, thresh, nms) {
  const s = await session(model, 2);
  const bytes = fs.readFileSync(inputPath);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const side = Math.round(Math.sqrt(data.length / 3));  // the exported input is square
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, side, side]) });
  const boxes = out.boxes.data, obj = out.objectness.data, probs = out.class_probs.data;
  const n = obj.length, k = probs.length / n;
  const [newW, newH] = letterbox(imgW, imgH, side, side);
  const offX = (side - newW) / 2 / side, offY = (side - newH) / 2 / side;
  const rel = [], score = [];
  for (let i = 0; i < n; ++i) {  // back from the letterboxed input to the image (relative units)
    rel.push([(boxes[4 * i] - offX) / (newW / side), (boxes[4 * i + 1] - offY) / (newH / side),
              boxes[4 * i + 2] * side / newW, boxes[4 * i + 3] * side / newH]);
    const row = [];
    for (let j = 0; j < k; ++j) { const p = Math.fround(obj[i] * probs[i * k + j]); row.push(p > thresh ? p : 0); }
    score.push(row);
  }
  for (let j = 0; j < k; ++j) {  // per class, strongest first: drop weaker boxes that overlap a kept one
    const order = [...Array(n).keys()].filter((i) => score[i][j] > 0).sort((a, b) => score[b][j] - score[a][j]);
    for (let x = 0; x < order.length; ++x) {
      if (score[order[x]][j] === 0) continue;
      for (let y = x + 1; y < order.length; ++y)
        if (iou(rel[order[x]], rel[order[y]]) > nms) score[order[y]][j] = 0;
    }
  }
  const clamp = (v, size) => Math.min(Math.max(v, 0), size - 1);
  const found = [];
  for (let i = 0; i < n; ++i)
    for (let j = 0; j < k; ++j)
      if (score[i][j] > thresh) {
        const [x, y, w, h] = rel[i];
        found.push({ class_id: j, score: score[i][j],
                     box: [clamp((x - w / 2) * imgW, imgW), clamp((y - h / 2) * imgH, imgH),
                           clamp((x + w / 2) * imgW, imgW), clamp((y + h / 2) * imgH, imgH)] });
      }
  process.stdout.write(JSON.stringify(found) + '\n');
}

const [mode, ...args] = process.argv.slice(2);
const done = mode === 'run' ? run(args[0], args[1], dims(args[2]), args[3], Number(args[4] || 0))
           : mode === 'bench' ? bench(args[0], dims(args[1]), Number(args[2]), Number(args[3]))
           : mode === 'detect' ? detect(args[0], args[1], Number(args[2]), Number(args[3]), Number(args[4]), Number(args[5]))
           : Promise.reject(new Error('usage: run MODEL INPUT DIMS OUTDIR [THREADS] | bench MODEL DIMS ITERATIONS THREADS | detect MODEL INPUT W H THRESH NMS'));
done.catch((e) => { process.stderr.write(String(e && e.message || e) + '\n'); process.exit(1); });
