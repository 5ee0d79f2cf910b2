// The tables of `npm run bench:kernels`, from a KernelReport (src/workers/kernel-report.ts), and
// the summary of the kernel targets as ratios. Both modes print through these: the Node mode
// section by section as it measures, the browser mode (--browser) from the report the kernel
// view produced. Each function returns the lines; nothing here touches a GPU.
import { ORT_MATMUL_BATCHES, type KernelReport, type MatmulRow } from '../src/workers/kernel-report.js';

const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)}%`);
const pad = (s: string, n: number) => (s.length >= n ? s : s.padStart(n));
const padEnd = (s: string, n: number) => (s.length >= n ? s : s.padEnd(n));
const times = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${f(x)}x`);

export interface HeaderOptions {
  /** Where it ran, e.g. "in Chromium (headless)"; nothing for Node. */
  where?: string;
  /** Time since the start, e.g. "12 s". */
  elapsed?: string;
  /** How the FMA peak was measured, e.g. "FMA, 4096 threads x 1024 iterations" (default "FMA"). */
  peakDetail?: string;
}

/** Title, timing source and the measured peaks. */
export function headerLines(r: KernelReport, o: HeaderOptions = {}): string[] {
  const p = r.peak;
  return [
    '',
    `Kernel lab on ${r.adapter}, ${r.model}${o.where ? ` ${o.where}` : ''}${o.elapsed ? ` — ${o.elapsed}` : ''}`,
    `timing: ${r.timing_source === 'timestamp' ? 'GPU timestamp queries, median per dispatch, warm-up excluded' : 'wall time (no timestamp-query), median per dispatch'}`,
    p
      ? `peak: ${f(p.gflops)} GFLOPS (${o.peakDetail ?? 'FMA'}), ${f(p.gbs)} GB/s (copy ${f(p.copy_gbs)}, read ${f(p.read_gbs)}), ridge ${f(p.ridge)} FLOP/byte`
      : 'peak: not measured',
  ];
}

/** The matmul table (ours vs the default rule and ORT), failed checks, the autotuner, variants side by side. */
export function matmulLines(r: KernelReport): string[] {
  const rows = r.matmul;
  const out = [
    '',
    'Matmul y(M,N) = x(M,K)·w(N,K)ᵀ, every variant valid for the shape; "best (ours)" = the fastest that passed its check',
    '(median of 5-30 samples; a variant over 3x slower than the best after one run is timed once and cannot win)',
    `${padEnd('weights', 16)} ${pad('M', 4)} ${pad('N', 5)} ${pad('K', 5)} ${padEnd(' default', 16)} ${pad('ms', 8)} ${padEnd(' best (ours)', 16)} ${pad('ms', 8)} ${pad('best/def', 8)} ${pad('GFLOPS', 7)} ${pad('GB/s', 7)} ${pad('of peak', 8)} ${pad('bound', 7)} ${pad('ok', 3)} ${pad('ORT ms', 8)} ${pad('ORT/ours', 8)}`,
  ];
  for (const m of rows) {
    out.push(
      `${padEnd(m.name, 16)} ${pad(String(m.m), 4)} ${pad(String(m.n), 5)} ${pad(String(m.k), 5)} ${padEnd(' ' + m.default_variant, 16)} ${pad(f(m.default_ms, 3), 8)} ${padEnd(' ' + (m.ours_variant ?? '—'), 16)} ${pad(f(m.ours_ms, 3), 8)} ${pad(times(m.tuned_over_default), 8)} ${pad(f(m.gflops), 7)} ${pad(f(m.gbs), 7)} ${pad(pct(m.fraction_of_peak), 8)} ${pad(m.bound, 7)} ${pad(m.correct ? '✓' : '✗', 3)} ${pad(f(m.ort_ms, 3), 8)} ${pad(times(m.ratio_ort_over_ours), 8)}`,
    );
  }
  const failures = rows.flatMap((m) =>
    m.variants.filter((v) => !v.correct).map((v) => `${v.variant} at M=${m.m} N=${m.n} K=${m.k}: ${v.error ?? `error ratio ${f(v.error_ratio)}`}`),
  );
  if (failures.length) out.push(`FAILED checks:\n  ${failures.join('\n  ')}`);
  if (r.autotune) {
    out.push(
      `autotuner: ${r.autotune.differ_from_default} of ${rows.length} shapes run faster with a variant other than the default rule's; table saved to ${r.autotune.storage}`,
    );
  }
  out.push(`onnxruntime-web: ${r.ort.note}`);

  // Variants side by side at each M (GFLOPS summed over the model's shapes at that M: time-weighted).
  out.push('', 'Variants side by side: GFLOPS over all shapes at each M (total FLOPs / total time; — not run)');
  const batches = [...new Set(rows.map((m) => m.m))];
  const names = [...new Set(rows.flatMap((m) => m.variants.map((v) => v.variant)))];
  out.push(`${padEnd('variant', 16)} ${batches.map((b) => pad(`M=${b}`, 8)).join(' ')}`);
  for (const name of names) {
    const cells = batches.map((b) => {
      let flops = 0;
      let ms = 0;
      for (const m of rows.filter((x) => x.m === b)) {
        const v = m.variants.find((x) => x.variant === name);
        if (!v || v.ms === null || !Number.isFinite(v.ms)) return pad('—', 8);
        flops += 2 * m.m * m.n * m.k;
        ms += v.ms;
      }
      return pad(f(flops / (ms * 1e6)), 8);
    });
    out.push(`${padEnd(name, 16)} ${cells.join(' ')}`);
  }
  return out;
}

