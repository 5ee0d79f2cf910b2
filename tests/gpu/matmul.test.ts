import { describe, expect, it } from 'vitest';
import { expectClose, gpuTest, type Resources } from '../helpers/gpu.js';
import { bufferFrom, readFloat32 } from '../../src/gpu/buffers.js';
import { UniformArena } from '../../src/gpu/uniforms.js';
import { pipelineCount } from '../../src/gpu/pipelines.js';
import { deviceProfile } from '../../src/gpu/profile.js';
import {
  chooseMatmulVariant,
  encodeMatmul,
  foldNormWeight,
  MATMUL_VARIANTS,
  matmulVariantAvailable,
  type MatmulDispatch,
  type MatmulOptions,
  type MatmulVariant,
} from '../../src/gpu/ops/matmul.js';
import { matmul, rmsnorm } from '../../src/ops/reference.js';
import { Rng } from '../../src/ops/random.js';

// Tolerance: inputs are uniform in [-1, 1), so each output is a sum of K terms of size <= 1 whose
// f32 rounding error grows like sqrt(K) (random signs): atol = 1e-5 · sqrt(K), plus rtol 1e-5 for
// the residual's magnitude. Measured on SwiftShader for K in 512..2048: the GEMM's sequential
// sums reach ~13% of this, the matvec's split sums ~2%.
const atolFor = (K: number) => 1e-5 * Math.sqrt(K);
const RTOL = 1e-5;

// (M, N, K): sizes that are not multiples of any tile (1, 5, 63, 257, ...) and the real shapes of
// the tiny model (dim 64, hidden 172, vocab 512); K % 4 != 0 takes matvec's scalar path.
// Matvec variants are run on M <= 17 (several row blocks): forced onto M = 130 they cost seconds
// per dispatch on SwiftShader, and the rule never picks them there.
const SMALL_M: [number, number, number][] = [
  [1, 1, 1],
  [1, 5, 63],
  [1, 512, 64],
  [1, 64, 172],
  [2, 172, 64],
  [3, 257, 5],
  [4, 64, 512],
  [5, 63, 257],
  [17, 63, 257],
];
const LARGE_M: [number, number, number][] = [
  [64, 172, 64],
  [64, 64, 172],
  [130, 130, 63],
  [33, 512, 64],
];

function randomShapes(rng: Rng, count: number, maxM: number, maxNK: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let i = 0; i < count; i++) out.push([rng.int(1, maxM), rng.int(1, maxNK), rng.int(1, maxNK)]);
  return out;
}

interface Case {
  x: Float32Array;
  w: Float32Array;
  r?: Float32Array;
  M: number;
  N: number;
  K: number;
}

function makeCase(rng: Rng, M: number, N: number, K: number, residual = false): Case {
  return { x: rng.floats(M * K), w: rng.floats(N * K), r: residual ? rng.floats(M * N) : undefined, M, N, K };
}

