// compare_ort.js — weft against ONNX Runtime on the PaddleOCR models, in
// alternating rounds (docs/perf.md, "ONNX models vs ONNX Runtime"). Run it
// through tools/onnx/compare_ort.sh, which builds weft with -c opt first.
//
//   node tools/onnx/compare_ort.js --weft bazel-bin/tools/weft/weft
//        [--onnx_bench bazel-bin/tools/bench/onnx_bench]
//        --ort third_party/deps/npm/ort
//        --models third_party/deps/npm/ocr-models/assets
//        [--rounds 4] [--runs 5] [--small_runs 25] [--threads 2] [--work DIR]
//        [--only det,rec,cls,det_b8]
//
// Each round runs, per case, `weft bench` (--runs timed runs after one
// warm-up for det and det_b8, --small_runs for rec and cls, whose runs take
// a few milliseconds) and tools/onnx/ort_reference.js (the same), in turn;
// the order of
// the two runtimes flips every round, so neither always runs first. A
// round's figure is the median of its timed runs; the weft/ORT ratio is
// taken within the round. With --onnx_bench, each round also times det's
// import + plan compile (BM_DetImportCompile) and import + compile + first
// run (BM_DetImportCompileFirstRun: the first run builds the oneDNN
// primitives), 3 repetitions each, medians, next to ORT's session creation
// (load_ms) and first run (first_ms) from that round's det run. The inputs
// are the synthetic pages of tests/onnx/paddleocr_test.cc.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const {execFileSync} = require('child_process');

function parseArgs(argv) {
  const a = {rounds: 4, runs: 5, small_runs: 25, threads: 2, only: null,
             work: path.join(os.tmpdir(), 'weft_compare_ort')};
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i], v = argv[i + 1];
    switch (k) {
      case '--weft': a.weft = v; ++i; break;
      case '--onnx_bench': a.onnx_bench = v; ++i; break;
      case '--ort': a.ort = v; ++i; break;
      case '--models': a.models = v; ++i; break;
      case '--rounds': a.rounds = parseInt(v, 10); ++i; break;
      case '--runs': a.runs = parseInt(v, 10); ++i; break;
      case '--small_runs': a.small_runs = parseInt(v, 10); ++i; break;
      case '--threads': a.threads = parseInt(v, 10); ++i; break;
      case '--work': a.work = v; ++i; break;
      case '--only': a.only = v.split(','); ++i; break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  if (!a.weft || !a.ort || !a.models) {
    throw new Error('usage: --weft BIN --ort DIR --models DIR [--rounds R] ' +
                    '[--runs N] [--threads T] [--onnx_bench BIN]');
  }
  return a;
}

// tests/onnx/paddleocr_test.cc's Page: white paper with dark strokes in
// lines of text, normalized per channel; `batch` copies.
function page(batch, h, w, mean, std) {
  const img = new Float32Array(3 * h * w);
  for (let y = 0; y < h; ++y) {
    for (let x = 0; x < w; ++x) {
      const line = Math.floor(y / 24), inLine = y % 24;
      const ink = inLine >= 6 && inLine < 18 && Math.floor(x / 8) % 5 !== 4 &&
                  Math.floor((x * 7 + line * 13) / 3) % 4 !== 0 && x > 10 &&
                  x < w - 10 - (line % 3) * 40;
      const v = ink ? 30 : 235 + ((x + y) % 7);
      for (let c = 0; c < 3; ++c) {
        img[(c * h + y) * w + x] = Math.fround(
            (Math.fround(v / 255) - mean[c]) / std[c]);
      }
    }
  }
  const all = new Float32Array(batch * img.length);
  for (let b = 0; b < batch; ++b) all.set(img, b * img.length);
  return {shape: [batch, 3, h, w], data: all};
}

