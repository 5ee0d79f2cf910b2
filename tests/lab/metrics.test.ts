// The page's metrics: records through the stream's column encoding, the big numbers against
// hand-computed values, chart columns, export, and chart thinning.
import { describe, expect, it } from 'vitest';
import type { RequestRecord, StepRecord } from '../../src/metrics/records.js';
import { encodeRequests, encodeSteps, decodeRequests, decodeSteps, batchBuffers, type MetricsBatch } from '../../src/lab/protocol.js';
import { RunStore, figures, labSeries, rollingMean, bucketInterval } from '../../src/lab/metrics.js';
import { CSV_COLUMNS, runJson, seriesCsv } from '../../src/lab/export.js';
import { thinColumns } from '../../src/ui/charts.js';

function step(i: number, start: number, end: number, busy: number, batch: number, decode: number, prefill: number): StepRecord {
  return { index: i, gpu: 0, start, end, busy, timing: 'wall', batchSize: batch, decodeTokens: decode, outputTokens: decode, prefillTokens: prefill, contextTokens: 10, queueDepth: 0, kvBlocksUsed: 1, kvBlocksTotal: 8 };
}

function batch(run: number, now: number, steps: StepRecord[], requests: RequestRecord[], done = false): MetricsBatch {
  return { run, now, steps: encodeSteps(steps), requests: encodeRequests(requests), queueDepth: 0, running: 0, badMessages: 0, done };
}

describe('metrics stream', () => {
  it('encodes steps and requests as columns and back, unchanged', () => {
    const steps = [step(0, 0, 0.5, 0.4, 2, 1, 7), { ...step(1, 0.5, 1, 0.5, 2, 2, 0), timing: 'timestamp' as const }];
    const reqs: RequestRecord[] = [
      { id: 3, tenant: 1, arrival: 0.1, firstToken: 0.5, finish: 1, promptTokens: 7, outputTokens: 3, maxOutputTokens: 3, status: 'finished', preemptions: 1 },
      { id: 4, tenant: 2, arrival: 0.2, promptTokens: 900, outputTokens: 0, maxOutputTokens: 3, status: 'rejected', preemptions: 0, rejectReason: 'context' },
      { id: 5, tenant: 0, arrival: 0.3, promptTokens: 5, outputTokens: 0, maxOutputTokens: 9, status: 'queued', preemptions: 0 },
    ];
    expect(decodeSteps(encodeSteps(steps))).toEqual(steps);
    expect(decodeRequests(encodeRequests(reqs))).toEqual(reqs);
    const b = batch(1, 1, steps, reqs);
    // Every column's buffer is in the transfer list, and each only once.
    const bufs = batchBuffers(b);
    expect(bufs.length).toBe(13 + 10);
    expect(new Set(bufs).size).toBe(bufs.length);
  });

  it('keeps the latest record of each request and ignores other runs', () => {
    const store = new RunStore(7);
    const r: RequestRecord = { id: 1, tenant: 0, arrival: 0, promptTokens: 4, outputTokens: 0, maxOutputTokens: 4, status: 'queued', preemptions: 0 };
    expect(store.add(batch(6, 1, [step(0, 0, 1, 1, 1, 1, 0)], [r]))).toBe(false);
    store.add(batch(7, 1, [], [r]));
    store.add(batch(7, 2, [], [{ ...r, status: 'rejected', rejectReason: 'kv' }], true));
    expect(store.requests.size).toBe(1);
    expect(store.requests.get(1)!.status).toBe('rejected');
    expect(store.rejectReasons.get('kv')).toBe(1);
    expect(store.now).toBe(2);
    expect(store.done).toBe(true);
    expect(store.steps).toEqual([]);
  });
});

