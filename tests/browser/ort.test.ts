// onnxruntime-web's WebGPU backend in Chromium as an independent check of our engine: the ONNX
// export of stories260K (a seeded synthetic model where ../shared/data lacks it) runs in ORT on
// the same adapter, and its logits match ours (GPU) and the CPU reference; decode tokens/s of
// both engines are printed. The page is tests/browser/pages/ort.html (ort-page.ts).
import { describe, expect, it } from 'vitest';
import { chromiumPath, fsUrl, useBrowserApp, type BrowserApp } from '../helpers/browser.js';
import { HAVE_STORIES, STORIES260K } from '../helpers/data.js';
import type { Page } from 'playwright-core';
import type { OrtCheckParams, OrtCheckResult } from './pages/ort-page.js';
import type { MatmulShape, MatmulTiming } from '../../src/ort/peer.js';

// f32 engines summing in different orders; stories260K's logits are O(10). Measured on
// SwiftShader: about 1e-5 (ORT vs CPU) and 2e-5 (ORT vs our GPU engine).
const LOGIT_ATOL = 1e-3;

const HAVE_CHROMIUM = chromiumPath() !== undefined;

interface OrtPage {
  ortCheck(p: OrtCheckParams): Promise<OrtCheckResult>;
  ortMatmul(shapes: MatmulShape[]): Promise<MatmulTiming[]>;
}

/** Opens tests/browser/pages/ort.html; collects page errors and console errors into `errors`. */
async function openOrtPage(app: BrowserApp, query = ''): Promise<{ page: Page; errors: string[] }> {
  const page = await app.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${app.base}tests/browser/pages/ort.html${query}`);
  await page.locator('#status', { hasText: 'ready' }).waitFor({ timeout: 90_000 });
  return { page, errors };
}

/**
 * Runs a page.evaluate call, again once if the page navigated meanwhile (the dev server reloads a
 * page when it re-optimizes dependencies or a watched file changes).
 */
async function retryOnReload<R>(page: Page, call: () => Promise<R>): Promise<R> {
  try {
    return await call();
  } catch (e) {
    if (!/context was destroyed|navigat/i.test((e as Error).message)) throw e;
    await page.locator('#status', { hasText: 'ready' }).waitFor({ timeout: 90_000 });
    return call();
  }
}

describe.skipIf(!HAVE_CHROMIUM)('onnxruntime-web peer (Chromium, WebGPU)', () => {
  const app = useBrowserApp();

  it(`the exported ${HAVE_STORIES ? 'stories260K' : 'synthetic model (stories260K absent)'} runs in ORT's WebGPU backend and matches our logits`, async () => {
    const { page, errors } = await openOrtPage(app);
    const params: OrtCheckParams = {
      checkpoint: HAVE_STORIES ? fsUrl(STORIES260K) : undefined,
      steps: 24,
      prompt: [1, 403, 407, 261, 378, 333, 261],
    };
    const r = await retryOnReload(page, () => page.evaluate((p) => (window as unknown as OrtPage).ortCheck(p), params));
    console.log(
      `ORT ${r.ortVersion} ${r.ortBackend} on ${r.adapter}, ${r.model}: max |ORT − CPU| prefill ${r.prefillVsCpu.toExponential(2)}, ` +
        `decode ${r.decodeVsCpu.toExponential(2)}; max |ORT − ours| ${r.decodeVsGpu.toExponential(2)}; ` +
        `decode tokens/s at batch 1: ORT ${r.ortTokensPerS.toFixed(1)}, ours ${r.oursTokensPerS.toFixed(1)} ` +
        `(ours/ORT ${(r.oursTokensPerS / r.ortTokensPerS).toFixed(2)}x)`,
    );
    expect(r.ortBackend).toBe('webgpu');
    expect(r.prefillVsCpu).toBeLessThan(LOGIT_ATOL);
    expect(r.decodeVsCpu).toBeLessThan(LOGIT_ATOL);
    expect(r.decodeVsGpu).toBeLessThan(LOGIT_ATOL);
    expect(r.tokensMatch).toBe(true);
    expect(r.ortTokensPerS).toBeGreaterThan(0);
    expect(r.oursTokensPerS).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);

  it('times the same MatMul shapes in ORT WebGPU with its kernel timestamps', async () => {
    const { page, errors } = await openOrtPage(app, '?profile=1');
    // stories260K's projections at M = 1 and 16: (n, k) = (dim, dim), (hidden, dim), (dim, hidden), (vocab, dim).
    const shapes: MatmulShape[] = [
      { m: 1, n: 64, k: 64 },
      { m: 1, n: 172, k: 64 },
      { m: 16, n: 64, k: 172 },
      { m: 16, n: 512, k: 64 },
    ];
    const rows = await retryOnReload(page, () => page.evaluate((s) => (window as unknown as OrtPage).ortMatmul(s), shapes));
    console.log(rows.map((r) => `ORT MatMul m=${r.m} n=${r.n} k=${r.k}: ${r.ort_ms.toFixed(3)} ms GPU, ${r.ort_wall_ms.toFixed(3)} ms wall`).join('\n'));
    expect(rows.map(({ m, n, k }) => ({ m, n, k }))).toEqual(shapes);
    for (const r of rows) {
      expect(r.backend).toBe('webgpu');
      expect(r.timing).toBe('gpu-timestamps');
      expect(Number.isFinite(r.ort_ms) && r.ort_ms > 0).toBe(true);
      expect(Number.isFinite(r.ort_wall_ms) && r.ort_wall_ms > 0).toBe(true);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 300_000);
});

describe.skipIf(HAVE_CHROMIUM)('onnxruntime-web peer (Chromium, WebGPU)', () => {
  it.skip('skipped: no Chromium found (set MULTIPLEX_CHROMIUM or apt-get install chromium)', () => {});
});
