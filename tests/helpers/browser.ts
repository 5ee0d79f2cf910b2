// Browser-test helpers: the app's dev server and Chromium (src/cli/chromium.ts, shared with
// `bench:kernels -- --browser`), started around a vitest suite. ../shared/data is readable by the
// page through fsUrl(). No browser is downloaded.
import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { chromiumPath, launchChromium, startDevServer as startServer } from '../../src/cli/chromium.js';
import { SHARED_DATA } from './data.js';

export { CHROMIUM_FLAGS, chromiumPath, fsUrl, launchChromium, NO_CHROMIUM, ROOT } from '../../src/cli/chromium.js';

/**
 * Starts the app's Vite dev server on a free localhost port; ../shared/data is served via /@fs/.
 * Without watching: a source file saved while the suites run would otherwise reload a page in the
 * middle of a test and lose its state.
 */
export function startDevServer(): Promise<{ server: ViteDevServer; url: string }> {
  return startServer({ allow: [SHARED_DATA], watch: false });
}

export interface BrowserApp {
  /** Chromium, launched before the suite's tests. */
  readonly browser: Browser;
  /** The dev server's base URL, ending in '/'. */
  readonly base: string;
}

/**
 * Starts the app's dev server and Chromium before the tests of the calling suite and stops both
 * after them. Where no Chromium exists nothing is started (the suites skip themselves).
 */
export function useBrowserApp(): BrowserApp {
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  let base = '';
  beforeAll(async () => {
    if (!chromiumPath()) return;
    ({ server, url: base } = await startDevServer());
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    get browser() {
      if (!browser) throw new Error('Chromium is not running (no Chromium found, or the suite has not started)');
      return browser;
    },
    get base() {
      return base;
    },
  };
}