describe('lab figures', () => {
  // 10 s run: steps busy 4 s in total; two requests.
  const steps = [step(0, 0, 1, 1, 1, 0, 8), step(1, 1, 2, 1, 2, 2, 0), step(2, 6, 8, 2, 2, 4, 0)];
  const reqs: RequestRecord[] = [
    // first token at 1 (from step 0's prefill), then 3 decode tokens.
    { id: 0, tenant: 0, arrival: 0, firstToken: 1, finish: 8, promptTokens: 8, outputTokens: 4, maxOutputTokens: 4, status: 'finished', preemptions: 0 },
    // first token at 2, still running.
    { id: 1, tenant: 1, arrival: 0.5, firstToken: 2, promptTokens: 3, outputTokens: 3, maxOutputTokens: 8, status: 'running', preemptions: 0 },
  ];
  const store = new RunStore(1);
  store.add(batch(1, 10, steps, reqs));
  const opts = { capacityTokensPerS: 2, price: 3.6, slo: { ttft: 1.2, tpot: 10 } };

  it('computes utilization, throughput and cost over the whole run', () => {
    const f = figures(store, opts);
    expect(f.label).toBe('whole run');
    expect(f.timeUtilization).toBeCloseTo(0.4);
    // decode tokens 6 + first tokens 2 = 8 output tokens in 10 s; all tokens 8 prefill + 6 decode.
    expect(f.outputTokensPerS).toBeCloseTo(0.8);
    expect(f.allTokensPerS).toBeCloseTo(1.4);
    expect(f.capacityUtilization).toBeCloseTo(0.4);
    // $3.6/h ÷ (0.8 × 3600 / 1e6) = $1250 per 1M output tokens.
    expect(f.costPerMOutput).toBeCloseTo(1250);
    expect(f.costPerMAll).toBeCloseTo(3.6 / ((1.4 * 3600) / 1e6));
    expect(f.ttftP50).toBeCloseTo(1);
    expect(f.ttftP99).toBeCloseTo(1.5);
    expect(f.tpotP50).toBeCloseTo(7 / 3);
    expect(f.finished).toBe(1);
    expect(f.sloAttainment).toBe(1);
  });

  it('computes a sliding window over the last seconds only', () => {
    const f = figures(store, opts, 5); // [5, 10): step 2 only
    expect(f.label).toBe('sliding 5 s window');
    expect(f.timeUtilization).toBeCloseTo(0.4);
    expect(f.outputTokensPerS).toBeCloseTo(0.8);
    expect(f.ttftP50).toBeNaN(); // no first token in the window
    expect(f.meanBatch).toBe(2);
    const empty = new RunStore(2);
    empty.add(batch(2, 3, [], []));
    const e = figures(empty, opts, 10);
    expect(e.costPerMOutput).toBeNaN(); // nothing served: no finite cost
    expect(e.timeUtilization).toBe(0);
  });

  it('builds chart columns of equal length, utilization in percent', () => {
    const s = labSeries(store, opts);
    expect(s.t).toHaveLength(10);
    for (const [, f] of CSV_COLUMNS) expect((s[f] as unknown[]).length, f).toBe(10);
    expect(s.timeUtilization[0]).toBeCloseTo(100);
    expect(s.timeUtilization[3]).toBe(0);
    // bucket [1, 2): step 1's 2 decode tokens + request 0's first token at t = 1.
    expect(s.outputTokensPerS[1]).toBeCloseTo(3);
    expect(s.capacityUtilization[1]).toBeCloseTo(150);
    expect(s.capacity.every((v) => v === 2)).toBe(true);
    const csv = seriesCsv(s).trim().split('\n');
    expect(csv).toHaveLength(11);
    expect(csv[0]).toBe(CSV_COLUMNS.map(([h]) => h).join(','));
    const json = JSON.parse(runJson({ exportedAt: 'x', settings: {}, url: '', device: null, calibration: null, engine: null, notes: [], figures: null, series: s, steps, requests: reqs }));
    expect(json.format).toBe('multiplex-lab-run');
    expect(json.steps).toHaveLength(3);
  });

  it('has helpers that behave', () => {
    expect(rollingMean([1, 2, 3, 4], 2)).toEqual([1, 1.5, 2.5, 3.5]);
    expect(bucketInterval(30)).toBe(1);
    expect(bucketInterval(1800)).toBe(3);
  });
});

describe('chart thinning', () => {
  it('leaves short columns alone and thins long ones to one mean point per pixel', () => {
    const x = [0, 1, 2];
    expect(thinColumns([x, [1, 2, 3]], 10)).toEqual([x, [1, 2, 3]]);
    const n = 1000;
    const t = Array.from({ length: n }, (_, i) => i);
    const v = t.map((i) => (i % 2 ? 1 : 3));
    const gaps = t.map((i) => (i < 500 ? null : i));
    const [tx, tv, tg] = thinColumns([t, v, gaps], 100);
    expect(tx).toHaveLength(100);
    expect(tx![0]).toBe(0);
    expect(tx![1]).toBe(10);
    expect(tv!.every((y) => y === 2)).toBe(true);
    expect(tg![0]).toBeNull();
    expect(tg![99]).toBeCloseTo(994.5);
  });
});