/** Runs one matmul on the GPU and returns y and what was dispatched. */
async function runMatmul(
  device: GPUDevice,
  res: Resources,
  c: Case,
  variant?: MatmulOptions['variant'],
  norm?: MatmulOptions['norm'],
): Promise<{ y: Float32Array; d: MatmulDispatch }> {
  const gx = res.track(bufferFrom(device, c.x));
  const gw = res.track(bufferFrom(device, c.w));
  const gr = c.r ? res.track(bufferFrom(device, c.r)) : undefined;
  const gy = res.track(device.createBuffer({ size: c.M * c.N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
  const arena = res.track(new UniformArena(device, 2));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  const d = encodeMatmul(device, pass, arena, gx, gw, gy, c.M, c.N, c.K, { residual: gr, variant, norm });
  pass.end();
  arena.flush();
  device.queue.submit([enc.finish()]);
  return { y: await readFloat32(device, gy, c.M * c.N), d };
}

function check(got: Float32Array, c: Case, label: string): void {
  const want = matmul(c.x, c.w, c.M, c.N, c.K, c.r);
  try {
    expectClose(got, want, atolFor(c.K), RTOL);
  } catch (e) {
    throw new Error(`${label} M=${c.M} N=${c.N} K=${c.K}: ${(e as Error).message}`);
  }
}

describe('matmul kernels', () => {
  const rng = new Rng(42);
  const small = [...SMALL_M, ...randomShapes(rng, 2, 8, 300)];
  const all = [...small, ...LARGE_M, ...randomShapes(rng, 2, 130, 100)];

  for (const v of MATMUL_VARIANTS) {
    const shapes = v.kind === 'matvec' ? small : all;
    gpuTest(`${v.name} (forced) matches the CPU reference on odd shapes`, async ({ device }, res) => {
      if (!matmulVariantAvailable(device, v)) {
        // Without the feature the variant is refused by name, not compiled.
        expect(() => encodeMatmul(device, device.createCommandEncoder().beginComputePass(), new UniformArena(device), res.track(device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE })), res.track(device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE })), res.track(device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE })), 2, 2, 4, { variant: v.name })).toThrow(/needs the 'subgroups' feature/);
        console.log(`${v.name}: this device has no 'subgroups' feature; checked that the variant is refused`);
        return;
      }
      const r = new Rng(7);
      for (const [M, N, K] of shapes) {
        const c = makeCase(r, M, N, K);
        const { y, d } = await runMatmul(device, res, c, v.name);
        // vec4 variants run their tile on matmul_reg when K % 4 != 0.
        if (v.kind === 'vec4' && K % 4 !== 0) expect([d.kernel, d.variant.name]).toEqual(['matmul_reg', `${v.name} (K % 4 != 0: on matmul_reg)`]);
        else expect(d.variant.name).toBe(v.name);
        if (v.kind === 'vec4' && K % 4 === 0) expect(d.entryPoint).toBe('cols' in v ? `main_${'subgroups' in v ? 'sg_' : ''}r${v.rows}c${v.cols}` : `main_r${v.rows}`);
        if (v.kind === 'matvec') expect(d.entryPoint).toBe(K % 4 === 0 ? 'main_vec4' : 'main');
        check(y, c, v.name);
        res.destroyAll();
      }
    });
  }

  gpuTest('auto-chosen variant matches the CPU reference and follows chooseMatmulVariant for the adapter class', async ({ device, adapter }, res) => {
    // acquireGpu recorded the adapter's class for the device.
    expect(deviceProfile(device)).toBe(adapter.software ? 'software' : 'gpu');
    const r = new Rng(8);
    for (const [M, N, K] of all) {
      const c = makeCase(r, M, N, K);
      const { y, d } = await runMatmul(device, res, c);
      expect(d.variant).toBe(chooseMatmulVariant(M, N, K, deviceProfile(device)));
      check(y, c, `auto(${d.variant.name})`);
      res.destroyAll();
    }
  });

  gpuTest('residual epilogue: y = x·wᵀ + r, every variant', async ({ device }, res) => {
    const r = new Rng(9);
    for (const v of MATMUL_VARIANTS.filter((x) => matmulVariantAvailable(device, x))) {
      for (const [M, N, K] of [
        [1, 63, 64],
        [3, 5, 17],
        [17, 130, 64],
      ] as [number, number, number][]) {
        const c = makeCase(r, M, N, K, true);
        // Residual values of size ~10 make a dropped or doubled residual obvious.
        for (let i = 0; i < c.r!.length; i++) c.r![i] = c.r![i]! * 10;
        const { y } = await runMatmul(device, res, c, v.name);
        check(y, c, `${v.name}+residual`);
        res.destroyAll();
      }
    }
  });

  gpuTest('fused RMSNorm: rmsnorm(x, g)·wᵀ [+ r] from the folded weight, every variant, against the unfused reference', async ({ device }, res) => {
    const r = new Rng(11);
    const eps = 1e-5;
    for (const v of MATMUL_VARIANTS.filter((x) => matmulVariantAvailable(device, x))) {
      for (const [M, N, K, residual] of [
        [1, 63, 64, false],
        [3, 5, 17, true],
        [4, 40, 96, false],
        [17, 130, 64, true],
        [70, 33, 172, false],
      ] as [number, number, number, boolean][]) {
        const c = makeCase(r, M, N, K, residual);
        // Rows of very different scales (the norm must undo each), and a norm weight far from 1.
        for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) c.x[m * K + k] = c.x[m * K + k]! * 3 ** ((m % 5) - 2);
        const g = r.floats(K).map((u) => 0.5 + 2 * Math.abs(u));
        const folded = { ...c, w: foldNormWeight(c.w, g, N, K) };
        const { y } = await runMatmul(device, res, folded, v.name, { eps });
        // The unfused reference: normalize, then multiply by the original weight.
        const want = matmul(rmsnorm(c.x, g, M, K, eps), c.w, M, N, K, c.r);
        try {
          expectClose(y, want, atolFor(K), RTOL);
        } catch (e) {
          throw new Error(`${v.name}+norm M=${M} N=${N} K=${K}: ${(e as Error).message}`);
        }
        res.destroyAll();
      }
    }
  });

  it('foldNormWeight scales each column by the norm weight and checks its sizes', () => {
    expect([...foldNormWeight(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([1, 10, 100]), 2, 3)]).toEqual([1, 20, 300, 4, 50, 600]);
    expect(() => foldNormWeight(new Float32Array(6), new Float32Array(2), 2, 3)).toThrow(/expected N·K = 2·3 and K/);
  });

  gpuTest('more than 65535 workgroups wrap into the y dimension', async ({ device }, res) => {
    const r = new Rng(10);
    // One-thread variants keep 70000 workgroups affordable on SwiftShader; the kernels are the same.
    const tinyMatvec: MatmulVariant = { kind: 'matvec', name: 'test-matvec-1', constants: { TPC: 1, COLS: 1, ROWS: 1 } };
    const tinyGemm: MatmulVariant = {
      kind: 'gemm',
      name: 'test-gemm-1',
      constants: { WGX: 1, WGY: 1, TM: 1, TN: 1, TK: 4 },
    };
    for (const [variant, M, N, K] of [
      [tinyMatvec, 1, 70000, 3],
      [tinyMatvec, 1, 70000, 4],
      [tinyGemm, 1, 70000, 2],
    ] as [MatmulVariant, number, number, number][]) {
      const c = makeCase(r, M, N, K);
      const { y, d } = await runMatmul(device, res, c, variant);
      expect(d.workgroups[1]).toBeGreaterThan(1);
      check(y, c, variant.name);
      res.destroyAll();
    }
  });

  gpuTest('pipelines are compiled once per variant and reused', async ({ device }, res) => {
    const c = makeCase(new Rng(11), 3, 70, 36);
    await runMatmul(device, res, c, 'gemm-32x32-2x2');
    const before = pipelineCount(device);
    await runMatmul(device, res, c, 'gemm-32x32-2x2');
    await runMatmul(device, res, makeCase(new Rng(12), 9, 33, 20), 'gemm-32x32-2x2');
    expect(pipelineCount(device)).toBe(before);
  });
});

