// Exact demand, one definition of useful work, and sizing by SLO (issue 13, items 1–3).
import { describe, expect, it } from 'vitest';
import {
  configAtLoad,
  formatResult,
  planRun,
  runSimulation,
  runSweep,
  searchServers,
  SloUnreachableError,
  weightedPercentile,
  workOf,
  WorkCosts,
  type SimConfig,
} from '../../src/sim/index.js';

const CHAT = {
  kind: 'parametric',
  prompt: { kind: 'lognormal', mean: 1000, cv: 1, min: 16, max: 6000 },
  output: { kind: 'lognormal', mean: 200, cv: 1, min: 8, max: 2000 },
} as const;

const FIXED_100 = { kind: 'parametric', prompt: { kind: 'fixed', value: 200 }, output: { kind: 'fixed', value: 100 } } as const;

function poisson(rate: number, extra: Partial<SimConfig> = {}): SimConfig {
  return {
    seed: 3,
    durationS: 600,
    stepTime: { kind: 'roofline', gpu: 'h100', model: '8b' },
    tenants: [{ arrival: { kind: 'poisson', rate }, lengths: CHAT }],
    deployment: { kind: 'pooled', servers: 2 },
    ...extra,
  } as SimConfig;
}

describe('exact demand', () => {
  it.each([61, 90, 630])('offered output tokens and work are total ÷ duration for a %i s run', (d) => {
    const cfg: SimConfig = {
      seed: 3,
      durationS: d,
      stepTime: { kind: 'roofline', gpu: 'h100', model: '8b' },
      tenants: [{ arrival: { kind: 'poisson', rate: 5 }, lengths: FIXED_100 }],
      deployment: { kind: 'pooled', servers: 2 },
    };
    const r = runSimulation(cfg);
    const exact = (r.workload.requests * 100) / d;
    expect(Math.abs(r.workload.offeredOutputTokensPerS / exact - 1)).toBeLessThan(0.005);
    const plan = planRun(cfg);
    let work = 0;
    for (let i = 0; i < plan.workload.columns.arrival.length; i++) work += workOf(plan.work, plan.workload.columns, i);
    expect(Math.abs(r.workload.offeredWorkServers / (work / d) - 1)).toBeLessThan(0.005);
    expect(r.workload.offeredLoad).toBeCloseTo(work / d / 2, 9);
  });

  it('weights a partial window by its length', () => {
    expect(weightedPercentile([1, 100], [60, 1], 50)).toBe(1);
    expect(weightedPercentile([1, 100], [60, 1], 99)).toBe(100);
    expect(weightedPercentile([5, 1, 3], [1, 1, 1], 100)).toBe(5);
  });
});

