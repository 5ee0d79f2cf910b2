// Loading a model by URL in the browser: a checkpoint served by another local origin (as public
// checkpoints are) downloads with progress, is kept in the Cache API, and on the next load comes
// from the cache without a request.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, chromiumPath, useBrowserApp } from '../helpers/browser.js';

const HAVE_CHROMIUM = chromiumPath() !== undefined;
const files: Record<string, Buffer> = {
  '/mx-tiny/model.bin': readFileSync(`${ROOT}models/mx-tiny/model.bin`),
  '/mx-tiny/tokenizer.bin': readFileSync(`${ROOT}models/mx-tiny/tokenizer.bin`),
};
const requests: string[] = [];
let models: Server;
let modelBase = '';

describe.skipIf(!HAVE_CHROMIUM)('model download and cache (Chromium)', () => {
  beforeAll(async () => {
    models = createServer((req, res) => {
      const body = files[req.url ?? ''];
      res.setHeader('access-control-allow-origin', '*');
      if (!body) {
        res.writeHead(404);
        res.end();
        return;
      }
      requests.push(req.url!);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      // 256 KiB pieces a few ms apart, as a network delivers them, so progress has steps to show.
      void (async () => {
        for (let o = 0; o < body.length; o += 262144) {
          res.write(body.subarray(o, o + 262144));
          await new Promise((r) => setTimeout(r, 5));
        }
        res.end();
      })();
    });
    await new Promise<void>((r) => models.listen(0, '127.0.0.1', r));
    modelBase = `http://127.0.0.1:${(models.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    await new Promise((r) => models.close(r));
  });
  const app = useBrowserApp();

  it('downloads a checkpoint by URL with progress, then loads it from the cache without a request', async () => {
    const context = await app.browser.newContext();
    const page = await context.newPage();
    const q = new URLSearchParams({
      view: 'generate',
      checkpoint: `${modelBase}/mx-tiny/model.bin`,
      tokenizer: `${modelBase}/mx-tiny/tokenizer.bin`,
      backend: 'cpu',
    });
    await page.goto(`${app.base}?${q}`);
    await page.locator('#files').waitFor({ timeout: 90_000 });
    expect(await page.locator('#checkpoint-from').innerText()).toBe('network');
    // Progress was reported while the body streamed in (the first event is at 0 bytes).
    expect(Number(await page.locator('#checkpoint-from').getAttribute('data-progress-events'))).toBeGreaterThan(2);
    expect(requests.sort()).toEqual(['/mx-tiny/model.bin', '/mx-tiny/tokenizer.bin']);

    await page.reload();
    await page.locator('#files').waitFor({ timeout: 90_000 });
    expect(await page.locator('#checkpoint-from').innerText()).toBe('cache');
    expect(await page.locator('#tokenizer-from').innerText()).toBe('cache');
    expect(requests).toHaveLength(2);
    await context.close();
  }, 180_000);
});

describe.skipIf(HAVE_CHROMIUM)('model download and cache', () => {
  it.skip('skipped: no Chromium found (set MULTIPLEX_CHROMIUM or apt-get install chromium)', () => {});
});
