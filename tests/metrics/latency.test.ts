import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/metrics/records.js';
import {
  countRequests,
  e2e,
  goodput,
  goodputByTenant,
  meetsSlo,
  requestLatency,
  summarizeLatency,
  summarizeLatencyByTenant,
  tpot,
  ttft,
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
