// Calibration: what this device can do with this model, measured before a run, so that offered
// load can be set as a fraction of it (ρ) and a preset means the same on a phone and on a
// workstation.
//
// - Decode: for batch sizes 1, 2, 4, ... up to maxBatch, B sequences each get a short prompt, one
//   warm-up decode step, then decode steps are timed (at least minSteps and minSeconds; the
//   median step time counts, so one step slowed by another process does not; step times are
//   then made non-decreasing in batch size). Capacity
//   is the decode tokens/s at maxBatch (DESIGN: "measured max throughput at the largest batch").
// - Prefill: one sequence, one chunk of `prefillChunk` tokens (the engine's chunk size), the
//   median of three timed runs after a warm-up.
// - Work: a request's GPU time at maxBatch is O output tokens at the decode cost per token plus
//   P prompt tokens at the prefill cost per token. In decode-token units a prompt token weighs
//   prefillWeight = (prefill ms per token) / (decode ms per token at maxBatch), so
//     ρ = arrival rate × (E[O] + prefillWeight × E[P]) / capacity
//   is the fraction of the GPU's time the offered work needs when batches are full.
import type { Backend } from '../model/backend.js';

export interface CalibrationPoint {
  batch: number;
  /** Aggregate decode tokens/s. */
  tokensPerS: number;
  msPerStep: number;
  /** The median step time measured, before the envelope (see calibrate). */
  measuredMsPerStep: number;
  steps: number;
}

export interface Calibration {
  backend: Backend['kind'];
  points: CalibrationPoint[];
  maxBatch: number;
  /** Decode tokens/s at maxBatch. */
  capacityTokensPerS: number;
  prefill: { chunk: number; tokensPerS: number; msPerStep: number };
  /** Cost of a prompt token in decode tokens at maxBatch (see the file header). */
  prefillWeight: number;
  /** Wall seconds the calibration took. */
  seconds: number;
}

export interface CalibrateOptions {
  maxBatch: number;
  /** Prompt tokens each decode sequence starts with (default 8). */
  promptTokens?: number;
  /** Prefill chunk measured (default 48, at most the context). */
  prefillChunk?: number;
  /** Timed decode steps per batch size, at least (default 5). */
  minSteps?: number;
  /** Timed seconds per batch size, at least (default 0.5). */
  minSeconds?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** 1, 2, 4, ... below maxBatch, then maxBatch. */
export function calibrationBatches(maxBatch: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) out.push(b);
  out.push(maxBatch);
  return out;
}

/** Tokens/s at `batch`, linearly interpolated between measured points (clamped at the ends). */
export function tokensPerSAt(points: readonly CalibrationPoint[], batch: number): number {
  if (points.length === 0) return NaN;
  const sorted = [...points].sort((a, b) => a.batch - b.batch);
  if (batch <= sorted[0]!.batch) return sorted[0]!.tokensPerS;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (batch <= b.batch) return a.tokensPerS + ((batch - a.batch) / (b.batch - a.batch)) * (b.tokensPerS - a.tokensPerS);
  }
  return sorted[sorted.length - 1]!.tokensPerS;
}

/**
 * Capacity and prompt-token weight at `maxBatch` from a calibration that measured that batch
 * size (or, when it did not, interpolated between its neighbours: `interpolated` says so).
 */
export function capacityAt(cal: Calibration, maxBatch: number): { capacityTokensPerS: number; prefillWeight: number; interpolated: boolean } {
  const exact = cal.points.find((p) => p.batch === maxBatch);
  const capacityTokensPerS = exact ? exact.tokensPerS : tokensPerSAt(cal.points, maxBatch);
  const decodeMsPerToken = 1000 / capacityTokensPerS;
  const prefillMsPerToken = cal.prefill.msPerStep / cal.prefill.chunk;
  return { capacityTokensPerS, prefillWeight: prefillMsPerToken / decodeMsPerToken, interpolated: !exact };
}

