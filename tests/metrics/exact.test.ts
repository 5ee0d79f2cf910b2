// The exact building blocks of the lab's incremental metrics: ExactSum (order-independent,
// correctly rounded sums), OrderedMultiset (order statistics while values come and go), the
// union of a multiset with a sorted array, and vLLM-style summaries with an exact variance.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ExactDistribution,
  ExactSum,
  OrderedMultiset,
  exactVariance,
  percentile,
  rankedArray,
  rankedUnion,
  serveStats,
  twoProduct,
} from '../../src/metrics/percentiles.js';

/** Doubles m * 2^e (|m| < 2^53, e in [-60, 20]): exact as BigInts scaled by 2^60. */
const dyadic = fc.tuple(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.integer({ min: -60, max: 20 })).map(([m, e]) => m * 2 ** e);
const SCALE = 2n ** 60n;
const exactSum = (xs: number[]): number => {
  let s = 0n;
  for (const x of xs) {
    // x * 2^60 is an integer for these values.
    s += BigInt(x * 2 ** 60);
  }
  // Number(BigInt) rounds to nearest, ties to even; dividing by a power of two is then exact.
  return Number(s) / Number(SCALE);
};

describe('ExactSum', () => {
  it('is the exact sum correctly rounded, whatever the order (and removal) of terms', () => {
    fc.assert(
      fc.property(fc.array(dyadic, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), (xs, perm) => {
        const a = new ExactSum();
        for (const x of xs) a.add(x);
        const shuffled = xs.slice();
        perm.forEach((p, i) => {
          const j = p % (shuffled.length || 1);
          if (i < shuffled.length) [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        });
        const b = new ExactSum();
        for (const x of shuffled) b.add(x);
        // An extra term added and taken away again leaves no trace.
        b.add(1e300).add(-1e300);
        expect(a.value()).toBe(exactSum(xs));
        expect(b.value()).toBe(a.value());
        expect(a.copy().addSum(b).value()).toBe(exactSum([...xs, ...xs]));
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('where plain addition loses the small terms', () => {
    const s = new ExactSum().add(1e16).add(1).add(1).add(-1e16);
    expect(1e16 + 1 + 1 - 1e16).toBe(0);
    expect(s.value()).toBe(2);
    expect(new ExactSum().value()).toBe(0);
    expect(new ExactSum().add(Infinity).add(1).value()).toBe(Infinity);
  });

  it('twoProduct gives the product exactly as hi + lo', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 26), max: 2 ** 26 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (a, b) => {
        const [hi, lo] = twoProduct(a, b);
        expect(BigInt(hi) + BigInt(lo)).toBe(BigInt(a) * BigInt(b));
      }),
      { numRuns: 200, seed: 2 },
    );
  });
});

describe('OrderedMultiset', () => {
  it('answers every rank as a sorted array does, through random adds and removes', () => {
    const op = fc.oneof(
      fc.record({ add: fc.constant(true), x: fc.integer({ min: 0, max: 3000 }).map((v) => v / 7) }),
      fc.record({ add: fc.constant(false), i: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 500, maxLength: 4000 }), (ops) => {
        const m = new OrderedMultiset();
        const ref: number[] = [];
        for (const o of ops) {
          if (o.add) {
            m.add(o.x);
            ref.push(o.x);
          } else if (ref.length) {
            const [x] = ref.splice(o.i % ref.length, 1);
            m.remove(x!);
          }
        }
        ref.sort((a, b) => a - b);
        expect(m.size).toBe(ref.length);
        for (let r = 0; r < ref.length; r += 1 + (r % 5)) expect(m.select(r)).toBe(ref[r]);
        expect(m.distinct).toBe(new Set(ref).size);
      }),
      { numRuns: 40, seed: 3 },
    );
  });

  it('refuses what it cannot hold or does not hold', () => {
    const m = new OrderedMultiset();
    expect(() => m.add(NaN)).toThrow(/not a finite number/);
    m.add(1);
    expect(() => m.remove(2)).toThrow(/not held/);
    expect(() => m.select(1)).toThrow(/rank 1 outside/);
  });
});

describe('rankedUnion', () => {
  it('selects from a multiset and a sorted array as from their sorted concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 80 }), fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 30 }), (ms, extra) => {
        const m = new OrderedMultiset();
        for (const x of ms) m.add(x);
        const e = Float64Array.from(extra).sort();
        const u = rankedUnion(m, e);
        const ref = [...ms, ...extra].sort((a, b) => a - b);
        expect(u.size).toBe(ref.length);
        for (let r = 0; r < ref.length; r++) expect(u.select(r)).toBe(ref[r]);
      }),
      { numRuns: 200, seed: 4 },
    );
  });
});

describe('summaries', () => {
  it('linear percentiles as numpy; the variance exact (0 for equal values)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 100, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        const s = serveStats(xs);
        expect(s.count).toBe(xs.length);
        expect(s.median).toBe(percentile(xs, 50, 'linear'));
        expect(s.p99).toBe(percentile(xs, 99, 'linear'));
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const twoPass = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
        expect(s.mean).toBeCloseTo(mean, 9);
        expect(Math.abs(s.std - twoPass)).toBeLessThanOrEqual(1e-9 * Math.max(1, twoPass));
      }),
      { numRuns: 200, seed: 5 },
    );
    const same = serveStats([0.005, 0.005, 0.005]);
    expect(same.std).toBe(0);
    const sum = new ExactSum().add(0.1).add(0.1);
    const sq = new ExactSum().addProduct(0.1, 0.1).addProduct(0.1, 0.1);
    expect(exactVariance(2, sum, sq)).toBe(0);
  });

  it('a live distribution equals the summary of the values it holds, whatever came and went', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { maxLength: 120 }), fc.array(fc.boolean(), { maxLength: 120 }), (xs, keep) => {
        const d = new ExactDistribution();
        const held: number[] = [];
        xs.forEach((x, i) => {
          d.add(x);
          if (keep[i] === false) d.remove(x);
          else held.push(x);
        });
        const extra = Float64Array.from([3, 1, 2]).sort();
        expect(d.stats()).toEqual(serveStats(held));
        expect(d.stats(extra)).toEqual(serveStats([...held, 1, 2, 3]));
        expect(d.percentile(90, extra)).toBe(serveStats([...held, 1, 2, 3]).p90);
        expect(rankedArray([1, 2]).select(1)).toBe(2);
      }),
      { numRuns: 150, seed: 6 },
    );
  });
});
