#!/usr/bin/env node
// Paired runs: ONNX Runtime and a dnnc bundle, one run of each per round, in
// one process, so that both meet the host's load of that moment. On a shared
// machine the load comes and goes within seconds; timed in separate processes
// (bench/run.sh's main table), the two see different loads, and a ratio of
// their medians says as much about the load as about the code. Here each
// round gives a ratio of its own (dnnc / ORT), and bench/paired.py groups the
// rounds by how loaded the host was.
//
//   node bench/peers/paired.js MODEL.onnx ADDON.node WEIGHTS [--threads N]
//                              [--rounds N] [--warmup N] [--gap-ms N]
//
// ADDON.node is bench/peers/dnnc_addon.c built around MODEL's bundle (run.sh
// --paired builds it), WEIGHTS that bundle's .weights file. ONNX Runtime runs
// with ort_bench.js's session options (CPU execution provider, intraOpNumThreads
// N, graph optimisation 'all', sequential). The order within a round
// alternates (ORT first in even rounds, dnnc first in odd ones), and with
// more than one thread the runs are --gap-ms apart (default 100), so that
// neither runs while the other's pool is still spinning for work (ONNX
// Runtime's workers spin for tens of milliseconds after a run: 20 ms apart,
// dnnc's ResNet-50 runs right after ONNX Runtime's were markedly slower on
// two threads than the others; 100 ms apart, not). Prints one
// JSON object: the settings and "rounds", [ort_ms, dnnc_ms] per round.
'use strict';

const path = require('path');

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    'usage: node paired.js MODEL.onnx ADDON.node WEIGHTS [--threads N] [--rounds N]\n' +
    '                      [--warmup N] [--gap-ms N]\n');
  process.exit(code);
}

function parseArgs(argv) {
  const o = { threads: 1, rounds: 200, warmup: 3, gapMs: 100, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name) => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) {
        process.stderr.write(`paired.js: ${name} needs a whole number, not '${argv[i]}'\n`);
        process.exit(2);
      }
      return v;
    };
    if (a === '--threads') o.threads = num(a);
    else if (a === '--rounds') o.rounds = num(a);
    else if (a === '--warmup') o.warmup = num(a);
    else if (a === '--gap-ms') o.gapMs = num(a);
    else if (a === '-h' || a === '--help') usage(0);
    else if (a.startsWith('-')) { process.stderr.write(`paired.js: unknown option ${a}\n`); usage(2); }
    else o.files.push(a);
  }
  if (o.files.length !== 3 || o.threads < 1 || o.rounds < 1) usage(2);
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const [model, addonPath, weights] = o.files;
  const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  const dnnc = require(path.resolve(addonPath));
  dnnc.init(path.resolve(weights), o.threads);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  if (session.inputNames.length !== 1) throw new Error(`${model}: paired runs take one input`);
  const md = session.inputMetadata[0];
  if (JSON.stringify(dnnc.inputShape()) !== JSON.stringify(md.shape))
    throw new Error(`${addonPath} is not a bundle of ${model}: input [${dnnc.inputShape()}], the model's [${md.shape}]`);
  const n = md.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  // The input dnnc_addon.c's fill_input gives the bundle: the product wraps
  // at 32 bits there, so here too (Math.imul).
  for (let i = 0; i < n; i++) data[i] = ((Math.imul(i, 2654435761) >>> 0) % 1000) / 1000 - 0.5;
  const feeds = { [md.name]: new ort.Tensor('float32', data, md.shape) };
  const gap = () => new Promise((r) => setTimeout(r, o.threads > 1 ? o.gapMs : 0));
  const ortRun = async () => {
    const t = process.hrtime.bigint();
    await session.run(feeds);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  for (let i = 0; i < o.warmup; i++) {
    await ortRun();
    await gap();
    dnnc.run();
    await gap();
  }
  const rounds = [];
  for (let r = 0; r < o.rounds; r++) {
    let ortMs, dnncMs;
    if (r % 2 === 0) {
      ortMs = await ortRun();
      await gap();
      dnncMs = dnnc.run();
    } else {
      dnncMs = dnnc.run();
      await gap();
      ortMs = await ortRun();
    }
    await gap();
    rounds.push([ortMs, dnncMs]);
  }
  const version = require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version;
  process.stdout.write(JSON.stringify({ model: path.basename(model), threads: o.threads,
    ort_version: version, gap_ms: o.gapMs, rounds }) + '\n');
}

main().catch((e) => { process.stderr.write(`paired.js: ${e.message}\n`); process.exit(1); });
