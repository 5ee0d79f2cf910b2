// The kernel lab's report: what `npm run bench:kernels -- --out FILE` writes and what the kernel
// worker sends to the kernel view. Field names are snake_case because they are the JSON format.
// ratio_ort_over_ours = ort_ms / ours_ms: above 1 our kernel is faster than onnxruntime-web's.
//
// onnxruntime-web is reached through an optional peer module (src/ort/peer.ts) with the hooks of
// OrtPeerHooks; where it cannot be loaded every ORT field is null and `ort.note` says why.
import type { KernelResult, MatmulShapeResult, ModelDims } from '../gpu/kernel-bench.js';
import type { PeakResult } from '../gpu/peak.js';
import type { Model } from '../model/config.js';
import type { StepBreakdown } from './kernel-step.js';

export const ORT_UNAVAILABLE = 'onnxruntime-web peer not available';

/** One matmul shape with "ours" = the fastest correct variant (what the autotuner picks). */
export interface MatmulRow {
  name: string;
  m: number;
  n: number;
  k: number;
  ours_ms: number | null;
  ours_variant: string | null;
  default_variant: string;
  default_ms: number | null;
  /** default_ms / ours_ms: what tuning gains over the default rule on this shape. */
  tuned_over_default: number | null;
  gflops: number | null;
  gbs: number | null;
  arithmetic_intensity: number;
  bound: 'memory' | 'compute';
  fraction_of_peak: number | null;
  /** Every variant passed its check against the CPU reference. */
  correct: boolean;
  timing: 'timestamp' | 'wall';
  ort_ms: number | null;
  ort_timing: string | null;
  ort_backend: string | null;
  ratio_ort_over_ours: number | null;
  variants: VariantRow[];
}

export interface VariantRow {
  variant: string;
  is_default: boolean;
  ms: number | null;
  gflops: number | null;
  gbs: number | null;
  fraction_of_peak: number | null;
  correct: boolean;
  error_ratio: number | null;
  /** Timed once only: its first run was several times slower than the best variant's. */
  pruned?: boolean;
  error?: string;
}

export interface KernelRow {
  kernel: string;
  name: string;
  shape: string;
  variant: string;
  is_default: boolean;
  ms: number | null;
  gflops: number | null;
  gbs: number | null;
  arithmetic_intensity: number;
  bound: 'memory' | 'compute';
  fraction_of_peak: number | null;
  correct: boolean;
  tolerance: string;
  error?: string;
}

export interface DecodeReport {
  /** Decode tokens/s at batch 1 (our engine as it runs: default rule unless a tuned table is installed). */
  ours_tokens_per_s: number;
  ours_batch16_tokens_per_s: number | null;
  /** Aggregate tokens/s at batch 16 over batch 1. */
  ours_batch16_over_batch1: number | null;
  ort_tokens_per_s: number | null;
  ort_backend: string | null;
  /** ours_tokens_per_s / ort_tokens_per_s. */
  ratio_ours_over_ort: number | null;
  /** Why ort_tokens_per_s is null (skipped, peer not available, or its run failed), where known. */
  ort_note?: string;
  /** Whether the autotuned matmul table was installed while measuring. */
  tuned: boolean;
  steps: StepBreakdown[];
}

/**
 * The decode section from our batch-1 and batch-16 rates and, where it ran, the peer's batch-1
 * rate (else `ortNote` says why not).
 */
export function decodeReport(
  b1: number,
  b16: number,
  ort: { ort_tokens_per_s: number; backend?: string | null } | undefined,
  ortNote: string,
  tuned: boolean,
  steps: StepBreakdown[],
): DecodeReport {
  return {
    ours_tokens_per_s: b1,
    ours_batch16_tokens_per_s: b16,
    ours_batch16_over_batch1: b16 / b1,
    ort_tokens_per_s: ort?.ort_tokens_per_s ?? null,
    ort_backend: ort?.backend ?? null,
    ratio_ours_over_ort: ort ? b1 / ort.ort_tokens_per_s : null,
    ...(ort ? {} : { ort_note: ortNote }),
    tuned,
    steps,
  };
}

export interface KernelReport {
  adapter: string;
  adapter_key: string;
  software: boolean;
  model: string;
  model_dims: ModelDims;
  generated_at: string;
  timing_source: 'timestamp' | 'wall';
  peak: {
    gflops: number;
    gbs: number;
    copy_gbs: number;
    read_gbs: number;
    ridge: number;
    source: 'timestamp' | 'wall';
  } | null;
  matmul: MatmulRow[];
  kernels: KernelRow[];
  decode: DecodeReport | null;
  ort: { available: boolean; note: string; backend: string | null; version: string | null };
  autotune: { storage: string; shapes: number; differ_from_default: number } | null;
}

