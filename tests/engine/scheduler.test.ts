// Scheduler decisions on hand-made cases (fake clock: step k runs from t = k to k + 1), then
// seeded random workloads checked against the invariants every policy must keep.
import { describe, expect, it } from 'vitest';
import type { RequestRecord, StepRecord } from '../../src/metrics/records.js';
import { Scheduler, requestFromTrace, type SchedRequest, type SchedulerConfig } from '../../src/engine/scheduler.js';
import { Rng } from '../../src/ops/random.js';
import { describeEntries, drain, runStep, type StepSnap } from './helpers.js';

function cfg(over: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return {
    maxBatch: 4,
    tokenBudget: 64,
    kv: { numBlocks: 1000, blockSize: 4 },
    maxContext: 1000,
    admission: { watermark: 0 },
    ...over,
  };
}

function req(id: number, promptTokens: number, maxOutputTokens: number, over: Partial<SchedRequest> = {}): SchedRequest {
  return { id, tenant: 0, arrival: 0, promptTokens, maxOutputTokens, ...over };
}

function submitAll(s: Scheduler, reqs: SchedRequest[]): void {
  for (const r of reqs) expect(s.submit(r).accepted, `request ${r.id}`).toBe(true);
}

function recordOf(s: Scheduler, id: number): RequestRecord {
  const r = s.records().find((x) => x.id === id);
  if (!r) throw new Error(`no record for ${id}`);
  return r;
}

/** Runs steps from time t, one per unit, and returns their entry descriptions. */
function steps(s: Scheduler, t: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(describeEntries(runStep(s, t + i)!.entries));
  return out;
}

describe('batch formation', () => {
  it('runs at most maxBatch sequences and admits the next one when a sequence finishes', () => {
    const s = new Scheduler(cfg({ maxBatch: 2 }));
    submitAll(s, [req(0, 3, 2), req(1, 3, 2), req(2, 3, 2)]);
    const st0 = runStep(s, 0)!;
    expect(describeEntries(st0.entries)).toBe('p0@0+3* p1@0+3*');
    expect(st0.record).toMatchObject({ index: 0, batchSize: 2, prefillTokens: 6, decodeTokens: 0, contextTokens: 6, queueDepth: 3 });
    expect(s.runningCount).toBe(2);
    expect(s.queueDepth).toBe(1);
    const st1 = runStep(s, 1)!;
    expect(describeEntries(st1.entries)).toBe('d0 d1');
    expect(st1.finished).toEqual([0, 1]);
    expect(st1.record).toMatchObject({ batchSize: 2, decodeTokens: 2, prefillTokens: 0, contextTokens: 8, queueDepth: 1, kvBlocksUsed: 0 });
    expect(recordOf(s, 0)).toMatchObject({ status: 'finished', firstToken: 1, finish: 2, outputTokens: 2, preemptions: 0 });
    expect(steps(s, 2, 2)).toEqual(['p2@0+3*', 'd2']);
    expect(runStep(s, 4)).toBeNull();
    expect(s.idle).toBe(true);
    expect(recordOf(s, 2)).toMatchObject({ arrival: 0, firstToken: 3, finish: 4, outputTokens: 2 });
  });

  it('takes trace requests', () => {
    expect(requestFromTrace(7, { arrival: 1.5, promptTokens: 30, outputTokens: 9, tenant: 2 })).toEqual({
      id: 7,
      tenant: 2,
      arrival: 1.5,
      promptTokens: 30,
      maxOutputTokens: 9,
    });
  });

  it('a one-token output finishes with its prefill', () => {
    const s = new Scheduler(cfg());
    submitAll(s, [req(0, 5, 1)]);
    const st = runStep(s, 0)!;
    expect(st.finished).toEqual([0]);
    expect(recordOf(s, 0)).toMatchObject({ firstToken: 1, finish: 1, outputTokens: 1 });
  });
});

