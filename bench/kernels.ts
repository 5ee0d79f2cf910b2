// `npm run bench:kernels [-- --model FILE --tokenizer FILE] [--batches 1,4,16,64,256]
//   [--decode-batches 1,16,64] [--variants all|default] [--target-ms 40] [--no-ops] [--no-decode]
//   [--no-ort] [--tuned] [--cache FILE] [--out FILE] [--browser [--timeout-s 900]]`
//
// The kernel lab in Node, on the current adapter:
// 1. the measured peaks (FMA GFLOPS, copy/read GB/s) that every "fraction of peak" refers to;
// 2. every matmul shape of the model at each batch size M, with every variant valid for it side
//    by side: median GPU time, GFLOPS, GB/s, fraction of the roofline, the check against the CPU
//    reference; the fastest correct variant is "ours" and goes into the autotuner's cache for
//    this adapter (~/.cache/multiplex/autotune.json unless --cache);
// 3. the other kernels of a step (rmsnorm, rope, swiglu, add, embedding, decode attention);
// 4. a decode step's time per kernel and dispatches at batch 1, 16 and 64, and decode tokens/s
//    at batch 1 and 16 (with --tuned, with the tuned matmul table installed);
// 5. onnxruntime-web on the same shapes and model where src/ort/peer.ts can be loaded (in Node
//    onnxruntime-web has only its wasm backend, and says so);
// 6. the targets as ratios (kernel-tables.ts targetSummary).
// With --browser the same runs in headless Chromium through the kernel view, where
// onnxruntime-web is on WebGPU on the same adapter (kernels-browser.ts); the tables are the same.
// Tables go to stdout, progress to stderr; --out writes the report (src/workers/kernel-report.ts).
import { writeFileSync } from 'node:fs';
import { parseBenchArgs } from './args.js';
import { KERNEL_BENCH_ARGS, kernelBenchOptions, type KernelBenchOptions } from './kernel-options.js';
import { decodeLines, headerLines, kernelLines, matmulLines, reportLines, targetLines, targetSummary } from './kernel-tables.js';
import { UsageError } from '../src/cli/args.js';
import { DEFAULT_MODEL } from '../src/cli/model-files.js';
import { loadModelFiles } from '../src/model/load-node.js';
import { acquireNodeGpu } from '../src/gpu/node.js';
import { adapterLabel } from '../src/gpu/device.js';
import { measurePeak } from '../src/gpu/peak.js';
import { benchMatmulShapes, benchOtherKernels, modelMatmulShapes } from '../src/gpu/kernel-bench.js';
import { chooseMatmulVariant, MATMUL_VARIANTS, type MatmulVariant } from '../src/gpu/ops/matmul.js';
import { MatmulAutotuner } from '../src/gpu/autotune.js';
import { fileTuneStorage } from '../src/gpu/autotune-node.js';
import { measureDecodeRates, measureStepBreakdown, type DecodeRate } from '../src/workers/kernel-step.js';
import {
  asOrtPeer,
  decodeReport,
  kernelRow,
  matmulRow,
  mergeOrtMatmul,
  ORT_MATMUL_BATCHES,
  ORT_UNAVAILABLE,
  peakRow,
  type KernelReport,
  type OrtPeerHooks,
} from '../src/workers/kernel-report.js';

const err = (s: string) => process.stderr.write(s);
const print = (lines: string[]) => {
  for (const l of lines) console.log(l);
};
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

const { values } = parseBenchArgs('bench:kernels', KERNEL_BENCH_ARGS);
let opts: KernelBenchOptions;
try {
  opts = kernelBenchOptions(values);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`error: ${e.message}`);
  process.exit(2);
}

