import { describe, expect, it } from 'vitest';
import {
  LogHistogram,
  RankedMultiset,
  SlidingWindowPercentiles,
  percentile,
  percentileOfSorted,
  sortedCopy,
  summarize,
} from '../../src/metrics/percentiles.js';
import { Rng } from '../../src/ops/random.js';

/** Log-normal-ish positive values spanning a few decades (latency-like). */
function latencies(rng: Rng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    // Sum of uniforms ~ normal; exp gives a long right tail.
    let z = 0;
    for (let j = 0; j < 4; j++) z += rng.next() - 0.5;
    out.push(0.05 * Math.exp(3 * z));
  }
  return out;
}

const P = [0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];

describe('exact percentiles', () => {
  const x = [40, 15, 50, 35, 20]; // sorted: 15 20 35 40 50

  it('nearest-rank: x[ceil(p/100 n) - 1]', () => {
    expect(percentile(x, 0, 'nearest-rank')).toBe(15);
    expect(percentile(x, 5, 'nearest-rank')).toBe(15);
    expect(percentile(x, 30, 'nearest-rank')).toBe(20);
    expect(percentile(x, 40, 'nearest-rank')).toBe(20);
    expect(percentile(x, 50, 'nearest-rank')).toBe(35);
    expect(percentile(x, 100, 'nearest-rank')).toBe(50);
  });

  it('linear interpolation at h = (n-1) p/100 (numpy default)', () => {
    expect(percentile(x, 0, 'linear')).toBe(15);
    expect(percentile(x, 40, 'linear')).toBeCloseTo(29, 12); // 20 + 0.6 * 15
    expect(percentile(x, 50, 'linear')).toBe(35);
    expect(percentile(x, 90, 'linear')).toBeCloseTo(46, 12); // 40 + 0.6 * 10
    expect(percentile(x, 100, 'linear')).toBe(50);
  });

  it('1..100: p50/p90/p95/p99 by each method', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    const nr = summarize(v, 'nearest-rank');
    expect([nr.p50, nr.p90, nr.p95, nr.p99]).toEqual([50, 90, 95, 99]);
    const li = summarize(v, 'linear');
    expect(li.p50).toBeCloseTo(50.5, 12);
    expect(li.p90).toBeCloseTo(90.1, 12);
    expect(li.p95).toBeCloseTo(95.05, 12);
    expect(li.p99).toBeCloseTo(99.01, 12);
    expect(nr.count).toBe(100);
    expect(nr.mean).toBe(50.5);
    expect(nr.min).toBe(1);
    expect(nr.max).toBe(100);
  });

  it('one value, empty input, bad p, no mutation', () => {
    expect(percentile([7], 99, 'linear')).toBe(7);
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p99).toBeNaN();
    expect(s.mean).toBeNaN();
    expect(() => percentile(x, 101)).toThrow(RangeError);
    expect(() => percentile(x, -1)).toThrow(RangeError);
    expect(() => percentile(x, NaN)).toThrow(RangeError);
    expect(x).toEqual([40, 15, 50, 35, 20]);
  });

  it('sorts numerically, not as strings', () => {
    expect(Array.from(sortedCopy([10, 9, 100, 1]))).toEqual([1, 9, 10, 100]);
    expect(percentileOfSorted([1, 9, 10, 100], 75)).toBe(10);
  });
});