describe('chunked prefill', () => {
  it('fills the token budget: decodes first, then continuing prefills, then admissions', () => {
    const s = new Scheduler(cfg({ maxBatch: 4, tokenBudget: 8 }));
    submitAll(s, [req(0, 2, 10), req(1, 2, 10)]);
    expect(steps(s, 0, 1)).toEqual(['p0@0+2* p1@0+2*']);
    submitAll(s, [req(2, 5, 5), req(3, 11, 5)]);
    const st1 = runStep(s, 1)!;
    // Budget 8: two decodes, the 5-token prompt whole, one token of the 11-token prompt.
    expect(describeEntries(st1.entries)).toBe('d0 d1 p2@0+5* p3@0+1');
    expect(st1.record).toMatchObject({ decodeTokens: 2, prefillTokens: 6, batchSize: 4, contextTokens: 3 + 3 + 5 + 1 });
    expect(steps(s, 2, 3)).toEqual(['d0 d1 d2 p3@1+5', 'd0 d1 d2 p3@6+5*', 'd0 d1 d2 d3']);
    expect(recordOf(s, 2).firstToken).toBe(2);
    expect(recordOf(s, 3).firstToken).toBe(4); // the step that ended its prompt: t 3 -> 4
  });

  it('caps every chunk at maxPrefillChunk', () => {
    const s = new Scheduler(cfg({ maxPrefillChunk: 4 }));
    submitAll(s, [req(0, 11, 2), req(1, 3, 4)]);
    expect(steps(s, 0, 4)).toEqual(['p0@0+4 p1@0+3*', 'd1 p0@4+4', 'd1 p0@8+3*', 'd0 d1']);
  });

  it('never exceeds the budget when it is smaller than a prompt', () => {
    const s = new Scheduler(cfg({ maxBatch: 2, tokenBudget: 3 }));
    submitAll(s, [req(0, 7, 2), req(1, 2, 1)]);
    expect(steps(s, 0, 4)).toEqual(['p0@0+3', 'p0@3+3', 'p0@6+1* p1@0+2*', 'd0']);
  });
});

describe('KV admission', () => {
  it('admits a request only when blocks for it are free (whole-life reservation without preemption)', () => {
    const s = new Scheduler(cfg({ kv: { numBlocks: 6, blockSize: 4 }, preemption: 'none' }));
    // 8 prompt + 5 output tokens need 12 positions: 3 blocks each; two fit.
    submitAll(s, [req(0, 8, 5), req(1, 8, 5), req(2, 8, 5)]);
    const st0 = runStep(s, 0)!;
    expect(describeEntries(st0.entries)).toBe('p0@0+8* p1@0+8*');
    expect(st0.record.kvBlocksUsed).toBe(6);
    expect(st0.record.kvBlocksTotal).toBe(6);
    expect(steps(s, 1, 4)).toEqual(['d0 d1', 'd0 d1', 'd0 d1', 'd0 d1']);
    expect(recordOf(s, 0).status).toBe('finished');
    expect(s.kv.usedBlocks).toBe(0);
    expect(steps(s, 5, 1)).toEqual(['p2@0+8*']);
    expect(s.totals.preemptions).toBe(0);
  });

  it('keeps the watermark free for running sequences, except when nothing runs', () => {
    const s = new Scheduler(cfg({ kv: { numBlocks: 10, blockSize: 4 }, admission: { watermark: 0.2 } }));
    expect(s.watermarkBlocks).toBe(2);
    submitAll(s, [req(0, 16, 2), req(1, 16, 2), req(2, 4, 2)]);
    // r0 takes 4 blocks; r1 needs 4 + 2 <= 6 free; r2 needs 1 + 2 > 2 free.
    expect(steps(s, 0, 3)).toEqual(['p0@0+16* p1@0+16*', 'd0 d1', 'p2@0+4*']);
    // Nothing running: a request that fills the cache is admitted despite the watermark.
    const t = new Scheduler(cfg({ kv: { numBlocks: 4, blockSize: 4 }, admission: { watermark: 0.5 } }));
    submitAll(t, [req(0, 16, 1)]);
    expect(steps(t, 0, 1)).toEqual(['p0@0+16*']);
  });
});

