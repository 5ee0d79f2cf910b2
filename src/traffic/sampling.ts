// Random variates over the project's seeded Rng (mulberry32): exponential, normal, gamma
// (Marsaglia–Tsang), lognormal, geometric; and seed derivation so each tenant gets its own
// stream. Everything here is deterministic given the seed, in Node and in browsers.
import type { Rng } from '../ops/random.js';

/** Uniform in (0, 1]: safe to take the log of. */
export function uniformOpen0(rng: Rng): number {
  return 1 - rng.next();
}

/** Exponential with the given rate (mean 1/rate). */
export function exponential(rng: Rng, rate: number): number {
  return -Math.log(uniformOpen0(rng)) / rate;
}

/** Standard normal (Box–Muller; two uniforms per draw, no hidden state). */
export function normal(rng: Rng): number {
  const u1 = uniformOpen0(rng);
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Gamma(shape k, scale 1), by Marsaglia and Tsang (2000). For k < 1 it uses
 * Gamma(k) = Gamma(k + 1) · U^(1/k), computed in logs so tiny shapes (high CV) do not underflow
 * before the end.
 */
export function gamma(rng: Rng, shape: number): number {
  if (shape < 1) {
    const g = gamma(rng, shape + 1);
    return Math.exp(Math.log(g) + Math.log(uniformOpen0(rng)) / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = uniformOpen0(rng);
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Lognormal parameters (μ, σ of the underlying normal) for a given mean and CV. */
export function lognormalParams(mean: number, cv: number): { mu: number; sigma: number } {
  const s2 = Math.log(1 + cv * cv);
  return { mu: Math.log(mean) - s2 / 2, sigma: Math.sqrt(s2) };
}

/** Geometric on {1, 2, ...} with the given mean (≥ 1): P(k) = p (1 − p)^(k − 1), p = 1/mean. */
export function geometric(rng: Rng, mean: number): number {
  if (mean <= 1) return 1;
  const p = 1 / mean;
  return Math.max(1, Math.ceil(Math.log(uniformOpen0(rng)) / Math.log1p(-p)));
}

/**
 * A 32-bit seed derived from a base seed and a stream key (tenant id, purpose), so streams are
 * independent of each other and of how many other tenants exist. (murmur3 finaliser.)
 */
export function deriveSeed(seed: number, ...keys: number[]): number {
  let h = seed >>> 0;
  for (const k of keys) {
    h = Math.imul(h ^ Math.imul((k + 0x9e3779b9) >>> 0, 0xcc9e2d51), 0x1b873593) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}
