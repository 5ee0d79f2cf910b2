// The matmul autotuner and the kernel bench library that feeds it.
// - With injected fake timings: the tuner picks the fastest correct variant, caches the choice per
//   adapter (another adapter, or a changed variant set, starts empty), serves cached shapes
//   without measuring, and its chooser drives encodeMatmul through setMatmulChooser.
// - On the GPU: every matmul variant benchmarked by the library passes its check against the CPU
//   reference on the model's shapes and on shapes that are not multiples of any tile, and so do
//   the other kernels; the fastest correct one is what the tuner records.
import { deviceProfile } from '../../src/gpu/profile.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectClose, gpuTest } from '../helpers/gpu.js';
import {
  adapterKey,
  MatmulAutotuner,
  memoryTuneStorage,
  pickFastest,
  setMatmulChooser,
  shapeKey,
  variantSignature,
  type TuneDocument,
} from '../../src/gpu/autotune.js';
import { defaultTuneCachePath, fileTuneStorage } from '../../src/gpu/autotune-node.js';
import { chooseMatmulVariant, encodeMatmul, MATMUL_VARIANTS, matmulVariant, type MatmulVariant } from '../../src/gpu/ops/matmul.js';
import {
  benchMatmulShape,
  benchOtherKernels,
  matmulVariantsFor,
  modelMatmulShapes,
  MATVEC_BENCH_MAX_ROW_BLOCKS,
} from '../../src/gpu/kernel-bench.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { matmul } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

const ADAPTER_A = { vendor: 'acme', architecture: 'rdna9', device: '0x1234', description: 'Acme GPU' };
const ADAPTER_B = { vendor: 'acme', architecture: 'rdna9', device: '0x5678', description: 'Acme GPU Pro' };

/** Fake timings: ms per variant name; measure() counts its calls. */
function fake(ms: Record<string, number>) {
  const calls: string[] = [];
  return {
    calls,
    measure: async (v: MatmulVariant) => {
      calls.push(v.name);
      if (!(v.name in ms)) throw new Error(`no timing for ${v.name}`);
      return ms[v.name]!;
    },
  };
}

afterEach(() => setMatmulChooser(undefined));

