// Step-time models: the roofline arithmetic on known specs, the least-squares calibration (it
// recovers known coefficients, reports its error, and says what it cannot identify), and the
// fixed model charging each request exactly its service time.
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../src/metrics/records.js';
import { Rng } from '../../src/ops/random.js';
import {
  calibrateStepTime,
  FixedModel,
  leastSquares,
  resolveScheduler,
  RooflineModel,
  runSimulation,
  serverCapacity,
  type SimConfig,
  type StepShape,
} from '../../src/sim/index.js';

const shape = (s: Partial<StepShape>): StepShape => ({ batchSize: 1, decodeTokens: 0, prefillTokens: 0, contextTokens: 0, attendedPairs: 0, ...s });

describe('roofline', () => {
  const m = new RooflineModel({ kind: 'roofline', gpu: 'h100-sxm', model: 'llama-3.1-8b' });
  const GiB = 2 ** 30;
  const prefill = (k: number, extra: Partial<StepShape> = {}) => shape({ prefillTokens: k, contextTokens: k, attendedPairs: (k * (k + 1)) / 2, sampledTokens: 1, ...extra });

  it('weights come from the layer shapes and match the published parameter counts; tied embeddings count once', () => {
    for (const id of ['llama-3.2-1b', 'llama-3.2-3b', 'llama-3.1-8b', 'llama-3.1-70b', 'llama-3-70b']) {
      const r = new RooflineModel({ kind: 'roofline', gpu: 'h100', model: id });
      expect(Math.abs(r.weightBytes / 2 / r.model.params - 1)).toBeLessThan(0.005);
    }
    const one = new RooflineModel({ kind: 'roofline', gpu: 'h100', model: '1b' }).model;
    expect(one.tiedEmbeddings).toBe(true);
    // 70B: 80 layers × 855.6M + embedding and LM head of 128256 × 8192 each (+ norms).
    const big = new RooflineModel({ kind: 'roofline', gpu: 'a100', model: 'llama-3-70b', tp: 2 });
    expect(big.weightBytes).toBeCloseTo(2 * (80 * (8192 * (8192 + 2 * 1024) + 8192 * 8192 + 3 * 8192 * 28672) + 2 * 128256 * 8192 + 161 * 8192), -3);
    expect(big.weightBytesPerGpu / (big.weightBytes / 2)).toBeCloseTo(1, 4);
    // fp8 applies to the linear layers; embeddings and LM head stay bf16.
    const fp8 = new RooflineModel({ kind: 'roofline', gpu: 'h100', model: '8b', weights: 'fp8' });
    expect(fp8.weightBytes).toBeCloseTo(m.weightBytes - 32 * (4096 * 6144 + 4096 * 4096 + 3 * 4096 * 14336), -3);
  });

  it('a single decode is memory bound and reads the weights except the embedding table (rows are gathered)', () => {
    const noFloor = new RooflineModel({ kind: 'roofline', gpu: 'h100-sxm', model: 'llama-3.1-8b', efficiency: { kernelS: 0 } });
    const t = noFloor.shapeTime(shape({ decodeTokens: 1, contextTokens: 1, attendedPairs: 1 }));
    const bw = 3.35e12 * 0.75;
    const table = 128256 * 4096 * 2;
    expect(t).toBeGreaterThan((m.weightBytes - table) / bw);
    expect(t).toBeLessThan(m.weightBytes / bw); // reading the whole table would exceed this
    // The floor of the small kernels: 32 layers × 6 kernels × 6 µs.
    expect(m.shapeTime(shape({ decodeTokens: 1, contextTokens: 1, attendedPairs: 1 })) - t).toBeCloseTo(32 * 6 * 6e-6, 9);
  });

  it('the LM head runs only over sampled tokens: a prefill chunk that ends no prompt skips it', () => {
    const k = 512;
    const head = (128256 * 4096 * 2) / (3.35e12 * 0.75);
    const d = m.shapeTime(prefill(k)) - m.shapeTime(prefill(k, { sampledTokens: 0 }));
    expect(d).toBeGreaterThan(head);
    expect(d).toBeLessThan(1.05 * head);
    // Without sampledTokens every sequence of the step is taken to sample.
    const x = shape({ batchSize: 3, decodeTokens: 2, prefillTokens: 100, contextTokens: 2100, attendedPairs: 2000 + 5050 });
    expect(m.shapeTime(x)).toBe(m.shapeTime({ ...x, sampledTokens: 3 }));
  });

  it('a long prefill is compute bound at 2 FLOPs per weight of the transformer layers (not the embedding)', () => {
    const k = 8192;
    const gemm = (2 * k * 32 * (4096 * 6144 + 4096 * 4096 + 3 * 4096 * 14336)) / (989e12 * 0.68);
    // Halving the GEMM efficiency adds the GEMMs' compute time once more (memory is hidden under it).
    const x = prefill(k, { attendedPairs: 0 });
    const t = m.shapeTime(x);
    const slow = new RooflineModel({ kind: 'roofline', gpu: 'h100-sxm', model: 'llama-3.1-8b', efficiency: { flops: 0.34 } }).shapeTime(x);
    expect((slow - t) / gemm).toBeGreaterThan(0.99);
    expect((slow - t) / gemm).toBeLessThan(1.01); // 2·params per token (embeddings too) would be 1.15
    expect(t / gemm).toBeGreaterThan(1);
    // Attention: 4 · head dim · heads · layers FLOPs per pair at 0.15 of peak.
    const pairs = (k * (k + 1)) / 2;
    // (sqrt(m² + c²) − m is a little under c: the attention's own memory traffic hides under it.)
    const attn = (m.shapeTime(prefill(k)) - t) / ((4 * 128 * 32 * 32 * pairs) / (989e12 * 0.15));
    expect(attn).toBeGreaterThan(0.97);
    expect(attn).toBeLessThanOrEqual(1);
  });

  it('tensor parallelism: 2 all-reduces a layer + 1 after the embedding, each latency + ring bytes over NVLink', () => {
    const tp2 = (e = {}) => new RooflineModel({ kind: 'roofline', gpu: 'a100', model: 'llama-3-70b', tp: 2, efficiency: e });
    const s = shape({ decodeTokens: 1, contextTokens: 1, attendedPairs: 1, sampledTokens: 1 });
    // 161 all-reduces and the logits gather, 70 µs each.
    expect(tp2().shapeTime(s) - tp2({ collectiveLatencyS: 0 }).shapeTime(s)).toBeCloseTo(162 * 70e-6, 9);
    // Halving the link's efficiency adds (2·80 + 1) · N · hidden · 2 bytes · 2(tp−1)/tp / (300 GB/s · 0.8): linear in the tokens.
    for (const n of [1024, 4096]) {
      const x = prefill(n, { sampledTokens: 0 });
      expect(tp2({ link: 0.4 }).shapeTime(x) - tp2().shapeTime(x)).toBeCloseTo((161 * n * 8192 * 2) / (300e9 * 0.8), 6);
    }
    // One GPU: no collectives.
    expect(m.shapeTime(s)).toBe(new RooflineModel({ kind: 'roofline', gpu: 'h100', model: '8b', efficiency: { collectiveLatencyS: 1 } }).shapeTime(s));
  });

  it('decode time rises with the batch toward the ridge point (memory and compute combine, not max)', () => {
    const r = new RooflineModel({ kind: 'roofline', gpu: 'a100', model: 'llama-3-70b', tp: 2 });
    const at = (b: number) => r.shapeTime(shape({ batchSize: b, decodeTokens: b, contextTokens: 512 * b, attendedPairs: 512 * b }));
    // Vidur's profile: 57.3 → 86.8 ms (1.51×); max(memory, compute) in place of the p-norm gives 1.2×.
    expect(at(128) / at(1)).toBeGreaterThan(1.4);
    expect(at(128) / at(1)).toBeLessThan(1.65);
    for (let b = 1; b < 256; b *= 2) expect(at(2 * b)).toBeGreaterThan(at(b));
  });

  it('batching amortizes the weights: 64 decodes cost far less than 64 single decodes', () => {
    const one = m.shapeTime(shape({ decodeTokens: 1, contextTokens: 1000, attendedPairs: 1000 }));
    const b64 = m.shapeTime(shape({ batchSize: 64, decodeTokens: 64, contextTokens: 64000, attendedPairs: 64000 }));
    expect(b64 / one).toBeLessThan(3);
  });

  it('fp8 uses the fp8 peak only where it exists', () => {
    const k = 8192;
    const x = prefill(k, { attendedPairs: 0 });
    const on = (gpu: string, weights: 'bf16' | 'fp8') => new RooflineModel({ kind: 'roofline', gpu, model: '8b', weights }).shapeTime(x);
    expect(on('h100', 'fp8') / on('h100', 'bf16')).toBeLessThan(0.7);
    expect(on('a100', 'fp8') / on('a100', 'bf16')).toBeGreaterThan(0.95); // no fp8 tensor cores on A100
  });

  it('memory in the units the driver reports; the KV cache gets 0.9 of it less the weights and a stated reserve, per GPU', () => {
    expect(new RooflineModel({ kind: 'roofline', gpu: 'a100', model: '8b' }).gpu.memoryBytes).toBe(80 * GiB);
    expect(m.gpu.memoryBytes).toBe(81559 * 2 ** 20);
    expect(new RooflineModel({ kind: 'roofline', gpu: 'h200', model: '8b' }).gpu.memoryBytes).toBe(143771 * 2 ** 20);
    const big = new RooflineModel({ kind: 'roofline', gpu: 'a100', model: 'llama-3-70b', tp: 2 });
    const block = 80 * 2 * 4 * 128 * 2 * 16; // a GPU holds 4 of the 8 KV heads
    expect(big.kvBytesPerTokenPerGpu * 16).toBe(block);
    expect(big.kvBlocks(16)).toBe(Math.floor((0.9 * 80 * GiB - big.weightBytesPerGpu - big.reserveBytesPerGpu) / block));
    expect(big.kvBlocks(16)).toBeGreaterThan(3 * 534); // was 534 (GB for GiB, embeddings whole)
    // The default reserve: the profile run's activations (8192 tokens, 256 sampled rows) + 1 GiB.
    expect(big.reserveBytesPerGpu).toBe(8192 * 2 * (2 * 8192 + 3 * 14336) + 256 * 128256 * 8 + GiB);
    const noReserve = new RooflineModel({ kind: 'roofline', gpu: 'a100', model: 'llama-3-70b', tp: 2, activationReserveGiB: 0 });
    expect(noReserve.kvBlocks(16) - big.kvBlocks(16)).toBeCloseTo(big.reserveBytesPerGpu / block, -0.5);
    // tp above the KV heads replicates them: 16 GPUs still hold one KV head each.
    expect(new RooflineModel({ kind: 'roofline', gpu: 'a100', model: '70b', tp: 16 }).kvBytesPerTokenPerGpu).toBe(80 * 2 * 128 * 2);
  });

  it('refuses a model that does not fit, and sizes the scheduler from the KV blocks', () => {
    const big = new RooflineModel({ kind: 'roofline', gpu: 'h100', model: '70b' });
    expect(big.kvBlocks(16)).toBe(0);
    expect(() => resolveScheduler({}, big)).toThrow(/does not fit on 1 × NVIDIA H100/);
    const s = resolveScheduler({}, m);
    expect(s.maxContext).toBe(8192);
    expect(s.kv.numBlocks).toBe(m.kvBlocks(16));
    expect(resolveScheduler({}, new RooflineModel({ kind: 'roofline', gpu: 'a100', model: 'llama-3-70b', tp: 2 })).maxContext).toBe(8192);
  });

  it('capacity: output tokens/s at the largest batch that fits, prefill included', () => {
    const s = resolveScheduler({}, m);
    const cap = serverCapacity(m, { maxBatch: 64, numBlocks: s.kv.numBlocks, blockSize: 16 }, 1000, 200);
    expect(cap.batch).toBe(64);
    expect(cap.tokensPerS).toBeGreaterThan(1000);
    expect(cap.tokensPerS).toBeLessThan(10000);
    const small = serverCapacity(m, { maxBatch: 64, numBlocks: 100, blockSize: 16 }, 1000, 200);
    expect(small.batch).toBe(Math.floor(100 / Math.ceil(1100 / 16)));
  });
});

