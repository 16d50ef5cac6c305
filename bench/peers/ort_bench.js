#!/usr/bin/env node
// Times ONNX Runtime (onnxruntime-node, CPU execution provider) on an ONNX model,
// the peer of `dnnc bench MODEL.onnx`: same model, same thread count, random
// float32 inputs of the model's static input shape, median latency of --runs runs
// after --warmup untimed runs. See bench/README.md.
//
//   node bench/peers/ort_bench.js MODEL.onnx [--threads N] [--runs N] [--warmup N] [--json]
//                                 [--profile]
//
// --profile turns on ONNX Runtime's own profiler (session options enableProfiling
// and profileFilePrefix): it writes a Chrome-trace JSON with the duration of every
// node in every run, which this script reads back, keeps to the timed runs, and
// reduces to the median time of each node (JSON "nodes", in execution order; text:
// a table). The trace file is deleted unless --profile-keep DIR says where to keep
// it. The profiler adds its own cost to every run: the whole-run times of a
// profiled process are not the unprofiled ones.
//
// Install once: cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip npm install
'use strict';

const fs = require('fs');
const path = require('path');

function usage(code) {
  const msg =
    'usage: node ort_bench.js MODEL.onnx [--threads N] [--runs N] [--warmup N] [--json]\n' +
    '                         [--profile [--profile-keep DIR]]\n' +
    '  --threads N   intraOpNumThreads (default 1); interOpNumThreads is 1\n' +
    '  --runs N      timed runs (default 20)\n' +
    '  --warmup N    untimed runs first (default 3)\n' +
    '  --json        one JSON object instead of text\n' +
    '  --profile     ONNX Runtime\'s per-node profile: median time of every node over\n' +
    '                the timed runs (JSON "nodes")\n' +
    '  --profile-keep DIR  keep the profiler\'s trace file in DIR (default: deleted)\n';
  (code ? process.stderr : process.stdout).write(msg);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { model: null, threads: 1, runs: 20, warmup: 3, json: false, profile: false,
    profileKeep: null };
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
    else if (a === '--profile') o.profile = true;
    else if (a === '--profile-keep') {
      if (i + 1 >= argv.length) usage(2);
      o.profileKeep = argv[++i];
    }
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
  if (o.profileKeep !== null && !o.profile) {
    process.stderr.write('ort_bench: --profile-keep needs --profile\n');
    process.exit(2);
  }
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

// The profiler's trace: a JSON array of Chrome trace events. Every run is a
// 'model_run' event (cat 'Session'); every kernel a cat 'Node' event named
// '<node>_kernel_time' with its duration in microseconds and, in args, op_name and
// the input and output shapes. The last `runs` model_run events are the timed runs;
// a node's time in a run is the sum of its events inside that run's window.
function perNode(trace, runs) {
  const runEvents = trace.filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .sort((a, b) => a.ts - b.ts);
  if (runEvents.length < runs)
    throw new Error(`the profile holds ${runEvents.length} runs, expected at least ${runs}`);
  const timed = runEvents.slice(runEvents.length - runs);
  const nodes = new Map(); // name -> {name, op, shapes, perRun: [us per timed run]}
  const order = [];
  const nodeEvents = trace.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'))
    .sort((a, b) => a.ts - b.ts);
  const shapeOf = (list) => (list || []).map((t) => {
    const k = Object.keys(t)[0];
    return k === undefined ? [] : t[k];
  });
  let r = 0;
  for (const e of nodeEvents) {
    while (r < timed.length && e.ts > timed[r].ts + timed[r].dur) r++;
    if (r >= timed.length) break;
    if (e.ts < timed[r].ts) continue; // a warm-up run
    const name = e.name.slice(0, -'_kernel_time'.length);
    let n = nodes.get(name);
    if (!n) {
      const args = e.args || {};
      n = { name, op: args.op_name || '?', provider: args.provider || '',
        input_shapes: shapeOf(args.input_type_shape), output_shapes: shapeOf(args.output_type_shape),
        perRun: new Array(runs).fill(0) };
      nodes.set(name, n);
      order.push(n);
    }
    n.perRun[r] += e.dur;
  }
  return order.map((n) => ({ name: n.name, op: n.op, provider: n.provider,
    input_shapes: n.input_shapes, output_shapes: n.output_shapes,
    ms: +(median(n.perRun) / 1e3).toFixed(4) }));
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
  let profDir = null;
  let profPrefix = null;
  if (o.profile) {
    profDir = o.profileKeep || fs.mkdtempSync(path.join(require('os').tmpdir(), 'ort-profile-'));
    fs.mkdirSync(profDir, { recursive: true });
    profPrefix = `ort-${path.basename(o.model, '.onnx')}-t${o.threads}-${process.pid}`;
    opts.enableProfiling = true;
    opts.profileFilePrefix = path.join(profDir, profPrefix);
  }
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
  let nodes = null;
  let traceFile = null;
  if (o.profile) {
    session.endProfiling(); // writes PREFIX_<date>.json
    const files = fs.readdirSync(profDir).filter((f) => f.startsWith(profPrefix + '_') &&
      f.endsWith('.json'));
    if (files.length !== 1)
      throw new Error(`expected one profile ${profPrefix}_*.json in ${profDir}, found ${files.length}`);
    traceFile = path.join(profDir, files[0]);
    nodes = perNode(JSON.parse(fs.readFileSync(traceFile, 'utf8')), o.runs);
    if (!o.profileKeep) {
      fs.unlinkSync(traceFile);
      fs.rmdirSync(profDir);
      traceFile = null;
    }
  }
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
      ...(nodes ? { profiled: true, profile_file: traceFile, nodes } : {}),
    }) + '\n');
  } else {
    process.stdout.write(
      `${path.basename(o.model)}: onnxruntime-node ${version}, ${o.threads} thread(s), ` +
      `median ${med.toFixed(3)} ms of ${o.runs} runs (min ${Math.min(...times).toFixed(3)}, ` +
      `max ${Math.max(...times).toFixed(3)}), session created in ${loadMs.toFixed(0)} ms` +
      (nodes ? ' (profiled)' : '') + '\n');
    if (nodes) {
      const total = nodes.reduce((a, n) => a + n.ms, 0);
      process.stdout.write(`\n${'node'.padEnd(48)} ${'op'.padEnd(18)} ${'ms'.padStart(10)} ` +
        `${'share'.padStart(7)}\n`);
      for (const n of nodes)
        process.stdout.write(`${n.name.slice(0, 48).padEnd(48)} ${n.op.slice(0, 18).padEnd(18)} ` +
          `${n.ms.toFixed(3).padStart(10)} ${(100 * n.ms / total).toFixed(1).padStart(6)}%\n`);
      if (traceFile) process.stdout.write(`\ntrace: ${traceFile}\n`);
    }
  }
  await session.release();
}

main().catch((e) => {
  process.stderr.write(`ort_bench: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
