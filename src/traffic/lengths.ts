// Length distributions: how many prompt and output tokens each generated request has.
// - parametric: prompt and output drawn independently, each fixed, uniform (integers,
//   inclusive), lognormal (by mean and CV, rounded, clamped to [min, max], min default 1) or
//   geometric on {1, 2, ...} (by mean; optional max).
// - empirical: (prompt, output) pairs resampled jointly, uniformly, from a trace, so their
//   correlation is kept.
import type { Rng } from '../ops/random.js';
import { geometric, lognormalParams, normal } from './sampling.js';
import type { Trace, TraceRequest } from './types.js';

export type TokenDist =
  | { kind: 'fixed'; value: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'lognormal'; mean: number; cv: number; min?: number; max?: number }
  | { kind: 'geometric'; mean: number; max?: number };

export type LengthDist =
  | { kind: 'parametric'; prompt: TokenDist; output: TokenDist }
  | { kind: 'empirical'; prompt: ArrayLike<number>; output: ArrayLike<number>; source?: string };

/** Parametric lengths; a number means a fixed count. */
export function parametricLengths(prompt: TokenDist | number, output: TokenDist | number): LengthDist {
  const d = (v: TokenDist | number): TokenDist => (typeof v === 'number' ? { kind: 'fixed', value: v } : v);
  return { kind: 'parametric', prompt: d(prompt), output: d(output) };
}

/** The (prompt, output) pairs of a trace, to resample jointly. */
export function empiricalLengths(trace: Trace | readonly TraceRequest[]): LengthDist {
  const reqs = 'requests' in trace ? trace.requests : trace;
  const prompt = new Int32Array(reqs.length);
  const output = new Int32Array(reqs.length);
  for (let i = 0; i < reqs.length; i++) {
    prompt[i] = reqs[i]!.promptTokens;
    output[i] = reqs[i]!.outputTokens;
  }
  const d: LengthDist = { kind: 'empirical', prompt, output };
  if ('source' in trace) d.source = trace.source;
  return d;
}

function validateToken(d: TokenDist, what: string): void {
  const isCount = (v: number): boolean => Number.isInteger(v) && v >= 0;
  const fail = (msg: string): never => {
    throw new RangeError(`${what} lengths (${d.kind}): ${msg}`);
  };
  switch (d.kind) {
    case 'fixed':
      if (!isCount(d.value)) fail(`value must be a whole number ≥ 0, got ${d.value}`);
      break;
    case 'uniform':
      if (!isCount(d.min) || !isCount(d.max) || d.min > d.max) fail(`need whole numbers 0 ≤ min ≤ max, got ${d.min}, ${d.max}`);
      break;
    case 'lognormal':
      if (!(Number.isFinite(d.mean) && d.mean > 0)) fail(`mean must be > 0, got ${d.mean}`);
      if (!(Number.isFinite(d.cv) && d.cv >= 0)) fail(`cv must be ≥ 0, got ${d.cv}`);
      if ((d.min !== undefined && !isCount(d.min)) || (d.max !== undefined && !isCount(d.max)) || (d.max ?? Infinity) < (d.min ?? 1)) {
        fail(`need whole numbers min ≤ max, got ${d.min}, ${d.max}`);
      }
      break;
    case 'geometric':
      if (!(Number.isFinite(d.mean) && d.mean >= 1)) fail(`mean must be ≥ 1, got ${d.mean}`);
      if (d.max !== undefined && !(isCount(d.max) && d.max >= 1)) fail(`max must be a whole number ≥ 1, got ${d.max}`);
      break;
    default:
      throw new RangeError(`${what} lengths: unknown distribution ${JSON.stringify((d as { kind: unknown }).kind)}`);
  }
}

/** Throws a RangeError naming the bad parameter. */
export function validateLengths(d: LengthDist): void {
  if (d.kind === 'parametric') {
    validateToken(d.prompt, 'prompt');
    validateToken(d.output, 'output');
  } else if (d.kind === 'empirical') {
    if (d.prompt.length === 0 || d.prompt.length !== d.output.length) {
      throw new RangeError(`empirical lengths: need equal, non-empty prompt and output columns (got ${d.prompt.length}, ${d.output.length})`);
    }
  } else {
    throw new RangeError(`unknown length distribution ${JSON.stringify((d as { kind: unknown }).kind)}`);
  }
}

function tokenSampler(d: TokenDist): (rng: Rng) => number {
  switch (d.kind) {
    case 'fixed': {
      const v = d.value;
      return () => v;
    }
    case 'uniform': {
      const { min, max } = d;
      return (rng) => rng.int(min, max);
    }
    case 'lognormal': {
      const { mu, sigma } = lognormalParams(d.mean, d.cv);
      const lo = d.min ?? 1;
      const hi = d.max ?? Infinity;
      return (rng) => Math.min(hi, Math.max(lo, Math.round(Math.exp(mu + sigma * normal(rng)))));
    }
    case 'geometric': {
      const { mean } = d;
      const hi = d.max ?? Infinity;
      return (rng) => Math.min(hi, geometric(rng, mean));
    }
  }
}

/** Draws (prompt, output) pairs; read `prompt` and `output` after each `next`. */
export interface LengthSampler {
  next(rng: Rng): void;
  prompt: number;
  output: number;
}

export function lengthSampler(d: LengthDist): LengthSampler {
  validateLengths(d);
  if (d.kind === 'empirical') {
    const { prompt, output } = d;
    const n = prompt.length;
    const s: LengthSampler = {
      prompt: 0,
      output: 0,
      next(rng) {
        const i = Math.floor(rng.next() * n);
        s.prompt = prompt[i]!;
        s.output = output[i]!;
      },
    };
    return s;
  }
  const p = tokenSampler(d.prompt);
  const o = tokenSampler(d.output);
  const s: LengthSampler = {
    prompt: 0,
    output: 0,
    next(rng) {
      s.prompt = p(rng);
      s.output = o(rng);
    },
  };
  return s;
}

/**
 * Nominal mean (prompt, output) tokens: exact for fixed, uniform and empirical; for lognormal
 * and geometric the distribution's mean before rounding and clamping.
 */
export function meanLengths(d: LengthDist): { prompt: number; output: number } {
  if (d.kind === 'empirical') {
    let p = 0;
    let o = 0;
    for (let i = 0; i < d.prompt.length; i++) {
      p += d.prompt[i]!;
      o += d.output[i]!;
    }
    return { prompt: p / d.prompt.length, output: o / d.output.length };
  }
  const m = (t: TokenDist): number => (t.kind === 'fixed' ? t.value : t.kind === 'uniform' ? (t.min + t.max) / 2 : t.mean);
  return { prompt: m(d.prompt), output: m(d.output) };
}

/** A short human description ("prompt lognormal mean 512 CV 1, output geometric mean 128"). */
export function describeLengths(d: LengthDist): string {
  if (d.kind === 'empirical') return `lengths resampled from ${d.source ?? 'a trace'} (${d.prompt.length} pairs)`;
  const t = (x: TokenDist): string => {
    switch (x.kind) {
      case 'fixed':
        return `${x.value}`;
      case 'uniform':
        return `uniform ${x.min}–${x.max}`;
      case 'lognormal':
        return `lognormal mean ${+x.mean.toPrecision(4)} CV ${+x.cv.toPrecision(3)}`;
      case 'geometric':
        return `geometric mean ${+x.mean.toPrecision(4)}`;
    }
  };
  return `prompt ${t(d.prompt)}, output ${t(d.output)} tokens`;
}