if (opts.browser) {
  const { runBrowserKernelBench } = await import('./kernels-browser.js');
  let report: KernelReport;
  try {
    report = await runBrowserKernelBench(opts);
  } catch (e) {
    console.error(`error: bench:kernels --browser: ${(e as Error).message}`);
    process.exit(1);
  }
  print(reportLines(report, { where: 'in Chromium (headless, onnxruntime-web on WebGPU where it loads)', elapsed: elapsed() }));
  console.log(`\ndone in ${elapsed()}`);
  if (opts.out) {
    writeFileSync(opts.out, JSON.stringify(report, null, 2));
    err(`wrote ${opts.out}\n`);
  }
  process.exit(0);
}

await runNode(opts);

/** The Node mode: Dawn through the `webgpu` package, onnxruntime-web on wasm. */
async function runNode(o: KernelBenchOptions): Promise<void> {
  const gpu = await acquireNodeGpu({ onError: (e) => err(`WebGPU error: ${e.message}\n`) });
  const { model } = await loadModelFiles(o.model ?? DEFAULT_MODEL.checkpoint, o.tokenizer ?? DEFAULT_MODEL.tokenizer, {
    maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize,
    maxBufferSize: gpu.device.limits.maxBufferSize,
  });
  const c = model.config;
  const dims = { dim: c.dim, hiddenDim: c.hiddenDim, nHeads: c.nHeads, nKvHeads: c.nKvHeads, vocabSize: c.vocabSize, seqLen: c.seqLen };
  const adapter = `${adapterLabel(gpu.adapter)}${gpu.adapter.software ? ' (software)' : ''}`;
  const source = gpu.timestamps ? 'timestamp' : 'wall';
  err(`adapter: ${adapter}\nmodel: ${model.source} (dim ${c.dim}, hidden ${c.hiddenDim}, ${c.nLayers} layers, vocab ${c.vocabSize})\n`);
  err(`timing: ${gpu.timestamps ? 'GPU timestamp queries' : 'wall time (submit to done): this adapter has no timestamp-query'}\n`);

  // --- The ORT peer (optional) ------------------------------------------------------------------
  let ort: OrtPeerHooks | undefined;
  let ortNote = o.ort ? '' : `${ORT_UNAVAILABLE}: skipped (--no-ort)`;
  let ortInfo: { backend: string | null; version: string | null } = { backend: null, version: null };
  if (o.ort) {
    const spec = '../src/ort/peer.js'; // a variable: the module is optional
    try {
      const peer = asOrtPeer(await import(spec));
      if (typeof peer === 'string') ortNote = peer;
      else {
        const a = await peer.available?.();
        if (a && !a.ok) ortNote = `${ORT_UNAVAILABLE}: ${a.reason ?? 'no backend'}`;
        else {
          ort = peer;
          ortInfo = { backend: a?.backend ?? null, version: a?.version ?? null };
          ortNote = `onnxruntime-web ${a?.version ?? ''} on its ${a?.backend ?? ''} backend${a?.backend === 'wasm' ? ' (onnxruntime-web in Node has no WebGPU: a CPU peer; --browser compares with its WebGPU backend)' : ''}`;
        }
      }
    } catch (e) {
      ortNote = `${ORT_UNAVAILABLE}: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  err(`peer: ${ortNote}\n`);

  // The report, filled in section by section; each section is printed as soon as it is complete.
  const report: KernelReport = {
    adapter,
    adapter_key: '',
    software: gpu.adapter.software,
    model: model.source,
    model_dims: dims,
    generated_at: new Date().toISOString(),
    timing_source: source,
    peak: null,
    matmul: [],
    kernels: [],
    decode: null,
    ort: { available: !!ort, note: ortNote, backend: ortInfo.backend, version: ortInfo.version },
    autotune: null,
  };

  // --- 1. Peaks ---------------------------------------------------------------------------------
  err('measuring peaks...\n');
  const peak = await measurePeak(gpu);
  report.peak = peakRow(peak);
  print(headerLines(report, { elapsed: elapsed(), peakDetail: `FMA, ${peak.fma.threads} threads x ${peak.fma.iterations} iterations` }));

  // --- 2. Matmul --------------------------------------------------------------------------------
  const shapes = modelMatmulShapes(dims, o.batches);
  const variants: readonly MatmulVariant[] = o.variants === 'all' ? MATMUL_VARIANTS : [...new Set(shapes.map((s) => chooseMatmulVariant(s.m, s.n, s.k)))];
  err(`matmul: ${shapes.length} shapes x up to ${variants.length} variants...\n`);
  const timing = { targetMs: o.targetMs };
  const matmul = await benchMatmulShapes(gpu, shapes, peak, {
    variants,
    timing,
    onShape: (r, i) => err(`  [${i + 1}/${shapes.length}] M=${r.m} N=${r.n} K=${r.k}: best ${r.best?.variant ?? 'none'} (${elapsed()})\n`),
  });
  report.matmul = matmul.map((r) => matmulRow(r, source));

  // The autotuner: the fastest correct variant per shape, cached for this adapter.
  const storage = fileTuneStorage(o.cache);
  const tuner = await MatmulAutotuner.open(storage, gpu.adapter);
  for (const r of matmul) tuner.record(r.m, r.n, r.k, r.variants.map((v) => ({ variant: v.variant, ms: v.ms, correct: v.correct })));
  await tuner.save();
  report.adapter_key = tuner.key;
  report.autotune = { storage: storage.path, shapes: matmul.length, differ_from_default: matmul.filter((r) => r.best && r.best.variant !== r.defaultVariant).length };

  // ORT on the same shapes (the M = 1, 16, 64, 256).
  if (ort?.measureOrtMatmul) {
    const ortShapes = report.matmul.filter((r) => (ORT_MATMUL_BATCHES as readonly number[]).includes(r.m)).map(({ m, n, k }) => ({ m, n, k }));
    err(`onnxruntime-web matmul: ${ortShapes.length} shapes...\n`);
    try {
      mergeOrtMatmul(report.matmul, await ort.measureOrtMatmul(ortShapes, { runs: 7, warmup: 2 }));
    } catch (e) {
      report.ort.note += `; matmul failed: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  print(matmulLines(report));

  // --- 3. Other kernels -------------------------------------------------------------------------
  if (o.ops) {
    err('other kernels...\n');
    report.kernels = (await benchOtherKernels(gpu, dims, o.batches, peak, { timing })).map(kernelRow);
    print(kernelLines(report));
  }

  // --- 4. Decode: step breakdown and tokens/s ---------------------------------------------------
  if (o.decode) {
    const undo = o.tuned ? tuner.install() : undefined;
    try {
      err(`decode step breakdown at batch ${o.decodeBatches.join(', ')}... (${elapsed()})\n`);
      const steps = await measureStepBreakdown(gpu, model, o.decodeBatches, { onProgress: (w) => err(`  ${w}\n`) });
      err(`decode tokens/s at batch 1 and 16, in turn... (${elapsed()})\n`);
      const [b1, b16] = (await measureDecodeRates(gpu, model, [1, 16])) as [DecodeRate, DecodeRate];
      let ortRate: { ort_tokens_per_s: number; backend?: string } | undefined;
      let ortDecodeNote = report.ort.note;
      if (ort?.measureOrtDecode) {
        err(`onnxruntime-web decode at batch 1... (${elapsed()})\n`);
        try {
          ortRate = await ort.measureOrtDecode(model, { steps: Math.min(32, c.seqLen - 2) });
        } catch (e) {
          ortDecodeNote = `onnxruntime-web decode failed: ${(e as Error).message.split('\n')[0]}`;
          report.ort.note += `; decode failed: ${(e as Error).message.split('\n')[0]}`;
        }
      }
      report.decode = decodeReport(b1.tokensPerS, b16.tokensPerS, ortRate, ortDecodeNote, o.tuned, steps);
    } finally {
      undo?.();
    }
    print(decodeLines(report));
  }

  print(targetLines(targetSummary(report)));
  console.log(`\ndone in ${elapsed()}`);
  if (o.out) {
    writeFileSync(o.out, JSON.stringify(report, null, 2));
    err(`wrote ${o.out}\n`);
  }
  gpu.destroy();
}
