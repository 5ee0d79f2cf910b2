import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/ops/random.js';
import { arrivalTimes, diurnalPhaseForPeak, meanRate, type ArrivalProcess } from '../../src/traffic/arrivals.js';
import { empiricalLengths, lengthSampler, meanLengths, parametricLengths, type LengthDist } from '../../src/traffic/lengths.js';
import { fromColumns, toColumns } from '../../src/traffic/columns.js';
import { toProjectJson } from '../../src/traffic/project-json.js';
import { gamma } from '../../src/traffic/sampling.js';
import { traceStats } from '../../src/traffic/stats.js';
import { generateRequests, generateTenantColumns, generateTenantRequests, generateTenants, type Tenant } from '../../src/traffic/tenants.js';
import type { Trace } from '../../src/traffic/types.js';

const HOUR = 3600;
const DAY = 86400;

/** Mean and CV of the gaps between consecutive times. */
function gapStats(times: number[]): { mean: number; cv: number } {
  let s = 0;
  let s2 = 0;
  const n = times.length - 1;
  for (let i = 1; i < times.length; i++) {
    const g = times[i]! - times[i - 1]!;
    s += g;
    s2 += g * g;
  }
  const mean = s / n;
  return { mean, cv: Math.sqrt(s2 / n - mean * mean) / mean };
}

function isSorted(times: number[], durationS: number): boolean {
  for (let i = 1; i < times.length; i++) if (times[i]! < times[i - 1]!) return false;
  return times.length === 0 || (times[0]! >= 0 && times[times.length - 1]! < durationS);
}

describe('samplers', () => {
  it('gamma has mean k and variance k for shapes below and above 1 (tolerance 3%)', () => {
    for (const k of [0.0625, 0.25, 1, 4, 30]) {
      const rng = new Rng(11);
      const n = 200_000;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const x = gamma(rng, k);
        s += x;
        s2 += x * x;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      expect(Math.abs(mean / k - 1), `mean for k=${k}`).toBeLessThan(0.03);
      expect(Math.abs(variance / k - 1), `variance for k=${k}`).toBeLessThan(k < 1 ? 0.08 : 0.03);
    }
  });
});