describe('calibration', () => {
  const truth = { a: 0.004, b: 2e-5, c: 8e-6, d: 3e-8 };
  function steps(n: number, noise: number, seed = 1, prefill = true): StepRecord[] {
    const rng = new Rng(seed);
    const out: StepRecord[] = [];
    for (let i = 0; i < n; i++) {
      const decodeTokens = rng.int(0, 64);
      const prefillTokens = prefill ? (rng.next() < 0.3 ? rng.int(1, 2048) : 0) : 0;
      const contextTokens = decodeTokens * rng.int(10, 2000) + prefillTokens;
      const busy = (truth.a + truth.b * decodeTokens + truth.c * prefillTokens + truth.d * contextTokens) * (1 + noise * (2 * rng.next() - 1));
      out.push({ index: i, gpu: 0, start: i, end: i + busy, busy, timing: 'timestamp', batchSize: decodeTokens + 1, decodeTokens, outputTokens: decodeTokens, prefillTokens, contextTokens, queueDepth: 0, kvBlocksUsed: 0, kvBlocksTotal: 1 });
    }
    return out;
  }

  it('recovers known coefficients exactly from noiseless steps (R² = 1, MAPE 0)', () => {
    const fit = calibrateStepTime(steps(200, 0));
    expect(fit.a).toBeCloseTo(truth.a, 10);
    expect(fit.b).toBeCloseTo(truth.b, 12);
    expect(fit.c).toBeCloseTo(truth.c, 12);
    expect(fit.d).toBeCloseTo(truth.d, 14);
    expect(fit.fit!.r2).toBeCloseTo(1, 10);
    expect(fit.fit!.mape).toBeLessThan(1e-9);
    expect(fit.unidentified).toEqual([]);
  });

  it('reports the fit error with ±5% noise', () => {
    const fit = calibrateStepTime(steps(2000, 0.05, 2), { source: 'synthetic' });
    console.log(`calibration on 2000 steps with ±5% noise: R² ${fit.fit!.r2.toFixed(4)}, MAPE ${(100 * fit.fit!.mape).toFixed(2)}%`);
    expect(fit.fit!.r2).toBeGreaterThan(0.95);
    expect(fit.fit!.mape).toBeGreaterThan(0.01);
    expect(fit.fit!.mape).toBeLessThan(0.04);
    expect(Math.abs(fit.b / truth.b - 1)).toBeLessThan(0.05);
    expect(fit.fit!.source).toBe('synthetic');
  });

  it('keeps every coefficient >= 0: a negative one is set to 0, the others refitted, and the fit says so', () => {
    // Steps that get faster with more decode sequences (as noise can make a term look that costs
    // little): least squares would give b < 0, and a simulator would then find more sequences a
    // step cheaper.
    const rng = new Rng(9);
    const raw = steps(400, 0).map((s) => {
      const busy = 0.004 - 1e-5 * s.decodeTokens + 8e-6 * s.prefillTokens + 3e-8 * s.contextTokens + (s.prefillTokens > 0 ? 0.002 : 0) + 1e-4 * rng.next();
      return { ...s, busy, end: s.start + busy };
    });
    const fit = calibrateStepTime(raw);
    expect(fit.clamped).toEqual(['b']);
    expect(fit.b).toBe(0);
    for (const v of [fit.a, fit.c, fit.d, fit.e!]) expect(v).toBeGreaterThan(0);
    // The refit without b: the intercept and the other slopes absorb what b explained.
    expect(fit.c).toBeCloseTo(8e-6, 6);
    expect(calibrateStepTime(steps(200, 0)).clamped).toEqual([]);
  });

  it('fits the fixed cost of a step that prefills (e) when the steps identify it', () => {
    const e = 0.003;
    const withE = steps(300, 0, 5).map((s) => {
      const busy = s.busy + (s.prefillTokens > 0 ? e : 0);
      return { ...s, busy, end: s.start + busy };
    });
    const fit = calibrateStepTime(withE);
    expect(fit.e).toBeCloseTo(e, 10);
    expect(fit.c).toBeCloseTo(truth.c, 12);
    expect(fit.unidentified).toEqual([]);
    expect(fit.clamped).toEqual([]);
    // Without prefills neither c nor e can be identified.
    expect(calibrateStepTime(steps(100, 0, 3, false)).unidentified).toEqual(['c', 'e']);
  });

  it('an unidentified term stays 0 when another is clamped (every step prefills: e would take the intercept)', () => {
    // Every step prefills, so e's column is the intercept's; a negative intercept (steps with a
    // fixed cost below 0) is clamped, and e must not come back in its place.
    const raw = steps(300, 0, 6).map((s) => {
      const prefillTokens = s.prefillTokens || 16;
      const busy = -0.001 + 2e-5 * s.decodeTokens + 8e-6 * prefillTokens + 3e-8 * s.contextTokens;
      return { ...s, prefillTokens, busy, end: s.start + busy };
    }).filter((s) => s.busy > 0);
    const fit = calibrateStepTime(raw);
    expect(fit.unidentified).toEqual(['e']);
    expect(fit.clamped).toEqual(['a']);
    expect(fit.a).toBe(0);
    expect(fit.e).toBe(0);
  });

  it('sets a term it cannot identify to 0 and says so', () => {
    const fit = calibrateStepTime(steps(100, 0, 3, false));
    expect(fit.unidentified).toEqual(['c', 'e']);
    expect(fit.c).toBe(0);
    expect(fit.b).toBeCloseTo(truth.b, 12);
  });

  it('least squares on a tiny system', () => {
    // y = 1 + 2x on x = 0, 1, 2 (3 rows, 2 columns).
    const { beta } = leastSquares(Float64Array.from([1, 0, 1, 1, 1, 2]), Float64Array.from([1, 3, 5]), 3, 2);
    expect(beta[0]).toBeCloseTo(1, 12);
    expect(beta[1]).toBeCloseTo(2, 12);
  });

  it('round trip: steps simulated with a calibrated model fit back to the same coefficients', () => {
    const recorded: StepRecord[] = [];
    const config: SimConfig = {
      seed: 4,
      durationS: 300,
      stepTime: { kind: 'calibrated', ...truth },
      scheduler: { maxBatch: 16, tokenBudget: 512, maxContext: 2048, kvBlocks: 4096 },
      tenants: [
        {
          name: 'x',
          count: 5,
          arrival: { kind: 'poisson', rate: 2 },
          lengths: { kind: 'parametric', prompt: { kind: 'uniform', min: 10, max: 600 }, output: { kind: 'uniform', min: 1, max: 100 } },
        },
      ],
      deployment: { kind: 'pooled', servers: 2 },
    };
    runSimulation(config, { onStep: (s) => recorded.push({ ...s }) });
    expect(recorded.length).toBeGreaterThan(1000);
    expect(recorded.every((s) => s.timing === 'model')).toBe(true);
    const fit = calibrateStepTime(recorded);
    expect(fit.fit!.r2).toBeCloseTo(1, 9);
    expect(fit.a).toBeCloseTo(truth.a, 9);
    expect(fit.d).toBeCloseTo(truth.d, 12);
  });
});

