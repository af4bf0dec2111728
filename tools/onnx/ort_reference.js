// ort_reference.js — runs an ONNX model with ONNX Runtime (onnxruntime-node)
// on .npy inputs and writes its outputs as .npy: the reference weft's ONNX
// tests compare against, and the baseline of the latency comparison.
//
//   node ort_reference.js --ort DIR --model M.onnx --in x=in.npy
//        [--out name=out.npy ...] [--threads 2] [--runs N]
//
// --ort: the directory holding node_modules/onnxruntime-node (tools/
// bootstrap.sh installs it in third_party/deps/npm/ort). Without --out every
// output is written as <output name>.npy into --out_dir (default "."). With
// --runs N it also times N runs after one warm-up and prints one JSON line
// {"load_ms":..,"first_ms":..,"runs_ms":[...]}.
'use strict';
const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const a = {in: [], out: [], threads: 2, runs: 0, out_dir: '.'};
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i], v = argv[i + 1];
    switch (k) {
      case '--ort': a.ort = v; ++i; break;
      case '--model': a.model = v; ++i; break;
      case '--in': a.in.push(v); ++i; break;
      case '--out': a.out.push(v); ++i; break;
      case '--out_dir': a.out_dir = v; ++i; break;
      case '--threads': a.threads = parseInt(v, 10); ++i; break;
      case '--runs': a.runs = parseInt(v, 10); ++i; break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  if (!a.ort || !a.model || a.in.length === 0) {
    throw new Error('usage: --ort DIR --model M.onnx --in name=x.npy ...');
  }
  return a;
}

const kTypes = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array],
  '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not npy`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
      .split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  const [type, Ctor] = kTypes[descr] || [];
  if (!type) throw new Error(`${file}: dtype ${descr}`);
  const start = hstart + hlen;
  const bytes = buf.subarray(start);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  let data = new Ctor(copy.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT);
  if (type === 'bool') data = Uint8Array.from(data);
  return {type, shape, data};
}

function writeNpy(file, tensor) {
  const descr = {float32: '<f4', float64: '<f8', int32: '<i4', int64: '<i8',
                 bool: '|b1'}[tensor.type];
  if (!descr) throw new Error(`cannot write ${tensor.type}`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)`
                                         : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset,
                           tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ort = require(path.resolve(a.ort, 'node_modules', 'onnxruntime-node'));
  const feeds = {};
  for (const spec of a.in) {
    const eq = spec.indexOf('=');
    const t = readNpy(spec.slice(eq + 1));
    feeds[spec.slice(0, eq)] = new ort.Tensor(t.type, t.data, t.shape);
  }
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const t1 = process.hrtime.bigint();
  const result = await session.run(feeds);
  const t2 = process.hrtime.bigint();
  const outs = a.out.length ? a.out : session.outputNames.map(
      n => `${n}=${path.join(a.out_dir, n.replace(/[/:]/g, '_') + '.npy')}`);
  for (const spec of outs) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    if (!(name in result)) throw new Error(`no output ${name}`);
    writeNpy(spec.slice(eq + 1), result[name]);
  }
  if (a.runs > 0) {
    const runs = [];
    for (let i = 0; i < a.runs; ++i) {
      const s = process.hrtime.bigint();
      await session.run(feeds);
      runs.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    console.log(JSON.stringify({load_ms: Number(t1 - t0) / 1e6,
                                first_ms: Number(t2 - t1) / 1e6, runs_ms: runs}));
  }
}

main().catch(e => { console.error(`ort_reference: ${e.message}`); process.exit(1); });