/** The other kernels of a step. */
export function kernelLines(r: KernelReport): string[] {
  const out = [
    '',
    'Other kernels of a step (fraction of the roofline; pure copies: of the bandwidth)',
    `${padEnd('kernel', 17)} ${padEnd('shape', 40)} ${padEnd('variant', 8)} ${pad('ms', 8)} ${pad('GFLOPS', 7)} ${pad('GB/s', 7)} ${pad('of peak', 8)} ${pad('ok', 3)}`,
  ];
  for (const k of r.kernels) {
    out.push(
      `${padEnd(k.kernel, 17)} ${padEnd(k.shape, 40)} ${padEnd(k.variant + (k.is_default && k.variant !== 'default' ? '*' : ''), 8)} ${pad(f(k.ms, 3), 8)} ${pad(f(k.gflops), 7)} ${pad(f(k.gbs), 7)} ${pad(pct(k.fraction_of_peak), 8)} ${pad(k.correct ? '✓' : '✗', 3)}${k.error ? `  ${k.error}` : ''}`,
    );
  }
  out.push('(* the variant the engine uses)');
  return out;
}

/** A decode step's time per kernel at each batch size, and decode tokens/s (ours, ORT). */
export function decodeLines(r: KernelReport): string[] {
  const d = r.decode;
  if (!d) return [];
  const out = [
    '',
    `Decode step, time per kernel (${d.steps[0]?.source === 'timestamp' ? 'GPU timestamps, one timed pass per kernel' : 'wall time: no per-kernel split'}${d.tuned ? ', tuned matmul table' : ', default matmul rule'})`,
  ];
  const labels = [...new Set(d.steps.flatMap((s) => s.kernels.map((k) => k.label)))];
  out.push(`${padEnd('kernel', 20)} ${d.steps.map((s) => pad(`batch ${s.batch}`, 18)).join(' ')}`);
  for (const label of labels) {
    const cells = d.steps.map((s) => {
      const k = s.kernels.find((x) => x.label === label);
      return pad(k ? `${pct(k.share)} ${f(k.ms, 2)} ms` : '—', 18);
    });
    out.push(`${padEnd(label, 20)} ${cells.join(' ')}`);
  }
  out.push(`${padEnd('step (GPU time)', 20)} ${d.steps.map((s) => pad(`${f(s.stepMs, 2)} ms`, 18)).join(' ')}`);
  out.push(`${padEnd('dispatches/step', 20)} ${d.steps.map((s) => pad(String(s.dispatches), 18)).join(' ')}`);
  out.push(
    `decode tokens/s: batch 1 ${f(d.ours_tokens_per_s, 1)}, batch 16 ${f(d.ours_batch16_tokens_per_s, 1)} ` +
      `(batch 16 / batch 1 = ${times(d.ours_batch16_over_batch1)})` +
      (d.ort_tokens_per_s !== null
        ? `; onnxruntime-web (${d.ort_backend}) batch 1 ${f(d.ort_tokens_per_s, 1)} (ours / ORT = ${times(d.ratio_ours_over_ort)})`
        : `; onnxruntime-web: ${d.ort_note ?? r.ort.note}`),
  );
  return out;
}

// ------------------------------------------------------------------------------------------------
// The targets, as ratios.

/** The issue's targets: ORT/ours matmul time at M = 1, 16, 64, 256; decode ours/ORT at batch 1; batch 16 over batch 1. */
export const KERNEL_TARGETS = { matmulOrtOverOurs: 1.0, decodeOursOverOrt: 1.5, batch16OverBatch1: 8 } as const;