// ------------------------------------------------------------------------------------------------
// The peer's hooks (src/ort/peer.ts exports them; any may be missing).

export interface OrtMatmulTiming {
  m: number;
  n: number;
  k: number;
  ort_ms: number | null;
  /** 'gpu-timestamps' or 'wall'. */
  timing?: string;
  backend?: string;
}

export interface OrtPeerHooks {
  measureOrtMatmul?(
    shapes: { m: number; n: number; k: number }[],
    options?: { runs?: number; warmup?: number },
  ): Promise<OrtMatmulTiming[]>;
  measureOrtDecode?(model: Model, options: { steps: number }): Promise<{ ort_tokens_per_s: number; backend?: string }>;
  available?(): Promise<{ backend: string; ok: boolean; reason?: string; version: string }>;
}

/** Checks a dynamically imported module for the hooks; a reason string when it has none. */
export function asOrtPeer(mod: unknown): OrtPeerHooks | string {
  const m = mod as Record<string, unknown> | undefined;
  if (!m || (typeof m.measureOrtMatmul !== 'function' && typeof m.measureOrtDecode !== 'function')) {
    return `${ORT_UNAVAILABLE}: src/ort/peer.ts exports neither measureOrtMatmul nor measureOrtDecode`;
  }
  return m as OrtPeerHooks;
}

// ------------------------------------------------------------------------------------------------
// Conversions from the bench library's results.

const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function peakRow(p: PeakResult): NonNullable<KernelReport['peak']> {
  return { gflops: p.gflops, gbs: p.gbs, copy_gbs: p.copyGbs, read_gbs: p.readGbs, ridge: p.ridge, source: p.source };
}

export function matmulRow(r: MatmulShapeResult, timing: 'timestamp' | 'wall'): MatmulRow {
  const def = r.variants.find((v) => v.isDefault);
  const best = r.best;
  return {
    name: r.name,
    m: r.m,
    n: r.n,
    k: r.k,
    ours_ms: best ? best.ms : null,
    ours_variant: best?.variant ?? null,
    default_variant: r.defaultVariant,
    default_ms: def ? num(def.ms) : null,
    tuned_over_default: best && def ? num(def.ms / best.ms) : null,
    gflops: best ? best.gflops : null,
    gbs: best ? best.gbs : null,
    arithmetic_intensity: (2 * r.m * r.n * r.k) / (4 * (r.m * r.k + r.n * r.k + r.m * r.n)),
    bound: best?.bound ?? 'memory',
    fraction_of_peak: best ? num(best.fraction) : null,
    correct: r.variants.every((v) => v.correct),
    timing,
    ort_ms: null,
    ort_timing: null,
    ort_backend: null,
    ratio_ort_over_ours: null,
    variants: r.variants.map((v) => ({
      variant: v.variant,
      is_default: v.isDefault,
      ms: num(v.ms),
      gflops: num(v.gflops),
      gbs: num(v.gbs),
      fraction_of_peak: num(v.fraction),
      correct: v.correct,
      error_ratio: num(v.errorRatio),
      ...(v.pruned ? { pruned: true } : {}),
      ...(v.error ? { error: v.error } : {}),
    })),
  };
}

export function kernelRow(r: KernelResult): KernelRow {
  return {
    kernel: r.kernel,
    name: r.name,
    shape: r.shape,
    variant: r.variant,
    is_default: r.isDefault,
    ms: num(r.ms),
    gflops: r.flops > 0 ? num(r.gflops) : null,
    gbs: num(r.gbs),
    arithmetic_intensity: r.intensity,
    bound: r.bound,
    fraction_of_peak: num(r.fraction),
    correct: r.correct,
    tolerance: r.tolerance,
    ...(r.error ? { error: r.error } : {}),
  };
}

/** Fills the ORT columns of the matmul rows from the peer's timings (matched by m, n, k). */
export function mergeOrtMatmul(rows: MatmulRow[], timings: readonly OrtMatmulTiming[]): void {
  for (const t of timings) {
    for (const r of rows) {
      if (r.m !== t.m || r.n !== t.n || r.k !== t.k) continue;
      r.ort_ms = t.ort_ms !== null && Number.isFinite(t.ort_ms) ? t.ort_ms : null;
      r.ort_timing = t.timing ?? null;
      r.ort_backend = t.backend ?? null;
      r.ratio_ort_over_ours = r.ort_ms !== null && r.ours_ms !== null ? r.ort_ms / r.ours_ms : null;
    }
  }
}

/** The ORT comparison covers these batch sizes (the targets: M = 1, 16, 64, 256). */
export const ORT_MATMUL_BATCHES = [1, 16, 64, 256] as const;