describe('LogHistogram (streaming)', () => {
  it('stays within its stated relative error of the exact nearest-rank percentiles', () => {
    for (const alpha of [0.01, 0.05]) {
      const rng = new Rng(42);
      const v = latencies(rng, 100_000);
      const h = new LogHistogram({ relativeError: alpha });
      for (const x of v) h.add(x);
      const sorted = sortedCopy(v);
      for (const p of P) {
        const exact = percentileOfSorted(sorted, p);
        const est = h.percentile(p);
        expect(Math.abs(est - exact)).toBeLessThanOrEqual(alpha * exact * (1 + 1e-9));
      }
      expect(h.count).toBe(100_000);
      expect(h.min).toBe(sorted[0]);
      expect(h.max).toBe(sorted[sorted.length - 1]);
      expect(h.mean).toBeCloseTo(v.reduce((a, b) => a + b, 0) / v.length, 9);
    }
  });

  it('has a fixed size whatever the number of values', () => {
    const h = new LogHistogram();
    expect(h.bucketCount).toBe(1382);
    for (let i = 0; i < 10_000; i++) h.add(i * 0.001);
    expect(h.bucketCount).toBe(1382);
  });

  it('merges: two halves merged equal one histogram of everything', () => {
    const v = latencies(new Rng(7), 20_000);
    const all = new LogHistogram();
    const a = new LogHistogram();
    const b = new LogHistogram();
    v.forEach((x, i) => {
      all.add(x);
      (i % 3 === 0 ? a : b).add(x);
    });
    a.merge(b);
    expect(a.summary()).toEqual({ ...all.summary(), mean: expect.closeTo(all.mean, 12) });
    expect(() => a.merge(new LogHistogram({ relativeError: 0.02 }))).toThrow();
  });

  it('round-trips through JSON', () => {
    const h = new LogHistogram({ relativeError: 0.02 });
    for (const x of latencies(new Rng(3), 5000)) h.add(x);
    const back = LogHistogram.fromJSON(JSON.parse(JSON.stringify(h.toJSON())));
    expect(back.summary()).toEqual(h.summary());
  });

  it('handles zeros, tiny values, repeats; rejects negatives', () => {
    const h = new LogHistogram();
    h.add(0, 3);
    h.add(2);
    expect(h.percentile(50)).toBe(0);
    expect(h.percentile(75)).toBe(0);
    expect(Math.abs(h.percentile(100) - 2)).toBeLessThanOrEqual(0.02);
    expect(h.count).toBe(4);
    expect(() => h.add(-1)).toThrow(RangeError);
    expect(() => h.add(NaN)).toThrow(RangeError);
    expect(new LogHistogram().percentile(50)).toBeNaN();
  });

  it('removes values (sliding windows) and keeps the error bound', () => {
    const v = latencies(new Rng(11), 2000);
    const h = new LogHistogram();
    for (const x of v) h.add(x);
    for (const x of v.slice(0, 1000)) h.remove(x);
    const sorted = sortedCopy(v.slice(1000));
    for (const p of P) {
      const exact = percentileOfSorted(sorted, p);
      expect(Math.abs(h.percentile(p) - exact)).toBeLessThanOrEqual(0.01 * exact * (1 + 1e-9));
    }
    expect(h.count).toBe(1000);
    expect(Math.abs(h.min - sorted[0])).toBeLessThanOrEqual(0.01 * sorted[0] * (1 + 1e-9));
  });
});