describe('rejection', () => {
  it('rejects beyond the context, beyond the cache, on a full queue and on bad input, with reasons', () => {
    const seen: RequestRecord[] = [];
    const s = new Scheduler(
      cfg({ maxContext: 16, kv: { numBlocks: 4, blockSize: 4 }, admission: { maxQueue: 2, watermark: 0 }, onRequest: (r) => seen.push(r) }),
    );
    const r0 = s.submit(req(0, 10, 8));
    expect(r0).toMatchObject({ accepted: false, reason: 'context' });
    if (!r0.accepted) expect(r0.message).toMatch(/10 prompt \+ 8 output tokens need 17 positions, beyond the context of 16/);
    expect(s.submit(req(1, 10, 7)).accepted).toBe(true); // 16 positions: exactly the context and the cache
    expect(s.submit(req(2, 4, 1)).accepted).toBe(true);
    const r3 = s.submit(req(3, 4, 1));
    expect(r3).toMatchObject({ accepted: false, reason: 'queue-full' });
    if (!r3.accepted) expect(r3.message).toMatch(/queue is full \(2 waiting, maxQueue 2\)/);
    expect(s.submit(req(4, 0, 3))).toMatchObject({ accepted: false, reason: 'invalid' });
    expect(s.submit(req(5, 3, 0))).toMatchObject({ accepted: false, reason: 'invalid' });
    expect(() => s.submit(req(1, 3, 3))).toThrow(/request id 1 is already queued or running/);
    expect(seen.map((r) => [r.id, r.status, r.rejectReason])).toEqual([
      [0, 'rejected', 'context'],
      [3, 'rejected', 'queue-full'],
      [4, 'rejected', 'invalid'],
      [5, 'rejected', 'invalid'],
    ]);
    expect(s.records().map((r) => r.status)).toEqual(['rejected', 'queued', 'queued', 'rejected', 'rejected', 'rejected']);
    expect(s.totals).toMatchObject({ submitted: 6, rejected: 4 });
    runStep(s, 0); // admits r1 (3 blocks for its prompt) and r2 (1 block)
    expect(s.queueDepth).toBe(0);
    expect(s.submit(req(6, 4, 1)).accepted).toBe(true);

    const small = new Scheduler(cfg({ kv: { numBlocks: 2, blockSize: 4 } }));
    const r = small.submit(req(0, 8, 2));
    expect(r).toMatchObject({ accepted: false, reason: 'kv' });
    if (!r.accepted) expect(r.message).toMatch(/needs 3 KV blocks \(9 positions\) but the cache has 2 blocks of 4/);
  });
});

describe('fairness', () => {
  /** Tenant A floods 100 requests at t=0; tenant B sends 5 just after. Returns admission order. */
  function flood(policy: 'fcfs' | 'fair'): { order: number[]; s: Scheduler } {
    const s = new Scheduler(cfg({ policy, maxBatch: 4 }));
    for (let i = 0; i < 100; i++) s.submit(req(i, 4, 4, { tenant: 0, arrival: 0 }));
    const order: number[] = [];
    const note = (st: StepSnap) => {
      for (const e of st.entries) if (e.start === 0) order.push(e.id);
    };
    note(runStep(s, 0)!);
    for (let i = 0; i < 5; i++) s.submit(req(1000 + i, 4, 4, { tenant: 1, arrival: 0.5 }));
    for (const st of drain(s, 1)) note(st);
    return { order, s };
  }

  it("'fair' serves the small tenant's requests before most of the flood", () => {
    const { order, s } = flood('fair');
    expect(order).toHaveLength(105);
    const positions = order.flatMap((id, i) => (id >= 1000 ? [i] : []));
    expect(positions).toHaveLength(5);
    expect(Math.max(...positions)).toBeLessThan(15);
    expect(s.servedTokens(1)).toBeGreaterThan(0);
    expect(s.records().every((r) => r.status === 'finished')).toBe(true);
  });

  it("'fcfs' serves them after the whole flood", () => {
    const { order } = flood('fcfs');
    expect(order.slice(100)).toEqual([1000, 1001, 1002, 1003, 1004]);
  });

  it("'fair' does not let an idle tenant bank credit", () => {
    const s = new Scheduler(cfg({ policy: 'fair', maxBatch: 1 }));
    // Tenant 0 runs alone for a while, then tenant 1 arrives: it is lifted to tenant 0's counter,
    // so the two alternate instead of tenant 1 taking every slot.
    s.submit(req(0, 10, 10, { tenant: 0 }));
    drain(s);
    for (let i = 0; i < 4; i++) s.submit(req(10 + i, 4, 2, { tenant: 0, arrival: 20 }));
    for (let i = 0; i < 4; i++) s.submit(req(20 + i, 4, 2, { tenant: 1, arrival: 20 }));
    const order: number[] = [];
    for (const st of drain(s, 20)) for (const e of st.entries) if (e.start === 0) order.push(e.id);
    expect(order).toEqual([10, 20, 11, 21, 12, 22, 13, 23]);
  });
});

