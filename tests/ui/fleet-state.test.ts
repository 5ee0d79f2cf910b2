// The fleet view's URL state (scenario, seed, size, the scenario's params: invalid values named,
// round trips) and its exports (JSON without NaN, CSV of the claim checks and sweeps).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCENARIO,
  defaultFleetState,
  effectiveParams,
  fleetScenarios,
  parseFleetState,
  sameFleetRun,
  serializeFleetState,
} from '../../src/ui/fleet-state.js';
import { fleetCsv, fleetJson, sweepCsv } from '../../src/ui/fleet-export.js';
import { makeCheck, type ScenarioOutcome } from '../../src/sim/index.js';

describe('fleet URL state', () => {
  it('opens the default scenario, and lists every scenario of the report', () => {
    const { state, errors } = parseFleetState('?view=fleet');
    expect(errors).toEqual([]);
    expect(state).toEqual(defaultFleetState(DEFAULT_SCENARIO));
    expect(fleetScenarios().map((s) => s.name)).toEqual(
      expect.arrayContaining(['startup-reserved', 'mature-tenant', 'platform-pooling', 'ceiling-85', 'peak-5x', 'peak-8h-16h', 'multi-model', 'fast-vs-slow']),
    );
  });

  it('restores scenario, seed, size and params, and writes back only what differs', () => {
    const q = '?view=fleet&scenario=platform-pooling&seed=7&size=reduced&tenants=50&zones=global&dayH=0.5';
    const { state, errors } = parseFleetState(q);
    expect(errors).toEqual([]);
    expect(state).toMatchObject({ scenario: 'platform-pooling', seed: 7, size: 'reduced', params: { tenants: 50, zones: 'global', dayH: 0.5 } });
    expect(effectiveParams(state)).toMatchObject({ tenants: 50, zones: 'global', rate: 1, dayH: 0.5, model: 'llama-3.1-70b' });
    const back = serializeFleetState(state);
    expect(Object.fromEntries(new URLSearchParams(back))).toEqual({ view: 'fleet', scenario: 'platform-pooling', seed: '7', size: 'reduced', tenants: '50', zones: 'global', dayH: '0.5' });
    expect(parseFleetState(`?${back}`).state).toEqual(state);
    // A value equal to the default is not kept (the URL stays short).
    expect(parseFleetState('?scenario=platform-pooling&tenants=100').state.params).toEqual({});
    expect(sameFleetRun(state, parseFleetState(`?${back}`).state)).toBe(true);
    expect(sameFleetRun(state, { ...state, seed: 8 })).toBe(false);
  });

  it('rejects invalid values with a message naming the parameter, keeping the default', () => {
    const { state, errors } = parseFleetState('?scenario=peak-5x&seed=-1&size=huge&rate=abc&dayH=0&gpu=tpu&zones=global&autorun=yes');
    expect(state.scenario).toBe('peak-5x');
    expect(state.seed).toBe(1);
    expect(state.size).toBe('full');
    expect(state.params).toEqual({});
    const text = errors.join('\n');
    expect(text).toContain('URL parameter "seed=-1" is invalid: expected an integer from 0 to 4294967295; using 1.');
    expect(text).toContain('URL parameter "size=huge" is invalid: expected full or reduced; using full.');
    expect(text).toContain('URL parameter "rate=abc" is invalid: expected a number from 0.5 to 500; using 20.');
    expect(text).toContain('URL parameter "dayH=0" is invalid: expected a number from 0.25 to 24; using 1.');
    expect(text).toContain('URL parameter "gpu=tpu" is invalid: expected one of h100-sxm, h200, a100-80gb, l40s, b200; using h100-sxm.');
    expect(text).toContain('URL parameter "zones=global" is unknown to scenario peak-5x (it takes rate, dayH, gpu, model); ignored.');
    expect(text).toContain('URL parameter "autorun=yes" is invalid: expected 1 or 0; using 1.');
    expect(parseFleetState('?scenario=nope').errors[0]).toMatch(/"scenario=nope" is invalid: expected one of startup-reserved, .*; using startup-reserved\./);
  });
});

describe('fleet export', () => {
  const outcome: ScenarioOutcome = {
    format: 'multiplex-sim-scenario',
    version: 1,
    scenario: 'x',
    title: 'X',
    claim: 'c',
    seed: 2,
    reduced: true,
    params: {},
    checks: [makeCheck({ id: 'u', claim: 'a "claim", quoted', figure: 'utilization', simulated: 0.42, low: 0.4, high: 0.6, unit: 'percent' })],
    runs: [],
    sweeps: [{ label: 'tenants', sweep: { kind: 'tenants', rows: [{ tenants: 10, pooled: { servers: 2, timeUtilization: 0.9, capacityUtilization: 0.5, ttftP99S: 0.2, perMillionOutputTokens: 1.5 }, reserved: { servers: 10, timeUtilization: NaN, capacityUtilization: 0.1, ttftP99S: NaN, perMillionOutputTokens: 7 } }] } }],
    notes: [],
    simulations: 1,
    requests: 10,
  };

  it('writes CSV: the claim checks, then each sweep, under # titles', () => {
    const csv = fleetCsv(outcome);
    expect(csv).toMatch(/^# claim checks: x, seed 2\nid,claim,figure,simulated,unit,report_low,report_high,report_range,agrees,verdict\n/);
    expect(csv).toContain('u,"a ""claim"", quoted",utilization,0.42,percent,0.4,0.6,40–60%,yes,agrees');
    expect(csv).toContain('# sweep: tenants\ntenants,pooled_servers,');
    expect(sweepCsv(outcome.sweeps[0]!.sweep).split('\n')[1]).toBe('10,2,0.5,0.9,1.5,10,0.1,7');
  });

  it('writes JSON with null for NaN', () => {
    const json = JSON.parse(fleetJson({ exportedAt: 't', settings: {}, url: 'u', outcome }));
    expect(json.format).toBe('multiplex-fleet-run');
    expect(json.outcome.sweeps[0].sweep.rows[0].reserved.timeUtilization).toBeNull();
  });
});
