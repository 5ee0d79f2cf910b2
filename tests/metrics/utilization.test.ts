import { describe, expect, it } from 'vitest';
import type { RequestRecord, StepRecord } from '../../src/metrics/records.js';
import {
  BucketAccumulator,
  BucketGrid,
  buildTimeSeries,
  outputTokensIn,
  overlapFraction,
  queueDepthSeries,
  stepFunctionMeans,
  utilization,
} from '../../src/metrics/utilization.js';
import { Rng } from '../../src/ops/random.js';
import { percentile } from '../../src/metrics/percentiles.js';

let nextIndex = 0;
function step(p: Partial<StepRecord> & Pick<StepRecord, 'gpu' | 'start' | 'end'>): StepRecord {
  return {
    index: nextIndex++,
    busy: p.end - p.start,
    timing: 'timestamp',
    batchSize: 1,
    decodeTokens: 0,
    outputTokens: p.decodeTokens ?? 0,
    prefillTokens: 0,
    contextTokens: 0,
    queueDepth: 0,
    kvBlocksUsed: 0,
    kvBlocksTotal: 100,
    ...p,
  };
}

function req(p: Partial<RequestRecord> & Pick<RequestRecord, 'id' | 'arrival' | 'status'>): RequestRecord {
  return { tenant: 0, promptTokens: 10, outputTokens: 0, maxOutputTokens: 16, preemptions: 0, ...p };
}

// Three GPUs over [0, 10); GPU 2 never runs a step.
const steps: StepRecord[] = [
  // straddles t0: half inside
  step({ gpu: 0, start: -1, end: 1, busy: 1.6, batchSize: 4, decodeTokens: 4, prefillTokens: 100, queueDepth: 2 }),
  step({ gpu: 0, start: 2, end: 4, busy: 2, batchSize: 8, decodeTokens: 8, queueDepth: 1 }),
  // straddles t1: half inside
  step({ gpu: 0, start: 9, end: 11, busy: 2, batchSize: 2, decodeTokens: 2, prefillTokens: 20, queueDepth: 0 }),
  step({ gpu: 1, start: 0, end: 5, busy: 5, batchSize: 1, decodeTokens: 1, queueDepth: 3, timing: 'wall' }),
];

// Output tokens in [0, 10): rA 5 (all), rB 1 + 4 * 2/4 = 3, rC 0 (after), rD 1 (running, 1 token)
const requests: RequestRecord[] = [
  req({ id: 1, arrival: 0.5, firstToken: 1, finish: 5, outputTokens: 5, status: 'finished' }),
  req({ id: 2, arrival: 7, firstToken: 8, finish: 12, outputTokens: 5, status: 'finished' }),
  req({ id: 3, arrival: 10.5, firstToken: 11, finish: 12, outputTokens: 3, status: 'finished' }),
  req({ id: 4, arrival: 9, firstToken: 9.5, outputTokens: 1, status: 'running' }),
];

describe('overlap', () => {
  it('clips steps proportionally; zero-length steps count where they start', () => {
    expect(overlapFraction(-1, 1, 0, 10)).toBe(0.5);
    expect(overlapFraction(9, 13, 0, 10)).toBe(0.25);
    expect(overlapFraction(-5, 15, 0, 10)).toBe(0.5);
    expect(overlapFraction(10, 11, 0, 10)).toBe(0);
    expect(overlapFraction(3, 3, 0, 10)).toBe(1);
    expect(overlapFraction(10, 10, 0, 10)).toBe(0);
  });
});

