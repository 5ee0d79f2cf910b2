// Matmul on the GPU: y(M, N) = x(M, K) · w(N, K)ᵀ [+ residual(M, N)], weights stored (out, in).
// Four kernels: kernels/matmul_vec4.wgsl (named registers, K % 4 == 0: the default), matvec.wgsl
// for few rows, matmul_reg.wgsl (register blocks in arrays, any K) and matmul.wgsl, a tiled GEMM
// through workgroup memory, for many rows on GPUs. The named variants below are the
// configurations a kernel lab can run side by side; chooseMatmulVariant is the default rule.
import { bindBuffers, ceilDiv, getPipeline } from '../pipelines.js';
import type { UniformArena } from '../uniforms.js';
import { dispatch1d } from './add.js';
import { deviceProfile, type DeviceProfile } from '../profile.js';
import { checkBuffer, checkDims, checkDistinct } from './checks.js';

/** Tiled GEMM (kernels/matmul.wgsl): a workgroup of WGX×WGY threads owns a (WGY·TM)×(WGX·TN) tile. */
export interface GemmVariant {
  kind: 'gemm';
  name: string;
  /** The WGSL override constants; TM and TN must be <= the kernel's MAX_T (8). */
  constants: { WGX: number; WGY: number; TM: number; TN: number; TK: number };
}

/** Matvec (kernels/matvec.wgsl): TPC threads per output column, COLS columns and ROWS rows per workgroup. */
export interface MatvecVariant {
  kind: 'matvec';
  name: string;
  /** The WGSL override constants; TPC a power of two, ROWS <= the kernel's MAX_ROWS (8). */
  constants: { TPC: number; COLS: number; ROWS: number };
}

/**
 * Register-blocked GEMM without workgroup memory (kernels/matmul_reg.wgsl) for skinny problems:
 * a WGX×WGY workgroup owns a (WGY·TM)×(WGX·TN) tile, each thread TM×TN outputs in registers.
 */
export interface RegGemmVariant {
  kind: 'reg';
  name: string;
  /** The WGSL override constants; TM and TN must be <= the kernel's register block (4). */
  constants: { WGX: number; WGY: number; TM: number; TN: number };
}

/**
 * Register-blocked matmul with named registers (kernels/matmul_vec4.wgsl), K % 4 == 0: each thread
 * of a WGX×WGY workgroup owns `rows` rows × `cols` columns (4 unless given), a
 * (WGY·rows)×(WGX·cols) tile a workgroup. For K % 4 != 0 encodeMatmul runs the same tile on
 * matmul_reg (scalar loads) instead.
 */
export interface Vec4Variant {
  kind: 'vec4';
  name: string;
  /**
   * Rows per thread. With 4 columns: the entry point main_r1, main_r2, main_r4 or main_r8; with
   * `cols`: main_r{rows}c{cols}, one of VEC4_BLOCKS (4x4 blocks in mat4x4 accumulators).
   */
  rows: 1 | 2 | 4 | 8 | 16;
  /** Columns per thread when not 4. */
  cols?: 8 | 16;
  /**
   * The subgroup entry point main_sg_r{rows}c{cols} (kernels/matmul_vec4_sg.wgsl, blocks 8x8, 8x16
   * and 16x16): the lanes of a quad share the loads of x. Needs the 'subgroups' feature, WGY = 1
   * and WGX % 4 == 0.
   */
  subgroups?: true;
  constants: { WGX: number; WGY: number };
}

/** The (rows, cols) blocks of matmul_vec4's mat4x4 entry points (main_r4c16, ...). */
export const VEC4_BLOCKS: readonly (readonly [number, number])[] = [
  [4, 16],
  [8, 8],
  [8, 16],
  [16, 8],
  [16, 16],
];

/** The (rows, cols) blocks of the subgroup entry points (main_sg_r8c8, ...): the larger blocks, where x's loads count. */
export const VEC4_SG_BLOCKS: readonly (readonly [number, number])[] = [
  [8, 8],
  [8, 16],
  [16, 16],
];

/** Columns per thread of a vec4 variant. */
export function vec4Cols(v: Vec4Variant): number {
  return v.cols ?? 4;
}