function writeNpy(file, t) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${
      t.shape.join(', ')}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([
    head, Buffer.from(header, 'latin1'),
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

function median(v) {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const kImageNet = [[0.485, 0.456, 0.406], [0.229, 0.224, 0.225]];
const kHalf = [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]];
const kCases = [
  {name: 'det', model: 'ch_PP-OCRv4_det_infer.onnx', batch: 1, h: 640,
   w: 640, norm: kImageNet, small: false},
  {name: 'rec', model: 'ch_PP-OCRv4_rec_infer.onnx', batch: 1, h: 48, w: 320,
   norm: kHalf, small: true},
  {name: 'cls', model: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', batch: 1,
   h: 48, w: 192, norm: kHalf, small: true},
  {name: 'det_b8', model: 'ch_PP-OCRv4_det_infer.onnx', batch: 8, h: 640,
   w: 640, norm: kImageNet, small: false},
];

// The model's one output name, from `weft check`.
function outputName(a, c) {
  const model = c.path;
  const text = execFileSync(a.weft, [
    'check', model, '--input_shape', `x=1,3,${c.h},${c.w}`],
  {encoding: 'utf8'});
  const m = /outputs:\s*\n\s*(\S+?):/.exec(text);
  if (!m) throw new Error(`no output in 'weft check ${model}':\n${text}`);
  return m[1];
}

const runsOf = (a, c) => String(c.small ? a.small_runs : a.runs);

function runWeft(a, c) {
  const text = execFileSync(a.weft, [
    'bench', c.path, '--feed', `x=@${c.input}`, '--fetch', c.output,
    '--runs', runsOf(a, c), '--threads', String(a.threads)],
  {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']});
  const m = /p50 ([0-9.]+)/.exec(text);
  if (!m) throw new Error(`weft bench printed no p50:\n${text}`);
  return parseFloat(m[1]) / 1000;  // us -> ms; p50 of the runs = median.
}

function runOrt(a, c) {
  const out = path.join(a.work, 'ort_out');
  fs.mkdirSync(out, {recursive: true});
  const text = execFileSync('node', [
    path.join(__dirname, 'ort_reference.js'), '--ort', a.ort, '--model',
    c.path, '--in', `x=${c.input}`, '--out_dir', out, '--threads',
    String(a.threads), '--runs', runsOf(a, c)],
  {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']});
  const r = JSON.parse(text.trim().split('\n').pop());
  c.ort_load_ms = r.load_ms;
  c.ort_first_ms = r.first_ms;
  return median(r.runs_ms);
}

// Medians (ms) of BM_DetImportCompile and BM_DetImportCompileFirstRun.
function runImportCompile(a) {
  const text = execFileSync(a.onnx_bench, [
    '--benchmark_filter=BM_DetImportCompile', '--benchmark_repetitions=3',
    '--benchmark_report_aggregates_only=true', '--benchmark_format=json'],
  {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
   env: {...process.env, WEFT_MODELS: a.models}});
  const j = JSON.parse(text);
  const ms = name => {
    const b = j.benchmarks.find(
        x => x.aggregate_name === 'median' &&
             x.run_name.split('/')[0] === name);
    return b.real_time * {ns: 1e-6, us: 1e-3, ms: 1, s: 1e3}[b.time_unit];
  };
  return {compile: ms('BM_DetImportCompile'),
          first: ms('BM_DetImportCompileFirstRun')};
}

const fmt = (x, d = 1) => x.toFixed(d);

function main() {
  const a = parseArgs(process.argv.slice(2));
  fs.mkdirSync(a.work, {recursive: true});
  const cases = kCases.filter(c => !a.only || a.only.includes(c.name));
  const outputs = {};
  for (const c of cases) {
    c.path = path.resolve(a.models, c.model);
    c.input = path.join(a.work, `${c.name}.npy`);
    writeNpy(c.input, page(c.batch, c.h, c.w, c.norm[0], c.norm[1]));
    outputs[c.model] = outputs[c.model] || outputName(a, c);
    c.output = outputs[c.model];
  }
  const rows = [];
  for (let r = 1; r <= a.rounds; ++r) {
    for (const c of cases) {
      const weftFirst = r % 2 === 1;
      let weft, ort;
      if (weftFirst) {
        weft = runWeft(a, c);
        ort = runOrt(a, c);
      } else {
        ort = runOrt(a, c);
        weft = runWeft(a, c);
      }
      const row = {round: r, case: c.name, weft_ms: weft, ort_ms: ort,
                   ratio: weft / ort, first: weftFirst ? 'weft' : 'ort'};
      rows.push(row);
      console.log(`round ${r} ${c.name.padEnd(6)} weft ${fmt(weft, 2)} ms  ` +
                  `ORT ${fmt(ort, 2)} ms  weft/ORT ${fmt(weft / ort, 3)}` +
                  `  (${row.first} first)`);
    }
    if (a.onnx_bench) {
      const t = runImportCompile(a);
      const det = cases.find(c => c.name === 'det') || {};
      rows.push({round: r, case: 'det_import', weft_ms: t.compile,
                 first_ms: t.first, ort_load_ms: det.ort_load_ms,
                 ort_first_ms: det.ort_first_ms});
      console.log(`round ${r} det import + plan compile ${fmt(t.compile)} ` +
                  `ms, + first run ${fmt(t.first)} ms (ORT session ` +
                  `creation ${fmt(det.ort_load_ms || NaN)} ms, first run ` +
                  `${fmt(det.ort_first_ms || NaN)} ms)`);
    }
  }
  console.log(`\n${a.rounds} rounds x ${a.runs} (det) / ${a.small_runs} ` +
              `(rec, cls) timed runs per runtime, ${a.threads} threads; ` +
              `per round: median ms (weft / ORT)`);
  const header = ['case', ...Array.from({length: a.rounds}, (_, i) =>
    `round ${i + 1}`), 'weft/ORT range', 'goal'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const c of cases) {
    const rs = rows.filter(x => x.case === c.name);
    const ratios = rs.map(x => x.ratio);
    const lo = Math.min(...ratios), hi = Math.max(...ratios);
    const batch = c.batch > 1;
    // Throughput ratio weft/ORT = ORT latency / weft latency.
    const range = batch ? `throughput ${fmt(1 / hi, 2)}–${fmt(1 / lo, 2)} x`
                        : `${fmt(lo, 2)}–${fmt(hi, 2)}`;
    const met = batch ? 1 / hi >= 1 : hi <= 1;
    console.log(`| ${c.name} | ${rs.map(x => `${fmt(x.weft_ms)} / ${
        fmt(x.ort_ms)}`).join(' | ')} | ${range} | ${met ? 'met' : 'not met'} |`);
  }
  const imp = rows.filter(x => x.case === 'det_import');
  if (imp.length) {
    const range = v => `${fmt(Math.min(...v))}–${fmt(Math.max(...v))} ms`;
    const v = imp.map(x => x.weft_ms);
    console.log(`| det import+compile (weft) | ${
        v.map(x => fmt(x)).join(' | ')} | ${range(v)} | ${
        Math.max(...v) <= 200 ? 'met' : 'not met'} |`);
    const f = imp.map(x => x.first_ms);
    console.log(`| det import+compile+first run (weft) | ${
        f.map(x => fmt(x)).join(' | ')} | ${range(f)} | |`);
    if (imp.every(x => x.ort_load_ms !== undefined)) {
      const l = imp.map(x => x.ort_load_ms), o = imp.map(x => x.ort_first_ms);
      console.log(`| det ORT session creation | ${
          l.map(x => fmt(x)).join(' | ')} | ${range(l)} | |`);
      console.log(`| det ORT first run | ${
          o.map(x => fmt(x)).join(' | ')} | ${range(o)} | |`);
    }
  }
}

main();
