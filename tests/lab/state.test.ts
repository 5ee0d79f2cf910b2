// The lab's URL state: presets, overrides, invalid values named in messages, and round trips.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PRESET,
  DEFAULT_STATE,
  LAB_URL_KEYS,
  PRESETS,
  loadBatchOf,
  parseLabState,
  presetState,
  priceLabel,
  sameExperiment,
  serializeLabState,
  type LabState,
} from '../../src/lab/state.js';

const roundTrip = (s: LabState) => parseLabState(`?${serializeLabState(s)}`);

describe('lab URL state', () => {
  it('opens the default preset when the URL has no settings', () => {
    for (const q of ['', '?view=lab']) {
      const { state, errors } = parseLabState(q);
      expect(errors).toEqual([]);
      expect(state).toEqual(presetState(DEFAULT_PRESET));
    }
  });

  it('applies a preset, and parameters override it', () => {
    const { state, errors } = parseLabState('?view=lab&preset=alone&batch=4&policy=fair&ttft=1.5&tpot=auto');
    expect(errors).toEqual([]);
    expect(state.preset).toBe('alone');
    expect(state.tenants).toBe(1);
    expect(state.batch).toBe(4);
    expect(state.policy).toBe('fair');
    expect(state.ttft).toBe(1.5);
    expect(state.tpot).toBe('auto');
  });

  it('rejects invalid values with a message naming the parameter, keeping the preset value', () => {
    const { state, errors } = parseLabState(
      '?preset=pooled-8&tenants=0&batch=2.5&load=-1&traffic=bursty&policy=lifo&ttft=soon&autoplay=yes&price=abc&preempt=x&kv=2',
    );
    const base = presetState('pooled-8');
    for (const key of ['tenants=0', 'batch=2.5', 'load=-1', 'traffic=bursty', 'policy=lifo', 'ttft=soon', 'autoplay=yes', 'price=abc', 'preempt=x', 'kv=2']) {
      expect(errors.some((e) => e.includes(`"${key}"`)), key).toBe(true);
    }
    expect(errors).toHaveLength(10);
    expect(state.tenants).toBe(base.tenants);
    expect(state.batch).toBe(base.batch);
    expect(state.load).toBe(base.load);
    expect(state.traffic).toBe(base.traffic);
    expect(state.price).toBe(base.price);
    expect(errors[0]).toMatch(/expected an integer from 1 to 32; using 8/);
  });

  it('reports an unknown preset and falls back to the default one', () => {
    const { state, errors } = parseLabState('?preset=nope');
    expect(errors).toEqual([expect.stringContaining('"preset=nope"')]);
    expect(state.preset).toBe(DEFAULT_PRESET);
  });

  it('needs checkpoint and tokenizer together', () => {
    expect(parseLabState('?checkpoint=/a.bin').errors[0]).toMatch(/"checkpoint" and "tokenizer"/);
    const { state } = parseLabState('?checkpoint=/a.bin&tokenizer=/t.bin');
    expect([state.checkpoint, state.tokenizer]).toEqual(['/a.bin', '/t.bin']);
  });

  it('restores every preset from its serialized URL, which names only the preset', () => {
    for (const p of PRESETS) {
      const s = presetState(p.id);
      expect(serializeLabState(s)).toBe(`view=lab&preset=${p.id}`);
      expect(roundTrip(s)).toEqual({ state: s, errors: [] });
    }
  });

  it('round-trips changed settings, a custom price, SLOs and model files', () => {
    const s: LabState = {
      ...presetState('bursty'),
      tenants: 12,
      batch: 8,
      cv: 3.5,
      policy: 'fair',
      preempt: 'none',
      kv: 0.5,
      loadBatch: 16,
      ttft: 2,
      tpot: 0.25,
      gpu: 'custom',
      price: 1.25,
      speed: 2,
      duration: 45,
      seed: 99,
      prompt: 24,
      output: 48,
      tokenScale: 0.05,
      trace: './traces/x.csv',
      traffic: 'trace',
      mode: 'compare',
      autoplay: false,
      backend: 'cpu',
      checkpoint: '/m.bin',
      tokenizer: '/t.bin',
    };
    const q = serializeLabState(s);
    expect(q).toContain('preset=bursty');
    expect(q).toContain('price=1.25');
    expect(roundTrip(s)).toEqual({ state: s, errors: [] });
    // Without a preset too.
    const bare: LabState = { ...DEFAULT_STATE, tenants: DEFAULT_STATE.tenants };
    expect(roundTrip(bare)).toEqual({ state: bare, errors: [] });
  });

  it('makes a price given by number custom, and labels presets as assumptions', () => {
    const { state } = parseLabState('?preset=alone&price=0.5');
    expect(state.gpu).toBe('custom');
    expect(priceLabel(state)).toMatch(/custom: \$0.5\/GPU-hour \(your assumption\)/);
    const l4 = parseLabState('?preset=alone&gpu=l4').state;
    expect(l4.price).toBe(0.8);
    expect(priceLabel(l4)).toMatch(/assumption/);
  });

  it('tells which changes need a new run', () => {
    const a = presetState('pooled-8');
    expect(sameExperiment(a, { ...a, price: 1, gpu: 'custom', ttft: 3 })).toBe(true);
    expect(sameExperiment(a, { ...a, batch: 4 })).toBe(false);
    expect(sameExperiment(a, { ...a, loadBatch: 4 })).toBe(false);
  });

  it('sets the capacity the load is measured against by loadbatch (the run\'s own by default)', () => {
    expect(loadBatchOf(presetState('pooled-8'))).toBe(16);
    expect(loadBatchOf({ loadBatch: 'run', batch: 4 })).toBe(4);
    const { state, errors } = parseLabState('?preset=pooled-8&batch=2&loadbatch=8');
    expect(errors).toEqual([]);
    expect([state.batch, loadBatchOf(state)]).toEqual([2, 8]);
    expect(parseLabState('?preset=no-batching&loadbatch=run').state.loadBatch).toBe('run');
    expect(parseLabState('?loadbatch=0').errors[0]).toMatch(/"loadbatch=0" is invalid: expected an integer from 1 to 32 or 'run'/);
    expect(LAB_URL_KEYS).toContain('loadbatch');
  });

  it('names --set and no fallback in strict mode (the command line refuses bad values)', () => {
    const { errors } = parseLabState('?preset=pooled-8&load=9&traffic=x', { strict: true });
    expect(errors).toEqual(['--set traffic=x: expected one of poisson, gamma, diurnal, onoff, trace', '--set load=9: expected a number from 0.001 to 4']);
  });
});