export type MatmulVariant = GemmVariant | MatvecVariant | RegGemmVariant | Vec4Variant;

/**
 * Every named variant, for the kernel lab; any of them is correct for any shape. Matvec variants
 * are named by threads per column (t) and rows per workgroup (r); GEMM variants by output tile
 * (BM x BN = WGY·TM x WGX·TN) and per-thread block (TM x TN).
 */
export const MATMUL_VARIANTS = [
  { kind: 'matvec', name: 'matvec-t4-r1', constants: { TPC: 4, COLS: 16, ROWS: 1 } },
  { kind: 'matvec', name: 'matvec-t16-r1', constants: { TPC: 16, COLS: 4, ROWS: 1 } },
  { kind: 'matvec', name: 'matvec-t64-r1', constants: { TPC: 64, COLS: 4, ROWS: 1 } },
  { kind: 'matvec', name: 'matvec-t4-r4', constants: { TPC: 4, COLS: 16, ROWS: 4 } },
  { kind: 'matvec', name: 'matvec-t16-r4', constants: { TPC: 16, COLS: 4, ROWS: 4 } },
  { kind: 'matvec', name: 'matvec-t64-r4', constants: { TPC: 64, COLS: 4, ROWS: 4 } },
  { kind: 'gemm', name: 'gemm-16x16-1x1', constants: { WGX: 16, WGY: 16, TM: 1, TN: 1, TK: 16 } },
  { kind: 'gemm', name: 'gemm-32x32-2x2', constants: { WGX: 16, WGY: 16, TM: 2, TN: 2, TK: 16 } },
  { kind: 'gemm', name: 'gemm-32x32-4x4', constants: { WGX: 8, WGY: 8, TM: 4, TN: 4, TK: 16 } },
  { kind: 'gemm', name: 'gemm-64x64-4x4', constants: { WGX: 16, WGY: 16, TM: 4, TN: 4, TK: 16 } },
  { kind: 'reg', name: 'reg-16x64-4x4', constants: { WGX: 16, WGY: 4, TM: 4, TN: 4 } },
  { kind: 'reg', name: 'reg-8x32-2x2', constants: { WGX: 16, WGY: 4, TM: 2, TN: 2 } },
  { kind: 'vec4', name: 'vec4-r1-64x1', rows: 1, constants: { WGX: 64, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-r1-16x1', rows: 1, constants: { WGX: 16, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-r2-32x2', rows: 2, constants: { WGX: 32, WGY: 2 } },
  { kind: 'vec4', name: 'vec4-r4-16x4', rows: 4, constants: { WGX: 16, WGY: 4 } },
  { kind: 'vec4', name: 'vec4-r4-32x2', rows: 4, constants: { WGX: 32, WGY: 2 } },
  { kind: 'vec4', name: 'vec4-r4-8x8', rows: 4, constants: { WGX: 8, WGY: 8 } },
  { kind: 'vec4', name: 'vec4-r8-16x2', rows: 8, constants: { WGX: 16, WGY: 2 } },
  { kind: 'vec4', name: 'vec4-r8-8x2', rows: 8, constants: { WGX: 8, WGY: 2 } },
  { kind: 'vec4', name: 'vec4-r4c16-4x1', rows: 4, cols: 16, constants: { WGX: 4, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-r8c8-4x1', rows: 8, cols: 8, constants: { WGX: 4, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-r8c8-8x2', rows: 8, cols: 8, constants: { WGX: 8, WGY: 2 } },
  { kind: 'vec4', name: 'vec4-r8c16-4x1', rows: 8, cols: 16, constants: { WGX: 4, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-r16c8-4x1', rows: 16, cols: 8, constants: { WGX: 4, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-r16c16-4x1', rows: 16, cols: 16, constants: { WGX: 4, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-sg-r8c8-4x1', rows: 8, cols: 8, subgroups: true, constants: { WGX: 4, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-sg-r8c8-32x1', rows: 8, cols: 8, subgroups: true, constants: { WGX: 32, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-sg-r8c16-4x1', rows: 8, cols: 16, subgroups: true, constants: { WGX: 4, WGY: 1 } },
  { kind: 'vec4', name: 'vec4-sg-r16c16-4x1', rows: 16, cols: 16, subgroups: true, constants: { WGX: 4, WGY: 1 } },
] as const satisfies readonly MatmulVariant[];

export type MatmulVariantName = (typeof MATMUL_VARIANTS)[number]['name'];

export function matmulVariant(name: MatmulVariantName | string): MatmulVariant {
  const v = MATMUL_VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`matmul: unknown variant "${name}" (known: ${MATMUL_VARIANTS.map((x) => x.name).join(', ')})`);
  return v;
}

/**
 * Columns from which a single row (M == 1) gets 64-thread workgroups (vec4-r1-64x1: whole warps
 * on a GPU, N/256 workgroups) rather than 16-thread ones (vec4-r1-16x1: 4x the workgroups, which a
 * small N needs to occupy even two CPU cores on SwiftShader).
 */
export const VEC4_WIDE_MIN_N = 2048;
/** Rows up to which vec4-r4c16-4x1 is chosen (K % 4 == 0, M > 1). */
export const VEC4_R4_MAX_ROWS = 4;
/** Rows up to which vec4-r8c16-4x1 is chosen, and vec4-r16c16-4x1 above (K % 4 == 0). */
export const VEC4_R8_MAX_ROWS = 8;
/** Rows up to which the matvec kernel is chosen when K % 4 != 0 (one r4 row block covers them all). */
export const MATVEC_MAX_ROWS = 4;
/** Rows up to which the register-blocked skinny GEMM is chosen over the tiled one. */
export const REG_GEMM_MAX_ROWS = 64;
/** 64x64 tiles needed before the big GEMM tile is chosen (fewer would leave a GPU's cores idle). */
export const GEMM_BIG_TILE_MIN_TILES = 32;

/**
 * The default rule (chooseMatmulVariant), by the class of adapter (src/gpu/profile.ts):
 * On a software rasterizer ('software'):
 * - K % 4 == 0 (every model shape): the named-register kernel (matmul_vec4), its tile growing
 *   with M: M == 1: vec4-r1-16x1, or vec4-r1-64x1 from N = VEC4_WIDE_MIN_N (2048) (a
 *   classifier, a large FFN); M <= VEC4_R4_MAX_ROWS (4): vec4-r4c16-4x1; M <= VEC4_R8_MAX_ROWS
 *   (8): vec4-r8c16-4x1; above: vec4-r16c16-4x1. Blocks of 16 columns a thread in mat4x4
 *   accumulators, because on SwiftShader each value a thread loads is a gather and loads set the
 *   speed: measured in Chromium (npm run bench:kernels -- --browser, mx-tiny shapes), 1.4-3.9x
 *   the 4-column entries at M = 4-64; in whole decode steps (Node, mx-tiny, two rules
 *   alternating in one run) batch 16 ran 1.26x faster on vec4-r8c16-4x1 than on the 4-column
 *   vec4-r8-16x2 and another 1.2x on vec4-r16c16-4x1, batch 64 1.05x faster on it than on
 *   vec4-r16c8-4x1.
 *   Also 6x the matvec kernel at M = 1 and 3-10x the register and workgroup-memory GEMMs at
 *   M = 16-256. A GPU may prefer the workgroup-memory GEMM for large
 *   M: the autotuner (src/gpu/autotune.ts) measures that per adapter and installs its table
 *   through setMatmulChooser.
 * - K % 4 != 0: the GPU rule below.
 * On a GPU ('gpu', and any device acquireGpu did not make), the rule these kernels were designed
 * with (no GPU was available to rank them here; the autotuner does, per adapter):
 * - M <= MATVEC_MAX_ROWS (4): matvec, r1 for M == 1, r4 for M in 2..4, threads per
 *   column following K (K < 256: t4; K < 1024: t16; otherwise t64);
 * - M <= REG_GEMM_MAX_ROWS (64): reg-16x64-4x4; otherwise the tiled GEMM, gemm-64x64-4x4 when that makes at least
 *   GEMM_BIG_TILE_MIN_TILES (32) workgroups, else gemm-32x32-4x4.
 */
export function chooseMatmulVariant(M: number, N: number, K: number, profile: DeviceProfile = 'gpu'): MatmulVariant {
  if (profile === 'software' && K % 4 === 0) {
    if (M === 1) return matmulVariant(N >= VEC4_WIDE_MIN_N ? 'vec4-r1-64x1' : 'vec4-r1-16x1');
    if (M <= VEC4_R4_MAX_ROWS) return matmulVariant('vec4-r4c16-4x1');
    if (M <= VEC4_R8_MAX_ROWS) return matmulVariant('vec4-r8c16-4x1');
    return matmulVariant('vec4-r16c16-4x1');
  }
  if (M <= MATVEC_MAX_ROWS) {
    const t = K < 256 ? 4 : K < 1024 ? 16 : 64;
    return matmulVariant(`matvec-t${t}-r${M === 1 ? 1 : 4}`);
  }
  if (M <= REG_GEMM_MAX_ROWS) return matmulVariant('reg-16x64-4x4');
  if (ceilDiv(M, 64) * ceilDiv(N, 64) >= GEMM_BIG_TILE_MIN_TILES) return matmulVariant('gemm-64x64-4x4');
  return matmulVariant('gemm-32x32-4x4');
}

/** A rule mapping a shape to a variant: chooseMatmulVariant, or a tuned table (src/gpu/autotune.ts). */
export type MatmulChooser = (M: number, N: number, K: number, profile?: DeviceProfile) => MatmulVariant;

let matmulChooser: MatmulChooser = chooseMatmulVariant;

/**
 * Sets the rule encodeMatmul uses when no variant is forced (the autotuner installs its table
 * here); undefined restores the default, chooseMatmulVariant.
 */
export function setMatmulChooser(chooser: MatmulChooser | undefined): void {
  matmulChooser = chooser ?? chooseMatmulVariant;
}

/** False for a variant that needs a feature this device lacks (the subgroup entry points); checkMatmulVariant refuses those. */
export function matmulVariantAvailable(device: GPUDevice, v: MatmulVariant): boolean {
  return !(v.kind === 'vec4' && v.subgroups) || device.features.has('subgroups' as GPUFeatureName);
}

/** Bounds of the kernels' private arrays: matmul.wgsl's MAX_T and matvec.wgsl's MAX_ROWS. */
const KERNEL_MAX_T = 8;
const KERNEL_MAX_ROWS = 8;
const KERNEL_MAX_REG = 4;

/**
 * Throws unless a (possibly hand-made) variant's constants fit the kernels and this device:
 * positive integers, TM, TN, ROWS within the kernels' register arrays, TPC a power of two, the
 * workgroup within maxComputeInvocationsPerWorkgroup and its tiles within workgroup memory.
 */
export function checkMatmulVariant(device: GPUDevice, v: MatmulVariant): void {
  const bad = (why: string) => new Error(`matmul variant "${v.name}": ${why}`);
  for (const [k, val] of Object.entries(v.constants)) {
    if (!Number.isInteger(val) || val <= 0) throw bad(`${k} must be a positive integer, got ${val}`);
  }
  let threads: number;
  let sharedBytes: number;
  if (v.kind === 'gemm') {
    const c = v.constants;
    if (c.TM > KERNEL_MAX_T || c.TN > KERNEL_MAX_T) throw bad(`TM and TN must be <= ${KERNEL_MAX_T}`);
    threads = c.WGX * c.WGY;
    sharedBytes = (c.WGY * c.TM + c.WGX * c.TN) * c.TK * 4;
  } else if (v.kind === 'reg') {
    const c = v.constants;
    if (c.TM > KERNEL_MAX_REG || c.TN > KERNEL_MAX_REG) throw bad(`TM and TN must be <= ${KERNEL_MAX_REG}`);
    threads = c.WGX * c.WGY;
    sharedBytes = 0;
  } else if (v.kind === 'vec4') {
    if (v.cols === undefined) {
      if (![1, 2, 4, 8].includes(v.rows)) throw bad(`rows must be 1, 2, 4 or 8 with 4 columns, got ${v.rows}`);
    } else if (!VEC4_BLOCKS.some(([r, c]) => r === v.rows && c === v.cols)) {
      throw bad(`rows x cols must be one of ${VEC4_BLOCKS.map(([r, c]) => `${r}x${c}`).join(', ')}, got ${v.rows}x${v.cols}`);
    }
    if (v.subgroups) {
      if (!matmulVariantAvailable(device, v)) throw bad("needs the 'subgroups' feature, which this device does not have");
      if (!VEC4_SG_BLOCKS.some(([r, c]) => r === v.rows && c === v.cols)) {
        throw bad(`the subgroup entry points hold rows x cols ${VEC4_SG_BLOCKS.map(([r, c]) => `${r}x${c}`).join(', ')}, got ${v.rows}x${v.cols ?? 4}`);
      }
      // Every thread of a workgroup on the same rows, and whole quads of lanes.
      if (v.constants.WGY !== 1 || v.constants.WGX % 4 !== 0) throw bad(`needs WGY = 1 and WGX a multiple of 4, got ${v.constants.WGX}x${v.constants.WGY}`);
    }
    threads = v.constants.WGX * v.constants.WGY;
    sharedBytes = 0;
  } else {
    const c = v.constants;
    if ((c.TPC & (c.TPC - 1)) !== 0) throw bad(`TPC must be a power of two, got ${c.TPC}`);
    if (c.ROWS > KERNEL_MAX_ROWS) throw bad(`ROWS must be <= ${KERNEL_MAX_ROWS}`);
    threads = c.TPC * c.COLS;
    // Two reduction arrays: the partial products and the fused norm's sums of squares.
    sharedBytes = 2 * c.ROWS * threads * 4;
  }
  const lim = device.limits;
  if (threads > lim.maxComputeInvocationsPerWorkgroup) {
    throw bad(`${threads} threads per workgroup exceed this device's ${lim.maxComputeInvocationsPerWorkgroup}`);
  }
  if (sharedBytes > lim.maxComputeWorkgroupStorageSize) {
    throw bad(`${sharedBytes} bytes of workgroup memory exceed this device's ${lim.maxComputeWorkgroupStorageSize}`);
  }
}

export interface MatmulOptions {
  /** (M, N), added to the product (y = x·wᵀ + residual); must be a buffer other than y. */
  residual?: GPUBuffer;
  /** Forces a variant (by object or name) instead of the current rule (chooseMatmulVariant by default). */
  variant?: MatmulVariant | MatmulVariantName;
  /**
   * The fused RMSNorm: each row of the product is scaled by 1 / sqrt(mean(x_row²) + eps), so that
   * y = rmsnorm(x, g) · wᵀ when w holds the norm's weight folded in (foldNormWeight). Saves the
   * norm's dispatch and its (M, K) round trip through memory.
   */
  norm?: { eps: number };
}

/** w(N, K) with the RMSNorm weight g(K) folded into its columns: w'[n, k] = w[n, k] · g[k] (for MatmulOptions.norm). */
export function foldNormWeight(w: Float32Array, g: Float32Array, N: number, K: number): Float32Array {
  if (g.length !== K || w.length !== N * K) throw new Error(`foldNormWeight: w has ${w.length} values and g ${g.length}; expected N·K = ${N}·${K} and K`);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    const o = n * K;
    for (let k = 0; k < K; k++) out[o + k] = w[o + k]! * g[k]!;
  }
  return out;
}

/** What encodeMatmul dispatched, for profiler labels and the kernel view. */
export interface MatmulDispatch {
  variant: MatmulVariant;
  kernel: 'matmul' | 'matvec' | 'matmul_reg' | 'matmul_vec4' | 'matmul_vec4_sg';
  entryPoint: string;
  workgroups: [number, number];
}

/** A vec4 variant's tile on matmul_reg (scalar loads, any K), which holds at most 4 rows a thread. */
function scalarKFallback(v: Vec4Variant): RegGemmVariant {
  const tm = Math.min(v.rows, 4);
  // 8 rows a thread become twice the rows of 4-row threads, 16 columns four times the columns of
  // 4-column threads: the same tile.
  const c = v.constants;
  return { kind: 'reg', name: `${v.name} (K % 4 != 0: on matmul_reg)`, constants: { WGX: (c.WGX * vec4Cols(v)) / 4, WGY: (c.WGY * v.rows) / tm, TM: tm, TN: 4 } };
}

/**
 * Records y(M, N) = x(M, K) · w(N, K)ᵀ [+ residual] into `pass` (one dispatch); with `norm`,
 * y = rmsnorm(x) · wᵀ [+ residual] (w holding the norm's weight, see foldNormWeight).
 * x: (M, K), w: (N, K) (out, in) row-major, y: (M, N); all f32.
 */
export function encodeMatmul(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  arena: UniformArena,
  x: GPUBuffer,
  w: GPUBuffer,
  y: GPUBuffer,
  M: number,
  N: number,
  K: number,
  opts: MatmulOptions = {},
): MatmulDispatch {
  const op = 'encodeMatmul';
  checkDims(op, { M, N, K });
  checkBuffer(op, 'x', x, M * K, `x (M=${M}, K=${K})`);
  checkBuffer(op, 'w', w, N * K, `w (N=${N}, K=${K})`);
  checkBuffer(op, 'y', y, M * N, `y (M=${M}, N=${N})`);
  const residual = opts.residual;
  if (residual) checkBuffer(op, 'residual', residual, M * N, `residual (M=${M}, N=${N})`);
  checkDistinct(op, ['y', y], ['x', x], ['w', w], ...(residual ? [['residual', residual] as [string, GPUBuffer]] : []));

  const asked =
    opts.variant === undefined
      ? matmulChooser(M, N, K, deviceProfile(device))
      : typeof opts.variant === 'string'
        ? matmulVariant(opts.variant)
        : opts.variant;
  checkMatmulVariant(device, asked);
  // The vec4 kernel reads whole vec4s of K; other K run the same tile on matmul_reg.
  const variant: MatmulVariant = asked.kind === 'vec4' && K % 4 !== 0 ? scalarKFallback(asked) : asked;

  let kernel: MatmulDispatch['kernel'];
  let entryPoint: string;
  let colTiles: number;
  let tiles: number;
  if (variant.kind === 'vec4') {
    const c = variant.constants;
    kernel = variant.subgroups ? 'matmul_vec4_sg' : 'matmul_vec4';
    entryPoint = variant.cols === undefined ? `main_r${variant.rows}` : `main_${variant.subgroups ? 'sg_' : ''}r${variant.rows}c${variant.cols}`;
    colTiles = ceilDiv(N, c.WGX * vec4Cols(variant));
    tiles = ceilDiv(M, c.WGY * variant.rows) * colTiles;
  } else if (variant.kind === 'gemm') {
    const c = variant.constants;
    kernel = 'matmul';
    entryPoint = 'main';
    colTiles = ceilDiv(N, c.WGX * c.TN);
    tiles = ceilDiv(M, c.WGY * c.TM) * colTiles;
  } else if (variant.kind === 'reg') {
    const c = variant.constants;
    kernel = 'matmul_reg';
    entryPoint = K % 4 === 0 ? 'main_vec4' : 'main';
    colTiles = ceilDiv(N, c.WGX * c.TN);
    tiles = ceilDiv(M, c.WGY * c.TM) * colTiles;
  } else {
    const c = variant.constants;
    kernel = 'matvec';
    entryPoint = K % 4 === 0 ? 'main_vec4' : 'main';
    colTiles = ceilDiv(N, c.COLS);
    tiles = ceilDiv(M, c.ROWS) * colTiles;
  }
  const norm = opts.norm;
  if (norm && !(Number.isFinite(norm.eps) && norm.eps >= 0)) throw new Error(`${op}: norm.eps must be a finite number >= 0, got ${norm.eps}`);
  const p = getPipeline(device, kernel, norm ? { ...variant.constants, NORM: 1 } : { ...variant.constants }, entryPoint);
  const [gx, gy] = dispatch1d(tiles);
  const params = arena.alloc('uuuuuuuf', [M, N, K, colTiles, tiles, gx, residual ? 1 : 0, norm?.eps ?? 0]);
  pass.setPipeline(p);
  // Without a residual the kernel never reads binding 2; x stands in (a second read-only binding).
  pass.setBindGroup(0, bindBuffers(device, p, [x, w, residual ?? x, y, params], `${kernel}:${variant.name}`));
  pass.dispatchWorkgroups(gx, gy);
  return { variant, kernel, entryPoint, workgroups: [gx, gy] };
}