describe('arrival processes', () => {
  it('Poisson: mean rate within 1% and gap CV within 2% of 1 over 200k arrivals', () => {
    const times = arrivalTimes({ kind: 'poisson', rate: 50 }, 4000, new Rng(1));
    expect(isSorted(times, 4000)).toBe(true);
    expect(Math.abs(times.length / 4000 / 50 - 1)).toBeLessThan(0.01);
    expect(Math.abs(gapStats(times).cv - 1)).toBeLessThan(0.02);
  });

  for (const cv of [0.5, 2, 4]) {
    it(`gamma renewal: CV ${cv} within 10%, mean rate within 3%`, () => {
      const rate = 20;
      const durationS = 10_000;
      const times = arrivalTimes({ kind: 'gamma', rate, cv }, durationS, new Rng(7));
      expect(isSorted(times, durationS)).toBe(true);
      const g = gapStats(times);
      expect(Math.abs(g.cv / cv - 1), `cv ${g.cv}`).toBeLessThan(0.1);
      expect(Math.abs(times.length / durationS / rate - 1), `rate ${times.length / durationS}`).toBeLessThan(0.03);
    });
  }

  it('diurnal: peak/trough ratio and Fourier amplitude match the amplitude', () => {
    const amplitude = 0.6;
    const p: ArrivalProcess = { kind: 'diurnal', rate: 1, amplitude };
    const days = 12;
    const times = arrivalTimes(p, days * DAY, new Rng(3));
    expect(isSorted(times, days * DAY)).toBe(true);
    expect(Math.abs(times.length / (days * DAY) - 1)).toBeLessThan(0.01);
    // With phase 0 the peak is at 06:00 and the trough at 18:00; count ±1 h around each.
    let peak = 0;
    let trough = 0;
    let sinSum = 0;
    for (const t of times) {
      const h = (t % DAY) / HOUR;
      if (Math.abs(h - 6) < 1) peak++;
      if (Math.abs(h - 18) < 1) trough++;
      sinSum += Math.sin((2 * Math.PI * t) / DAY);
    }
    // A ±1 h window averages sin over ±15°: factor sin(x)/x, x = 2π/24.
    const x = (2 * Math.PI) / 24;
    const f = Math.sin(x) / x;
    const expected = (1 + amplitude * f) / (1 - amplitude * f);
    console.log(`diurnal amplitude ${amplitude}: peak/trough ${(peak / trough).toFixed(3)} (expected ${expected.toFixed(3)})`);
    expect(Math.abs(peak / trough / expected - 1)).toBeLessThan(0.05);
    expect(Math.abs((2 * sinSum) / times.length - amplitude)).toBeLessThan(0.02);
  });

  /** Hour of the local-peak in trace time, from the circular mean of arrival phase. */
  function peakHour(times: number[]): number {
    let c = 0;
    let s = 0;
    for (const t of times) {
      c += Math.cos((2 * Math.PI * t) / DAY);
      s += Math.sin((2 * Math.PI * t) / DAY);
    }
    return ((((Math.atan2(s, c) / (2 * Math.PI)) * 24) % 24) + 24) % 24;
  }

  it('diurnal: a time-zone offset shifts the peak earlier by that many hours; the phase sets its hour', () => {
    const p: ArrivalProcess = { kind: 'diurnal', rate: 0.5, amplitude: 0.8, phase: diurnalPhaseForPeak(14) };
    const utc = peakHour(arrivalTimes(p, 6 * DAY, new Rng(5), 0));
    const tokyo = peakHour(arrivalTimes(p, 6 * DAY, new Rng(5), 9)); // UTC+9: local 14:00 is 05:00 UTC
    const ny = peakHour(arrivalTimes(p, 6 * DAY, new Rng(5), -5)); // UTC−5: 19:00 UTC
    console.log(`peak hours (UTC): tz 0 → ${utc.toFixed(2)}, tz +9 → ${tokyo.toFixed(2)}, tz −5 → ${ny.toFixed(2)}`);
    expect(Math.abs(utc - 14)).toBeLessThan(0.25);
    expect(Math.abs(tokyo - 5)).toBeLessThan(0.25);
    expect(Math.abs(ny - 19)).toBeLessThan(0.25);
  });

  it('on/off: mean rate is the time-weighted average, and arrivals are bursty (CV > 1)', () => {
    const p: ArrivalProcess = { kind: 'onoff', onRate: 40, offRate: 1, meanOnS: 20, meanOffS: 80 };
    const durationS = 200_000;
    const times = arrivalTimes(p, durationS, new Rng(9));
    expect(isSorted(times, durationS)).toBe(true);
    expect(meanRate(p)).toBeCloseTo(8.8, 12);
    expect(Math.abs(times.length / durationS / meanRate(p) - 1)).toBeLessThan(0.03);
    const cv = gapStats(times).cv;
    console.log(`on/off gap CV ${cv.toFixed(2)}`);
    expect(cv).toBeGreaterThan(1.5);
  });

  it('rejects bad parameters with a clear message', () => {
    expect(() => arrivalTimes({ kind: 'gamma', rate: 1, cv: 0 }, 10, new Rng(1))).toThrow('gamma arrivals: cv must be > 0, got 0');
    expect(() => arrivalTimes({ kind: 'diurnal', rate: 1, amplitude: 1.5 }, 10, new Rng(1))).toThrow('amplitude must be in [0, 1]');
    expect(() => arrivalTimes({ kind: 'poisson', rate: -1 }, 10, new Rng(1))).toThrow('rate must be a finite number ≥ 0');
    expect(arrivalTimes({ kind: 'poisson', rate: 0 }, 10, new Rng(1))).toEqual([]);
  });
});