describe('utilization over a span', () => {
  const u = utilization(steps, { t0: 0, t1: 10, gpus: 3 });

  it('busy time and time utilization per GPU, idle GPU included', () => {
    expect(u.perGpu.map((g) => g.busy)).toEqual([expect.closeTo(3.8, 12), 5, 0]); // .8 + 2 + 1
    expect(u.perGpu.map((g) => g.timeUtilization)).toEqual([expect.closeTo(0.38, 12), 0.5, 0]);
    expect(u.perGpu.map((g) => g.steps)).toEqual([2, 1, 0]);
    expect(u.busy).toBeCloseTo(8.8, 12);
    expect(u.timeUtilization).toBeCloseTo(8.8 / 30, 12);
    expect(u.wall).toBe(10);
    expect(u.steps).toBe(3);
    expect(u.timing).toEqual({ timestamp: 3, wall: 1, model: 0 });
  });

  it('tokens/s: decode and all (prefill + decode) from steps, output from requests', () => {
    expect(u.decodeTokens).toBe(12); // 2 + 8 + 1 + 1
    expect(u.prefillTokens).toBe(60); // 50 + 10
    expect(u.decodeTokensPerS).toBeCloseTo(1.2, 12);
    expect(u.allTokensPerS).toBeCloseTo(7.2, 12);
    expect(u.outputTokensPerS).toBeUndefined();
    const w = utilization(steps, { t0: 0, t1: 10, gpus: 3, requests });
    expect(w.outputTokens).toBeCloseTo(9, 12);
    expect(w.outputTokensPerS).toBeCloseTo(0.9, 12);
    expect(outputTokensIn(requests, 10, 12)).toBeCloseTo(2 + 3, 12); // rB's other half, all of rC
  });

  it('a request still running spreads its tokens so far up to the time the records were taken', () => {
    const running: RequestRecord = { id: 9, tenant: 0, arrival: 0, firstToken: 1, promptTokens: 4, outputTokens: 51, maxOutputTokens: 100, status: 'running', preemptions: 0 };
    // 50 tokens after the first, made over [1, 11): 5 per second.
    expect(outputTokensIn([running], 2, 10, 11)).toBeCloseTo(40, 12);
    expect(outputTokensIn([running], 0, 2, 11)).toBeCloseTo(1 + 5, 12);
    // Taken at t1 by default.
    expect(outputTokensIn([running], 1, 6)).toBeCloseTo(51, 12);
    expect(utilization([], { t0: 2, t1: 10, gpus: 1, requests: [running], now: 11 }).outputTokensPerS).toBeCloseTo(5, 12);
  });

  it('capacity utilization on each basis', () => {
    const all = utilization(steps, { t0: 0, t1: 10, gpus: 3, capacityTokensPerS: 10, capacityBasis: 'all' });
    expect(all.capacityTokensPerS).toBe(30);
    expect(all.capacityUtilization).toBeCloseTo(0.24, 12);
    const out = utilization(steps, { t0: 0, t1: 10, gpus: 3, capacityTokensPerS: 10, requests });
    expect(out.capacityBasis).toBe('output');
    expect(out.capacityUtilization).toBeCloseTo(0.03, 12);
    const dec = utilization(steps, { t0: 0, t1: 10, gpus: 3, capacityTokensPerS: 10 });
    expect(dec.capacityUtilization).toBeCloseTo(0.04, 12); // decode tokens when no requests
  });

  it('mean batch size per step and time-weighted; mean queue depth', () => {
    expect(u.meanBatchSize.perStep).toBeCloseTo(4, 12); // (4*.5 + 8 + 2*.5 + 1) / 3
    expect(u.meanBatchSize.timeWeighted).toBeCloseTo(3, 12); // (4*1 + 8*2 + 2*1 + 1*5) / 9
    // fleet queue: 5 on [0,2), 4 on [2,9), 3 on [9,10)
    expect(u.meanQueueDepth).toBeCloseTo(4.1, 12);
    const empty = utilization([], { t0: 0, t1: 1, gpus: 1 });
    expect(empty.meanBatchSize.perStep).toBeNaN();
    expect(empty.timeUtilization).toBe(0);
  });

  it('rejects steps on GPUs outside the fleet and empty spans', () => {
    expect(() => utilization(steps, { t0: 0, t1: 10, gpus: 1 })).toThrow(RangeError);
    expect(() => utilization(steps, { t0: 5, t1: 5, gpus: 3 })).toThrow(RangeError);
  });
});

describe('queue depth over time', () => {
  it('sums each GPU’s latest depth', () => {
    expect(queueDepthSeries(steps)).toEqual({ t: [-1, 0, 2, 9], queueDepth: [2, 5, 4, 3] });
    expect(stepFunctionMeans([1, 3], [2, 4], [0, 2, 4])).toEqual([1, 3]);
  });
});

describe('buckets', () => {
  it('spreads an amount over the buckets it covers', () => {
    const a = new BucketAccumulator(new BucketGrid(0, 8, 1));
    a.addSpread(0.5, 7.5, 7);
    a.addSpread(-2, 2, 4); // half outside
    a.addPoint(3.25, 10);
    a.addPoint(8, 100); // outside [0, 8)
    expect(Array.from(a.totals())).toEqual([1.5, 2, 1, 11, 1, 1, 1, 0.5]);
  });

  it('last bucket is shorter when the span is not whole intervals', () => {
    const g = new BucketGrid(0, 5, 2);
    expect(g.count).toBe(3);
    expect(g.width(2)).toBe(1);
    expect(g.indexOf(4.5)).toBe(2);
    expect(g.indexOf(5)).toBe(-1);
    const ts = buildTimeSeries([step({ gpu: 0, start: 4, end: 5 })], [], { t0: 0, t1: 5, interval: 2, gpus: 1 });
    expect(ts.utilization).toEqual([0, 0, 1]);
  });
});

