// Direction of the claims the simulator exists to test, at a reduced size: pooling many tenants
// raises utilization over reserving servers for each; tail latency rises sharply past ~85% load.
import { describe, expect, it } from 'vitest';
import { runSimulation, runSweep, type SimConfig } from '../../src/sim/index.js';

const lengths = {
  kind: 'parametric',
  prompt: { kind: 'lognormal', mean: 500, cv: 1, max: 4000 },
  output: { kind: 'lognormal', mean: 100, cv: 1, max: 1000 },
} as const;

describe('claims (reduced size)', () => {
  it('pooled utilization > reserved utilization for the same tenants', () => {
    const tenants: SimConfig = {
      seed: 11,
      durationS: 2 * 3600,
      stepTime: { kind: 'roofline', gpu: 'l4', model: 'llama-3.1-8b' },
      slo: { ttft: 1 },
      tenants: [
        {
          name: 't',
          count: 40,
          arrival: { kind: 'diurnal', rate: 0.1, amplitude: 0.9, periodS: 2 * 3600 },
          tzOffsetH: { min: -3, max: 3 },
          rateSpread: { cv: 1 },
          lengths,
        },
      ],
    };
    const pooled = runSimulation({ ...tenants, deployment: { kind: 'pooled', servers: 'auto' } });
    const reserved = runSimulation({ ...tenants, deployment: { kind: 'reserved' } });
    const p = pooled.fleet;
    const r = reserved.fleet;
    console.log(
      `40 tenants: pooled ${p.servers.mean} servers, time utilization ${(100 * p.timeUtilization).toFixed(1)}%, capacity ${(100 * p.capacityUtilization).toFixed(2)}%, ` +
        `$${p.cost.perMillionOutputTokens.toFixed(2)}/1M; reserved ${r.servers.mean} servers, ${(100 * r.timeUtilization).toFixed(1)}%, ` +
        `${(100 * r.capacityUtilization).toFixed(2)}%, $${r.cost.perMillionOutputTokens.toFixed(2)}/1M`,
    );
    expect(pooled.workload.requests).toBe(reserved.workload.requests);
    expect(p.timeUtilization).toBeGreaterThan(r.timeUtilization);
    expect(p.capacityUtilization).toBeGreaterThan(r.capacityUtilization);
    expect(p.servers.mean).toBeLessThan(r.servers.mean);
    expect(p.cost.perMillionOutputTokens).toBeLessThan(r.cost.perMillionOutputTokens);
    expect(p.servers.mean).toBeGreaterThan(1);
    expect(p.slo!.attainment).toBeGreaterThan(0.95);
    expect(reserved.tenants.timeUtilization!.max).toBeLessThan(p.timeUtilization);
  });

  it('p99 TTFT rises sharply past ~85% load', () => {
    const sweep = runSweep(
      {
        seed: 3,
        durationS: 1800,
        stepTime: { kind: 'roofline', gpu: 'h100', model: '8b' },
        scheduler: { maxBatch: 16 },
        tenants: [{ name: 'p', count: 20, arrival: { kind: 'poisson', rate: 0.1 }, lengths }],
        deployment: { kind: 'pooled', servers: 2 },
      },
      { kind: 'load', values: [0.5, 0.7, 0.85, 0.95] },
    );
    if (sweep.kind !== 'load') throw new Error('load sweep expected');
    const p99 = sweep.rows.map((r) => r.ttftP99S);
    for (const r of sweep.rows) {
      console.log(`offered load ${(100 * r.offeredLoad).toFixed(1)}%: TTFT p99 ${(1000 * r.ttftP99S).toFixed(0)} ms, mean wait ${(1000 * r.meanWaitS).toFixed(1)} ms`);
    }
    for (let i = 1; i < p99.length; i++) expect(p99[i]!).toBeGreaterThan(p99[i - 1]!);
    const slopeLow = (p99[1]! - p99[0]!) / 0.2;
    const slopeHigh = (p99[3]! - p99[2]!) / 0.1;
    expect(slopeHigh).toBeGreaterThan(10 * slopeLow);
    expect(p99[3]!).toBeGreaterThan(2 * p99[2]!);
    // Offered load tracks the target (rates scaled from the base run's).
    for (const r of sweep.rows) expect(Math.abs(r.offeredLoad - r.target)).toBeLessThan(0.03);
  });
});