export interface RatioTarget {
  value: number | null;
  target: number;
  /** null: not measured. */
  met: boolean | null;
}

export interface ShapeRatio {
  name: string;
  m: number;
  n: number;
  k: number;
  /** ratio_ort_over_ours; null where ORT has no time for the shape. */
  ratio: number | null;
}

export interface TargetSummary {
  matmul: {
    batches: readonly number[];
    /** Shapes measured at those batch sizes. */
    shapes: number;
    /** Of them, with ratio_ort_over_ours >= the target. */
    met: number;
    below: ShapeRatio[];
    /** Shapes without an ORT time. */
    missing: ShapeRatio[];
    target: number;
    /** true: every shape met it; false: one or more is below; null: no shapes, or none below but some without ORT. */
    allMet: boolean | null;
  };
  decodeOverOrt: RatioTarget;
  batch16OverBatch1: RatioTarget;
}

const finite = (x: number | null | undefined): number | null => (x !== null && x !== undefined && Number.isFinite(x) ? x : null);

function ratioTarget(value: number | null | undefined, target: number): RatioTarget {
  const v = finite(value);
  return { value: v, target, met: v === null ? null : v >= target };
}

/** Where a report stands against KERNEL_TARGETS. */
export function targetSummary(r: Pick<KernelReport, 'matmul' | 'decode'>): TargetSummary {
  const batches = ORT_MATMUL_BATCHES;
  const target = KERNEL_TARGETS.matmulOrtOverOurs;
  const rows = r.matmul.filter((m: MatmulRow) => (batches as readonly number[]).includes(m.m));
  const ratios: ShapeRatio[] = rows.map((m) => ({ name: m.name, m: m.m, n: m.n, k: m.k, ratio: finite(m.ratio_ort_over_ours) }));
  const below = ratios.filter((x) => x.ratio !== null && x.ratio < target);
  const missing = ratios.filter((x) => x.ratio === null);
  const met = ratios.length - below.length - missing.length;
  return {
    matmul: {
      batches,
      shapes: ratios.length,
      met,
      below,
      missing,
      target,
      allMet: below.length > 0 ? false : ratios.length > 0 && missing.length === 0 ? true : null,
    },
    decodeOverOrt: ratioTarget(r.decode?.ratio_ours_over_ort, KERNEL_TARGETS.decodeOursOverOrt),
    batch16OverBatch1: ratioTarget(r.decode?.ours_batch16_over_batch1, KERNEL_TARGETS.batch16OverBatch1),
  };
}

const mark = (met: boolean | null) => (met === null ? '—' : met ? '✓' : '✗');
const shape = (x: ShapeRatio) => `${x.name} M=${x.m} N=${x.n} K=${x.k}`;

/** The summary line (and, below it, the shapes that miss the matmul target). */
export function targetLines(s: TargetSummary): string[] {
  const m = s.matmul;
  const at = `M = ${m.batches.join(', ')}`;
  const matmul =
    m.shapes === 0
      ? `matmul ORT/ours: no shapes measured at ${at} —`
      : `matmul ORT/ours >= ${f(m.target, 1)}x on ${m.met} of ${m.shapes} shapes at ${at}` +
        (m.missing.length ? ` (${m.missing.length} without an ORT time)` : '') +
        ` ${mark(m.allMet)}`;
  const decode = (label: string, t: RatioTarget) => `${label} ${times(t.value)} (target ${f(t.target, 1)}x) ${mark(t.met)}`;
  const out = [
    '',
    'Targets (ratios; ✓ met, ✗ not met, — not measured)',
    `summary: ${matmul}; ${decode('decode ours/ORT at batch 1', s.decodeOverOrt)}; ${decode('decode batch 16 / batch 1', s.batch16OverBatch1)}`,
  ];
  if (m.below.length) out.push(`  matmul below ${f(m.target, 1)}x: ${m.below.map((x) => `${shape(x)} ${times(x.ratio)}`).join('; ')}`);
  if (m.missing.length) out.push(`  matmul without an ORT time: ${m.missing.map(shape).join('; ')}`);
  return out;
}

/** Every section of a finished report, in the order the Node mode prints them. */
export function reportLines(r: KernelReport, o: HeaderOptions = {}): string[] {
  return [
    ...headerLines(r, o),
    ...(r.matmul.length ? matmulLines(r) : []),
    ...(r.kernels.length ? kernelLines(r) : []),
    ...decodeLines(r),
    ...targetLines(targetSummary(r)),
  ];
}
