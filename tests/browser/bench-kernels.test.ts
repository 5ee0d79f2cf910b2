// `npm run bench:kernels -- --browser` with the smallest sizes: the bench's own browser run
// (its dev server, headless Chromium, the kernel view driven through its buttons, the report of
// its "Download JSON") returns a KernelReport whose matmul rows carry ORT WebGPU times where the
// peer exists, whose decode figures are finite, and whose tables and summary print.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromiumPath, ROOT } from '../helpers/browser.js';
import { kernelBenchOptions } from '../../bench/kernel-options.js';
import { runBrowserKernelBench } from '../../bench/kernels-browser.js';
import { reportLines } from '../../bench/kernel-tables.js';

const HAVE_CHROMIUM = chromiumPath() !== undefined;
const HAVE_ORT_PEER = existsSync(`${ROOT}src/ort/peer.ts`);
const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

describe.skipIf(!HAVE_CHROMIUM)('bench:kernels --browser (Chromium, WebGPU)', () => {
  it('runs the kernel view at batch 1 and returns the report with ORT WebGPU beside ours', async () => {
    const opts = kernelBenchOptions({ browser: true, batches: '1', 'decode-batches': '1', 'target-ms': '5', variants: 'default', 'timeout-s': '150' });
    const progress: string[] = [];
    const r = await runBrowserKernelBench(opts, { progress: (l) => progress.push(l) });
    const msg = progress.join('\n');

    expect(r.adapter, msg).toBeTruthy();
    expect(finite(r.peak?.gflops) && finite(r.peak?.gbs)).toBe(true);
    expect(r.matmul.length).toBe(5); // mx-tiny's 5 distinct (N, K) at M = 1
    for (const m of r.matmul) {
      expect(m.m).toBe(1);
      for (const key of ['n', 'k', 'ours_ms', 'fraction_of_peak'] as const) expect(finite(m[key]), `${key} ${JSON.stringify(m)}`).toBe(true);
      expect(m.correct).toBe(true);
      expect(m).toHaveProperty('ort_ms');
      expect(m).toHaveProperty('ratio_ort_over_ours');
      if (HAVE_ORT_PEER) {
        expect(m.ort_backend, r.ort.note).toBe('webgpu');
        expect(finite(m.ort_ms) && finite(m.ratio_ort_over_ours), r.ort.note).toBe(true);
      }
    }
    expect(r.kernels.length).toBeGreaterThan(0);

    const d = r.decode!;
    expect(d, msg).not.toBeNull();
    expect(d.steps.map((s) => s.batch)).toEqual([1]);
    expect(finite(d.ours_tokens_per_s) && d.ours_tokens_per_s > 0).toBe(true);
    expect(finite(d.ours_batch16_over_batch1)).toBe(true);
    if (HAVE_ORT_PEER) {
      expect(d.ort_backend, d.ort_note).toBe('webgpu');
      expect(finite(d.ort_tokens_per_s) && finite(d.ratio_ours_over_ort), d.ort_note).toBe(true);
    } else {
      expect(d.ort_tokens_per_s).toBeNull();
      expect(d.ort_note).toContain('onnxruntime-web peer not available');
    }
    expect(progress.filter((l) => /console error/.test(l))).toEqual([]);

    const lines = reportLines(r);
    expect(lines.some((l) => l.startsWith('Matmul y(M,N)'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^summary: matmul ORT\/ours >= 1\.0x on \d of 5 shapes/);
  }, 180_000);
});

describe.skipIf(HAVE_CHROMIUM)('bench:kernels --browser', () => {
  it.skip('skipped: no Chromium found (set MULTIPLEX_CHROMIUM or apt-get install chromium)', () => {});
});
