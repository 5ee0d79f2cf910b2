import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/metrics/records.js';
import {
  countRequests,
  e2e,
  goodput,
  goodputByTenant,
  meetsSlo,
  pendingAt,
  requestLatency,
  serveMetrics,
  serveParts,
  summarizeLatency,
  summarizeLatencyByTenant,
  tpot,
  ttft,
  ttftAt,
} from '../../src/metrics/latency.js';

function req(p: Partial<RequestRecord> & Pick<RequestRecord, 'id' | 'arrival' | 'status'>): RequestRecord {
  return { tenant: 0, promptTokens: 10, outputTokens: 0, maxOutputTokens: 16, preemptions: 0, ...p };
}

// Hand-made run. Latencies: ttft / e2e / tpot
const r1 = req({ id: 1, arrival: 0, firstToken: 0.5, finish: 2.5, outputTokens: 5, status: 'finished' }); // .5 / 2.5 / .5
const r2 = req({ id: 2, arrival: 1, firstToken: 1.2, finish: 1.2, outputTokens: 1, status: 'finished' }); // .2 / .2 / -
const r3 = req({ id: 3, arrival: 2, firstToken: 3, outputTokens: 3, status: 'running' }); // 1 / - / -
const r4 = req({ id: 4, arrival: 3, status: 'rejected', rejectReason: 'queue full' }); // - / - / -
const r5 = req({ id: 5, tenant: 1, arrival: 0.5, firstToken: 1, finish: 4, outputTokens: 4, status: 'finished', preemptions: 2 }); // .5 / 3.5 / 1
const r6 = req({ id: 6, arrival: 4, status: 'queued' });
const r7 = req({ id: 7, tenant: 1, arrival: 1, firstToken: 2, finish: 2.5, outputTokens: 2, status: 'aborted' }); // 1 / - / -
const run = [r1, r2, r3, r4, r5, r6, r7];

describe('per-request latency', () => {
  it('TTFT, TPOT, E2E of a finished request', () => {
    expect(ttft(r1)).toBe(0.5);
    expect(e2e(r1)).toBe(2.5);
    expect(tpot(r1)).toBe(0.5); // (2.5 - 0.5) / (5 - 1)
    expect(tpot(r5)).toBe(1); // (3.5 - 0.5) / 3
  });

  it('1-token output has no TPOT', () => {
    expect(requestLatency(r2)).toEqual({ id: 2, tenant: 0, ttft: expect.closeTo(0.2, 12), tpot: undefined, e2e: expect.closeTo(0.2, 12) });
  });

  it('unfinished: TTFT once the first token exists, no E2E or TPOT', () => {
    expect(ttft(r3)).toBe(1);
    expect(e2e(r3)).toBeUndefined();
    expect(tpot(r3)).toBeUndefined();
    expect(requestLatency(r6)).toEqual({ id: 6, tenant: 0, ttft: undefined, tpot: undefined, e2e: undefined });
  });

  it('rejected and aborted requests have no E2E', () => {
    expect(requestLatency(r4)).toEqual({ id: 4, tenant: 0, ttft: undefined, tpot: undefined, e2e: undefined });
    expect(ttft(r7)).toBe(1);
    expect(e2e(r7)).toBeUndefined();
    expect(tpot(r7)).toBeUndefined();
  });
});

