// Browser-test helpers: a Vite dev server for the app on localhost (a secure origin, so WebGPU is
// exposed) and Debian's Chromium driven by Playwright. Chromium's path comes from
// MULTIPLEX_CHROMIUM (set by scripts/test.mjs) or /usr/bin/chromium; no browser is downloaded.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { SHARED_DATA } from './data.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function chromiumPath(): string | undefined {
  for (const p of [process.env.MULTIPLEX_CHROMIUM, process.env.CHROMIUM_PATH, '/usr/bin/chromium']) {
    if (p && existsSync(p)) return p;
  }
  return undefined;
}

export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('No Chromium: install it (apt-get install -y chromium) or set MULTIPLEX_CHROMIUM');
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
}

/** Starts the app's Vite dev server on a free localhost port; ../shared/data is served via /@fs/. */
export async function startDevServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root: ROOT,
    configFile: `${ROOT}vite.config.ts`,
    logLevel: 'error',
    server: { port: 0, host: '127.0.0.1', strictPort: false, fs: { allow: [ROOT, SHARED_DATA] } },
  });
  await server.listen();
  const addr = server.httpServer?.address();
  if (!addr || typeof addr === 'string') throw new Error('dev server has no port');
  // "localhost" (not 127.0.0.1) is what browsers treat as a potentially trustworthy origin name.
  return { server, url: `http://localhost:${addr.port}/` };
}

/** URL path under which the dev server serves a file of ../shared/data. */
export function fsUrl(path: string): string {
  return `/@fs${path}`;
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
