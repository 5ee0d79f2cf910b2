// The config validator names the bad field in every message, lists every problem at once, and
// accepts every example in docs/sim-config.md.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, expandQueue, validateConfig } from '../../src/sim/index.js';

const DOC = fileURLToPath(new URL('../../docs/sim-config.md', import.meta.url));

function issues(v: unknown): string[] {
  try {
    validateConfig(v);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  return [];
}

const ok = {
  durationS: 60,
  stepTime: { kind: 'fixed', meanS: 1 },
  tenants: [{ arrival: { kind: 'poisson', rate: 1 }, lengths: { kind: 'parametric', prompt: { kind: 'fixed', value: 1 }, output: { kind: 'fixed', value: 1 } } }],
  deployment: { kind: 'pooled', servers: 1 },
};

describe('validateConfig', () => {
  it('accepts a minimal config', () => {
    expect(issues(ok)).toEqual([]);
  });

  it('names the bad field and what was expected', () => {
    expect(issues({ ...ok, deployment: { kind: 'pooled', router: 'jsqq' } })).toEqual([
      'config.deployment.router: must be one of round-robin, least-loaded, jsq, central-queue; got "jsqq"',
    ]);
    expect(issues({ ...ok, seed: -1 })).toEqual(['config.seed: must be ≥ 0; got -1']);
    expect(issues({ ...ok, durationS: 'day' })).toEqual(['config.durationS: must be a finite number; got "day"']);
    expect(issues({ ...ok, stepTime: { kind: 'roofline', gpu: 'h1000', model: '8b' } })[0]).toMatch(/^config\.stepTime\.gpu: unknown GPU "h1000" \(known: h100-sxm/);
    expect(issues({ ...ok, stepTime: { kind: 'fixed', meanS: 0 } })).toEqual(['config.stepTime.meanS: must be > 0; got 0']);
    expect(issues({ ...ok, scheduler: { maxBatch: 8, tokenBudget: 4 } })).toEqual(['config.scheduler.tokenBudget: must be at least maxBatch (8); got 4']);
  });

  it('reports unknown fields (typos are never ignored)', () => {
    expect(issues({ ...ok, deploymnet: {} })[0]).toMatch(/^config\.deploymnet: unknown field/);
    expect(issues({ ...ok, deployment: { kind: 'pooled', server: 3 } })[0]).toMatch(/^config\.deployment\.server: unknown field \(allowed: kind, servers/);
  });

  it('passes on the traffic module’s own checks with the path in front', () => {
    const bad = { ...ok, tenants: [{ ...ok.tenants[0], arrival: { kind: 'diurnal', rate: 1, amplitude: 2 } }] };
    expect(issues(bad)).toEqual(['config.tenants[0].arrival: diurnal arrivals: amplitude must be in [0, 1], got 2']);
  });

  it('lists every problem at once', () => {
    const list = issues({ tenants: [{ count: 0 }], deployment: { kind: 'shared' } });
    expect(list).toEqual([
      'config.stepTime: is required (or give queue)',
      'config.tenants[0].count: must be ≥ 1; got 0',
      'config.tenants[0].arrival: is required (or give trace)',
      'config.tenants[0].lengths: is required for a generated tenant',
      'config.deployment.kind: must be one of pooled, reserved, multi-model; got "shared"',
      'config.durationS: is required when tenants are generated (or give requests)',
    ]);
    expect(() => validateConfig({ tenants: [] })).toThrow(/invalid simulator config:\n {2}- config\.stepTime/);
  });

  it('checks models across tenants and pools', () => {
    const mm = {
      ...ok,
      tenants: [{ ...ok.tenants[0], model: 'a' }, { ...ok.tenants[0], model: 'c' }],
      deployment: { kind: 'multi-model', pools: { a: {}, b: {} } },
    };
    expect(issues(mm)).toEqual(['config.tenants[1].model: has no pool in deployment.pools (a, b); got "c"']);
    const pooled = { ...mm, deployment: { kind: 'pooled' } };
    expect(issues(pooled)[0]).toMatch(/use different models \(a, c\): a pooled deployment runs one model/);
  });

  it('the queue shorthand excludes what it sets and expands to batch-1 servers behind a central queue', () => {
    expect(issues({ queue: { servers: 2, arrivalRate: 1, meanServiceS: 1, requests: 10 }, stepTime: ok.stepTime })).toEqual([
      'config.stepTime: a queue config sets this itself: remove it (or drop queue)',
    ]);
    const c = expandQueue(validateConfig({ queue: { servers: 2, arrivalRate: 1.5, meanServiceS: 1, service: 'deterministic', requests: 10 } }));
    expect(c.stepTime).toEqual({ kind: 'fixed', meanS: 1, distribution: 'deterministic' });
    expect(c.scheduler?.maxBatch).toBe(1);
    expect(c.deployment).toEqual({ kind: 'pooled', servers: 2, router: 'central-queue' });
    expect(c.requests).toBe(10);
  });

  it('accepts every example in docs/sim-config.md', () => {
    const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    for (const b of blocks) expect(issues(JSON.parse(b)), b.slice(0, 60)).toEqual([]);
    const kinds = blocks.map((b) => {
      const c = JSON.parse(b);
      return c.queue ? 'queue' : c.deployment.kind;
    });
    expect(new Set(kinds)).toEqual(new Set(['queue', 'pooled', 'reserved', 'multi-model']));
  });
});
