// The event loop, workload, routers, admission control, autoscaler and multi-model pools, and
// cross-checks of the simulator's streaming figures against metrics/ computed from its records.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/metrics/records.js';
import { utilization } from '../../src/metrics/utilization.js';
import { Rng } from '../../src/ops/random.js';
import { generateTenantColumns, generateTenants, type Tenant } from '../../src/traffic/tenants.js';
import { parametricLengths } from '../../src/traffic/lengths.js';
import { parseAzureCsv } from '../../src/traffic/azure.js';
import {
  buildWorkload,
  EventQueue,
  profileArrivalTimes,
  runSimulation,
  type SimConfig,
  type TenantGroup,
} from '../../src/sim/index.js';
import { AZURE_TRACES } from '../helpers/data.js';

const lengths = (prompt: number, output: number): TenantGroup['lengths'] => ({
  kind: 'parametric',
  prompt: { kind: 'fixed', value: prompt },
  output: { kind: 'fixed', value: output },
});

describe('event queue', () => {
  it('pops in time order, ties in push order', () => {
    const q = new EventQueue(2);
    const rng = new Rng(1);
    const items: [number, number][] = [];
    for (let i = 0; i < 2000; i++) {
      const t = Math.floor(rng.next() * 50);
      items.push([t, i]);
      q.push(t, i);
    }
    const out: number[] = [];
    while (q.size > 0) out.push(q.pop());
    const expected = [...items].sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[1]);
    expect(out).toEqual(expected);
    expect(q.topTime).toBe(Infinity);
  });
});

describe('workload', () => {
  it('generates exactly what traffic/tenants.ts generates for the same tenants and seed', () => {
    const groups: TenantGroup[] = [
      { name: 'a', count: 3, arrival: { kind: 'diurnal', rate: 0.5, amplitude: 0.5 }, tzOffsetH: [0, 5, -3], lengths: lengths(10, 5) },
      { name: 'b', count: 2, arrival: { kind: 'gamma', rate: 1, cv: 2 }, lengths: { kind: 'parametric', prompt: { kind: 'uniform', min: 1, max: 50 }, output: { kind: 'geometric', mean: 10 } } },
    ];
    const w = buildWorkload({ seed: 42, durationS: 600, tenants: groups });
    const tenants: Tenant[] = [];
    let id = 0;
    for (const g of groups) {
      for (let i = 0; i < (g.count ?? 1); i++) {
        tenants.push({ id: id++, name: `${g.name}`, arrival: g.arrival as Tenant['arrival'], lengths: g.lengths as Tenant['lengths'], tzOffsetH: Array.isArray(g.tzOffsetH) ? g.tzOffsetH[i] : 0 });
      }
    }
    const ref = generateTenantColumns(tenants, 600, 42);
    expect(w.columns.arrival).toEqual(ref.arrival);
    expect(w.columns.promptTokens).toEqual(ref.promptTokens);
    expect(w.columns.outputTokens).toEqual(ref.outputTokens);
    expect(w.columns.tenant).toEqual(ref.tenant);
    expect(w.tenants.map((t) => t.name)).toEqual(['a-0', 'a-1', 'a-2', 'b-0', 'b-1']);
  });

  it('a profile day: 8 h at 2x and 16 h at 0.5x, shifted by the time zone', () => {
    const multipliers = [...Array(8).fill(2), ...Array(16).fill(0.5)];
    const times = profileArrivalTimes({ kind: 'profile', rate: 1, multipliers }, 86400 * 3, new Rng(3), 0);
    const inPeak = times.filter((t) => t % 86400 < 8 * 3600).length;
    const mean = times.length / (86400 * 3);
    expect(mean).toBeGreaterThan(0.97);
    expect(mean).toBeLessThan(1.03);
    // rate 2·(1/1) over 8 h vs 0.5 over 16 h: the peak third holds 2·8 / (2·8 + 0.5·16) = 2/3 of arrivals
    expect(inPeak / times.length).toBeCloseTo(2 / 3, 1);
    const shifted = profileArrivalTimes({ kind: 'profile', rate: 1, multipliers }, 86400 * 3, new Rng(3), 6);
    const early = shifted.filter((t) => (t + 6 * 3600) % 86400 < 8 * 3600).length;
    expect(early / shifted.length).toBeCloseTo(2 / 3, 1);
  });

  it('replays a trace as one tenant, or one per tenant id it carries', () => {
    const trace = generateTenants(
      [0, 1, 2].map((id) => ({ id, name: `g${id}`, arrival: { kind: 'poisson', rate: 0.5 + id } as const, lengths: parametricLengths(20, 5) })),
      300,
      9,
    );
    const traces = new Map([['mix.json', trace]]);
    const one = buildWorkload({ tenants: [{ name: 'mix', trace: { path: 'mix.json' } }] }, { traces });
    expect(one.tenants.map((t) => t.name)).toEqual(['mix']);
    const split = buildWorkload({ tenants: [{ name: 'mix', trace: { path: 'mix.json', byTenant: true, offsetS: 10 } }] }, { traces });
    expect(split.tenants.map((t) => [t.name, t.requests])).toEqual(
      [0, 1, 2].map((id) => [`mix-${id}`, trace.requests.filter((r) => r.tenant === id).length]),
    );
    expect(split.columns.arrival[0]).toBeCloseTo(trace.requests[0]!.arrival + 10, 12);
    expect(() => buildWorkload({ tenants: [{ trace: { path: 'other.json' } }] }, { traces })).toThrow(/'other.json' was not loaded/);
  });

  it('spreads tenant sizes with rateSpread and caps at requests', () => {
    const w = buildWorkload({ seed: 1, durationS: 3600, requests: 5000, tenants: [{ name: 's', count: 200, arrival: { kind: 'poisson', rate: 0.01 }, rateSpread: { cv: 2 }, lengths: lengths(5, 5) }] });
    expect(w.columns.arrival.length).toBe(5000);
    expect(w.durationS).toBe(w.columns.arrival[4999]);
    const rates = w.tenants.map((t) => t.rate).sort((a, b) => a - b);
    expect(rates[199]! / rates[100]!).toBeGreaterThan(5);
  });
});

