#!/usr/bin/env node
// ONNX Runtime (CPU EP, graphOptimizationLevel 'all') as the reference oracle and speed baseline.
//
//   node run_ort.js MODEL.onnx INPUT.bin N,D1,D2,D3 OUTPUT.bin [--threads T] [--batch B]
//     INPUT.bin: raw little-endian float32 of shape N,D1,...; runs it in batches of B (default: all N at
//     once) and writes the first model output, concatenated over batches, as raw float32 to OUTPUT.bin.
//     stdout: {"output": NAME, "shape": [N, ...]}
//
//   node run_ort.js --bench MODEL.onnx --shape N,H,W,C --batch B --threads T --seconds S
//     Feeds a fixed pseudo-random batch of shape [B, H, W, C] (the first dim of --shape is replaced by B)
//     for S seconds after a short warm-up.
//     stdout: {"images_per_second": X, "latency_ms": {"p50": .., "p90": .., "p99": ..}, "batch": B, ...}
//
// Any failure: "run_ort: error: <message>" on stderr and exit status 1.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`run_ort: error: ${message}\n`);
  process.exit(1);
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${path.join(__dirname, 'node_modules')} ` +
         `(run scripts/install_ort.sh): ${e.message}`);
  }
}

function parseShape(text, what) {
  const dims = String(text).split(',').map((s) => s.trim());
  if (dims.length === 0 || dims.some((d) => !/^[0-9]+$/.test(d))) {
    fail(`${what} must be comma-separated non-negative integers, got '${text}'`);
  }
  return dims.map(Number);
}

function parsePositiveInt(text, what) {
  if (!/^[0-9]+$/.test(String(text)) || Number(text) < 1) fail(`${what} must be a positive integer, got '${text}'`);
  return Number(text);
}

// Splits argv into positional arguments and --key value options (only the keys in `known`).
function parseArgs(argv, known) {
  const positional = [];
  const options = {};
  for (let k = 0; k < argv.length; ++k) {
    const a = argv[k];
    if (a.startsWith('--')) {
      const key = a.slice(2);
      if (!known.includes(key)) fail(`unknown option '${a}'`);
      if (k + 1 >= argv.length) fail(`option '${a}' needs a value`);
      options[key] = argv[++k];
    } else {
      positional.push(a);
    }
  }
  return { positional, options };
}

async function createSession(ort, modelPath, threads) {
  if (!fs.existsSync(modelPath)) fail(`model '${modelPath}' does not exist`);
  try {
    return await ort.InferenceSession.create(modelPath, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
    });
  } catch (e) {
    fail(`ONNX Runtime cannot load '${modelPath}': ${e.message}`);
  }
}

const product = (dims) => dims.reduce((a, b) => a * b, 1);

async function runMode(argv) {
  const { positional, options } = parseArgs(argv, ['threads', 'batch']);
  if (positional.length !== 4) {
    fail('usage: node run_ort.js MODEL.onnx INPUT.bin N,D1,D2,D3 OUTPUT.bin [--threads T] [--batch B]');
  }
  const [modelPath, inputPath, shapeText, outputPath] = positional;
  const shape = parseShape(shapeText, 'input shape');
  const threads = options.threads === undefined ? 1 : parsePositiveInt(options.threads, '--threads');
  const n = shape[0];
  const batch = options.batch === undefined ? Math.max(n, 1) : parsePositiveInt(options.batch, '--batch');
  const sampleSize = product(shape.slice(1));

  let bytes;
  try {
    bytes = fs.readFileSync(inputPath);
  } catch (e) {
    fail(`cannot read input '${inputPath}': ${e.message}`);
  }
  if (bytes.length !== product(shape) * 4) {
    fail(`input '${inputPath}' has ${bytes.length} bytes, shape [${shape}] needs ${product(shape) * 4}`);
  }
  // Copy into an aligned buffer: Buffer pools may hand out unaligned offsets.
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));

  const ort = loadOrt();
  const session = await createSession(ort, modelPath, threads);
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];

  const chunks = [];
  let outShape = null;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const x = new ort.Tensor('float32', data.subarray(start * sampleSize, (start + count) * sampleSize),
                             [count, ...shape.slice(1)]);
    let result;
    try {
      result = await session.run({ [inputName]: x });
    } catch (e) {
      fail(`ONNX Runtime failed on '${modelPath}' (images ${start}..${start + count - 1}): ${e.message}`);
    }
    const y = result[outputName];
    if (y.type !== 'float32') fail(`first output '${outputName}' has type ${y.type}; only float32 is supported`);
    if (y.dims.length === 0 || y.dims[0] !== count) {
      fail(`first output '${outputName}' has shape [${y.dims}], expected a leading batch dimension of ${count}`);
    }
    if (outShape === null) outShape = [...y.dims];
    chunks.push(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
  }
  if (outShape === null) fail('the input holds no images (N = 0)');
  outShape[0] = n;
  try {
    fs.writeFileSync(outputPath, Buffer.concat(chunks));
  } catch (e) {
    fail(`cannot write output '${outputPath}': ${e.message}`);
  }
  process.stdout.write(JSON.stringify({ output: outputName, shape: outShape }) + '\n');
}

// Deterministic xorshift32 values in [0, 1): the bench input does not need to be meaningful.
function pseudoRandom(count) {
  const out = new Float32Array(count);
  let s = 0x9e3779b9 >>> 0;
  for (let k = 0; k < count; ++k) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[k] = s / 4294967296;
  }
  return out;
}

function percentile(sorted, p) {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

async function benchMode(argv) {
  const { positional, options } = parseArgs(argv, ['shape', 'batch', 'threads', 'seconds']);
  if (positional.length !== 1 || options.shape === undefined) {
    fail('usage: node run_ort.js --bench MODEL.onnx --shape N,H,W,C --batch B --threads T --seconds S');
  }
  const modelPath = positional[0];
  const shape = parseShape(options.shape, '--shape');
  const batch = options.batch === undefined ? 1 : parsePositiveInt(options.batch, '--batch');
  const threads = options.threads === undefined ? 1 : parsePositiveInt(options.threads, '--threads');
  const seconds = options.seconds === undefined ? 3 : Number(options.seconds);
  if (!(seconds > 0 && seconds <= 3600)) fail(`--seconds must be in (0, 3600], got '${options.seconds}'`);

  const ort = loadOrt();
  const session = await createSession(ort, modelPath, threads);
  const dims = [batch, ...shape.slice(1)];
  const x = new ort.Tensor('float32', pseudoRandom(product(dims)), dims);
  const feeds = { [session.inputNames[0]]: x };
  const runOnce = async () => {
    try {
      await session.run(feeds);
    } catch (e) {
      fail(`ONNX Runtime failed on '${modelPath}' with input [${dims}]: ${e.message}`);
    }
  };

  const warmupEnd = process.hrtime.bigint() + BigInt(Math.round(Math.min(1, seconds / 5) * 1e9));
  do await runOnce(); while (process.hrtime.bigint() < warmupEnd);

  const latencies = [];
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end || latencies.length < 3) {
    const t0 = process.hrtime.bigint();
    await runOnce();
    now = process.hrtime.bigint();
    latencies.push(Number(now - t0) / 1e6);
  }
  const elapsedS = Number(now - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const round3 = (v) => Math.round(v * 1000) / 1000;
  process.stdout.write(JSON.stringify({
    images_per_second: Math.round((latencies.length * batch) / elapsedS),
    latency_ms: {
      p50: round3(percentile(latencies, 50)),
      p90: round3(percentile(latencies, 90)),
      p99: round3(percentile(latencies, 99)),
    },
    batch,
    threads,
    runs: latencies.length,
    seconds: round3(elapsedS),
  }) + '\n');
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--bench') await benchMode(argv.slice(1));
  else await runMode(argv);
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
