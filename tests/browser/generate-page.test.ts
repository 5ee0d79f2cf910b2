// The generation page in Chromium with WebGPU: it loads a model in the engine worker, generates
// text on the GPU, and shows it with tokens/s.
import { describe, expect, it } from 'vitest';
import { chromiumPath, fsUrl, useBrowserApp } from '../helpers/browser.js';
import { HAVE_STORIES, MISSING_STORIES, STORIES260K, TOK512 } from '../helpers/data.js';

const HAVE_CHROMIUM = chromiumPath() !== undefined;

describe.skipIf(!HAVE_CHROMIUM)('generation page (Chromium, WebGPU)', () => {
  const app = useBrowserApp();

  it.skipIf(!HAVE_STORIES)('generates the known stories260K text on the GPU', async () => {
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const q = new URLSearchParams({
      view: 'generate',
      checkpoint: fsUrl(STORIES260K),
      tokenizer: fsUrl(TOK512),
      prompt: '',
      temperature: '0',
      steps: '40',
      backend: 'gpu',
    });
    await page.goto(`${app.base}?${q}`);
    await page.locator('#adapter').waitFor({ timeout: 90_000 });
    expect(await page.locator('#adapter').innerText()).toMatch(/^GPU: /);
    await page.locator('#generate').click();
    await page.locator('#stop-reason').waitFor({ timeout: 90_000 });
    const text = await page.locator('#output').innerText();
    expect(text).toContain('Once upon a time, there was a little girl named Lily.');
    expect(Number(await page.locator('#tps').innerText())).toBeGreaterThan(0);
    expect(Number(await page.locator('#ntokens').innerText())).toBe(40);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it.skipIf(HAVE_STORIES)(MISSING_STORIES, () => {});

  it('reports a bad checkpoint URL by name instead of a blank page', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.base}?view=generate&checkpoint=/no-such-model.bin&tokenizer=/no-such-tok.bin&steps=abc`);
    await page.locator('#error').waitFor({ timeout: 60_000 });
    expect(await page.locator('#error').innerText()).toMatch(/no-such-(model|tok)\.bin/);
    expect(await page.locator('#param-errors').innerText()).toContain('steps=abc');
    await page.close();
  }, 120_000);
});

describe.skipIf(HAVE_CHROMIUM)('generation page', () => {
  it.skip('skipped: no Chromium found (set MULTIPLEX_CHROMIUM or apt-get install chromium)', () => {});
});