// Finding 8: the presets' loads, in the shared definition of capacity (ρ of work), with margin.
describe('preset loads', () => {
  const total = (id: string) => presetState(id).load * presetState(id).tenants;
  it('pools well below the 85% ceiling, and overloads well past it', () => {
    for (const id of ['pooled-8', 'bursty', 'diurnal', 'compare']) {
      expect(total(id), id).toBeGreaterThanOrEqual(0.3);
      expect(total(id), id).toBeLessThanOrEqual(0.5);
    }
    expect(total('overload')).toBeGreaterThanOrEqual(1.1);
    // One tenant alone offers what each pooled tenant does.
    expect(presetState('alone').load).toBe(presetState('pooled-8').load);
  });

  it('gives no-batching the traffic of pooled-8, set against pooled-8\'s capacity', () => {
    const nb = presetState('no-batching');
    const p8 = presetState('pooled-8');
    expect(nb.batch).toBe(1);
    expect(loadBatchOf(nb)).toBe(p8.batch);
    const traffic = (s: LabState) => ({ tenants: s.tenants, traffic: s.traffic, cv: s.cv, load: s.load, prompt: s.prompt, output: s.output, seed: s.seed, speed: s.speed });
    expect(traffic(nb)).toEqual(traffic(p8));
  });
});
