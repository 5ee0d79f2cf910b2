// bench:kernels without a GPU: the targets summary (met, not met, missing ORT figures), the
// options of both modes, and the kernel view URL the browser mode opens (read back by the view's
// own parser).
import { describe, expect, it } from 'vitest';
import { KERNEL_TARGETS, reportLines, targetLines, targetSummary } from '../../bench/kernel-tables.js';
import { kernelBenchOptions } from '../../bench/kernel-options.js';
import { kernelViewQuery } from '../../bench/kernels-browser.js';
import { parseKernelSettings } from '../../src/ui/kernel-controller.js';
import { UsageError } from '../../src/cli/args.js';
import type { DecodeReport, KernelReport, MatmulRow } from '../../src/workers/kernel-report.js';

function row(m: number, n: number, k: number, ratio: number | null): MatmulRow {
  const ours = 1;
  return {
    name: `w${n}x${k}`, m, n, k,
    ours_ms: ours, ours_variant: 'matvec-t4-r1', default_variant: 'matvec-t4-r1', default_ms: ours, tuned_over_default: 1,
    gflops: 1, gbs: 1, arithmetic_intensity: 0.5, bound: 'memory', fraction_of_peak: 0.1, correct: true, timing: 'timestamp',
    ort_ms: ratio === null ? null : ratio * ours, ort_timing: ratio === null ? null : 'gpu-timestamps', ort_backend: ratio === null ? null : 'webgpu',
    ratio_ort_over_ours: ratio,
    variants: [{ variant: 'matvec-t4-r1', is_default: true, ms: ours, gflops: 1, gbs: 1, fraction_of_peak: 0.1, correct: true, error_ratio: 0.01 }],
  };
}

function decode(ours: number, ort: number | null, b16: number | null): DecodeReport {
  return {
    ours_tokens_per_s: ours,
    ours_batch16_tokens_per_s: b16 === null ? null : b16 * ours,
    ours_batch16_over_batch1: b16,
    ort_tokens_per_s: ort,
    ort_backend: ort === null ? null : 'webgpu',
    ratio_ours_over_ort: ort === null ? null : ours / ort,
    ...(ort === null ? { ort_note: 'onnxruntime-web peer not available: skipped' } : {}),
    tuned: false,
    steps: [],
  };
}

function report(matmul: MatmulRow[], d: DecodeReport | null): KernelReport {
  return {
    adapter: 'test adapter', adapter_key: 'k', software: true, model: 'm', model_dims: { dim: 96, hiddenDim: 256, nHeads: 4, nKvHeads: 2, vocabSize: 768, seqLen: 128 },
    generated_at: '', timing_source: 'timestamp', peak: { gflops: 10, gbs: 2, copy_gbs: 2, read_gbs: 1, ridge: 5, source: 'timestamp' },
    matmul, kernels: [], decode: d, ort: { available: true, note: 'onnxruntime-web 1.30.0 on its webgpu backend', backend: 'webgpu', version: '1.30.0' }, autotune: null,
  };
}