describe('autotuner (fake timings)', () => {
  it('picks the measured fastest variant and caches it per adapter', async () => {
    const storage = memoryTuneStorage();
    const a = await MatmulAutotuner.open(storage, ADAPTER_A);
    const t = fake({ 'gemm-64x64-4x4': 3, 'gemm-32x32-4x4': 2, 'reg-16x64-4x4': 1.5, 'reg-8x32-2x2': 4 });
    const c = await a.tune(64, 96, 256, t.measure);
    expect(c?.variant).toBe('reg-16x64-4x4');
    expect(c?.ms).toBe(1.5);
    expect(c?.defaultVariant).toBe(chooseMatmulVariant(64, 96, 256).name);
    expect(t.calls.length).toBe(MATMUL_VARIANTS.length); // every candidate measured (unknown ones throw: disqualified)
    await a.save();

    // Same adapter, reopened from storage: served from the cache without measuring.
    const again = await MatmulAutotuner.open(storage, ADAPTER_A);
    const t2 = fake({ 'gemm-64x64-4x4': 0.1 });
    expect((await again.tune(64, 96, 256, t2.measure))?.variant).toBe('reg-16x64-4x4');
    expect(t2.calls).toEqual([]);
    expect(again.measured).toBe(0);
    // force re-measures and can change the choice.
    expect((await again.tune(64, 96, 256, t2.measure, true))?.variant).toBe('gemm-64x64-4x4');

    // Another adapter sees nothing, and saving it keeps A's table.
    const b = await MatmulAutotuner.open(storage, ADAPTER_B);
    expect(b.lookup(64, 96, 256)).toBeUndefined();
    await b.tune(64, 96, 256, fake({ 'gemm-16x16-1x1': 1 }).measure);
    await b.save();
    const doc = JSON.parse(storage.text!) as TuneDocument;
    expect(Object.keys(doc.adapters).sort()).toEqual([adapterKey(ADAPTER_A), adapterKey(ADAPTER_B)].sort());
    expect(doc.adapters[adapterKey(ADAPTER_A)]!.shapes[shapeKey(64, 96, 256)]!.variant).toBe('reg-16x64-4x4');
    expect(doc.adapters[adapterKey(ADAPTER_B)]!.shapes[shapeKey(64, 96, 256)]!.variant).toBe('gemm-16x16-1x1');
  });

  it('disqualifies variants that fail their check, return NaN or throw', async () => {
    expect(
      pickFastest([
        { variant: 'a', ms: 0.5, correct: false },
        { variant: 'b', ms: NaN },
        { variant: 'c', ms: 2 },
        { variant: 'd', ms: 1, correct: true },
      ])?.variant,
    ).toBe('d');
    expect(pickFastest([{ variant: 'a', ms: NaN }])).toBeUndefined();
    const a = await MatmulAutotuner.open(memoryTuneStorage(), ADAPTER_A);
    const c = await a.tune(1, 96, 96, async (v) => {
      if (v.name === 'matvec-t4-r1') return { variant: v.name, ms: 0.1, correct: false };
      if (v.name === 'matvec-t16-r1') return 0.2;
      throw new Error('does not fit');
    });
    expect(c?.variant).toBe('matvec-t16-r1');
  });

  it('starts over when the variant set changes (a new variant gets ranked)', async () => {
    const storage = memoryTuneStorage();
    const a = await MatmulAutotuner.open(storage, ADAPTER_A);
    await a.tune(16, 96, 96, fake({ 'reg-16x64-4x4': 1 }).measure);
    await a.save();
    const extra: MatmulVariant = { kind: 'reg', name: 'reg-32x64-4x4-new', constants: { WGX: 16, WGY: 8, TM: 4, TN: 4 } };
    const variants = [...MATMUL_VARIANTS, extra];
    expect(variantSignature(variants)).not.toBe(variantSignature());
    const b = await MatmulAutotuner.open(storage, ADAPTER_A, { variants });
    expect(b.lookup(16, 96, 96)).toBeUndefined();
    expect((await b.tune(16, 96, 96, fake({ 'reg-16x64-4x4': 1, 'reg-32x64-4x4-new': 0.5 }).measure))?.variant).toBe('reg-32x64-4x4-new');
  });

  it("its chooser uses the tuned table (exact shape, or the nearest tuned M within 2x) and the default rule elsewhere", async () => {
    const a = await MatmulAutotuner.open(memoryTuneStorage(), ADAPTER_A);
    a.record(16, 96, 96, [{ variant: 'gemm-32x32-2x2', ms: 1 }]);
    a.record(4, 96, 96, [{ variant: 'matvec-t16-r4', ms: 1 }]);
    const choose = a.chooser();
    expect(choose(16, 96, 96).name).toBe('gemm-32x32-2x2');
    expect(choose(12, 96, 96).name).toBe('gemm-32x32-2x2'); // nearest tuned M
    expect(choose(3, 96, 96).name).toBe('matvec-t16-r4');
    expect(choose(8, 96, 96).name).toBe('gemm-32x32-2x2'); // matvec tuned at 4 is not stretched to 8
    expect(choose(6, 96, 96).name).toBe(chooseMatmulVariant(6, 96, 96).name); // 16 is over 2x away
    expect(choose(64, 96, 96).name).toBe(chooseMatmulVariant(64, 96, 96).name); // 4x away: default
    expect(choose(16, 48, 96).name).toBe(chooseMatmulVariant(16, 48, 96).name); // other (N, K): default
  });

  it('stores its document in a file under the cache dir in Node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx-tune-'));
    try {
      const prev = process.env.MULTIPLEX_AUTOTUNE_CACHE;
      process.env.MULTIPLEX_AUTOTUNE_CACHE = join(dir, 'x.json');
      expect(defaultTuneCachePath()).toBe(join(dir, 'x.json'));
      if (prev === undefined) delete process.env.MULTIPLEX_AUTOTUNE_CACHE;
      else process.env.MULTIPLEX_AUTOTUNE_CACHE = prev;
      const s = fileTuneStorage(join(dir, 'sub', 'autotune.json'));
      expect(s.read()).toBeUndefined();
      s.write('{"version":1,"adapters":{}}');
      expect(readFileSync(join(dir, 'sub', 'autotune.json'), 'utf8')).toBe('{"version":1,"adapters":{}}');
      expect(s.read()).toBe('{"version":1,"adapters":{}}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('autotuner on the GPU', () => {
  gpuTest('an installed chooser drives encodeMatmul, and uninstalling restores the default rule', async (gpu, res) => {
    const { device } = gpu;
    const [M, N, K] = [5, 63, 37];
    const rng = new Rng(5);
    const x = rng.floats(M * K);
    const w = rng.floats(N * K);
    const gx = res.track(bufferFrom(device, x));
    const gw = res.track(bufferFrom(device, w));
    const gy = res.track(device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    const arena = res.track(new UniformArena(device, 4));
    const tuner = await MatmulAutotuner.open(memoryTuneStorage(), gpu.adapter);
    tuner.record(M, N, K, [{ variant: 'gemm-16x16-1x1', ms: 1 }]);
    const undo = tuner.install();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    const d = encodeMatmul(device, pass, arena, gx, gw, gy, M, N, K);
    undo();
    const d2 = encodeMatmul(device, pass, arena, gx, gw, gy, M, N, K);
    pass.end();
    arena.flush();
    device.queue.submit([enc.finish()]);
    expect(d.variant.name).toBe('gemm-16x16-1x1');
    expect(d2.variant.name).toBe(chooseMatmulVariant(M, N, K).name);
    expectClose(await readFloat32(device, gy, M * N), matmul(x, w, M, N, K), 1e-5 * Math.sqrt(K));
  });

  gpuTest('every variant passes its check in the bench library, and the tuner records the fastest', async (gpu) => {
    const peak = { gflops: 1, gbs: 1 };
    // Two timed runs after the check run: enough to rank, cheap on SwiftShader.
    const timing = { reps: 2, maxInner: 1, warmup: 0 };
    // stories260K's real shapes (dim 64, hidden 172: K % 4 != 0 takes matvec's scalar path) and
    // shapes that are not multiples of any tile.
    const model = modelMatmulShapes({ dim: 64, hiddenDim: 172, nHeads: 8, nKvHeads: 4, vocabSize: 512 }, [1, 4, 16]).filter(
      (s) => (s.name === 'w2' && s.m !== 4) || (s.name === 'wk, wv' && s.m === 4),
    );
    const shapes = [...model, { name: 'odd', m: 5, n: 63, k: 37 }, { name: 'odd', m: 33, n: 70, k: 20 }];
    const tuner = await MatmulAutotuner.open(memoryTuneStorage(), gpu.adapter);
    for (const s of shapes) {
      // pruneFactor Infinity: time every variant fully, so the fastest is a real median.
      const r = await benchMatmulShape(gpu, s, peak, { timing, pruneFactor: Infinity });
      const expected = matmulVariantsFor(s.m).map((v) => v.name);
      expect(r.variants.map((v) => v.variant)).toEqual(expected);
      for (const v of r.variants) {
        expect(v.error, `${v.variant} at ${v.shape}`).toBeUndefined();
        expect(v.correct, `${v.variant} at ${v.shape}: error ratio ${v.errorRatio}`).toBe(true);
        expect(v.ms).toBeGreaterThan(0);
        expect(v.gflops).toBeGreaterThan(0);
        expect(v.fraction).toBeGreaterThan(0);
      }
      expect(r.variants.filter((v) => v.isDefault).map((v) => v.variant)).toEqual([chooseMatmulVariant(s.m, s.n, s.k, deviceProfile(gpu.device)).name]);
      const fastest = r.variants.reduce((a, b) => (b.ms < a.ms ? b : a));
      expect(r.best?.variant).toBe(fastest.variant);
      const c = tuner.record(s.m, s.n, s.k, r.variants.map((v) => ({ variant: v.variant, ms: v.ms, correct: v.correct })));
      expect(c?.variant).toBe(fastest.variant);
    }
  }, 180_000);

  gpuTest('matvec variants are benchmarked only while they read the weights at most 4 times', async () => {
    for (const m of [1, 4, 5, 16, 17, 256]) {
      for (const v of matmulVariantsFor(m)) {
        if (v.kind === 'matvec') expect(Math.ceil(m / v.constants.ROWS)).toBeLessThanOrEqual(MATVEC_BENCH_MAX_ROW_BLOCKS);
      }
      expect(matmulVariantsFor(m).filter((v) => v.kind !== 'matvec').length).toBe(MATMUL_VARIANTS.filter((v) => v.kind !== 'matvec').length);
    }
    expect(matmulVariantsFor(1).map((v) => v.name)).toContain(matmulVariant('matvec-t64-r1').name);
  });

  gpuTest('the other kernels pass their checks in the bench library', async (gpu) => {
    const rows = await benchOtherKernels(gpu, { dim: 64, hiddenDim: 172, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 64 }, [1, 3], { gflops: 1, gbs: 1 }, {
      timing: { targetMs: 1, minReps: 2, maxReps: 3, warmup: 1 },
    });
    const kernels = [...new Set(rows.map((r) => r.kernel))];
    expect(kernels).toEqual(['rmsnorm', 'rope', 'swiglu', 'add', 'embedding', 'attention decode']);
    for (const r of rows) {
      expect(r.error, `${r.kernel} ${r.shape}`).toBeUndefined();
      expect(r.correct, `${r.kernel} ${r.variant} ${r.shape}: error ratio ${r.errorRatio} (${r.tolerance})`).toBe(true);
      expect(r.ms).toBeGreaterThan(0);
    }
    expect(rows.filter((r) => r.kernel === 'attention decode').map((r) => r.variant)).toEqual(['tiled', 'serial', 'tiled', 'serial']);
  }, 120_000);
});