describe('latency summaries', () => {
  it('over the whole run', () => {
    const s = summarizeLatency(run);
    expect(s.window).toBe('run');
    // ttft: .2 .5 .5 1 1
    expect(s.ttft.count).toBe(5);
    expect(s.ttft.p50).toBe(0.5);
    expect(s.ttft.p90).toBe(1);
    expect(s.ttft.mean).toBeCloseTo(0.64, 12);
    // e2e: .2 2.5 3.5
    expect(s.e2e.count).toBe(3);
    expect(s.e2e.p50).toBe(2.5);
    expect(s.e2e.p99).toBe(3.5);
    expect(s.e2e.min).toBeCloseTo(0.2, 12);
    // tpot: .5 1
    expect([s.tpot.count, s.tpot.p50, s.tpot.p99]).toEqual([2, 0.5, 1]);
    expect(s.counts).toEqual({ arrived: 7, finished: 3, rejected: 1, aborted: 1, active: 2, preempted: 1, preemptions: 2 });
  });

  it('linear method', () => {
    const s = summarizeLatency(run, { estimator: 'linear' });
    expect(s.tpot.p50).toBeCloseTo(0.75, 12);
    expect(s.e2e.p50).toBe(2.5);
    expect(s.estimator).toBe('linear');
  });

  it('histogram estimator stays within 1%', () => {
    const s = summarizeLatency(run, { estimator: 'histogram' });
    expect(Math.abs(s.e2e.p50 - 2.5)).toBeLessThanOrEqual(0.025);
    expect(s.e2e.max).toBe(3.5);
  });

  it('over a sliding window [end - seconds, end), labelled', () => {
    const s = summarizeLatency(run, { window: { seconds: 2, end: 3 } });
    expect(s.window).toEqual({ seconds: 2, end: 3 });
    // ttft by firstToken in [1, 3): r2 .2, r5 .5, r7 1 (r3 at 3 is outside)
    expect(s.ttft.count).toBe(3);
    expect([s.ttft.min, s.ttft.p50, s.ttft.max]).toEqual([expect.closeTo(0.2, 12), 0.5, 1]);
    // e2e by finish in [1, 3): r2 .2, r1 2.5
    expect(s.e2e.count).toBe(2);
    expect(s.e2e.max).toBe(2.5);
    expect(s.tpot.count).toBe(1);
    expect(s.counts).toEqual({ arrived: 3, finished: 2, rejected: 0, aborted: 1, active: 1, preempted: 0, preemptions: 0 });
  });

  it('counts in a window that holds the rejection and the preempted request', () => {
    expect(countRequests(run, { seconds: 2, end: 5 })).toEqual({
      arrived: 2, // r4 at 3, r6 at 4
      finished: 1, // r5 at 4
      rejected: 1, // r4 at 3 (its arrival: no finish time)
      aborted: 0,
      active: 2, // r3, r6
      preempted: 1,
      preemptions: 2,
    });
  });

  it('per tenant', () => {
    const m = summarizeLatencyByTenant(run);
    expect([...m.keys()]).toEqual([0, 1]);
    expect(m.get(1)!.ttft.count).toBe(2);
    expect(m.get(1)!.ttft.max).toBe(1);
    expect(m.get(1)!.counts.aborted).toBe(1);
    expect(m.get(0)!.counts.rejected).toBe(1);
    expect(m.get(0)!.e2e.count).toBe(2);
  });
});

describe('goodput and SLO attainment', () => {
  const slo = { ttft: 0.6, tpot: 0.6 };

  it('a request meets the SLO only if it finished and met every target', () => {
    expect(meetsSlo(r1, slo)).toBe(true);
    expect(meetsSlo(r2, slo)).toBe(true); // 1 token: no TPOT to miss
    expect(meetsSlo(r5, slo)).toBe(false); // TPOT 1 > .6
    expect(meetsSlo(r4, slo)).toBe(false); // rejected
    expect(meetsSlo(r7, {})).toBe(false); // aborted
    expect(meetsSlo(r3, {})).toBe(false); // running
    expect(meetsSlo(r5, { e2e: 3.5 })).toBe(true); // <= target
    expect(meetsSlo(r5, { e2e: 3.4 })).toBe(false);
  });

  it('over the whole run', () => {
    const g = goodput(run, slo);
    // ended: r1 r2 r5 r4 r7; met: r1 r2; span [0, 4]
    expect(g).toMatchObject({ ended: 5, finished: 3, met: 2, pending: 2, span: { t0: 0, t1: 4 } });
    expect(g.attainment).toBeCloseTo(0.4, 12);
    expect(g.goodput).toBeCloseTo(0.5, 12);
    expect(g.throughput).toBeCloseTo(0.75, 12);
  });

  it('over a span [t0, t1)', () => {
    const g = goodput(run, slo, { t0: 0, t1: 3 });
    // ended in [0, 3): r2 1.2, r1 2.5, r7 2.5 (r4 at 3 and r5 at 4 are outside)
    expect(g).toMatchObject({ ended: 3, finished: 2, met: 2, pending: 1 });
    expect(g.attainment).toBeCloseTo(2 / 3, 12);
    expect(g.goodput).toBeCloseTo(2 / 3, 12);
    expect(goodput(run, { e2e: 1 }, { t0: 0, t1: 3 }).met).toBe(1);
    expect(goodput(run, {}).met).toBe(3);
    expect(goodput([], slo).attainment).toBeNaN();
  });

  it('per tenant, over a common span', () => {
    const m = goodputByTenant(run, slo);
    expect(m.get(0)).toMatchObject({ ended: 3, met: 2, span: { t0: 0, t1: 4 } });
    expect(m.get(0)!.goodput).toBeCloseTo(0.5, 12);
    expect(m.get(1)).toMatchObject({ ended: 2, met: 0, attainment: 0, goodput: 0 });
  });
});