describe('length distributions', () => {
  function sample(d: LengthDist, n: number, seed = 1): { prompt: number[]; output: number[] } {
    const s = lengthSampler(d);
    const rng = new Rng(seed);
    const prompt: number[] = [];
    const output: number[] = [];
    for (let i = 0; i < n; i++) {
      s.next(rng);
      prompt.push(s.prompt);
      output.push(s.output);
    }
    return { prompt, output };
  }
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  const cv = (v: number[]): number => {
    const m = mean(v);
    return Math.sqrt(mean(v.map((x) => (x - m) ** 2))) / m;
  };

  it('fixed, uniform (inclusive), lognormal by mean and CV, geometric by mean', () => {
    const n = 100_000;
    const a = sample(parametricLengths({ kind: 'uniform', min: 10, max: 20 }, 7), n);
    expect(Math.min(...a.prompt)).toBe(10);
    expect(Math.max(...a.prompt)).toBe(20);
    expect(Math.abs(mean(a.prompt) - 15)).toBeLessThan(0.1);
    expect(new Set(a.output)).toEqual(new Set([7]));

    const b = sample(parametricLengths({ kind: 'lognormal', mean: 1000, cv: 1.5 }, { kind: 'geometric', mean: 50 }), n);
    expect(Math.abs(mean(b.prompt) / 1000 - 1)).toBeLessThan(0.03);
    expect(Math.abs(cv(b.prompt) / 1.5 - 1)).toBeLessThan(0.1);
    expect(Math.min(...b.prompt)).toBeGreaterThanOrEqual(1);
    expect(Math.abs(mean(b.output) / 50 - 1)).toBeLessThan(0.02);
    expect(Math.min(...b.output)).toBe(1);
    // Geometric with mean m has CV sqrt(1 − 1/m).
    expect(Math.abs(cv(b.output) - Math.sqrt(1 - 1 / 50))).toBeLessThan(0.02);

    const c = sample(parametricLengths({ kind: 'lognormal', mean: 100, cv: 3, min: 5, max: 300 }, { kind: 'geometric', mean: 50, max: 60 }), n);
    expect(Math.min(...c.prompt)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...c.prompt)).toBeLessThanOrEqual(300);
    expect(Math.max(...c.output)).toBe(60);
  });

  it('empirical: resamples (prompt, output) pairs jointly', () => {
    const trace: Trace = {
      source: 'tiny',
      format: 'json',
      badRows: [],
      requests: [
        { arrival: 0, promptTokens: 10, outputTokens: 1 },
        { arrival: 1, promptTokens: 20, outputTokens: 2 },
        { arrival: 2, promptTokens: 30, outputTokens: 3 },
      ],
    };
    const d = empiricalLengths(trace);
    expect(meanLengths(d)).toEqual({ prompt: 20, output: 2 });
    const s = sample(d, 30_000);
    const counts = new Map<string, number>();
    s.prompt.forEach((p, i) => counts.set(`${p}/${s.output[i]}`, (counts.get(`${p}/${s.output[i]}`) ?? 0) + 1));
    expect([...counts.keys()].sort()).toEqual(['10/1', '20/2', '30/3']);
    for (const c of counts.values()) expect(Math.abs(c / 10_000 - 1)).toBeLessThan(0.05);
  });

  it('rejects bad parameters', () => {
    expect(() => lengthSampler(parametricLengths({ kind: 'uniform', min: 5, max: 2 }, 1))).toThrow('prompt lengths (uniform)');
    expect(() => lengthSampler(parametricLengths(1, { kind: 'geometric', mean: 0.5 }))).toThrow('output lengths (geometric): mean must be ≥ 1');
  });
});