describe('fair-share charges', () => {
  // The preemption case below: r2 is preempted after 1 output, r1 after 3; each is recomputed
  // from its prompt and outputs. Each request is charged its new work only, P + M - 1 = 9 tokens.
  for (const policy of ['fair', 'fcfs'] as const) {
    it(`charges each tenant only for new work, not for recomputation after preemption (${policy})`, () => {
      const s = new Scheduler(cfg({ policy, maxBatch: 3, tokenBudget: 16, kv: { numBlocks: 6, blockSize: 2 } }));
      submitAll(s, [req(0, 4, 6, { tenant: 0 }), req(1, 4, 6, { tenant: 1 }), req(2, 4, 6, { tenant: 2 })]);
      const fed = [0, 0, 0];
      for (const st of drain(s)) for (const e of st.entries) fed[e.id]! += e.n;
      expect([0, 1, 2].map((id) => recordOf(s, id).preemptions)).toEqual([0, 1, 1]);
      expect(fed[1]! + fed[2]!).toBeGreaterThan(18); // tokens processed include the recompute...
      expect([0, 1, 2].map((t) => s.servedTokens(t))).toEqual([9, 9, 9]); // ...tokens charged do not
    });
  }

  it("'fair' does not put a preempted tenant behind the others for its recomputation", () => {
    // Tenant 1's request 0 (4 + 6) and tenant 0's request 1 (4 + 4) run; request 1, admitted last,
    // is preempted when request 0 grows. Then each tenant has three small requests queued. Tenant 0
    // has done less new work (7 tokens against 9), so the two alternate from tenant 0; charging the
    // recompute would put tenant 0 behind (20, 21, 10, ...).
    const s = new Scheduler(cfg({ policy: 'fair', maxBatch: 2, tokenBudget: 16, kv: { numBlocks: 6, blockSize: 2 } }));
    submitAll(s, [req(0, 4, 6, { tenant: 1 }), req(1, 4, 4, { tenant: 0, arrival: 0.1 })]);
    for (let i = 0; i < 3; i++) submitAll(s, [req(10 + i, 2, 2, { tenant: 0, arrival: 0.2 }), req(20 + i, 2, 2, { tenant: 1, arrival: 0.2 })]);
    const order: number[] = [];
    for (const st of drain(s)) for (const e of st.entries) if (e.start === 0) order.push(e.id);
    expect(recordOf(s, 1).preemptions).toBe(1);
    expect(order).toEqual([0, 1, 1, 10, 20, 11, 21, 12, 22]);
    expect([s.servedTokens(0), s.servedTokens(1)]).toEqual([7 + 3 * 3, 9 + 3 * 3]);
  });
});