function small(over: Partial<SimConfig> = {}): SimConfig {
  return {
    seed: 5,
    durationS: 600,
    stepTime: { kind: 'calibrated', a: 0.005, b: 0.0002, c: 0.00002, d: 1e-7 },
    scheduler: { maxBatch: 8, tokenBudget: 256, maxContext: 1024, kvBlocks: 512 },
    tenants: [{ name: 't', count: 10, arrival: { kind: 'poisson', rate: 0.5 }, lengths: lengths(100, 20) }],
    deployment: { kind: 'pooled', servers: 4 },
    ...over,
  };
}

describe('routers and admission', () => {
  function perServer(config: SimConfig): number[] {
    const steps = new Map<number, number>();
    runSimulation(config, { onStep: (s) => steps.set(s.gpu, (steps.get(s.gpu) ?? 0) + s.prefillTokens) });
    return [...steps.entries()].sort((a, b) => a[0] - b[0]).map((x) => x[1] / 100);
  }

  it('round-robin hands out requests in turn; jsq, least-loaded and central-queue use every server', () => {
    const rr = perServer(small({ deployment: { kind: 'pooled', servers: 4, router: 'round-robin' } }));
    expect(Math.max(...rr) - Math.min(...rr)).toBeLessThanOrEqual(1);
    for (const router of ['jsq', 'least-loaded', 'central-queue'] as const) {
      const n = perServer(small({ deployment: { kind: 'pooled', servers: 4, router } }));
      expect(n.length, router).toBe(4);
      expect(Math.min(...n), router).toBeGreaterThan(0);
    }
  });

  it('jsq beats round-robin on tail latency under bursty load', () => {
    const bursty = small({
      scheduler: { maxBatch: 2, tokenBudget: 256, maxContext: 1024, kvBlocks: 512 },
      tenants: [{ name: 'b', count: 4, arrival: { kind: 'gamma', rate: 3, cv: 3 }, lengths: { kind: 'parametric', prompt: { kind: 'fixed', value: 50 }, output: { kind: 'geometric', mean: 40 } } }],
    });
    const rr = runSimulation({ ...bursty, deployment: { kind: 'pooled', servers: 4, router: 'round-robin' } });
    const jsq = runSimulation({ ...bursty, deployment: { kind: 'pooled', servers: 4, router: 'jsq' } });
    expect(jsq.fleet.latency.e2e.p99).toBeLessThan(rr.fleet.latency.e2e.p99 * 0.97);
  });

  it('rejects arrivals beyond the queue bound and counts them as SLO misses', () => {
    const over = small({
      slo: { e2e: 1000 },
      tenants: [{ name: 'flood', arrival: { kind: 'poisson', rate: 200 }, lengths: lengths(200, 50) }],
      deployment: { kind: 'pooled', servers: 1, maxQueue: 20 },
      durationS: 30,
    });
    const r = runSimulation(over);
    const q = r.fleet.requests;
    expect(q.rejectedByReason['queue-full']).toBeGreaterThan(1000);
    expect(q.finished + q.rejected).toBe(q.arrived);
    expect(r.fleet.slo!.attainment).toBeCloseTo(q.finished / q.arrived, 10);
    expect(r.fleet.latency.wait.max).toBeLessThan(30);
  });

  it('rejects requests longer than the context (reason context)', () => {
    const r = runSimulation(small({ tenants: [{ arrival: { kind: 'poisson', rate: 1 }, lengths: lengths(2000, 10) }] }));
    expect(r.fleet.requests.rejectedByReason).toEqual({ context: r.fleet.requests.arrived });
  });
});