describe('time series', () => {
  it('steps and output tokens bucketed into columns', () => {
    const ts = buildTimeSeries(steps, requests, { t0: 0, t1: 10, interval: 2, gpus: 3, capacityTokensPerS: 10 });
    const close = (xs: (number | null)[]) => xs.map((x) => (x === null ? null : expect.closeTo(x, 12)));
    expect(ts.t).toEqual([0, 2, 4, 6, 8]);
    expect(ts.busy).toEqual(close([2.8, 4, 1, 0, 1]));
    expect(ts.utilization).toEqual(close([2.8 / 6, 4 / 6, 1 / 6, 0, 1 / 6]));
    expect(ts.decodeTokensPerS).toEqual(close([1.2, 4.2, 0.1, 0, 0.5]));
    expect(ts.prefillTokensPerS).toEqual(close([25, 0, 0, 0, 5]));
    expect(ts.allTokensPerS).toEqual(close([26.2, 4.2, 0.1, 0, 5.5]));
    // Output tokens at each step's end: 4 at t = 1, 8 at t = 4 and 1 at t = 5 (GPU 1); 2 at t = 11 is outside.
    expect(ts.outputTokensPerS).toEqual(close([2, 0, 4.5, 0, 0]));
    expect(ts.capacityUtilization).toEqual(close([2 / 30, 0, 4.5 / 30, 0, 0]));
    expect(ts.batchSize).toEqual(close([2, 4.5, 1, null, 2]));
    expect(ts.queueDepth).toEqual(close([5, 4, 4, 4, 3.5]));
    expect(ts.arrivalsPerS).toEqual([0.5, 0, 0, 0.5, 0.5]);
    // summed over buckets, the series agrees with the span report
    const u = utilization(steps, { t0: 0, t1: 10, gpus: 3 });
    expect(ts.busy.reduce((a, b) => a + b, 0)).toBeCloseTo(u.busy, 12);
  });

  it('places a running request\'s output tokens at the steps that sampled them, not at its first token (finding 4)', () => {
    // One request: its prompt's step samples the first token at t = 0.5, then one decode per
    // second; at t = 4 it is still running with 4 tokens.
    const running = req({ id: 7, arrival: 0, firstToken: 0.5, outputTokens: 4, status: 'running' });
    const ss = [
      step({ gpu: 0, start: 0, end: 0.5, prefillTokens: 10, outputTokens: 1 }),
      step({ gpu: 0, start: 1.2, end: 1.5, decodeTokens: 1 }),
      step({ gpu: 0, start: 2.2, end: 2.5, decodeTokens: 1 }),
      step({ gpu: 0, start: 3.2, end: 3.5, decodeTokens: 1 }),
    ];
    const ts = buildTimeSeries(ss, [running], { t0: 0, t1: 4, interval: 1, gpus: 1 });
    expect(ts.outputTokensPerS).toEqual([1, 1, 1, 1]);
    // Summed, the columns count every token sampled.
    expect(ts.outputTokensPerS.reduce((a, b) => a + b, 0)).toBe(running.outputTokens);
  });

  // ttft / tpot / e2e (event time)
  const lreqs: RequestRecord[] = [
    req({ id: 1, arrival: 0, firstToken: 0.2, finish: 0.8, outputTokens: 4, status: 'finished' }), // .2@.2 / .2@.8 / .8@.8
    req({ id: 2, arrival: 0.5, firstToken: 1.5, finish: 3.5, outputTokens: 5, status: 'finished' }), // 1@1.5 / .5@3.5 / 3@3.5
    req({ id: 3, arrival: 1, firstToken: 1.3, finish: 1.9, outputTokens: 1, status: 'finished' }), // .3@1.3 / - / .9@1.9
    req({ id: 4, arrival: 2, status: 'rejected' }),
    req({ id: 5, arrival: 3.9, status: 'queued' }),
  ];

  it('latency percentiles per bucket, request rates, goodput', () => {
    const ts = buildTimeSeries([], lreqs, { t0: 0, t1: 4, interval: 1, gpus: 1, slo: { ttft: 0.5 } });
    expect(ts.latencyWindow).toEqual({ seconds: 1 });
    const c = (xs: (number | null)[]) => xs.map((x) => (x === null ? null : expect.closeTo(x, 12)));
    expect(ts.ttftP50).toEqual(c([0.2, 0.3, null, null]));
    expect(ts.ttftP99).toEqual(c([0.2, 1, null, null]));
    expect(ts.tpotP50).toEqual(c([0.2, null, null, 0.5]));
    expect(ts.e2eP99).toEqual(c([0.8, 0.9, null, 3]));
    expect(ts.arrivalsPerS).toEqual([2, 1, 1, 1]);
    expect(ts.finishedPerS).toEqual([1, 1, 0, 1]);
    expect(ts.rejectedPerS).toEqual([0, 0, 1, 0]);
    expect(ts.goodputPerS).toEqual([1, 1, 0, 0]);
    expect(ts.sloAttainment).toEqual([1, 1, 0, 0]);
    expect(ts.batchSize).toEqual([null, null, null, null]);
    expect(ts.utilization).toEqual([0, 0, 0, 0]);
  });

  it('rolling latency window longer than the bucket', () => {
    const ts = buildTimeSeries([], lreqs, { t0: 0, t1: 4, interval: 1, gpus: 1, latencyWindow: 2 });
    expect(ts.latencyWindow).toEqual({ seconds: 2 });
    const c = (xs: (number | null)[]) => xs.map((x) => (x === null ? null : expect.closeTo(x, 12)));
    // bucket k covers [end - 2, end): [-1,1) [0,2) [1,3) [2,4)
    expect(ts.ttftP50).toEqual(c([0.2, 0.3, 0.3, null]));
    expect(ts.ttftP99).toEqual(c([0.2, 1, 1, null]));
    expect(ts.e2eP50).toEqual(c([0.8, 0.8, 0.9, 3]));
  });

  it('agrees with the span report on random multi-GPU steps', () => {
    const rng = new Rng(9);
    const rs: StepRecord[] = [];
    for (let g = 0; g < 4; g++) {
      let t = -0.5 + rng.next();
      while (t < 30) {
        const d = 0.01 + rng.next() * 0.4;
        rs.push(step({ gpu: g, start: t, end: t + d, busy: d * 0.9, batchSize: rng.int(1, 16), decodeTokens: rng.int(0, 16), prefillTokens: rng.int(0, 64), queueDepth: rng.int(0, 5) }));
        t += d + rng.next() * 0.3;
      }
    }
    const ts = buildTimeSeries(rs, [], { t0: 0, t1: 25, interval: 0.5, gpus: 5 });
    const u = utilization(rs, { t0: 0, t1: 25, gpus: 5 });
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(ts.busy)).toBeCloseTo(u.busy, 9);
    expect(sum(ts.utilization) / ts.t.length).toBeCloseTo(u.timeUtilization, 9);
    expect(sum(ts.allTokensPerS) * 0.5).toBeCloseTo(u.decodeTokens + u.prefillTokens, 6);
    expect(sum(ts.queueDepth) / ts.t.length).toBeCloseTo(u.meanQueueDepth, 9);
    // independent check of the queue-depth means: the fleet step function, integrated directly
    const q = queueDepthSeries(rs);
    const direct = stepFunctionMeans(q.t, q.queueDepth, Array.from({ length: 51 }, (_, k) => k * 0.5));
    ts.queueDepth.forEach((v, k) => expect(v).toBeCloseTo(direct[k], 9));
  });

  it('rolling latency columns match brute force (exact) and stay within 1% (histogram)', () => {
    const rng = new Rng(21);
    const rs: RequestRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const arrival = rng.next() * 60;
      const first = arrival + 0.05 + rng.next() * rng.next() * 2;
      rs.push(req({ id: i, arrival, firstToken: first, finish: first + rng.next() * 5, outputTokens: rng.int(1, 50), status: 'finished' }));
    }
    const opts = { t0: 5, t1: 55, interval: 1, gpus: 1, latencyWindow: 7.5 };
    const ex = buildTimeSeries([], rs, opts);
    const li = buildTimeSeries([], rs, { ...opts, latencyMethod: 'linear' as const });
    const hi = buildTimeSeries([], rs, { ...opts, latencyHistogram: { relativeError: 0.01 } });
    ex.t.forEach((t, k) => {
      const end = t + 1;
      const inWin = rs.filter((r) => r.firstToken! >= end - 7.5 && r.firstToken! < end).map((r) => r.firstToken! - r.arrival);
      const e2es = rs.filter((r) => r.finish! >= end - 7.5 && r.finish! < end).map((r) => r.finish! - r.arrival);
      expect(ex.ttftP50[k]).toBe(percentile(inWin, 50));
      expect(ex.ttftP99[k]).toBe(percentile(inWin, 99));
      expect(ex.e2eP99[k]).toBe(percentile(e2es, 99));
      expect(li.ttftP50[k]).toBeCloseTo(percentile(inWin, 50, 'linear'), 12);
      expect(li.e2eP99[k]).toBeCloseTo(percentile(e2es, 99, 'linear'), 12);
      const h = hi.ttftP99[k]!;
      expect(Math.abs(h - percentile(inWin, 99))).toBeLessThanOrEqual(0.01 * percentile(inWin, 99) * (1 + 1e-9));
    });
  });
});