describe('requests still waiting count (finding 2)', () => {
  // 50 requests served with 0.5 s TTFT, and 50 still queued after 40-90 s, at now = 100.
  const served = Array.from({ length: 50 }, (_, i) =>
    req({ id: i, arrival: i * 0.1, firstToken: i * 0.1 + 0.5, finish: i * 0.1 + 1, outputTokens: 4, status: 'finished' }),
  );
  const queued = Array.from({ length: 50 }, (_, i) => req({ id: 50 + i, arrival: 100 - 40 - i * (50 / 49), status: 'queued' }));
  const all = [...served, ...queued];

  it('completed-only TTFT and attainment hide them; the waiting-inclusive ones do not', () => {
    const s = summarizeLatency(all, { now: 100 });
    expect(s.ttft.p99).toBeCloseTo(0.5, 12); // vLLM's definition: completed requests only
    expect(s.ttftWithWaiting.p99).toBeCloseTo(90 - 50 / 49, 9); // nearest rank 99 of 100: the second-oldest age
    expect(s.ttftWithWaiting.count).toBe(100);
    const g = goodput(all, { ttft: 2 }, { t0: 0, t1: 100 });
    expect(g.attainment).toBe(1);
    expect(g.missedPending).toBe(50);
    expect(g.attainmentWithWaiting).toBe(0.5);
  });

  it('a waiting request is undecided until its age passes the TTFT SLO, then a miss', () => {
    const young = req({ id: 1, arrival: 9, status: 'queued' });
    const g = (t1: number) => goodput([r1, young], { ttft: 1.5 }, { t0: 0, t1 });
    // age 1 at t = 10: undecided; age 1.5 exactly: still within the SLO; age 2: a miss
    expect([g(10).missedPending, g(10).attainmentWithWaiting]).toEqual([0, 1]);
    expect(g(10.5).missedPending).toBe(0);
    expect([g(11).missedPending, g(11).attainmentWithWaiting]).toEqual([1, 0.5]);
    expect(ttftAt(young, 11)).toBe(2);
    expect(ttftAt(r3, 10)).toBe(1); // its first token came: its TTFT, not its age
    expect(ttftAt(r3, 2.5)).toBe(0.5); // before it: its age
  });

  it('pending at t: arrived before t and not ended before t', () => {
    expect(pendingAt(r1, 0)).toBe(false);
    expect(pendingAt(r1, 2)).toBe(true);
    expect(pendingAt(r1, 2.5)).toBe(true);
    expect(pendingAt(r1, 2.6)).toBe(false);
    expect(pendingAt(r4, 10)).toBe(false); // rejected at arrival
    expect(pendingAt(r6, 10)).toBe(true);
  });
});