describe('SlidingWindowPercentiles', () => {
  it('events leave the window W seconds after they arrive', () => {
    const w = new SlidingWindowPercentiles(10);
    w.add(0, 1);
    w.add(1, 5);
    w.add(5, 3);
    w.advance(5); // [-5, 5]: 1 3 5
    expect(w.size).toBe(3);
    expect(w.percentile(50)).toBe(3);
    w.advance(10.5); // cut 0.5: t=0 leaves
    expect(w.size).toBe(2);
    expect(w.percentile(50)).toBe(3);
    expect(w.percentile(100)).toBe(5);
    w.add(12, 10);
    w.advance(12); // cut 2: t=1 (value 5) leaves
    expect(w.summary()).toMatchObject({ count: 2, min: 3, max: 10, mean: 6.5 });
    w.advance(15); // cut 5: t=5 stays (window is [now - W, now])
    expect(w.size).toBe(2);
    w.advance(15.01);
    expect(w.size).toBe(1);
    expect(w.percentile(99)).toBe(10);
    w.advance(100);
    expect(w.size).toBe(0);
    expect(w.percentile(50)).toBeNaN();
    expect(w.window).toEqual({ seconds: 10 });
  });

  it('removes the right copy of repeated values', () => {
    const w = new SlidingWindowPercentiles(1);
    w.add(0, 2);
    w.add(0.5, 2);
    w.add(1.5, 1);
    w.add(1.6, 2);
    w.advance(1.6); // cut 0.6: both t=0 and t=0.5 leave
    expect(w.summary()).toMatchObject({ count: 2, min: 1, max: 2 });
  });

  it('rejects events out of time order', () => {
    const w = new SlidingWindowPercentiles(5);
    w.add(3, 1);
    expect(() => w.add(2, 1)).toThrow(RangeError);
  });

  it('matches brute force on a random stream (exact, both methods) and the histogram within its error', () => {
    const rng = new Rng(5);
    const W = 2;
    const nr = new SlidingWindowPercentiles(W);
    const li = new SlidingWindowPercentiles(W, { method: 'linear' });
    const hi = new SlidingWindowPercentiles(W, { histogram: { relativeError: 0.01 } });
    const events: { t: number; v: number }[] = [];
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      t += rng.next() * 0.01 * (i % 500 < 250 ? 1 : 10); // dense and sparse stretches
      const v = 0.01 + rng.next() * rng.next() * 5;
      events.push({ t, v });
      for (const w of [nr, li, hi]) {
        w.add(t, v);
        w.advance(t);
      }
      if (i % 37 === 0) {
        const inWin = events.filter((e) => e.t >= t - W).map((e) => e.v);
        expect(nr.size).toBe(inWin.length);
        for (const p of [50, 90, 99]) {
          const exact = percentile(inWin, p);
          expect(nr.percentile(p)).toBe(exact);
          expect(li.percentile(p)).toBeCloseTo(percentile(inWin, p, 'linear'), 12);
          expect(Math.abs(hi.percentile(p) - exact)).toBeLessThanOrEqual(0.01 * exact * (1 + 1e-9));
        }
      }
    }
  });
});

describe('RankedMultiset (offline windows)', () => {
  it('exact percentiles of a multiset from a known universe, with repeats', () => {
    const m = new RankedMultiset([5, 1, 3, 3, 9, 7]);
    for (const v of [3, 9, 1, 3]) m.add(v);
    expect(m.size).toBe(4); // 1 3 3 9
    expect(m.percentile(50)).toBe(3);
    expect(m.percentile(100)).toBe(9);
    expect(m.percentile(0)).toBe(1);
    expect(m.percentile(50, 'linear')).toBe(3);
    expect(m.percentile(90, 'linear')).toBeCloseTo(9 - 0.3 * 6, 12); // h = 2.7: 3 + .7 * 6
    m.remove(3);
    m.remove(1);
    expect(m.kth(1)).toBe(3);
    expect(m.kth(2)).toBe(9);
    expect(() => m.add(4)).toThrow(RangeError);
    m.remove(3);
    m.remove(9);
    expect(m.percentile(50)).toBeNaN();
  });

  it('matches sorting on random adds and removes', () => {
    const rng = new Rng(8);
    const v = Array.from({ length: 500 }, () => Math.round(rng.next() * 100) / 10);
    const m = new RankedMultiset(v);
    const held: number[] = [];
    for (let i = 0; i < 2000; i++) {
      if (held.length && rng.next() < 0.4) {
        const j = rng.int(0, held.length - 1);
        m.remove(held[j]);
        held.splice(j, 1);
      } else {
        const x = v[rng.int(0, v.length - 1)];
        m.add(x);
        held.push(x);
      }
      if (held.length && i % 50 === 0) {
        for (const p of [1, 50, 90, 99]) {
          expect(m.percentile(p)).toBe(percentile(held, p));
          expect(m.percentile(p, 'linear')).toBeCloseTo(percentile(held, p, 'linear'), 12);
        }
      }
    }
  });
});
