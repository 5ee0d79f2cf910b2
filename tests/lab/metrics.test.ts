// The page's metrics: records through the stream's column encoding, the big numbers and chart
// columns against hand-computed values (store and recomputation alike), the export, and chart thinning.
import { describe, expect, it } from 'vitest';
import type { RequestRecord, StepRecord } from '../../src/metrics/records.js';
import { encodeGaps, encodeRequests, encodeSteps, decodeRequests, decodeSteps, batchBuffers, type MetricsBatch } from '../../src/lab/protocol.js';
import { RunStore, figures, labSeries, rollingMean, bucketInterval, bucketCount, bucketOf, type FigureOptions } from '../../src/lab/metrics.js';
import { CSV_COLUMNS, runJson, seriesCsv, storeExport } from '../../src/lab/export.js';
import { thinColumns } from '../../src/ui/charts.js';

function step(i: number, start: number, end: number, busy: number, batch: number, decode: number, prefill: number, output: number, queue = 0): StepRecord {
  return { index: i, gpu: 0, start, end, busy, timing: 'wall', batchSize: batch, decodeTokens: decode, outputTokens: output, prefillTokens: prefill, contextTokens: 10, queueDepth: queue, kvBlocksUsed: 1, kvBlocksTotal: 8 };
}

type Gap = [id: number, t: number, gap: number];
function batch(run: number, now: number, steps: StepRecord[], requests: RequestRecord[], gaps: Gap[] = [], done = false): MetricsBatch {
  return {
    run,
    now,
    steps: encodeSteps(steps),
    requests: encodeRequests(requests),
    gaps: encodeGaps(gaps.map((g) => g[0]), gaps.map((g) => g[1]), gaps.map((g) => g[2])),
    queueDepth: 0,
    running: 0,
    badMessages: 0,
    done,
  };
}

const work = { prefillS: (p: number) => 0.1 * p, decodeS: () => 0.5 };
const opts: FigureOptions = { work, price: 3.6, slo: { ttft: 1.2, tpot: 10 } };

describe('metrics stream', () => {
  it('encodes steps, requests and gaps as columns and back, unchanged', () => {
    const steps = [step(0, 0, 0.5, 0.4, 2, 1, 7, 2), { ...step(1, 0.5, 1, 0.5, 2, 2, 0, 2), timing: 'timestamp' as const }];
    const reqs: RequestRecord[] = [
      { id: 3, tenant: 1, arrival: 0.1, firstToken: 0.5, finish: 1, promptTokens: 7, outputTokens: 3, maxOutputTokens: 3, status: 'finished', preemptions: 1 },
      { id: 4, tenant: 2, arrival: 0.2, promptTokens: 900, outputTokens: 0, maxOutputTokens: 3, status: 'rejected', preemptions: 0, rejectReason: 'context' },
      { id: 5, tenant: 0, arrival: 0.3, promptTokens: 5, outputTokens: 0, maxOutputTokens: 9, status: 'queued', preemptions: 0 },
    ];
    expect(decodeSteps(encodeSteps(steps))).toEqual(steps);
    expect(decodeRequests(encodeRequests(reqs))).toEqual(reqs);
    const b = batch(1, 1, steps, reqs, [[3, 1, 0.5]]);
    expect(Array.from(b.gaps.gap)).toEqual([0.5]);
    // Every column's buffer is in the transfer list, and each only once.
    const bufs = batchBuffers(b);
    expect(bufs.length).toBe(13 + 10 + 3);
    expect(new Set(bufs).size).toBe(bufs.length);
    expect(() => encodeGaps([1], [], [])).toThrow(/differ in length: id 1, t 0, gap 0/);
  });

  it('keeps the latest record of each request and ignores other runs', () => {
    const store = new RunStore(7, { ...opts, durationS: 10 });
    const r: RequestRecord = { id: 1, tenant: 0, arrival: 0, promptTokens: 4, outputTokens: 0, maxOutputTokens: 4, status: 'queued', preemptions: 0 };
    expect(store.add(batch(6, 1, [step(0, 0, 1, 1, 1, 1, 0, 1)], [r]))).toBe(false);
    store.add(batch(7, 1, [], [r]));
    store.add(batch(7, 2, [], [{ ...r, status: 'rejected', rejectReason: 'kv' }], [], true));
    expect(store.requests.size).toBe(1);
    expect(store.requests.get(1)!.status).toBe('rejected');
    expect(store.rejectReasons.get('kv')).toBe(1);
    expect(store.now).toBe(2);
    expect(store.done).toBe(true);
    expect(store.steps).toEqual([]);
    expect(() => new RunStore(1, { ...opts, durationS: 0 })).toThrow(/durationS must be > 0 s, got 0/);
  });
});