describe('matmul variant rule and input checks', () => {
  it('on a software adapter: the named-register kernel when K % 4 == 0, rows per thread growing with M', () => {
    expect(chooseMatmulVariant(1, 512, 64, 'software').name).toBe('vec4-r1-16x1');
    expect(chooseMatmulVariant(1, 2047, 288, 'software').name).toBe('vec4-r1-16x1');
    expect(chooseMatmulVariant(1, 32000, 288, 'software').name).toBe('vec4-r1-64x1');
    expect(chooseMatmulVariant(2, 768, 768, 'software').name).toBe('vec4-r4c16-4x1');
    expect(chooseMatmulVariant(4, 64, 64, 'software').name).toBe('vec4-r4c16-4x1');
    expect(chooseMatmulVariant(5, 64, 64, 'software').name).toBe('vec4-r8c16-4x1');
    expect(chooseMatmulVariant(8, 32000, 288, 'software').name).toBe('vec4-r8c16-4x1');
    expect(chooseMatmulVariant(9, 64, 64, 'software').name).toBe('vec4-r16c16-4x1');
    expect(chooseMatmulVariant(512, 512, 64, 'software').name).toBe('vec4-r16c16-4x1');
  });

  it('on a GPU (and on software when K % 4 != 0): matvec for M <= 4 (threads per column by K), the skinny GEMM to 64 rows, the tiled GEMM beyond', () => {
    // A GPU's rule whatever K; a device acquireGpu did not make counts as a GPU.
    expect(chooseMatmulVariant(1, 512, 64).name).toBe('matvec-t4-r1');
    expect(chooseMatmulVariant(16, 512, 64, 'gpu').name).toBe('reg-16x64-4x4');
    expect(chooseMatmulVariant(512, 512, 64, 'gpu').name).toBe('gemm-64x64-4x4');
    expect(chooseMatmulVariant(3, 5, 17, 'software').name).toBe('matvec-t4-r4');
    expect(chooseMatmulVariant(1, 512, 63).name).toBe('matvec-t4-r1');
    expect(chooseMatmulVariant(1, 32000, 287).name).toBe('matvec-t16-r1');
    expect(chooseMatmulVariant(1, 288, 4095).name).toBe('matvec-t64-r1');
    expect(chooseMatmulVariant(4, 512, 63).name).toBe('matvec-t4-r4');
    expect(chooseMatmulVariant(2, 768, 767).name).toBe('matvec-t16-r4');
    expect(chooseMatmulVariant(5, 64, 63).name).toBe('reg-16x64-4x4');
    expect(chooseMatmulVariant(64, 32000, 287).name).toBe('reg-16x64-4x4');
    expect(chooseMatmulVariant(65, 64, 63).name).toBe('gemm-32x32-4x4');
    expect(chooseMatmulVariant(512, 512, 63).name).toBe('gemm-64x64-4x4');
  });

  // The checks run before anything touches the device, so plain objects stand in for buffers.
  const buf = (floats: number) => ({ size: floats * 4 }) as unknown as GPUBuffer;
  const dev = {} as GPUDevice;
  const pass = {} as GPUComputePassEncoder;
  const arena = {} as UniformArena;

  it('throws a clear error when a buffer is too small for the shape', () => {
    expect(() => encodeMatmul(dev, pass, arena, buf(5), buf(6), buf(6), 2, 3, 3)).toThrow(
      /encodeMatmul: x is 20 bytes, too small for x \(M=2, K=3\)/,
    );
    expect(() => encodeMatmul(dev, pass, arena, buf(6), buf(8), buf(6), 2, 3, 3)).toThrow(/w is 32 bytes/);
    expect(() => encodeMatmul(dev, pass, arena, buf(6), buf(9), buf(5), 2, 3, 3)).toThrow(/y is 20 bytes/);
    expect(() =>
      encodeMatmul(dev, pass, arena, buf(6), buf(9), buf(6), 2, 3, 3, { residual: buf(4) }),
    ).toThrow(/residual is 16 bytes/);
  });

  it('throws on zero or non-integer dims, aliasing and unknown variants', () => {
    expect(() => encodeMatmul(dev, pass, arena, buf(6), buf(9), buf(6), 0, 3, 3)).toThrow(
      /encodeMatmul: M must be a positive integer, got 0/,
    );
    expect(() => encodeMatmul(dev, pass, arena, buf(6), buf(9), buf(6), 2, 3, 1.5)).toThrow(/K must be a positive integer/);
    const y = buf(6);
    expect(() => encodeMatmul(dev, pass, arena, buf(6), buf(9), y, 2, 3, 3, { residual: y })).toThrow(
      /y and residual must be different buffers/,
    );
    expect(() => encodeMatmul(dev, pass, arena, buf(6), buf(9), buf(6), 2, 3, 3, { variant: 'nope' as never })).toThrow(
      /unknown variant "nope"/,
    );
    const limits = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 };
    const devL = { limits } as GPUDevice;
    const bad = (constants: object) =>
      () => encodeMatmul(devL, pass, arena, buf(6), buf(9), buf(6), 2, 3, 3, { variant: { kind: 'matvec', name: 'x', constants } as MatmulVariant });
    expect(bad({ TPC: 3, COLS: 4, ROWS: 1 })).toThrow(/TPC must be a power of two/);
    expect(bad({ TPC: 4, COLS: 4, ROWS: 9 })).toThrow(/ROWS must be <= 8/);
    expect(bad({ TPC: 64, COLS: 8, ROWS: 1 })).toThrow(/512 threads per workgroup exceed/);
    const vec4 = (rows: number, cols: number | undefined) =>
      () => encodeMatmul(devL, pass, arena, buf(8), buf(12), buf(6), 2, 3, 4, { variant: { kind: 'vec4', name: 'v', rows, cols, constants: { WGX: 4, WGY: 1 } } as MatmulVariant });
    expect(vec4(16, undefined)).toThrow(/matmul variant "v": rows must be 1, 2, 4 or 8 with 4 columns, got 16/);
    expect(vec4(4, 8)).toThrow(/rows x cols must be one of 4x16, 8x8, 8x16, 16x8, 16x16, got 4x8/);
    // Subgroup entry points: the feature, 4x4 blocks, and every thread of a workgroup on the same rows.
    const sg = (features: string[], cols: number | undefined, WGX: number, WGY: number) => {
      const d = { limits, features: new Set(features) } as unknown as GPUDevice;
      return () => encodeMatmul(d, pass, arena, buf(8), buf(12), buf(6), 2, 3, 4, { variant: { kind: 'vec4', name: 'sg', rows: 8, cols, subgroups: true, constants: { WGX, WGY } } as MatmulVariant });
    };
    expect(sg([], 8, 4, 1)).toThrow(/matmul variant "sg": needs the 'subgroups' feature, which this device does not have/);
    expect(sg(['subgroups'], 8, 4, 2)).toThrow(/needs WGY = 1 and WGX a multiple of 4, got 4x2/);
    expect(sg(['subgroups'], 8, 6, 1)).toThrow(/needs WGY = 1 and WGX a multiple of 4, got 6x1/);
    expect(sg(['subgroups'], undefined, 4, 1)).toThrow(/the subgroup entry points hold rows x cols 8x8, 8x16, 16x16, got 8x4/);
  });
});