describe('kernel targets summary', () => {
  it('counts every shape at M = 1, 16, 64, 256 with ORT/ours >= 1 and meets the decode targets', () => {
    const rows = [row(1, 96, 96, 2.5), row(4, 96, 96, 0.2), row(16, 96, 96, 1), row(64, 96, 96, 1.3), row(256, 96, 96, 4)];
    const s = targetSummary(report(rows, decode(60, 30, 9)));
    expect(s.matmul.shapes).toBe(4); // M = 4 is not a target batch
    expect(s.matmul.met).toBe(4);
    expect(s.matmul.allMet).toBe(true);
    expect(s.matmul.below).toEqual([]);
    expect(s.decodeOverOrt).toEqual({ value: 2, target: KERNEL_TARGETS.decodeOursOverOrt, met: true });
    expect(s.batch16OverBatch1).toEqual({ value: 9, target: 8, met: true });
    const lines = targetLines(s);
    expect(lines.find((l) => l.startsWith('summary: '))).toBe(
      'summary: matmul ORT/ours >= 1.0x on 4 of 4 shapes at M = 1, 16, 64, 256 ✓; decode ours/ORT at batch 1 2.00x (target 1.5x) ✓; decode batch 16 / batch 1 9.00x (target 8.0x) ✓',
    );
  });

  it('lists the shapes below the target and says which decode targets are missed', () => {
    const rows = [row(1, 96, 96, 0.8), row(1, 256, 96, 1.2), row(64, 768, 96, 0.5)];
    const s = targetSummary(report(rows, decode(30, 25, 5)));
    expect(s.matmul.met).toBe(1);
    expect(s.matmul.allMet).toBe(false);
    expect(s.matmul.below.map((x) => [x.m, x.n, x.ratio])).toEqual([[1, 96, 0.8], [64, 768, 0.5]]);
    expect(s.decodeOverOrt.met).toBe(false);
    expect(s.batch16OverBatch1.met).toBe(false);
    const text = targetLines(s).join('\n');
    expect(text).toContain('on 1 of 3 shapes at M = 1, 16, 64, 256 ✗');
    expect(text).toContain('decode ours/ORT at batch 1 1.20x (target 1.5x) ✗');
    expect(text).toContain('decode batch 16 / batch 1 5.00x (target 8.0x) ✗');
    expect(text).toContain('matmul below 1.0x: w96x96 M=1 N=96 K=96 0.80x; w768x96 M=64 N=768 K=96 0.50x');
  });

  it('reports missing ORT figures as not measured, neither met nor missed', () => {
    const rows = [row(1, 96, 96, null), row(16, 96, 96, 1.5)];
    const s = targetSummary(report(rows, decode(30, null, null)));
    expect(s.matmul).toMatchObject({ shapes: 2, met: 1, allMet: null });
    expect(s.matmul.missing.map((x) => x.m)).toEqual([1]);
    expect(s.decodeOverOrt).toEqual({ value: null, target: 1.5, met: null });
    expect(s.batch16OverBatch1.met).toBeNull();
    const text = targetLines(s).join('\n');
    expect(text).toContain('on 1 of 2 shapes at M = 1, 16, 64, 256 (1 without an ORT time) —');
    expect(text).toContain('decode ours/ORT at batch 1 — (target 1.5x) —');
    expect(text).toContain('matmul without an ORT time: w96x96 M=1 N=96 K=96');

    // No decode and no target shapes at all.
    const none = targetSummary(report([row(4, 96, 96, 3)], null));
    expect(none.matmul).toMatchObject({ shapes: 0, met: 0, allMet: null });
    expect(targetLines(none).join('\n')).toContain('matmul ORT/ours: no shapes measured at M = 1, 16, 64, 256 —');
  });

  it('prints every section of a report, the summary last', () => {
    const lines = reportLines(report([row(1, 96, 96, 2)], decode(30, 10, 6)));
    const text = lines.join('\n');
    expect(text).toContain('Kernel lab on test adapter, m');
    expect(text).toContain('ORT/ours');
    expect(text).toContain('onnxruntime-web (webgpu) batch 1 10.0 (ours / ORT = 3.00x)');
    expect(lines.at(-1)).toMatch(/^summary: /);
  });
});

describe('bench:kernels options', () => {
  it('has the Node defaults, and --browser maps them to the kernel view URL', () => {
    const node = kernelBenchOptions({});
    expect(node).toMatchObject({ batches: [1, 4, 16, 64, 256], decodeBatches: [1, 16, 64], variants: 'all', targetMs: 40, ops: true, decode: true, ort: true, browser: false });

    const o = kernelBenchOptions({ browser: true, batches: '1,16', 'decode-batches': '1', 'target-ms': '5', variants: 'default', 'no-ort': true, 'timeout-s': '60' });
    expect(o).toMatchObject({ browser: true, batches: [1, 16], decodeBatches: [1], targetMs: 5, variants: 'default', ort: false, timeoutS: 60 });
    const { settings, errors } = parseKernelSettings(kernelViewQuery(o, { checkpoint: '/@fs/m/model.bin', tokenizer: '/@fs/m/tok.bin' }));
    expect(errors).toEqual([]);
    expect(settings).toMatchObject({ batches: [1, 16], decodeBatches: [1], targetMs: 5, variants: 'default', ort: false });
    expect(settings.model).toEqual({ name: 'model.bin', checkpoint: '/@fs/m/model.bin', tokenizer: '/@fs/m/tok.bin' });
    expect(parseKernelSettings(kernelViewQuery(kernelBenchOptions({ browser: true }))).settings).toMatchObject({ ort: true, targetMs: 40 });
  });

  it('rejects bad and conflicting values with one-line usage errors', () => {
    const bad: Record<string, string | boolean>[] = [
      { batches: '1,x' },
      { variants: 'some' },
      { model: 'a.bin' },
      { 'target-ms': '0' },
      { browser: true, batches: '2048' },
      { browser: true, tuned: true },
      { browser: true, cache: '/tmp/c.json' },
      { browser: true, 'timeout-s': '0' },
      { 'timeout-s': '60' },
    ];
    for (const v of bad) {
      expect(() => kernelBenchOptions(v), JSON.stringify(v)).toThrow(UsageError);
      try {
        kernelBenchOptions(v);
      } catch (e) {
        expect((e as Error).message).not.toContain('\n');
      }
    }
  });
});