describe('tenants', () => {
  const lengths = parametricLengths({ kind: 'lognormal', mean: 200, cv: 1 }, { kind: 'geometric', mean: 40 });
  const mix: Tenant[] = [
    { id: 0, name: 'steady', arrival: { kind: 'poisson', rate: 2 }, lengths },
    { id: 1, name: 'bursty', arrival: { kind: 'gamma', rate: 1, cv: 3 }, lengths },
    { id: 7, name: 'tokyo', arrival: { kind: 'diurnal', rate: 1.5, amplitude: 0.9 }, lengths, tzOffsetH: 9 },
    { id: 3, name: 'batch', arrival: { kind: 'onoff', onRate: 10, meanOnS: 30, meanOffS: 300 }, lengths },
  ];

  it('merges tenants sorted by arrival, each request tagged, matching each tenant generated alone', () => {
    const t = generateTenants(mix, 2000, 42);
    expect(t.format).toBe('generated');
    expect(t.durationS).toBe(2000);
    expect(isSorted(t.requests.map((r) => r.arrival), 2000)).toBe(true);
    for (const tenant of mix) {
      const mine = t.requests.filter((r) => r.tenant === tenant.id);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine).toEqual(generateTenantRequests(tenant, 2000, 42));
    }
    expect(traceStats(t).tenants).toBe(4);
  });

  it('columns hold the same requests as objects, and convert both ways', () => {
    const t = generateTenants(mix, 1000, 8);
    const c = generateTenantColumns(mix, 1000, 8);
    expect(c.arrival).toBeInstanceOf(Float64Array);
    expect(toColumns(t.requests)).toEqual(c);
    expect(fromColumns(c)).toEqual(t.requests);
    expect(toColumns([{ arrival: 1, promptTokens: 2, outputTokens: 3 }]).tenant[0]).toBe(-1);
    expect(fromColumns(toColumns([{ arrival: 1, promptTokens: 2, outputTokens: 3 }]))).toEqual([{ arrival: 1, promptTokens: 2, outputTokens: 3 }]);
  });

  it('is deterministic: same seed → identical JSON, different seed → different', () => {
    const a = toProjectJson(generateTenants(mix, 600, 1));
    const b = toProjectJson(generateTenants(mix, 600, 1));
    const c = toProjectJson(generateTenants(mix, 600, 2));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    const one = (seed: number): string => JSON.stringify(generateRequests({ kind: 'gamma', rate: 5, cv: 2 }, lengths, 100, seed));
    expect(one(9)).toBe(one(9));
    expect(one(9)).not.toBe(one(10));
  });

  it("a tenant's requests do not change when other tenants are added", () => {
    const alone = generateTenants([mix[1]!], 600, 5).requests;
    const together = generateTenants(mix, 600, 5).requests.filter((r) => r.tenant === 1);
    expect(together).toEqual(alone);
  });

  it('rejects duplicate ids and bad specs, naming the tenant', () => {
    expect(() => generateTenants([mix[0]!, { ...mix[1]!, id: 0 }], 10, 1)).toThrow('tenant id 0 is used twice');
    expect(() => generateTenants([{ ...mix[0]!, arrival: { kind: 'poisson', rate: NaN } }], 10, 1)).toThrow("tenant 'steady' (0): poisson arrivals");
  });

  it('1,000 tenants × ~1,100 requests (≥ 1M) in a few seconds', () => {
    const kinds: ArrivalProcess[] = [
      { kind: 'poisson', rate: 0.3 },
      { kind: 'gamma', rate: 0.3, cv: 2 },
      { kind: 'diurnal', rate: 0.3, amplitude: 0.5 },
      { kind: 'onoff', onRate: 1.2, offRate: 0.05, meanOnS: 60, meanOffS: 200 },
    ];
    const tenants: Tenant[] = Array.from({ length: 1000 }, (_, i) => ({
      id: i,
      name: `t${i}`,
      arrival: kinds[i % kinds.length]!,
      lengths,
      tzOffsetH: (i % 24) - 11,
    }));
    const t0 = performance.now();
    const t = generateTenants(tenants, 3600, 2024);
    const ms = performance.now() - t0;
    console.log(`generated ${t.requests.length.toLocaleString('en')} requests for 1,000 tenants in ${ms.toFixed(0)} ms`);
    expect(t.requests.length).toBeGreaterThan(1_000_000);
    expect(ms).toBeLessThan(10_000);
    let sorted = true;
    for (let i = 1; i < t.requests.length; i++) if (t.requests[i]!.arrival < t.requests[i - 1]!.arrival) sorted = false;
    expect(sorted).toBe(true);
    const s = traceStats(t);
    expect(s.tenants).toBe(1000);
    expect(Math.abs(s.meanRate / 300 - 1)).toBeLessThan(0.03);
  });
});
