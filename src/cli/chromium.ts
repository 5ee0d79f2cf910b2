// Node only: the app's Vite dev server on localhost (a secure origin, so WebGPU is exposed) and a
// local Chromium driven by Playwright, for the browser tests and `bench:kernels -- --browser`.
// Chromium's path comes from MULTIPLEX_CHROMIUM (set by scripts/test.mjs), CHROMIUM_PATH or
// /usr/bin/chromium; no browser is ever downloaded.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

/** The repository root, ending in '/'. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What to do where no Chromium is found, in one sentence. */
export const NO_CHROMIUM =
  'No Chromium found: install one (as root: `apt-get install -y chromium`) or set MULTIPLEX_CHROMIUM (or CHROMIUM_PATH) to its executable.';

export function chromiumPath(): string | undefined {
  for (const p of [process.env.MULTIPLEX_CHROMIUM, process.env.CHROMIUM_PATH, '/usr/bin/chromium']) {
    if (p && existsSync(p)) return p;
  }
  return undefined;
}

/** Headless Chromium with WebGPU (SwiftShader where there is no GPU) and no background traffic. */
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
  if (!executablePath) throw new Error(NO_CHROMIUM);
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
}

export interface DevServerOptions {
  /** Folders outside the repository the page may read through /@fs/ (see fsUrl). */
  allow?: string[];
  /**
   * Watch the sources and reload the page when one changes (default true). A long measurement
   * passes false: a reload mid-run would lose the page's state.
   */
  watch?: boolean;
}

/** Starts the app's Vite dev server on a free localhost port. */
export async function startDevServer(options: DevServerOptions = {}): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root: ROOT,
    configFile: `${ROOT}vite.config.ts`,
    logLevel: 'error',
    server: {
      port: 0,
      host: '127.0.0.1',
      strictPort: false,
      fs: { allow: [ROOT, ...(options.allow ?? [])] },
      ...(options.watch === false ? { hmr: false, watch: null } : {}),
    },
  });
  try {
    await server.listen();
    const addr = server.httpServer?.address();
    if (!addr || typeof addr === 'string') throw new Error('dev server has no port');
    // "localhost" (not 127.0.0.1) is what browsers treat as a potentially trustworthy origin name.
    return { server, url: `http://localhost:${addr.port}/` };
  } catch (e) {
    await server.close();
    throw e;
  }
}

/** URL path under which the dev server serves a file by its absolute path (inside an allowed folder). */
export function fsUrl(path: string): string {
  return `/@fs${path}`;
}
