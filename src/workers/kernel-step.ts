// Whole-step measurements for the kernel lab (bench/kernels.ts and the kernel worker):
// - the time share of each kernel in a decode step at several batch sizes, and dispatches per
//   step, from a GpuBackend with a Profiler (one timed pass per kernel: timestamp queries; with
//   wall time only the whole step is known, and the result says so);
// - decode tokens/s at several batch sizes, from GpuBackends without a profiler (one pass per
//   step, as the engine runs), measured in turn over several rounds: the median step time each.
import { GpuBackend } from '../model/gpu-forward.js';
import type { Model } from '../model/config.js';
import type { GpuContext } from '../gpu/device.js';
import { Profiler } from '../gpu/profiler.js';
import { Rng } from '../ops/random.js';
import type { StepEntry } from '../model/backend.js';
import { median } from '../gpu/kernel-timing.js';

export interface KernelShare {
  /** The forward pass's label for the op ("matmul ffn", "attention decode", ...). */
  label: string;
  /** GPU time per step, ms. */
  ms: number;
  /** Of the step's timed GPU time. */
  share: number;
  /** Dispatches of this op per step. */
  dispatches: number;
}

export interface StepBreakdown {
  batch: number;
  /** 'timestamp': per-kernel GPU times; 'wall': only the whole step (one entry, "step (wall)"). */
  source: 'timestamp' | 'wall';
  /** Context length (positions) of every sequence when the profiled steps began. */
  context: number;
  /** Dispatches (compute passes when profiled) in one decode step. */
  dispatches: number;
  /** Timed GPU time of one step, ms (the sum over kernels; wall: submit to done). */
  stepMs: number;
  kernels: KernelShare[];
}

export interface StepOptions {
  /** Prompt tokens per sequence before the measured steps (default 8). */
  prompt?: number;
  /** Profiled decode steps per batch size (default 3; the median per kernel counts) after one warm-up step. */
  steps?: number;
  seed?: number;
  onProgress?: (what: string) => void;
}

function decodeEntries(seqs: number[], next: ArrayLike<number>): StepEntry[] {
  return seqs.map((seq, j) => ({ seq, tokens: [next[j]!], temperature: 0, topP: 1, u: 0 }));
}

/** Sequences of `batch` random prompts, prefilled in one step; returns the first sampled tokens. */
async function prefill(backend: GpuBackend, batch: number, prompt: number, rng: Rng): Promise<{ seqs: number[]; next: Uint32Array }> {
  const V = backend.config.vocabSize;
  const seqs = Array.from({ length: batch }, () => backend.newSequence());
  const r = await backend.step(
    seqs.map((seq) => ({ seq, tokens: Array.from({ length: prompt }, () => rng.int(3, V - 1)), temperature: 0, topP: 1, u: 0 })),
  );
  return { seqs, next: r.next };
}

/** Per-kernel time shares of a decode step at each batch size. */
export async function measureStepBreakdown(
  gpu: GpuContext,
  model: Model,
  batches: readonly number[],
  opts: StepOptions = {},
): Promise<StepBreakdown[]> {
  const prompt = opts.prompt ?? 8;
  const steps = opts.steps ?? 3;
  const rng = new Rng(opts.seed ?? 7);
  const out: StepBreakdown[] = [];
  for (const B of batches) {
    opts.onProgress?.(`step breakdown, batch ${B}`);
    const prof = new Profiler(gpu.device, gpu.timestamps);
    const backend = new GpuBackend(gpu, model, { maxSequences: B, maxTokensPerStep: Math.max(B * prompt, B), profiler: prof });
    try {
      let { seqs, next } = await prefill(backend, B, prompt, rng);
      next = (await backend.step(decodeEntries(seqs, next))).next; // warm-up
      const context = backend.length(seqs[0]!);
      // Each step's time per label (the profiler accumulates: difference its totals per step),
      // then the median over steps, so one step slowed by another process does not count.
      const perStep: Map<string, { ms: number; count: number }>[] = [];
      for (let i = 0; i < steps; i++) {
        prof.reset();
        next = (await backend.step(decodeEntries(seqs, next))).next;
        perStep.push(new Map([...prof.totals].map(([k, v]) => [k, { ...v }])));
      }
      const labels = [...new Set(perStep.flatMap((m) => [...m.keys()]))];
      const kernels = labels.map((label) => ({
        label,
        ms: median(perStep.map((m) => m.get(label)?.ms ?? 0)),
        dispatches: median(perStep.map((m) => m.get(label)?.count ?? 0)),
      }));
      const total = kernels.reduce((a, k) => a + k.ms, 0);
      out.push({
        batch: B,
        source: prof.source,
        context,
        dispatches: backend.lastDispatches,
        stepMs: total,
        kernels: kernels
          .map((k) => ({ ...k, share: total > 0 ? k.ms / total : 0 }))
          .sort((a, b) => b.ms - a.ms),
      });
    } finally {
      backend.destroy();
      prof.destroy();
    }
  }
  return out;
}

