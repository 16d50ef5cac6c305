#!/usr/bin/env node
// Times ONNX Runtime (onnxruntime-node, CPU execution provider) on an ONNX model,
// the peer of `dnnc bench MODEL.onnx`: same model, same thread count, random
// float32 inputs of the model's static input shape, median latency of --runs runs
// after --warmup untimed runs. See bench/README.md.
//
//   node bench/peers/ort_bench.js MODEL.onnx [--threads N] [--runs N] [--warmup N] [--json]
//
// Install once: cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm install
'use strict';

const fs = require('fs');
const path = require('path');

function usage(code) {
  const msg =
    'usage: node ort_bench.js MODEL.onnx [--threads N] [--runs N] [--warmup N] [--json]\n' +
    '  --threads N   intraOpNumThreads (default 1); interOpNumThreads is 1\n' +
    '  --runs N      timed runs (default 20)\n' +
    '  --warmup N    untimed runs first (default 3)\n' +
    '  --json        one JSON object instead of text\n';
  (code ? process.stderr : process.stdout).write(msg);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { model: null, threads: 1, runs: 20, warmup: 3, json: false };
  const intArg = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < (name === '--warmup' ? 0 : 1)) {
      process.stderr.write(`ort_bench: ${name} needs a positive integer, not '${v}'\n`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage(0);
    else if (a === '--json') o.json = true;
    else if (a === '--threads' || a === '--runs' || a === '--warmup') {
      if (i + 1 >= argv.length) usage(2);
      o[a.slice(2)] = intArg(a, argv[++i]);
    } else if (a.startsWith('-')) {
      process.stderr.write(`ort_bench: unknown option '${a}'\n`);
      usage(2);
    } else if (o.model === null) o.model = a;
    else usage(2);
  }
  if (o.model === null) usage(2);
  return o;
}

// xorshift32: deterministic inputs in [-1, 1), no dependency on Math.random.
function fillRandom(arr, seed) {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < arr.length; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    arr[i] = (s / 4294967296) * 2 - 1;
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.model)) {
    process.stderr.write(`ort_bench: ${o.model}: no such file\n`);
    process.exit(1);
  }
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    process.stderr.write('ort_bench: onnxruntime-node is not installed; run\n' +
      `  cd ${__dirname} && ONNXRUNTIME_NODE_INSTALL=skip npm install\n`);
    process.exit(1);
  }
  const version = require(path.join(path.dirname(require.resolve('onnxruntime-node')),
    '..', 'package.json')).version;

  const opts = {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(o.model, opts);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const feeds = {};
  const inputs = [];
  session.inputMetadata.forEach((md, k) => {
    if (!md.isTensor) throw new Error(`input '${md.name}' is not a tensor`);
    if (md.type !== 'float32') throw new Error(`input '${md.name}' is ${md.type}, not float32`);
    const dims = md.shape.map((d) => {
      if (typeof d !== 'number' || d < 0)
        throw new Error(`input '${md.name}' has no static shape: [${md.shape.join(', ')}]`);
      return d;
    });
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    fillRandom(data, 0x9e3779b9 + k);
    feeds[md.name] = new ort.Tensor('float32', data, dims);
    inputs.push({ name: md.name, shape: dims });
  });

  for (let i = 0; i < o.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < o.runs; i++) {
    const t = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const med = median(times);
  if (o.json) {
    process.stdout.write(JSON.stringify({
      runtime: 'onnxruntime-node',
      version,
      model: o.model,
      threads: o.threads,
      runs: o.runs,
      warmup: o.warmup,
      inputs,
      session_create_ms: +loadMs.toFixed(1),
      median_ms: +med.toFixed(3),
      min_ms: +Math.min(...times).toFixed(3),
      max_ms: +Math.max(...times).toFixed(3),
    }) + '\n');
  } else {
    process.stdout.write(
      `${path.basename(o.model)}: onnxruntime-node ${version}, ${o.threads} thread(s), ` +
      `median ${med.toFixed(3)} ms of ${o.runs} runs (min ${Math.min(...times).toFixed(3)}, ` +
      `max ${Math.max(...times).toFixed(3)}), session created in ${loadMs.toFixed(0)} ms\n`);
  }
  await session.release();
}

main().catch((e) => {
  process.stderr.write(`ort_bench: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
