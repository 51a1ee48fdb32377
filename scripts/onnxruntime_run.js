// Runs an ONNX model in ONNX Runtime (npm onnxruntime-node; NODE_PATH from scripts/onnxruntime.sh)
// for yolo9k's tests and `yolo9k bench --baselines onnxruntime`.
//   node onnxruntime_run.js run MODEL INPUT.bin N,C,H,W OUTDIR [THREADS]
//     feeds the raw little-endian floats of INPUT.bin; writes OUTDIR/<output>.bin and
//     OUTDIR/outputs.json ({name: dims}).
//   node onnxruntime_run.js bench MODEL N,C,H,W ITERATIONS THREADS
//     prints {"ms": [...]} for ITERATIONS timed runs after two warm-up runs.
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

const [mode, ...args] = process.argv.slice(2);
const done = mode === 'run' ? run(args[0], args[1], dims(args[2]), args[3], Number(args[4] || 0))
           : mode === 'bench' ? bench(args[0], dims(args[1]), Number(args[2]), Number(args[3]))
           : Promise.reject(new Error('usage: run MODEL INPUT DIMS OUTDIR [THREADS] | bench MODEL DIMS ITERATIONS THREADS'));
done.catch((e) => { process.stderr.write(String(e && e.message || e) + '\n'); process.exit(1); });