export interface DecodeRate {
  batch: number;
  /** Aggregate decode tokens/s (batch / median step time). */
  tokensPerS: number;
  msPerStep: number;
  steps: number;
  dispatches: number;
}

/**
 * Decode tokens/s at each batch size as the engine runs (no profiler): one backend per batch size,
 * `batch` sequences with a short prompt and one warm-up step each, then `rounds` rounds in which
 * every batch size runs `steps` steps in turn; the median of all its step times counts.
 * Interleaving the batch sizes puts a slow phase of a shared machine (another process, a
 * collection) into all of them alike, so their ratio holds up better than that of runs one after
 * the other; the same number of steps for each keeps their contexts, and so their attention
 * cost, equal.
 */
export async function measureDecodeRates(
  gpu: GpuContext,
  model: Model,
  batches: readonly number[],
  opts: { prompt?: number; rounds?: number; steps?: number; seed?: number } = {},
): Promise<DecodeRate[]> {
  const prompt = opts.prompt ?? 8;
  const rounds = opts.rounds ?? 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`measureDecodeRates: rounds must be an integer >= 1, got ${rounds}`);
  // At most the positions left after the prompt and the warm-up step, shared out between the rounds.
  const perRound = Math.min(opts.steps ?? 24, Math.floor((model.config.seqLen - prompt - 2) / rounds));
  if (!(perRound >= 1)) {
    throw new RangeError(`measureDecodeRates: a context of ${model.config.seqLen} leaves no room for ${rounds} rounds of steps after a ${prompt}-token prompt`);
  }
  const runs: { batch: number; backend: GpuBackend; seqs: number[]; next: ArrayLike<number>; times: number[] }[] = [];
  try {
    for (const batch of batches) {
      const backend = new GpuBackend(gpu, model, { maxSequences: batch, maxTokensPerStep: Math.max(batch * prompt, batch) });
      runs.push({ batch, backend, seqs: [], next: [], times: [] });
      const run = runs[runs.length - 1]!;
      const p = await prefill(backend, batch, prompt, new Rng((opts.seed ?? 11) + batch));
      run.seqs = p.seqs;
      run.next = (await backend.step(decodeEntries(p.seqs, p.next))).next; // warm-up
    }
    for (let r = 0; r < rounds; r++) {
      for (const run of runs) {
        for (let i = 0; i < perRound; i++) {
          const s = performance.now();
          run.next = (await run.backend.step(decodeEntries(run.seqs, run.next))).next;
          run.times.push(performance.now() - s);
        }
      }
    }
    return runs.map(({ batch, backend, times }) => {
      const ms = median(times);
      return { batch, tokensPerS: (batch * 1000) / ms, msPerStep: ms, steps: times.length, dispatches: backend.lastDispatches };
    });
  } finally {
    for (const run of runs) run.backend.destroy();
  }
}
