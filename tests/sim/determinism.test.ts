// Same config and seed: byte-identical JSON results, for every deployment kind.
import { describe, expect, it } from 'vitest';
import { runSimulation, type SimConfig } from '../../src/sim/index.js';

const tenants: SimConfig['tenants'] = [
  {
    name: 'a',
    count: 12,
    arrival: { kind: 'diurnal', rate: 0.05, amplitude: 0.7, periodS: 3600 },
    tzOffsetH: { min: -6, max: 6 },
    rateSpread: { cv: 1.5 },
    model: 'llama-3.2-1b',
    lengths: { kind: 'parametric', prompt: { kind: 'lognormal', mean: 300, cv: 1 }, output: { kind: 'geometric', mean: 40 } },
  },
  {
    name: 'b',
    count: 3,
    arrival: { kind: 'onoff', onRate: 1, meanOnS: 60, meanOffS: 300 },
    model: 'llama-3.2-3b',
    lengths: { kind: 'parametric', prompt: { kind: 'uniform', min: 10, max: 900 }, output: { kind: 'uniform', min: 1, max: 200 } },
  },
];

const base: SimConfig = {
  seed: 17,
  durationS: 1800,
  stepTime: { kind: 'roofline', gpu: 'l4', model: 'llama-3.2-1b' },
  slo: { ttft: 0.5, tpot: 0.05 },
  tenants,
};

const configs: Record<string, SimConfig> = {
  pooled: {
    ...base,
    tenants: tenants.map((t) => ({ ...t, model: undefined })),
    deployment: { kind: 'pooled', router: 'least-loaded', maxQueue: 50, autoscaler: { maxServers: 6, intervalS: 30, provisioningDelayS: 60, scaleDownDelayS: 120 } },
  },
  reserved: { ...base, tenants: tenants.map((t) => ({ ...t, model: undefined })), deployment: { kind: 'reserved' } },
  'multi-model': { ...base, deployment: { kind: 'multi-model', pools: { 'llama-3.2-1b': { servers: 'auto' }, 'llama-3.2-3b': { servers: 1 } } } },
  queue: { seed: 3, queue: { servers: 3, arrivalRate: 2.4, meanServiceS: 1, requests: 20000 } },
};

describe('determinism', () => {
  for (const [name, config] of Object.entries(configs)) {
    it(`${name}: the same seed gives byte-identical JSON; another seed does not`, () => {
      const a = JSON.stringify(runSimulation(config));
      const b = JSON.stringify(runSimulation(structuredClone(config)));
      expect(a.length).toBeGreaterThan(1000);
      expect(b).toBe(a);
      const c = JSON.stringify(runSimulation({ ...config, seed: (config.seed ?? 1) + 1 }));
      expect(c).not.toBe(a);
    });
  }
});