describe('preemption', () => {
  it('preempts the latest admitted sequence when a decode finds the cache full, and recomputes it later', () => {
    // Blocks of 2 positions, 6 blocks. Three 4-token prompts take all 6; decodes then need more.
    const s = new Scheduler(cfg({ maxBatch: 3, tokenBudget: 16, kv: { numBlocks: 6, blockSize: 2 } }));
    submitAll(s, [req(0, 4, 6), req(1, 4, 6), req(2, 4, 6)]);
    const all = drain(s);
    expect(all.map((st) => describeEntries(st.entries))).toEqual([
      'p0@0+4* p1@0+4* p2@0+4*',
      'd0 d1', // r0 needs a third block: r2 (latest admitted) is preempted
      'd0 d1',
      'd0', // r0 needs a fourth block: r1 is preempted
      'd0',
      'd0', // r0 finishes
      'p1@0+7*', // r1 recomputed: 4 prompt + 3 generated tokens, sampling its 4th
      'd1',
      'd1', // r1 finishes; r2 (front of the queue after r1) waits for blocks until now
      'p2@0+5*',
      'd2',
      'd2',
      'd2',
      'd2',
    ]);
    expect(all.map((st) => st.preempted)).toEqual([[], [2], [], [1], [], [], [], [], [], [], [], [], [], []]);
    expect(all[1]!.record.queueDepth).toBe(0);
    expect(all[2]!.record.queueDepth).toBe(1);
    for (const id of [0, 1, 2]) expect(recordOf(s, id)).toMatchObject({ status: 'finished', outputTokens: 6 });
    expect([0, 1, 2].map((id) => recordOf(s, id).preemptions)).toEqual([0, 1, 1]);
    // The first token time is that of the first prefill, not of the recompute.
    expect(recordOf(s, 2).firstToken).toBe(1);
    // Output tokens are counted once: 18 sampled over all steps; recompute shows as prefill.
    expect(s.totals).toMatchObject({ outputTokens: 18, preemptions: 2, finished: 3, prefillTokens: 12 + 7 + 5 });
    const decode = all.reduce((n, st) => n + st.record.decodeTokens, 0);
    const sampledByPrefill = all.reduce((n, st) => n + st.entries.filter((e) => e.kind === 'prefill' && e.samples).length, 0);
    expect(decode + sampledByPrefill).toBe(18);
    expect(s.kv.usedBlocks).toBe(0);
    s.kv.check();
  });

  it('preempts a sequence in the middle of its prefill; it gets its first token later', () => {
    const s = new Scheduler(cfg({ maxBatch: 2, tokenBudget: 5, kv: { numBlocks: 4, blockSize: 2 } }));
    submitAll(s, [req(0, 4, 4), req(1, 4, 2)]);
    // r0 takes 2 blocks and the first 4 tokens of the budget; r1 (2 blocks) gets a 1-token chunk.
    expect(steps(s, 0, 2)).toEqual(['p0@0+4* p1@0+1', 'd0']); // r0 needs a third block: r1 is preempted
    expect(recordOf(s, 1)).toMatchObject({ preemptions: 1, status: 'queued' });
    expect(recordOf(s, 1).firstToken).toBeUndefined();
    const rest = drain(s, 2);
    // r1 needs 2 blocks again; one is free until r0 finishes.
    expect(rest.map((st) => describeEntries(st.entries))).toEqual(['d0', 'd0', 'p1@0+4*', 'd1']);
    expect(recordOf(s, 1)).toMatchObject({ status: 'finished', outputTokens: 2, firstToken: 5 });
  });

  it("'none' never preempts: the same load waits at admission instead", () => {
    const s = new Scheduler(cfg({ maxBatch: 3, tokenBudget: 16, kv: { numBlocks: 6, blockSize: 2 }, preemption: 'none' }));
    submitAll(s, [req(0, 4, 6), req(1, 4, 6), req(2, 4, 6)]);
    const all = drain(s);
    expect(describeEntries(all[0]!.entries)).toBe('p0@0+4*'); // 9 positions: 5 blocks reserved
    expect(s.totals.preemptions).toBe(0);
    expect(s.records().every((r) => r.outputTokens === 6 && r.preemptions === 0)).toBe(true);
  });
});