describe('autoscaler', () => {
  it('adds servers after a load step (after the provisioning delay) and releases them when it passes', () => {
    const multipliers = [0.2, 0.2, 3, 3, 0.2, 0.2, 0.2, 0.2];
    const r = runSimulation(
      small({
        durationS: 4 * 3600,
        tenants: [{ name: 'wave', count: 10, arrival: { kind: 'profile', rate: 2, multipliers, periodS: 4 * 3600 }, lengths: lengths(100, 40) }],
        deployment: { kind: 'pooled', router: 'jsq', autoscaler: { minServers: 1, maxServers: 20, targetUtilization: 0.6, intervalS: 30, provisioningDelayS: 120, scaleDownDelayS: 300 } },
      }),
    );
    const p = r.pools[0]!;
    expect(p.servers.sizedBy).toBe('autoscaler');
    expect(p.autoscaler!.scaleUps).toBeGreaterThan(0);
    expect(p.autoscaler!.scaleDowns).toBeGreaterThan(0);
    expect(p.servers.peak).toBeGreaterThan(2);
    expect(p.servers.final).toBeLessThan(p.servers.peak);
    // The first scale-up lands after the load step at 1 h, plus at least one interval.
    const firstUp = p.serverChanges!.find(([, n], i, a) => i > 0 && n > a[i - 1]![1])!;
    expect(firstUp[0]).toBeGreaterThanOrEqual(3600);
    expect(r.fleet.billedServerSeconds).toBeGreaterThan(r.fleet.busyServerSeconds);
    expect(r.fleet.servers.mean).toBeLessThan(p.servers.peak);
  });
});

