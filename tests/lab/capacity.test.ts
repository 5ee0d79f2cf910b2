// The lab's capacity is the simulator's unit of work (finding 6): the same calibrated model and
// the same scheduler settings give the same work per request as src/sim/work.ts, the settings are
// exactly a LabRun's, and a saturated simulated server at those settings reads ~100% of it.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/model/cpu-forward.js';
import { LabRun } from '../../src/lab/run.js';
import { DEFAULT_STATE } from '../../src/lab/state.js';
import { LabCapacity, REFERENCE_REQUEST, deviceFacts, labCapacity, labCapacityFromSpec, labScheduler } from '../../src/lab/capacity.js';
import { calibrate } from '../../src/lab/calibrate.js';
import { lengthsFor, meanRequestWork } from '../../src/lab/traffic.js';
import { requestWork } from '../../src/sim/work.js';
import { CalibratedModel, type CalibratedSpec } from '../../src/sim/step-time.js';
import { runSimulation, validateConfig } from '../../src/sim/index.js';
import { toColumns } from '../../src/traffic/columns.js';
import { randomModel } from '../model/helpers.js';
import { FakeBackend, SWIFTSHADER_LIKE } from './fake-backend.js';

const spec: CalibratedSpec = { kind: 'calibrated', ...SWIFTSHADER_LIKE };
const facts = { seqLen: 256, maxSequences: 32, kv: { numBlocks: 512, blockSize: 16 }, maxTokensPerStep: 512 };

describe('lab capacity', () => {
  it('uses the scheduler settings a LabRun uses', () => {
    const model = randomModel(2, { dim: 16, hiddenDim: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: 37, seqLen: 64 });
    const backend = new CpuBackend(model, { maxSequences: 6 });
    const f = deviceFacts(backend);
    for (const [maxBatch, kvFraction] of [[1, 1], [4, 0.5], [6, 0.05]] as const) {
      const run = new LabRun(backend, 1, { maxBatch, policy: 'fcfs', preemption: 'recompute', kvFraction, durationS: 5 }, () => {});
      const s = labScheduler(f, maxBatch, kvFraction);
      expect({ maxBatch: s.maxBatch, tokenBudget: s.tokenBudget, maxPrefillChunk: s.maxPrefillChunk, kvBlocks: s.kv.numBlocks, kvBlockSize: s.kv.blockSize }).toEqual({
        maxBatch: run.info.maxBatch,
        tokenBudget: run.info.tokenBudget,
        maxPrefillChunk: run.info.maxPrefillChunk,
        kvBlocks: run.info.kvBlocks,
        kvBlockSize: run.info.kvBlockSize,
      });
    }
    // The GPU backend's step limit caps the token budget.
    expect(labScheduler({ ...facts, maxTokensPerStep: 40 }, 16).tokenBudget).toBe(40);
    expect(labScheduler(facts, 16)).toMatchObject({ tokenBudget: 64, maxPrefillChunk: 48 });
  });

  it('gives each request the work the simulator gives it (same model, same scheduler)', () => {
    const cap = labCapacityFromSpec(spec, facts, 16);
    const reqs = [
      [1, 1],
      [16, 32],
      [40, 2],
      [48, 100],
      [130, 120],
    ].map(([p, o], i) => ({ arrival: i, promptTokens: p!, outputTokens: o!, tenant: 0 }));
    const cols = toColumns(reqs);
    const sim = requestWork(cols, [0], [{ model: new CalibratedModel(spec), scheduler: cap.scheduler }], [undefined]);
    reqs.forEach((r, i) => {
      expect(cap.prefillS(r.promptTokens)).toBe(sim.prefillS[i]);
      expect(cap.decodeS(r.promptTokens, r.outputTokens)).toBe(sim.decodeS[i]);
    });
    // Not decode tokens/s: the prompt is work too (finding 6), at full-chunk speed.
    expect(cap.prefillS(48)).toBeCloseTo(spec.a + 48 * spec.c + spec.d * 48 + spec.e!, 12);
    expect(cap.workS(16, 1)).toBe(cap.prefillS(16));
  });

  it('decodes at the largest batch the KV cache holds, within max batch', () => {
    const roomy = labCapacityFromSpec(spec, facts, 16);
    expect(roomy.decodeStep(200).batch).toBe(16);
    // 40 blocks of 16 positions: 3 sequences of context 200 (13 blocks each).
    const tight = labCapacityFromSpec(spec, { ...facts, kv: { numBlocks: 40, blockSize: 16 } }, 16);
    expect(tight.decodeStep(200).batch).toBe(3);
    expect(tight.decodeS(100, 200)).toBeGreaterThan(roomy.decodeS(100, 200));
    // A smaller max batch costs more per output token (what no-batching pays).
    expect(labCapacityFromSpec(spec, facts, 1).decodeS(16, 32)).toBeGreaterThan(3 * roomy.decodeS(16, 32));
    expect(() => labCapacityFromSpec(spec, facts, 33)).toThrow(/max batch must be an integer in 1..32, got 33/);
  });

  it('is what a saturated server at the lab settings serves: the simulator reads ~100% of it', () => {
    const cap = labCapacityFromSpec(spec, facts, 16);
    const lengths = lengthsFor(DEFAULT_STATE, 256);
    const w = meanRequestWork(lengths, cap, 256);
    const s = cap.scheduler;
    const utilAt = (rho: number) => {
      const config = validateConfig({
        seed: 1,
        durationS: 30,
        stepTime: spec,
        scheduler: { maxBatch: s.maxBatch, tokenBudget: s.tokenBudget, maxPrefillChunk: s.maxPrefillChunk, blockSize: 16, kvBlocks: 512, maxContext: 256 },
        tenants: [{ name: 't', count: 4, arrival: { kind: 'poisson', rate: rho / 4 / w }, lengths }],
        deployment: { kind: 'pooled', servers: 1 },
      });
      return runSimulation(config).fleet.capacityUtilization;
    };
    // Offered 0.5: served 0.5; offered 2: the server is saturated, at 85–105% of capacity.
    expect(utilAt(0.5)).toBeGreaterThan(0.45);
    expect(utilAt(0.5)).toBeLessThan(0.55);
    const sat = utilAt(2);
    expect(sat).toBeGreaterThan(0.85);
    expect(sat).toBeLessThan(1.05);
  });

  it('comes from a calibration and refuses a batch it did not measure', async () => {
    const fake = new FakeBackend(SWIFTSHADER_LIKE, { maxSequences: 8, seqLen: 128 });
    const cal = await calibrate(fake, { maxBatch: 4, now: fake.now });
    const cap = labCapacity(cal, 4);
    expect(cap).toBeInstanceOf(LabCapacity);
    expect(cap.workS(REFERENCE_REQUEST.prompt, REFERENCE_REQUEST.output) * 1000).toBeCloseTo(cal.rounds[cal.stability.chosen]!.referenceWorkMs, 9);
    expect(() => labCapacity(cal, 8)).toThrow(/measured up to max batch 4; max batch 8 needs a new one/);
    expect(cap.sentence()).toMatch(/full 48-token chunks and output at max batch 4/);
    expect(REFERENCE_REQUEST).toEqual({ prompt: DEFAULT_STATE.prompt, output: DEFAULT_STATE.output });
  });
});
