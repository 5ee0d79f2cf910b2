// `npm run bench:kernels [-- --model FILE --tokenizer FILE] [--batches 1,4,16,64,256]
//   [--decode-batches 1,16,64] [--variants all|default] [--target-ms 40] [--no-ops] [--no-decode]
//   [--no-ort] [--tuned] [--cache FILE] [--out FILE]`
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
//    onnxruntime-web has only its wasm backend, and says so).
// Tables go to stdout, progress to stderr; --out writes the report (src/workers/kernel-report.ts).
import { parseBenchArgs } from './args.js';
import { writeFileSync } from 'node:fs';
import { DEFAULT_MODEL } from '../src/cli/model-files.js';
import { intArg } from '../src/cli/args.js';
import { loadModelFiles } from '../src/model/load-node.js';
import { acquireNodeGpu } from '../src/gpu/node.js';
import { adapterLabel } from '../src/gpu/device.js';
import { measurePeak } from '../src/gpu/peak.js';
import { BENCH_BATCHES, benchMatmulShapes, benchOtherKernels, modelMatmulShapes, type KernelResult } from '../src/gpu/kernel-bench.js';
import { chooseMatmulVariant, MATMUL_VARIANTS, type MatmulVariant } from '../src/gpu/ops/matmul.js';
import { MatmulAutotuner } from '../src/gpu/autotune.js';
import { fileTuneStorage } from '../src/gpu/autotune-node.js';
import { measureDecodeRate, measureStepBreakdown, type StepBreakdown } from '../src/workers/kernel-step.js';
import {
  asOrtPeer,
  kernelRow,
  matmulRow,
  mergeOrtMatmul,
  ORT_MATMUL_BATCHES,
  ORT_UNAVAILABLE,
  peakRow,
  type KernelReport,
  type OrtPeerHooks,
} from '../src/workers/kernel-report.js';

const { values } = parseBenchArgs('bench:kernels', {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    batches: { type: 'string' },
    'decode-batches': { type: 'string' },
    variants: { type: 'string' },
    'target-ms': { type: 'string' },
    'no-ops': { type: 'boolean' },
    'no-decode': { type: 'boolean' },
    'no-ort': { type: 'boolean' },
    tuned: { type: 'boolean' },
    cache: { type: 'string' },
    out: { type: 'string' },
  });
const list = (name: string, s: string | undefined, def: readonly number[]) =>
  s === undefined ? [...def] : s.split(',').map((x) => intArg(name, x, 1, 1, 4096));
const batches = list('batches', values.batches, BENCH_BATCHES);
const decodeBatches = list('decode-batches', values['decode-batches'], [1, 16, 64]);
const variantMode = values.variants ?? 'all';
if (variantMode !== 'all' && variantMode !== 'default') throw new Error(`--variants must be all or default, got ${variantMode}`);
const targetMs = Number(values['target-ms'] ?? 40);
if (!(targetMs > 0)) throw new Error(`--target-ms must be a positive number, got ${values['target-ms']}`);
if ((values.model === undefined) !== (values.tokenizer === undefined)) throw new Error('--model and --tokenizer go together');

const err = (s: string) => process.stderr.write(s);
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

const gpu = await acquireNodeGpu({ onError: (e) => err(`WebGPU error: ${e.message}\n`) });
const ckpt = values.model ?? DEFAULT_MODEL.checkpoint;
const { model } = await loadModelFiles(ckpt, values.tokenizer ?? DEFAULT_MODEL.tokenizer, {
  maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize,
  maxBufferSize: gpu.device.limits.maxBufferSize,
});
const c = model.config;
const adapter = `${adapterLabel(gpu.adapter)}${gpu.adapter.software ? ' (software)' : ''}`;
const source = gpu.timestamps ? 'timestamp' : 'wall';
err(`adapter: ${adapter}\nmodel: ${model.source} (dim ${c.dim}, hidden ${c.hiddenDim}, ${c.nLayers} layers, vocab ${c.vocabSize})\n`);
err(`timing: ${gpu.timestamps ? 'GPU timestamp queries' : 'wall time (submit to done): this adapter has no timestamp-query'}\n`);