export async function calibrate(backend: Backend, options: CalibrateOptions): Promise<Calibration> {
  const c = backend.config;
  const maxBatch = options.maxBatch;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1 && maxBatch <= backend.maxSequences)) {
    throw new RangeError(`calibrate: maxBatch must be an integer in 1..${backend.maxSequences}, got ${maxBatch}`);
  }
  const prompt = Math.max(1, Math.min(options.promptTokens ?? 8, c.seqLen - 8));
  const chunk = Math.max(1, Math.min(options.prefillChunk ?? 48, c.seqLen - 1));
  const minSteps = options.minSteps ?? 5;
  const minMs = (options.minSeconds ?? 0.5) * 1000;
  const batches = calibrationBatches(maxBatch);
  const total = batches.length + 1;
  const t0 = performance.now();
  // Token ids from a fixed pattern in [3, vocab): no randomness needed, no EOS.
  const tok = (i: number) => 3 + ((i * 7919) % (c.vocabSize - 3));
  const greedy = (seq: number, tokens: number[]) => ({ seq, tokens, temperature: 0, topP: 1, u: 0 });

  const points: CalibrationPoint[] = [];
  for (let k = 0; k < batches.length; k++) {
    const B = batches[k]!;
    options.onProgress?.(k, total, `decode at batch ${B}`);
    const seqs = Array.from({ length: B }, () => backend.newSequence());
    try {
      let r = await backend.step(seqs.map((s, j) => greedy(s, Array.from({ length: prompt }, (_, i) => tok(i + j * 31)))));
      r = await backend.step(seqs.map((s, j) => greedy(s, [r.next[j]!])));
      // Room left in the context: never decode past it.
      const room = c.seqLen - prompt - 2;
      // The median step time: one slow step (another process, a GC) does not move it.
      const times: number[] = [];
      const start = performance.now();
      while (times.length < room && (times.length < minSteps || performance.now() - start < minMs)) {
        const t = performance.now();
        r = await backend.step(seqs.map((s, j) => greedy(s, [r.next[j]!])));
        times.push(performance.now() - t);
      }
      const n = times.length;
      const ms = median(times);
      points.push({ batch: B, tokensPerS: (B * 1000) / ms, msPerStep: ms, measuredMsPerStep: ms, steps: n });
    } finally {
      for (const s of seqs) backend.freeSequence(s);
    }
  }

  // A step with more sequences does not take less time: a larger batch measured faster than a
  // smaller one caught the machine in a quieter moment. Keep step times non-decreasing in batch
  // size, so that one lucky measurement cannot inflate capacity (and overload every preset).
  for (let k = 1; k < points.length; k++) {
    const p = points[k]!;
    const floor = points[k - 1]!.msPerStep;
    if (p.msPerStep < floor) {
      p.msPerStep = floor;
      p.tokensPerS = (p.batch * 1000) / floor;
    }
  }

  options.onProgress?.(batches.length, total, `prefill of ${chunk} tokens`);
  const prefillMs: number[] = [];
  for (let i = 0; i < 4; i++) {
    const seq = backend.newSequence();
    try {
      const start = performance.now();
      await backend.step([greedy(seq, Array.from({ length: chunk }, (_, j) => tok(j)))]);
      if (i > 0) prefillMs.push(performance.now() - start); // the first run compiles pipelines
    } finally {
      backend.freeSequence(seq);
    }
  }
  const pms = median(prefillMs);
  options.onProgress?.(total, total, 'done');
  const top = points[points.length - 1]!;
  const decodeMsPerToken = top.msPerStep / top.batch;
  return {
    backend: backend.kind,
    points,
    maxBatch,
    capacityTokensPerS: top.tokensPerS,
    prefill: { chunk, tokensPerS: (chunk * 1000) / pms, msPerStep: pms },
    prefillWeight: pms / chunk / decodeMsPerToken,
    seconds: (performance.now() - t0) / 1000,
  };
}
