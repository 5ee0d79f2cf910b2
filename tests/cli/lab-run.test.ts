// `lab run`'s settings: presets, --set by URL key, --seconds, and every bad input refused before
// the model is opened, with a message naming the option (the runs themselves:
// tests/lab/presets.solo.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { labRunState, runLabRun } from '../../src/cli/lab-run.js';
import { presetState } from '../../src/lab/state.js';

const neverOpen = {
  open: () => {
    throw new Error('the model must not be opened');
  },
};

describe('lab run settings', () => {
  it('starts from the preset (default pooled-8) and applies --set and --seconds', () => {
    expect(labRunState({})).toEqual(presetState('pooled-8'));
    const s = labRunState({ preset: 'overload', set: ['ttft=2', 'tpot=0.5', 'batch=8', 'loadbatch=16'], seconds: '12' });
    expect(s).toEqual({ ...presetState('overload'), ttft: 2, tpot: 0.5, batch: 8, loadBatch: 16, duration: 12 });
  });

  it('refuses bad input, naming it', () => {
    const bad: [Parameters<typeof labRunState>[0], RegExp][] = [
      [{ preset: 'nope' }, /--preset nope: expected one of alone, pooled-8/],
      [{ set: ['color=red'] }, /--set color=red: unknown key "color"/],
      [{ set: ['load'] }, /--set takes KEY=VALUE, got "load"/],
      [{ set: ['load=0.1', 'load=0.2'] }, /--set load=… is given twice/],
      [{ set: ['preset=alone'] }, /use --preset/],
      [{ set: ['load=9'] }, /--set load=9: expected a number from 0.001 to 4/],
      [{ set: ['checkpoint=/m.bin'] }, /checkpoint=… and --set tokenizer=… go together/],
      [{ seconds: '4000' }, /--seconds must be between 5 and 3600, got 4000/],
      [{ seconds: 'soon' }, /--seconds must be a number, got "soon"/],
      [{ seconds: '10', set: ['duration=20'] }, /--seconds and --set duration=… both set the run length/],
    ];
    for (const [values, message] of bad) {
      expect(() => labRunState(values), JSON.stringify(values)).toThrow(UsageError);
      expect(() => labRunState(values), JSON.stringify(values)).toThrow(message);
    }
  });

  it('refuses before opening the model', async () => {
    await expect(runLabRun(['--seconds', '9000'], neverOpen)).rejects.toThrow(/--seconds must be between 5 and 3600/);
    await expect(runLabRun(['--set', 'traffic=trace'], neverOpen)).rejects.toThrow(/traffic=trace needs a trace/);
    await expect(runLabRun(['--set', 'traffic=trace', '--set', 'trace=/no/such.csv'], neverOpen)).rejects.toThrow(/--set trace=\/no\/such.csv: file not found/);
    await expect(runLabRun(['--preset', 'compare', '--set', 'tenants=1'], neverOpen)).rejects.toThrow(/needs tenants ≥ 2/);
    await expect(runLabRun(['extra'], neverOpen)).rejects.toThrow(/run takes options only/);
    await expect(runLabRun(['--bogus'], neverOpen)).rejects.toThrow(/Unknown option '--bogus'/);
  });

  it('refuses a --calibration file that is missing, not JSON, holds no calibration, or measured too small a batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx-cal-'));
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const cal = { backend: 'gpu', maxBatch: 8, device: {}, stepTime: {}, stability: { verdict: '' } };
    await expect(runLabRun(['--calibration', join(dir, 'none.json')], neverOpen)).rejects.toThrow(/--calibration .*none.json: file not found/);
    await expect(runLabRun(['--calibration', file('bad.json', '{')], neverOpen)).rejects.toThrow(/--calibration .*bad.json: not JSON/);
    await expect(runLabRun(['--calibration', file('other.json', '{"format":"x"}')], neverOpen)).rejects.toThrow(/no lab calibration in it \(missing backend, maxBatch, device, stepTime, stability\)/);
    // pooled-8 runs at max batch 16: a calibration up to 8 cannot set its capacity; moving the run to batch 8 makes it usable.
    const small = file('small.json', JSON.stringify({ format: 'multiplex-lab-run', calibration: cal }));
    await expect(runLabRun(['--calibration', small], neverOpen)).rejects.toThrow(/measured up to max batch 8 \(levels at max batch 8\); this run needs max batch 16/);
    await expect(runLabRun(['--calibration', small, '--set', 'batch=8'], neverOpen)).rejects.toThrow(/the model must not be opened/);
  });
});