describe('figures', () => {
  it('time utilization and tokens agree with metrics/utilization over the recorded steps', () => {
    const steps: StepRecord[] = [];
    const config = small({ warmupS: 60 });
    const r = runSimulation(config, { onStep: (s) => steps.push({ ...s }) });
    const u = utilization(steps, { t0: r.span.t0, t1: r.span.t1, gpus: 4 });
    expect(r.fleet.timeUtilization).toBeCloseTo(u.timeUtilization, 9);
    expect(r.fleet.allTokens).toBeCloseTo(u.decodeTokens + u.prefillTokens, 6);
    expect(r.fleet.requests.arrived).toBeLessThan(r.workload.requests);
  });

  it('multi-model pools report fragmentation; each GPU serves one model', () => {
    const r = runSimulation({
      seed: 2,
      durationS: 600,
      stepTime: { kind: 'roofline', gpu: 'h100', model: '8b' },
      tenants: [
        { name: 'a', count: 5, model: 'llama-3.2-1b', arrival: { kind: 'poisson', rate: 0.3 }, lengths: lengths(300, 60) },
        { name: 'b', count: 5, model: 'llama-3.2-3b', arrival: { kind: 'poisson', rate: 0.3 }, lengths: lengths(300, 60) },
        { name: 'c', count: 5, model: 'llama-3.1-8b', arrival: { kind: 'poisson', rate: 0.3 }, lengths: lengths(300, 60) },
      ],
      slo: { ttft: 2, tpot: 0.1 },
      deployment: { kind: 'multi-model', pools: { 'llama-3.2-1b': { servers: 'auto' }, 'llama-3.2-3b': { servers: 'auto' }, 'llama-3.1-8b': { servers: 'auto' } } },
    });
    expect(r.pools.map((p) => p.stepTime)).toEqual([
      'roofline: Llama 3.2 1B on NVIDIA H100 SXM 80GB, bf16 weights',
      'roofline: Llama 3.2 3B on NVIDIA H100 SXM 80GB, bf16 weights',
      'roofline: Llama 3.1 8B on NVIDIA H100 SXM 80GB, bf16 weights',
    ]);
    expect(r.pools.map((p) => p.tenants)).toEqual([5, 5, 5]);
    const f = r.fragmentation!;
    expect(f.servers).toBe(3);
    expect(f.serversIfShared).toBe(1);
    expect(f.extraServers).toBe(2);
    expect(r.tenants.rows.find((t) => t.name === 'c-0')!.pool).toBe('llama-3.1-8b');
  });

  it('reserved: each tenant sized by the peak rule for its own peak', () => {
    const r = runSimulation(small({ deployment: { kind: 'reserved', sizing: { method: 'peak', targetUtilization: 0.01 } } }));
    expect(r.pools.length).toBe(10);
    for (const p of r.pools) {
      expect(p.servers.sizedBy).toBe('peak');
      expect(p.servers.initial).toBe(Math.max(1, Math.ceil(p.demand.peakServers / 0.01 - 1e-9)));
    }
    expect(r.tenants.timeUtilization!.count).toBe(10);
  });

  it.skipIf(!existsSync(AZURE_TRACES))(`the Azure conversation trace replays as one tenant on 8 servers${existsSync(AZURE_TRACES) ? '' : ` (skipped: ${AZURE_TRACES} is absent)`}`, () => {
    const path = 'AzureLLMInferenceTrace_conv.csv';
    const trace = parseAzureCsv(readFileSync(`${AZURE_TRACES}${path}`, 'utf8'), path);
    const r = runSimulation(
      {
        stepTime: { kind: 'roofline', gpu: 'h100', model: '8b' },
        scheduler: { maxContext: 16384 },
        tenants: [{ name: 'conv', trace: { path, timeScale: 4 } }],
        deployment: { kind: 'pooled', servers: 8 },
      },
      { traces: new Map([[path, trace]]) },
    );
    expect(r.workload.requests).toBe(19366);
    expect(r.fleet.requests.finished).toBe(19366);
    expect(r.workload.durationS).toBeCloseTo(3501.72 / 4, 1);
  });
});