describe('one definition of useful work', () => {
  it('every row of a load sweep up to 0.9 serves within 3% of its label', () => {
    const base = poisson(1, { durationS: 900, warmupS: 0 });
    const loads = [0.3, 0.6, 0.9];
    const s = runSweep(base, { kind: 'load', values: loads });
    if (s.kind !== 'load') throw new Error('load sweep expected');
    for (const row of s.rows) {
      expect(Math.abs(row.offeredLoad / row.target - 1)).toBeLessThan(0.005);
      expect(Math.abs(row.capacityUtilization / row.target - 1)).toBeLessThan(0.03);
    }
  });

  it('a load sweep over a queue config scales the queue\'s rate (the shorthand stays a shorthand)', () => {
    const s = runSweep({ seed: 1, queue: { servers: 2, arrivalRate: 1, meanServiceS: 1, requests: 3000 } }, { kind: 'load', values: [0.5, 0.8] });
    if (s.kind !== 'load') throw new Error('load sweep expected');
    for (const row of s.rows) expect(Math.abs(row.offeredLoad / row.target - 1)).toBeLessThan(0.005);
  });

  it('configAtLoad reaches the load it is asked for on the workload itself', () => {
    const { config, offeredLoad } = configAtLoad(poisson(1, { durationS: 90 }), 0.8);
    expect(Math.abs(offeredLoad / 0.8 - 1)).toBeLessThan(0.005);
    expect(Math.abs(runSimulation(config).workload.offeredLoad / 0.8 - 1)).toBeLessThan(0.005);
  });

  it('a saturated server reads at least 95% capacity utilization, whatever the request shape', () => {
    for (const lengths of [CHAT, FIXED_100, { kind: 'parametric', prompt: { kind: 'fixed', value: 3000 }, output: { kind: 'fixed', value: 20 } }]) {
      const cfg = poisson(1, { durationS: 240, tenants: [{ arrival: { kind: 'poisson', rate: 1 }, lengths }], deployment: { kind: 'pooled', servers: 1 } } as Partial<SimConfig>);
      const at = configAtLoad(cfg, 3).config; // three times what the server can do
      const r = runSimulation(at);
      expect(r.fleet.capacityUtilization).toBeGreaterThanOrEqual(0.95);
      // A little above 1 where a mixed step overlaps decode memory time with prefill compute.
      expect(r.fleet.capacityUtilization).toBeLessThan(1.15);
    }
  });

  it('counts work once: recomputation after preemption is not work, and all work served equals the work offered', () => {
    const cfg = poisson(6, { durationS: 60, scheduler: { kvBlocks: 400 }, deployment: { kind: 'pooled', servers: 1 } } as Partial<SimConfig>);
    const r = runSimulation(cfg);
    expect(r.fleet.requests.preemptions).toBeGreaterThan(0);
    expect(r.fleet.requests.finished).toBe(r.workload.requests);
    const plan = planRun(cfg);
    let work = 0;
    for (let i = 0; i < plan.workload.columns.arrival.length; i++) work += workOf(plan.work, plan.workload.columns, i);
    expect(r.fleet.workServerSeconds / work).toBeCloseTo(1, 9);
  });

  it('the saturated decode batch is the largest that fits the KV memory, the TPOT SLO and maxBatch', () => {
    const plan = planRun(poisson(1, { durationS: 30 }));
    const p = plan.pools[0]!;
    const costs = new WorkCosts(p.model, p.scheduler);
    const step = (b: number, ctx: number) => p.model.shapeTime({ batchSize: b, decodeTokens: b, prefillTokens: 0, contextTokens: b * ctx, attendedPairs: b * ctx });
    expect(costs.decode(1100).batch).toBe(Math.min(256, costs.kvBatch(1100)));
    // A TPOT SLO between the step times at batch 40 and 41 caps the batch at 40.
    const tpot = (step(40, 1100) + step(41, 1100)) / 2;
    const capped = costs.decode(1100, tpot);
    expect(capped.batch).toBe(40);
    expect(capped.perToken).toBeCloseTo(step(40, 1100) / 40, 12);
    // A long context fills the KV memory before maxBatch.
    expect(costs.decode(60_000).batch).toBe(costs.kvBatch(60_000));
    expect(costs.kvBatch(60_000)).toBeLessThan(256);
  });

  it('the default max batch is vLLM\'s 256', () => {
    expect(runSimulation(poisson(1, { durationS: 30 })).pools[0]!.scheduler.maxBatch).toBe(256);
  });
});

