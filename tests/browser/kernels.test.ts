// The kernel view in Chromium with WebGPU (SwiftShader here): it measures the device's peaks,
// runs the matmul benchmark on the shipped model's shapes (M = 1 and 16, every variant valid for
// them), and shows GFLOPS, fraction of peak and a passed correctness check for every shape, with
// onnxruntime-web's times beside ours where its peer (src/ort/peer.ts) exists, or the note that
// it is not available.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromiumPath, ROOT, useBrowserApp } from '../helpers/browser.js';

const HAVE_CHROMIUM = chromiumPath() !== undefined;
const HAVE_ORT_PEER = existsSync(`${ROOT}src/ort/peer.ts`);

describe.skipIf(!HAVE_CHROMIUM)('kernel view (Chromium, WebGPU)', () => {
  const app = useBrowserApp();

  it('measures the peaks, runs the matmul benchmark and shows GFLOPS, fraction of peak and the ORT comparison', async () => {
    const page = await app.browser.newPage({ viewport: { width: 1400, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const view = (sel: string) => page.locator(`mx-kernel-view ${sel}`);
    await page.goto(`${app.base}?view=kernels&batches=1,16&target=15`);
    await view('#adapter').waitFor({ timeout: 90_000 });
    expect(await view('#adapter').innerText()).toMatch(/^GPU: /);
    // Peaks: numbers, not the placeholder.
    await view('#peak-gflops').filter({ hasText: /^\d/ }).waitFor({ timeout: 120_000 });
    const gflopsPeak = Number(await view('#peak-gflops').innerText());
    const gbsPeak = Number(await view('#peak-gbs').innerText());
    expect(gflopsPeak).toBeGreaterThan(0);
    expect(gbsPeak).toBeGreaterThan(0);

    await view('#run-matmul:not([disabled])').click();
    await view('#matmul-table').waitFor({ timeout: 240_000 });
    const rows = view('#matmul-table tbody tr');
    expect(await rows.count()).toBe(10); // 5 distinct (N, K) of mx-tiny x M = 1, 16
    const gflops = (await view('#matmul-table td.gflops').allInnerTexts()).map(Number);
    const fractions = await view('#matmul-table td.fraction').allInnerTexts();
    const ok = await view('#matmul-table td.ok').allInnerTexts();
    const msg = JSON.stringify({ gflops, fractions, ok });
    for (const g of gflops) expect(g, msg).toBeGreaterThan(0);
    for (const f of fractions) expect(f, msg).toMatch(/^\d+(\.\d)?%$/);
    expect(ok.every((x) => x === '✓'), msg).toBe(true);
    expect(await view('#variants-table tbody tr').count()).toBeGreaterThan(3);
    expect(await page.locator('mx-kernel-view mx-roofline canvas').count()).toBeGreaterThan(0);

    const note = await view('#ort-note').innerText();
    if (HAVE_ORT_PEER) {
      expect(await view('#ort-col').count(), note).toBe(1);
      const ort = (await view('#matmul-table td.ort').allInnerTexts()).map(Number);
      expect(ort.length).toBe(10);
      for (const t of ort) expect(t, note).toBeGreaterThan(0);
      expect(note).toMatch(/onnxruntime-web/);
    } else {
      expect(note).toContain('onnxruntime-web peer not available');
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 420_000);
});

describe.skipIf(HAVE_CHROMIUM)('kernel view', () => {
  it.skip('skipped: no Chromium found (set MULTIPLEX_CHROMIUM or apt-get install chromium)', () => {});
});