describe('vLLM bench serve metrics', () => {
  // Three completed requests with their token gaps, one rejected, one queued, one running; now = 10.
  const a = req({ id: 1, arrival: 0, firstToken: 0.5, finish: 1.5, promptTokens: 10, outputTokens: 5, status: 'finished' });
  const b = req({ id: 2, arrival: 1, firstToken: 1.2, finish: 3.2, promptTokens: 20, outputTokens: 3, status: 'finished' });
  const c = req({ id: 3, arrival: 2, firstToken: 4, finish: 4, promptTokens: 30, outputTokens: 1, status: 'finished' });
  const d = req({ id: 4, arrival: 3, promptTokens: 100, status: 'rejected', rejectReason: 'context' });
  const e = req({ id: 5, arrival: 4, status: 'queued' });
  const f = req({ id: 6, arrival: 5, firstToken: 5.5, outputTokens: 2, status: 'running', preemptions: 1 });
  const gaps = new Map([
    [1, [0.2, 0.3, 0.25, 0.25]],
    [2, [0.5, 1.5]],
    [6, [0.1]],
  ]);
  const slo = { ttft: 1, tpot: 0.5 };
  const m = serveMetrics(serveParts([a, b, c, d, e, f], (id) => gaps.get(id), { t0: 0, t1: 10 }, slo));

  it('throughputs over the span, completed requests only', () => {
    expect(m.duration).toBe(10);
    expect(m.completed).toBe(3);
    expect(m.total_input_tokens).toBe(60);
    expect(m.total_output_tokens).toBe(9);
    expect(m.request_throughput).toBeCloseTo(0.3, 12);
    expect(m.output_throughput).toBeCloseTo(0.9, 12);
    expect(m.total_token_throughput).toBeCloseTo(6.9, 12);
    // Only request 1 meets both SLOs (2's TPOT is 1 s, 3's TTFT 2 s).
    expect(m.request_goodput).toBeCloseTo(0.1, 12);
  });

  it('mean, median, std and p90/p95/p99 as numpy computes them (ms)', () => {
    // Reference values from numpy 2.4: np.mean, np.median, np.std, np.percentile (linear).
    const numpy = {
      ttft: [900.0, 500.0, 787.4007874011811, 1700.0, 1849.9999999999998, 1970.0],
      tpot: [625.0, 625.0, 375.0, 925.0, 962.5, 992.5],
      itl: [500.0, 275.0, 457.34742446707475, 1000.0, 1250.0, 1450.0000000000002],
      e2el: [1900.0, 2000.0, 294.3920288775949, 2160.0, 2180.0, 2196.0],
    };
    for (const [k, v] of Object.entries(numpy)) {
      const got = (['mean', 'median', 'std', 'p90', 'p95', 'p99'] as const).map((s) => (m as Record<string, number>)[`${s}_${k}_ms`]!);
      got.forEach((x, i) => expect(x, `${k} ${i}`).toBeCloseTo(v[i]!, 9));
    }
  });

  it('waiting-inclusive TTFT and attainment, with the counts beside them', () => {
    // TTFTs 0.5, 0.2, 2 plus the queued request's age 6 and the running one's TTFT 0.5.
    const numpy = [1840.0, 500.0, 2173.108372815309, 4400.0, 5199.999999999999, 5840.0];
    const got = [m.mean_ttft_ms_with_waiting, m.median_ttft_ms_with_waiting, m.std_ttft_ms_with_waiting, m.p90_ttft_ms_with_waiting, m.p95_ttft_ms_with_waiting, m.p99_ttft_ms_with_waiting];
    got.forEach((x, i) => expect(x).toBeCloseTo(numpy[i]!, 9));
    expect([m.slo_met, m.slo_ended, m.slo_missed_pending]).toEqual([1, 4, 1]);
    expect(m.slo_attainment).toBe(0.25);
    expect(m.slo_attainment_with_waiting).toBe(0.2);
    expect([m.pending, m.pending_without_first_token, m.rejected, m.aborted]).toEqual([2, 1, 1, 0]);
    expect(m.max_pending_age_ms).toBe(6000);
  });

  it('NaN where there is nothing to measure; no goodput or attainment without an SLO', () => {
    const empty = serveMetrics(serveParts([], () => undefined, { t0: 0, t1: 5 }, {}));
    expect(empty.p99_ttft_ms).toBeNaN();
    expect(empty.request_throughput).toBe(0);
    expect(empty.max_pending_age_ms).toBe(0);
    const noSlo = serveMetrics(serveParts([a], () => undefined, { t0: 0, t1: 5 }, {}));
    expect(noSlo.request_goodput).toBeNaN();
    expect(noSlo.slo_attainment).toBeNaN();
    expect(noSlo.mean_itl_ms).toBeNaN(); // no gaps known
  });
});