describe('sizing by SLO', () => {
  const slo = { ttft: 2, tpot: 0.1 };
  const configs: [string, SimConfig][] = [
    ['pooled', poisson(40, { durationS: 300, slo, deployment: { kind: 'pooled', servers: 'auto' } } as Partial<SimConfig>)],
    [
      'reserved',
      {
        ...poisson(1, { durationS: 300, slo }),
        tenants: [
          { name: 'a', arrival: { kind: 'poisson', rate: 6 }, lengths: CHAT },
          { name: 'b', arrival: { kind: 'gamma', rate: 3, cv: 3 }, lengths: CHAT },
        ],
        deployment: { kind: 'reserved' },
      },
    ],
    [
      'pooled, bursty, 90% target',
      {
        ...poisson(1, { durationS: 300, slo: { ttft: 1 } }),
        tenants: [{ arrival: { kind: 'gamma', rate: 10, cv: 4 }, lengths: CHAT }],
        deployment: { kind: 'pooled', servers: 'auto', sizing: { sloTarget: 0.9 } },
      },
    ],
  ];
  it.each(configs)('%s: N meets the target and N − 1 does not, as fixed fleets confirm', (_, cfg) => {
    const r = runSimulation(cfg);
    for (const p of r.pools) {
      expect(p.servers.sizedBy).toBe('slo');
      const z = p.sizing!;
      if (z.method !== 'slo') throw new Error('slo sizing expected');
      const { servers, attainment, below, target } = z.search;
      expect(p.servers.initial).toBe(servers);
      expect(attainment).toBeGreaterThanOrEqual(target);
      if (below) {
        expect(below.servers).toBe(servers - 1);
        expect(below.attainment).toBeLessThan(target);
      } else expect(servers).toBe(1);
    }
    // The same N as a fixed pool reproduces the search's figure (pooled configs).
    if (cfg.deployment!.kind === 'pooled') {
      const z = r.pools[0]!.sizing!;
      if (z.method !== 'slo') throw new Error('slo sizing expected');
      const fixed = runSimulation({ ...cfg, deployment: { kind: 'pooled', servers: z.search.servers } });
      expect(fixed.fleet.slo!.attainment).toBeCloseTo(z.search.attainment, 12);
      if (z.search.below) {
        const fewer = runSimulation({ ...cfg, deployment: { kind: 'pooled', servers: z.search.below.servers } });
        expect(fewer.fleet.slo!.attainment).toBeCloseTo(z.search.below.attainment, 12);
      }
    }
    expect(formatResult(r)).toMatch(/sizing: .*servers attain .*would attain|the minimum allowed/);
  });

  it('moving the target across an attainment moves N', () => {
    const cfg = configs[0]![1];
    const r = runSimulation(cfg);
    const z = r.pools[0]!.sizing!;
    if (z.method !== 'slo' || !z.search.below) throw new Error('expected N > 1');
    const lower = runSimulation({ ...cfg, deployment: { kind: 'pooled', servers: 'auto', sizing: { sloTarget: Math.max(0.01, z.search.below.attainment - 1e-6) } } });
    expect(lower.pools[0]!.servers.initial).toBeLessThan(z.search.servers);
  });

  it('pooled needs no more GPUs than reserved for the same customers, and reads the higher capacity utilization', () => {
    const tenants = [
      { name: 'chat', count: 6, arrival: { kind: 'gamma', rate: 0.8, cv: 2 }, lengths: CHAT },
      { name: 'code', count: 2, arrival: { kind: 'gamma', rate: 1.2, cv: 6 }, lengths: { kind: 'parametric', prompt: { kind: 'lognormal', mean: 2000, cv: 1, max: 7000 }, output: { kind: 'lognormal', mean: 30, cv: 1, min: 1, max: 500 } } },
    ];
    const base = { ...poisson(1, { durationS: 600, slo }), tenants } as SimConfig;
    const pooled = runSimulation({ ...base, deployment: { kind: 'pooled', servers: 'auto' } });
    const reserved = runSimulation({ ...base, deployment: { kind: 'reserved' } });
    expect(pooled.fleet.gpus.mean).toBeLessThanOrEqual(reserved.fleet.gpus.mean);
    expect(pooled.fleet.capacityUtilization).toBeGreaterThan(reserved.fleet.capacityUtilization);
    expect(pooled.fleet.slo!.attainment).toBeGreaterThanOrEqual(0.99);
    for (const t of reserved.tenants.rows) expect(t.sloAttainment!).toBeGreaterThanOrEqual(0.99);
  });

  it('refuses before simulating: no SLO, or a target no fleet can reach, with the estimate', () => {
    expect(() => runSimulation(poisson(1, { durationS: 60, deployment: { kind: 'pooled', servers: 'auto' } }))).toThrow(/deployment: sizing by SLO .* needs an SLO/);
    let err: unknown;
    try {
      runSimulation(poisson(1, { durationS: 60, slo: { ttft: 0.01 }, deployment: { kind: 'pooled', servers: 'auto' } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SloUnreachableError);
    expect(String(err)).toMatch(/out of reach: even on an idle server only \d+\.\d+% of its \d+ requests meet their SLO/);
  });

  it('the search walks to the smallest meeting count from any guess', () => {
    const att = (n: number) => Math.min(1, n / 7);
    for (const guess of [1, 3, 7, 9, 40]) {
      const s = searchServers(att, { guess, min: 1, max: 100, target: 1 });
      expect(s.servers).toBe(7);
      expect(s.below).toEqual({ servers: 6, attainment: 6 / 7 });
    }
    expect(() => searchServers(() => 0.5, { guess: 2, min: 1, max: 16, target: 0.99 })).toThrow(SloUnreachableError);
  });

  it('an autoscaled pool without maxServers takes its bound from the same search', () => {
    const cfg = configs[0]![1];
    const fixed = runSimulation(cfg);
    const z = fixed.pools[0]!.sizing!;
    if (z.method !== 'slo') throw new Error('slo sizing expected');
    const r = runSimulation({ ...cfg, deployment: { kind: 'pooled', servers: 'auto', autoscaler: { provisioningDelayS: 0 } } });
    expect(r.pools[0]!.autoscaler!.maxServers).toBe(z.search.servers);
    expect(r.pools[0]!.servers.initial).toBe(z.search.servers);
    expect(r.pools[0]!.servers.peak).toBeLessThanOrEqual(z.search.servers);
  });

  it('each pool keeps its own sizing record, also where one is an autoscaler bound', () => {
    const cfg: SimConfig = {
      ...poisson(1, { durationS: 300, slo }),
      tenants: [
        { name: 'a', model: 'llama-3.1-8b', arrival: { kind: 'poisson', rate: 30 }, lengths: CHAT },
        { name: 'b', model: 'llama-3.2-3b', arrival: { kind: 'poisson', rate: 40 }, lengths: CHAT },
      ],
      deployment: { kind: 'multi-model', pools: { 'llama-3.1-8b': { servers: 1, autoscaler: { provisioningDelayS: 0 } }, 'llama-3.2-3b': { servers: 'auto' } } },
    };
    const r = runSimulation(cfg);
    const [a, b] = r.pools;
    const za = a!.sizing!;
    const zb = b!.sizing!;
    if (za.method !== 'slo' || zb.method !== 'slo') throw new Error('slo sizing expected');
    expect(a!.autoscaler!.maxServers).toBe(za.search.servers);
    expect(b!.servers.initial).toBe(zb.search.servers);
  });

  it('the peak rule applies its headroom once, on windows of any length', () => {
    const cfg = poisson(8, { durationS: 300, deployment: { kind: 'pooled', servers: 'auto', sizing: { method: 'peak', percentile: 100, windowS: 5 } } } as Partial<SimConfig>);
    const r = runSimulation(cfg);
    const p = r.pools[0]!;
    expect(p.servers.sizedBy).toBe('peak');
    expect(p.servers.initial).toBe(Math.ceil(p.demand.peakServers - 1e-9));
    const h = runSimulation({ ...cfg, deployment: { kind: 'pooled', servers: 'auto', sizing: { method: 'peak', percentile: 100, windowS: 5, targetUtilization: 0.5 } } });
    expect(h.pools[0]!.servers.initial).toBe(Math.ceil(p.demand.peakServers / 0.5 - 1e-9));
  });
});