describe('abort and misuse', () => {
  it('aborts queued, running and in-flight requests', () => {
    const seen: RequestRecord[] = [];
    const s = new Scheduler(cfg({ maxBatch: 2, onRequest: (r) => seen.push(r) }));
    submitAll(s, [req(0, 3, 5), req(1, 3, 5), req(2, 3, 5)]);
    runStep(s, 0);
    expect(s.abort(2, 0.5)).toBe('queued');
    expect(s.abort(1, 1)).toBe('running');
    expect(s.runningCount).toBe(1);
    const plan = s.nextStep(1)!;
    expect(s.abort(0, 1.5)).toBe('pending');
    s.completeStep(plan, { start: 1, end: 2, busy: 1, timing: 'model' });
    expect(plan.finished.map((x) => x.id)).toEqual([0]);
    expect(s.abort(0, 3)).toBe('unknown');
    expect(seen.map((r) => [r.id, r.status, r.finish])).toEqual([
      [2, 'aborted', 0.5],
      [1, 'aborted', 1],
      [0, 'aborted', 2],
    ]);
    expect(s.idle).toBe(true);
    expect(s.kv.usedBlocks).toBe(0);
  });

  it('holds one step in flight at a time and checks its configuration', () => {
    const s = new Scheduler(cfg());
    s.submit(req(0, 3, 5));
    const plan = s.nextStep(0)!;
    expect(() => s.nextStep(0)).toThrow(/while a step is in flight/);
    s.completeStep(plan, { start: 0, end: 1, busy: 1, timing: 'model' });
    expect(() => s.completeStep(plan, { start: 0, end: 1, busy: 1, timing: 'model' })).toThrow(/needs the plan of the step in flight/);
    expect(() => new Scheduler(cfg({ maxBatch: 8, tokenBudget: 4 }))).toThrow(/tokenBudget \(4\) must be at least maxBatch \(8\)/);
    expect(() => new Scheduler(cfg({ maxBatch: 0 }))).toThrow(/maxBatch must be a positive integer/);
    expect(() => new Scheduler(cfg({ admission: { watermark: 1 } }))).toThrow(/watermark must be in \[0, 1\)/);
  });
});

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