describe('lab figures', () => {
  // 10 s run. Step 0 prefills r0 (first token at 1); step 1 decodes r0 and prefills r1 (its first
  // token at 2) with one request reported waiting (queue depth 1 from t = 1 until step 2 at 6);
  // step 2 decodes both (r0's last token and r1's second at 8). r1 is still running at 10.
  const steps = [step(0, 0, 1, 1, 1, 0, 8, 1), step(1, 1, 2, 1, 2, 1, 3, 2, 1), step(2, 6, 8, 2, 2, 2, 0, 2)];
  const reqs: RequestRecord[] = [
    { id: 0, tenant: 0, arrival: 0, firstToken: 1, finish: 8, promptTokens: 8, outputTokens: 3, maxOutputTokens: 3, status: 'finished', preemptions: 0 },
    { id: 1, tenant: 1, arrival: 0.5, firstToken: 2, promptTokens: 3, outputTokens: 2, maxOutputTokens: 8, status: 'running', preemptions: 0 },
  ];
  const gaps: Gap[] = [
    [0, 2, 1],
    [0, 8, 6],
    [1, 8, 6],
  ];
  const store = new RunStore(1, { ...opts, durationS: 10, keepGaps: true });
  store.add(batch(1, 10, steps, reqs, gaps));

  it('computes utilization, throughput, work and cost over the whole run', () => {
    const f = store.runFigures();
    expect(f).toEqual(figures(store, opts));
    expect(f.label).toBe('whole run');
    expect(f.timeUtilization).toBeCloseTo(0.4);
    // Output tokens as sampled: 1 + 2 + 2 in 10 s; all tokens 8 + 4 + 2.
    expect(f.outputTokens).toBe(5);
    expect(f.outputTokensPerS).toBeCloseTo(0.5);
    expect(f.allTokensPerS).toBeCloseTo(1.4);
    expect(f.meanBatch).toBeCloseTo(5 / 3);
    expect(f.meanQueueDepth).toBeCloseTo(0.5); // depth 1 over [1, 6)
    // Work served: prompts 0.8 + 0.3 at their first tokens, 3 later tokens at 0.5 each.
    expect(f.capacityUtilization).toBeCloseTo(2.6 / 10);
    // Offered: r0 0.8 + 2 x 0.5, r1 0.3 + 7 x 0.5.
    expect(f.offeredLoad).toBeCloseTo(5.6 / 10);
    // $3.6/h / (0.5 x 3600 / 1e6) = $2000 per 1M output tokens.
    expect(f.costPerMOutput).toBeCloseTo(2000);
    expect(f.costPerMAll).toBeCloseTo(3.6 / ((1.4 * 3600) / 1e6));
    expect(f.arrived).toBe(2);
    const s = f.serve;
    expect([s.completed, s.request_throughput, s.output_throughput]).toEqual([1, 0.1, 0.3]);
    expect([s.mean_ttft_ms, s.mean_tpot_ms, s.mean_e2el_ms]).toEqual([1000, 3500, 8000]);
    expect(s.median_itl_ms).toBe(3500); // gaps 1 s and 6 s
    expect(s.p99_itl_ms).toBeCloseTo(5950, 9);
    // r1 waits with its TTFT 1.5 s: past the 1.2 s SLO, a decided miss.
    expect(s.p99_ttft_ms_with_waiting).toBeCloseTo(1495, 9);
    expect([s.slo_attainment, s.slo_attainment_with_waiting, s.slo_missed_pending]).toEqual([1, 0.5, 1]);
    expect([s.pending, s.pending_without_first_token, s.max_pending_age_ms]).toEqual([1, 0, 9500]);
  });

  it('computes a window over the last seconds only', () => {
    const f = figures(store, opts, 5); // [5, 10): step 2 only
    expect(f.label).toBe('sliding 5 s window');
    expect(f.timeUtilization).toBeCloseTo(0.4);
    expect(f.outputTokensPerS).toBeCloseTo(0.4);
    expect(f.meanBatch).toBe(2);
    expect(f.capacityUtilization).toBeCloseTo(1 / 5);
    expect(f.offeredLoad).toBe(0);
    expect(f.serve.completed).toBe(1); // r0 finished at 8
    expect(store.windowFigures()).toEqual(figures(store, opts, 10));
    const empty = new RunStore(2, { ...opts, durationS: 10, keepGaps: true });
    empty.add(batch(2, 3, [], []));
    const e = empty.windowFigures();
    expect(e).toEqual(figures(empty, opts, 10));
    expect(e.costPerMOutput).toBeNaN(); // nothing served: no finite cost
    expect(e.timeUtilization).toBe(0);
    expect(e.serve.p99_ttft_ms).toBeNaN();
  });

  it('builds chart columns of equal length, rates per bucket, utilization in percent', () => {
    const s = store.series();
    expect(s).toEqual(labSeries(store, opts));
    expect(s.t).toHaveLength(10);
    for (const [, f] of CSV_COLUMNS) expect((s[f] as unknown[]).length, f).toBe(10);
    expect(s.timeUtilization.slice(0, 3)).toEqual([100, 100, 0]);
    // Output tokens at each step's end: 1 at t = 1, 2 at t = 2, 2 at t = 8.
    expect(s.outputTokensPerS).toEqual([0, 1, 2, 0, 0, 0, 0, 0, 2, 0]);
    expect(s.capacityUtilization[1]).toBeCloseTo(80); // r0's prompt work 0.8 at t = 1
    expect(s.capacityUtilization[8]).toBeCloseTo(100); // two tokens at 0.5
    expect(s.offeredLoad[0]).toBeCloseTo(560); // both arrivals in [0, 1)
    expect(s.queueDepth.slice(0, 7)).toEqual([0, 1, 1, 1, 1, 1, 0]);
    expect(s.ttftP50[9]).toBe(1000); // r0 completed in [0, 10)
    expect(s.ttftP50[7]).toBeNull(); // nothing completed before 8
    // At t = 8 both are pending with their TTFTs, 1 s and 1.5 s; at 10, r0 completed (1 s) and r1 waits (1.5 s).
    expect(s.ttftP99WithWaiting[7]).toBeCloseTo(1000 + 0.99 * 500, 9);
    expect(s.ttftP99WithWaiting[9]).toBeCloseTo(1000 + 0.99 * 500, 9);
    expect(s.ttftP99WithWaiting[0]).toBeCloseTo(500 + 0.99 * 500, 9); // at t = 1, ages: r0 1 s (its token comes at 1, not before), r1 0.5 s
    const csv = seriesCsv(s).trim().split('\n');
    expect(csv).toHaveLength(11);
    expect(csv[0]).toBe(CSV_COLUMNS.map(([h]) => h).join(','));
    const json = JSON.parse(runJson({ exportedAt: 'x', settings: {}, url: '', device: null, calibration: null, engine: null, notes: [], ...storeExport(store) }));
    expect(json.format).toBe('multiplex-lab-run');
    expect(json.version).toBe(2);
    expect(json.steps).toHaveLength(3);
    expect(json.metrics.completed).toBe(1);
    expect(json.metrics.p99_ttft_ms_with_waiting).toBeCloseTo(1495, 9);
    expect(json.pending).toEqual([{ id: 1, tenant: 1, status: 'running', arrival: 0.5, age_ms: 9500, ttft_ms: 1500, output_tokens: 2, max_output_tokens: 8, preemptions: 0 }]);
  });

  it('refuses to recompute without the gaps', () => {
    const s = new RunStore(3, { ...opts, durationS: 10 });
    s.add(batch(3, 1, [], []));
    expect(() => figures(s, opts)).toThrow(/keepGaps: true/);
    expect(() => labSeries(s, opts)).toThrow(/keepGaps: true/);
  });

  it('has helpers that behave', () => {
    expect(rollingMean([1, 2, 3, 4], 2)).toEqual([1, 1.5, 2.5, 3.5]);
    expect(bucketInterval(30)).toBe(1);
    expect(bucketInterval(1800)).toBe(3);
    expect([bucketCount(0, 1), bucketCount(0.5, 1), bucketCount(1, 1), bucketCount(1.0001, 1), bucketCount(7, 3)]).toEqual([1, 1, 1, 2, 3]);
    // Bucket k is k w <= t < (k + 1) w as computed in doubles: 3 * 0.1 = 0.30000000000000004 > 0.3.
    expect([bucketOf(0, 3), bucketOf(2.999, 3), bucketOf(3, 3), bucketOf(0.3, 0.1)]).toEqual([0, 0, 1, 2]);
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