// --- The ORT peer (optional) --------------------------------------------------------------------
let ort: OrtPeerHooks | undefined;
let ortNote = values['no-ort'] ? `${ORT_UNAVAILABLE}: skipped (--no-ort)` : '';
let ortInfo: { backend: string | null; version: string | null } = { backend: null, version: null };
if (!values['no-ort']) {
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
        ortNote = `onnxruntime-web ${a?.version ?? ''} on its ${a?.backend ?? ''} backend${a?.backend === 'wasm' ? ' (onnxruntime-web in Node has no WebGPU: a CPU peer)' : ''}`;
      }
    }
  } catch (e) {
    ortNote = `${ORT_UNAVAILABLE}: ${(e as Error).message.split('\n')[0]}`;
  }
}
err(`peer: ${ortNote}\n`);

// --- 1. Peaks -----------------------------------------------------------------------------------
err('measuring peaks...\n');
const peak = await measurePeak(gpu);
const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const pad = (s: string, n: number) => (s.length >= n ? s : s.padStart(n));
const padEnd = (s: string, n: number) => (s.length >= n ? s : s.padEnd(n));

console.log(`\nKernel lab on ${adapter}, ${model.source} — ${elapsed()}`);
console.log(`timing: ${source === 'timestamp' ? 'GPU timestamp queries, median per dispatch, warm-up excluded' : 'wall time (no timestamp-query), median per dispatch'}`);
console.log(
  `peak: ${f(peak.gflops)} GFLOPS (FMA, ${peak.fma.threads} threads x ${peak.fma.iterations} iterations), ` +
    `${f(peak.gbs)} GB/s (copy ${f(peak.copyGbs)}, read ${f(peak.readGbs)}), ridge ${f(peak.ridge)} FLOP/byte`,
);

// --- 2. Matmul ----------------------------------------------------------------------------------
const shapes = modelMatmulShapes(c, batches);
const variants: readonly MatmulVariant[] =
  variantMode === 'all' ? MATMUL_VARIANTS : [...new Set(shapes.map((s) => chooseMatmulVariant(s.m, s.n, s.k)))];
err(`matmul: ${shapes.length} shapes x up to ${variants.length} variants...\n`);
const timing = { targetMs };
const matmul = await benchMatmulShapes(gpu, shapes, peak, {
  variants,
  timing,
  onShape: (r, i) => err(`  [${i + 1}/${shapes.length}] M=${r.m} N=${r.n} K=${r.k}: best ${r.best?.variant ?? 'none'} (${elapsed()})\n`),
});
const matmulRows = matmul.map((r) => matmulRow(r, source));

// The autotuner: the fastest correct variant per shape, cached for this adapter.
const storage = fileTuneStorage(values.cache);
const tuner = await MatmulAutotuner.open(storage, gpu.adapter);
for (const r of matmul) tuner.record(r.m, r.n, r.k, r.variants.map((v) => ({ variant: v.variant, ms: v.ms, correct: v.correct })));
await tuner.save();
const differ = matmul.filter((r) => r.best && r.best.variant !== r.defaultVariant).length;