describe('fixed service time', () => {
  it('charges a request exactly S over its steps, whatever its lengths', () => {
    let total = 0;
    const model = new FixedModel({ kind: 'fixed', meanS: 2, distribution: 'exponential' }, 9);
    const config: SimConfig = {
      seed: 9,
      durationS: 200,
      stepTime: { kind: 'fixed', meanS: 2, distribution: 'exponential' },
      scheduler: { maxBatch: 1, tokenBudget: 4, maxContext: 64, kvBlocks: 64, blockSize: 1 },
      tenants: [{ arrival: { kind: 'poisson', rate: 0.2 }, lengths: { kind: 'parametric', prompt: { kind: 'uniform', min: 1, max: 9 }, output: { kind: 'uniform', min: 1, max: 5 } } }],
      deployment: { kind: 'pooled', servers: 1, router: 'central-queue' },
    };
    const r = runSimulation(config, { onStep: (s) => (total += s.busy) });
    let expected = 0;
    for (let i = 0; i < r.workload.requests; i++) expected += model.serviceTime(i);
    expect(total).toBeCloseTo(expected, 9);
    expect(r.fleet.requests.finished).toBe(r.workload.requests);
    // Deterministic service: every request takes S.
    const d = new FixedModel({ kind: 'fixed', meanS: 2, distribution: 'deterministic' }, 1);
    expect(d.serviceTime(5)).toBe(2);
    // Exponential service: mean S over many ids.
    let sum = 0;
    for (let i = 0; i < 200000; i++) sum += model.serviceTime(i);
    expect(sum / 200000).toBeCloseTo(2, 1);
  });
});