describe('random workloads', () => {
  interface Tracked {
    req: SchedRequest;
    fed: number; // tokens fed over all steps
    lost: number; // tokens dropped by preemption
    computed: number;
    stopped: boolean;
  }

  function simulate(seed: number, over: Partial<SchedulerConfig>): Scheduler {
    const rng = new Rng(seed);
    const finals: RequestRecord[] = [];
    const blockSize = rng.int(1, 8);
    const kv = { numBlocks: Math.ceil(rng.int(40, 120) / blockSize), blockSize };
    const s = new Scheduler(cfg({ kv, maxContext: 64, onRequest: (r) => finals.push(r), ...over }));
    const tracked = new Map<number, Tracked>();
    const stepsRun: StepRecord[] = [];
    let nextId = 0;
    let sampledByPrefill = 0;
    let t = 0;
    for (let k = 0; k < 1500 || !s.idle; k++) {
      if (k > 100_000) throw new Error('the scheduler did not drain');
      // Arrivals in bursts, none after step 1500: then the scheduler drains.
      const arrivals = k < 1500 && rng.next() < 0.1 ? rng.int(1, 3) : 0;
      for (let a = 0; a < arrivals; a++) {
        const r = req(nextId++, rng.int(1, 40), rng.int(1, 30), { tenant: rng.int(0, 3), arrival: t });
        const res = s.submit(r);
        if (res.accepted) tracked.set(r.id, { req: r, fed: 0, lost: 0, computed: 0, stopped: false });
        else expect(['context', 'kv', 'queue-full']).toContain(res.reason);
      }
      if (rng.next() < 0.01 && tracked.size > 0) {
        const ids = [...tracked.keys()];
        const id = ids[rng.int(0, ids.length - 1)]!;
        if (s.abort(id, t) !== 'unknown') tracked.get(id)!.stopped = true;
      }
      const plan = s.nextStep(t);
      if (!plan) {
        t += 0.1;
        continue;
      }
      const seen = new Set<number>();
      let tokens = 0;
      for (const v of plan.preempted) {
        const tr = tracked.get(v.id)!;
        tr.lost += tr.computed;
        tr.computed = 0;
      }
      const stop: boolean[] = [];
      for (const e of plan.entries) {
        const tr = tracked.get(e.seq.id)!;
        check(!seen.has(e.seq.id), `sequence ${e.seq.id} twice in step ${plan.index}`);
        seen.add(e.seq.id);
        check(e.start === tr.computed, `sequence ${e.seq.id} starts at ${e.start}, its KV holds ${tr.computed}`);
        check(e.kind === 'decode' ? e.tokens === 1 : e.tokens >= 1, `bad entry size ${e.tokens}`);
        check(e.tokens <= (over.maxPrefillChunk ?? Infinity), `chunk of ${e.tokens}`);
        tokens += e.tokens;
        tr.fed += e.tokens;
        tr.computed += e.tokens;
        if (e.samples && e.kind === 'prefill') sampledByPrefill++;
        const eos = e.samples && rng.next() < 0.02;
        if (eos) tr.stopped = true;
        stop.push(eos);
      }
      check(plan.entries.length <= s.maxBatch, `batch of ${plan.entries.length}`);
      check(tokens <= s.tokenBudget, `${tokens} tokens in a step`);
      const dt = 0.01 + 0.001 * tokens;
      const rec = s.completeStep(plan, { start: t, end: t + dt, busy: dt, timing: 'model' }, stop);
      stepsRun.push(rec);
      check(rec.kvBlocksUsed <= rec.kvBlocksTotal && rec.kvBlocksUsed === s.kv.usedBlocks, 'KV blocks in the record');
      s.kv.check();
      t += dt;
    }
    expect(s.idle).toBe(true);
    expect(s.kv.usedBlocks).toBe(0);
    s.kv.check();
    // Every request ended once; outputs complete unless stopped; tokens fed add up.
    const records = s.records();
    expect(finals).toHaveLength(records.length);
    expect(new Set(finals.map((r) => r.id)).size).toBe(records.length);
    let outputs = 0;
    for (const r of records) {
      outputs += r.outputTokens;
      if (r.status === 'rejected') continue;
      const tr = tracked.get(r.id)!;
      if (!tr.stopped) expect(r).toMatchObject({ status: 'finished', outputTokens: r.maxOutputTokens });
      if (r.status === 'finished') {
        expect(tr.fed - tr.lost).toBe(r.promptTokens + r.outputTokens - 1);
        expect(r.firstToken!).toBeGreaterThan(r.arrival);
        expect(r.finish!).toBeGreaterThanOrEqual(r.firstToken!);
      }
    }
    const sum = (f: (x: StepRecord) => number) => stepsRun.reduce((n, x) => n + f(x), 0);
    expect(sum((x) => x.decodeTokens) + sampledByPrefill).toBe(outputs);
    expect(s.totals.outputTokens).toBe(outputs);
    expect(sum((x) => x.prefillTokens) + sum((x) => x.decodeTokens)).toBe([...tracked.values()].reduce((n, x) => n + x.fed, 0));
    expect(stepsRun.map((x) => x.index)).toEqual(stepsRun.map((_, i) => i));
    if (over.preemption === 'none') expect(s.totals.preemptions).toBe(0);
    expect(records.reduce((n, r) => n + r.preemptions, 0)).toBe(s.totals.preemptions);
    if (over.preemption !== 'none') expect(s.totals.preemptions).toBeGreaterThan(0);
    return s;
  }

  const cases: [string, Partial<SchedulerConfig>][] = [
    ['fcfs, recompute', { policy: 'fcfs', maxBatch: 4, tokenBudget: 16 }],
    ['fair, recompute, chunks of 5', { policy: 'fair', maxBatch: 6, tokenBudget: 12, maxPrefillChunk: 5 }],
    ['fcfs, no preemption, watermark', { policy: 'fcfs', maxBatch: 3, tokenBudget: 40, preemption: 'none', admission: { watermark: 0.1 } }],
    ['fair, bounded queue', { policy: 'fair', maxBatch: 8, tokenBudget: 8, admission: { maxQueue: 5, watermark: 0 } }],
  ];
  for (const [name, over] of cases) {
    it(`keeps its invariants (${name})`, () => {
      for (const seed of [11, 12]) simulate(seed, over);
    });
  }

  it('plans a step in time independent of the queue length', () => {
    // 100k queued requests: planning touches the running batch and the queue's head only.
    const s = new Scheduler(cfg({ policy: 'fair', maxBatch: 32, tokenBudget: 256, kv: { numBlocks: 4096, blockSize: 16 } }));
    for (let i = 0; i < 100_000; i++) s.submit(req(i, 64, 32, { tenant: i % 50 }));
    const t0 = performance.now();
    let k = 0;
    for (; k < 2000; k++) runStep(s, k);
    const ms = performance.now() - t0;
    expect(s.totals.steps).toBe(2000);
    expect(s.totals.finished).toBeGreaterThan(1000);
    expect(ms, `${ms.toFixed(0)} ms for 2000 steps`).toBeLessThan(4000);
  });
});