// ORT on the same shapes (the issue's M = 1, 16, 64, 256).
if (ort?.measureOrtMatmul) {
  const ortShapes = matmulRows.filter((r) => (ORT_MATMUL_BATCHES as readonly number[]).includes(r.m)).map(({ m, n, k }) => ({ m, n, k }));
  err(`onnxruntime-web matmul: ${ortShapes.length} shapes...\n`);
  try {
    mergeOrtMatmul(matmulRows, await ort.measureOrtMatmul(ortShapes, { runs: 7, warmup: 2 }));
  } catch (e) {
    ortNote += `; matmul failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

console.log('\nMatmul y(M,N) = x(M,K)·w(N,K)ᵀ, every variant valid for the shape; "best (ours)" = the fastest that passed its check');
console.log('(median of 5-30 samples; a variant over 3x slower than the best after one run is timed once and cannot win)');
console.log(
  `${padEnd('weights', 16)} ${pad('M', 4)} ${pad('N', 5)} ${pad('K', 5)} ${padEnd(' default', 16)} ${pad('ms', 8)} ${padEnd(' best (ours)', 16)} ${pad('ms', 8)} ${pad('best/def', 8)} ${pad('GFLOPS', 7)} ${pad('GB/s', 7)} ${pad('of peak', 8)} ${pad('bound', 7)} ${pad('ok', 3)} ${pad('ORT ms', 8)} ${pad('ORT/ours', 8)}`,
);
for (const r of matmulRows) {
  console.log(
    `${padEnd(r.name, 16)} ${pad(String(r.m), 4)} ${pad(String(r.n), 5)} ${pad(String(r.k), 5)} ${padEnd(' ' + r.default_variant, 16)} ${pad(f(r.default_ms, 3), 8)} ${padEnd(' ' + (r.ours_variant ?? '—'), 16)} ${pad(f(r.ours_ms, 3), 8)} ${pad(r.tuned_over_default === null ? '—' : `${f(r.tuned_over_default)}x`, 8)} ${pad(f(r.gflops), 7)} ${pad(f(r.gbs), 7)} ${pad(pct(r.fraction_of_peak), 8)} ${pad(r.bound, 7)} ${pad(r.correct ? '✓' : '✗', 3)} ${pad(f(r.ort_ms, 3), 8)} ${pad(r.ratio_ort_over_ours === null ? '—' : `${f(r.ratio_ort_over_ours)}x`, 8)}`,
  );
}
const failures = matmul.flatMap((r) => r.variants.filter((v) => !v.correct).map((v) => `${v.variant} at M=${r.m} N=${r.n} K=${r.k}: ${v.error ?? `error ratio ${f(v.errorRatio)}`}`));
if (failures.length) console.log(`FAILED checks:\n  ${failures.join('\n  ')}`);
console.log(`autotuner: ${differ} of ${matmul.length} shapes run faster with a variant other than the default rule's; table saved to ${storage.path}`);
console.log(`onnxruntime-web: ${ortNote}`);

// Variants side by side at each M (GFLOPS, summed over the model's shapes at that M: time-weighted).
console.log('\nVariants side by side: GFLOPS over all shapes at each M (total FLOPs / total time; — not run)');
const names = [...new Set(matmul.flatMap((r) => r.variants.map((v) => v.variant)))];
console.log(`${padEnd('variant', 16)} ${batches.map((m) => pad(`M=${m}`, 8)).join(' ')}`);
for (const name of names) {
  const cells = batches.map((m) => {
    const rs = matmul.filter((r) => r.m === m);
    const vs = rs.map((r) => r.variants.find((v) => v.variant === name));
    if (vs.some((v) => !v || !Number.isFinite(v.ms))) return pad('—', 8);
    const flops = vs.reduce((a, v) => a + v!.flops, 0);
    const ms = vs.reduce((a, v) => a + v!.ms, 0);
    return pad(f(flops / (ms * 1e6)), 8);
  });
  console.log(`${padEnd(name, 16)} ${cells.join(' ')}`);
}

// --- 3. Other kernels ---------------------------------------------------------------------------
let others: KernelResult[] = [];
if (!values['no-ops']) {
  err('other kernels...\n');
  others = await benchOtherKernels(gpu, c, batches, peak, { timing });
  console.log('\nOther kernels of a step (fraction of the roofline; pure copies: of the bandwidth)');
  console.log(`${padEnd('kernel', 17)} ${padEnd('shape', 40)} ${padEnd('variant', 8)} ${pad('ms', 8)} ${pad('GFLOPS', 7)} ${pad('GB/s', 7)} ${pad('of peak', 8)} ${pad('ok', 3)}`);
  for (const r of others) {
    console.log(
      `${padEnd(r.kernel, 17)} ${padEnd(r.shape, 40)} ${padEnd(r.variant + (r.isDefault && r.variant !== 'default' ? '*' : ''), 8)} ${pad(f(r.ms, 3), 8)} ${pad(r.flops > 0 ? f(r.gflops) : '—', 7)} ${pad(f(r.gbs), 7)} ${pad(pct(r.fraction), 8)} ${pad(r.correct ? '✓' : '✗', 3)}${r.error ? `  ${r.error}` : ''}`,
    );
  }
  console.log('(* the variant the engine uses)');
}

// --- 4. Decode: step breakdown and tokens/s -----------------------------------------------------
let decode: KernelReport['decode'] = null;
if (!values['no-decode']) {
  const undo = values.tuned ? tuner.install() : undefined;
  try {
    err(`decode step breakdown at batch ${decodeBatches.join(', ')}... (${elapsed()})\n`);
    const steps: StepBreakdown[] = await measureStepBreakdown(gpu, model, decodeBatches, { onProgress: (w) => err(`  ${w}\n`) });
    err(`decode tokens/s at batch 1 and 16... (${elapsed()})\n`);
    const b1 = await measureDecodeRate(gpu, model, 1);
    const b16 = await measureDecodeRate(gpu, model, 16, { minSteps: 3, maxSteps: 8 });
    let ortRate: { ort_tokens_per_s: number; backend?: string } | undefined;
    if (ort?.measureOrtDecode) {
      err(`onnxruntime-web decode at batch 1... (${elapsed()})\n`);
      try {
        ortRate = await ort.measureOrtDecode(model, { steps: Math.min(32, c.seqLen - 2) });
      } catch (e) {
        ortNote += `; decode failed: ${(e as Error).message.split('\n')[0]}`;
      }
    }
    decode = {
      ours_tokens_per_s: b1.tokensPerS,
      ours_batch16_tokens_per_s: b16.tokensPerS,
      ours_batch16_over_batch1: b16.tokensPerS / b1.tokensPerS,
      ort_tokens_per_s: ortRate?.ort_tokens_per_s ?? null,
      ort_backend: ortRate?.backend ?? null,
      ratio_ours_over_ort: ortRate ? b1.tokensPerS / ortRate.ort_tokens_per_s : null,
      tuned: !!values.tuned,
      steps,
    };
  } finally {
    undo?.();
  }
  console.log(`\nDecode step, time per kernel (${decode.steps[0]?.source === 'timestamp' ? 'GPU timestamps, one timed pass per kernel' : 'wall time: no per-kernel split'}${decode.tuned ? ', tuned matmul table' : ', default matmul rule'})`);
  const labels = [...new Set(decode.steps.flatMap((s) => s.kernels.map((k) => k.label)))];
  console.log(`${padEnd('kernel', 20)} ${decode.steps.map((s) => pad(`batch ${s.batch}`, 18)).join(' ')}`);
  for (const label of labels) {
    const cells = decode.steps.map((s) => {
      const k = s.kernels.find((x) => x.label === label);
      return pad(k ? `${pct(k.share)} ${f(k.ms, 2)} ms` : '—', 18);
    });
    console.log(`${padEnd(label, 20)} ${cells.join(' ')}`);
  }
  console.log(`${padEnd('step (GPU time)', 20)} ${decode.steps.map((s) => pad(`${f(s.stepMs, 2)} ms`, 18)).join(' ')}`);
  console.log(`${padEnd('dispatches/step', 20)} ${decode.steps.map((s) => pad(String(s.dispatches), 18)).join(' ')}`);
  console.log(
    `decode tokens/s: batch 1 ${f(decode.ours_tokens_per_s, 1)}, batch 16 ${f(decode.ours_batch16_tokens_per_s, 1)} ` +
      `(batch 16 / batch 1 = ${f(decode.ours_batch16_over_batch1)}x)` +
      (decode.ort_tokens_per_s !== null
        ? `; onnxruntime-web (${decode.ort_backend}) batch 1 ${f(decode.ort_tokens_per_s, 1)} (ours / ORT = ${f(decode.ratio_ours_over_ort)}x)`
        : `; onnxruntime-web: ${ortNote}`),
  );
}

const report: KernelReport = {
  adapter,
  adapter_key: tuner.key,
  software: gpu.adapter.software,
  model: model.source,
  model_dims: { dim: c.dim, hiddenDim: c.hiddenDim, nHeads: c.nHeads, nKvHeads: c.nKvHeads, vocabSize: c.vocabSize, seqLen: c.seqLen },
  generated_at: new Date().toISOString(),
  timing_source: source,
  peak: peakRow(peak),
  matmul: matmulRows,
  kernels: others.map(kernelRow),
  decode,
  ort: { available: !!ort, note: ortNote, backend: ortInfo.backend, version: ortInfo.version },
  autotune: { storage: storage.path, shapes: matmul.length, differ_from_default: differ },
};
console.log(`\ndone in ${elapsed()}`);
if (values.out) {
  writeFileSync(values.out, JSON.stringify(report, null, 2));
  err(`wrote ${values.out}\n`);
}
gpu.destroy();
