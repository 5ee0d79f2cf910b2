// `npm run bench:kernels -- --browser`: the kernel lab in Chromium, where onnxruntime-web runs on
// its WebGPU backend on the same adapter as our kernels (in Node it has only wasm). It starts the
// app's Vite dev server on localhost, launches a local headless Chromium (src/cli/chromium.ts; no
// browser is downloaded), opens the kernel view (`?view=kernels`) with the bench's options as URL
// parameters, and drives it as a user would: waits for the peaks, clicks "Run matmul benchmark",
// "Run other kernels" and "Run decode step breakdown" in turn (each unless its --no-* flag), then
// "Download JSON", whose file is the KernelReport returned here. The view's progress line and the
// page's console errors go to stderr as it runs.
//
// The dev server does not watch the sources during the run (an edit would reload the page and
// lose its results). Every failure (no Chromium, no WebGPU in the page, a page or worker error,
// the view's error panel, a page reload, the overall --timeout-s) rejects with a BenchError
// whose message is one line; Chromium and the dev server are closed in every case.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { chromiumPath, fsUrl, launchChromium, NO_CHROMIUM, startDevServer } from '../src/cli/chromium.js';
import type { KernelReport } from '../src/workers/kernel-report.js';
import type { KernelBenchOptions } from './kernel-options.js';

/** A failure of the browser run, said in one line. */
export class BenchError extends Error {
  constructor(message: string) {
    super(message.split('\n')[0]);
    this.name = 'BenchError';
  }
}

type BrowserBenchOptions = Pick<
  KernelBenchOptions,
  'model' | 'tokenizer' | 'batches' | 'decodeBatches' | 'variants' | 'targetMs' | 'ops' | 'decode' | 'ort' | 'timeoutS'
>;

/**
 * The kernel view's query string for these options (kernel-controller.ts parseKernelSettings);
 * `model` gives the checkpoint and tokenizer URLs where the bench was given files.
 */
export function kernelViewQuery(o: BrowserBenchOptions, model?: { checkpoint: string; tokenizer: string }): string {
  const q = new URLSearchParams({
    view: 'kernels',
    batches: o.batches.join(','),
    variants: o.variants,
    decode: o.decodeBatches.join(','),
    target: String(o.targetMs),
  });
  if (!o.ort) q.set('ort', '0');
  if (model) {
    q.set('checkpoint', model.checkpoint);
    q.set('tokenizer', model.tokenizer);
  }
  return `?${q}`;
}

export interface BrowserBenchIo {
  /** A line of progress (stderr in the CLI). */
  progress(line: string): void;
}

const stderrIo: BrowserBenchIo = { progress: (line) => process.stderr.write(`${line}\n`) };

/** Runs the kernel view in headless Chromium and returns the report its "Download JSON" writes. */
export async function runBrowserKernelBench(o: BrowserBenchOptions, io: BrowserBenchIo = stderrIo): Promise<KernelReport> {
  if (!chromiumPath()) throw new BenchError(NO_CHROMIUM);
  const t0 = performance.now();
  const secs = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  let stage = 'starting the dev server';

  // One rejection for every way the run can fail; each wait below races against it.
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = (e) => reject(e instanceof BenchError ? e : new BenchError(e.message));
  });
  failed.catch(() => {}); // observed by the races; never unhandled
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed]);
  const timer = setTimeout(
    () => fail(new BenchError(`the browser run timed out after ${o.timeoutS} s (--timeout-s) while ${stage}`)),
    o.timeoutS * 1000,
  );

  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let done = false;
  try {
    let model: { checkpoint: string; tokenizer: string } | undefined;
    const allow: string[] = [];
    if (o.model !== undefined && o.tokenizer !== undefined) {
      const ck = resolve(o.model);
      const tk = resolve(o.tokenizer);
      for (const f of [ck, tk]) if (!existsSync(f)) throw new BenchError(`file not found: ${f}`);
      allow.push(dirname(ck), dirname(tk));
      model = { checkpoint: fsUrl(ck), tokenizer: fsUrl(tk) };
    }
    // Kept even when the run fails before they are up: closed below, or as soon as they are.
    const starting = startDevServer({ allow, watch: false });
    starting.then((s) => (done ? void s.server.close() : (server = s.server)), () => {});
    const { url } = await guard(starting);
    stage = 'launching Chromium';
    const launching = launchChromium();
    launching.then((b) => (done ? void b.close() : (browser = b)), () => {});
    browser = await guard(launching);
    browser.on('disconnected', () => fail(new BenchError('Chromium exited during the run')));
    const page = await guard(browser.newPage({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } }));
    watchPage(page, io, fail);

    const full = `${url}${kernelViewQuery(o, model)}`;
    stage = 'opening the kernel view';
    io.progress(`browser: ${full}`);
    await guard(page.goto(full));
    // The view's results live in the page: a reload (e.g. the dev server re-optimizing a
    // dependency) would leave nothing to wait for.
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) fail(new BenchError(`the page reloaded during the run (while ${stage}); run it again`));
    });
    const hasGpu = await guard(page.evaluate(() => 'gpu' in navigator && !!navigator.gpu));
    if (!hasGpu) throw new BenchError('Chromium exposes no WebGPU here (navigator.gpu is absent): it needs --enable-unsafe-webgpu and a secure origin');
    const view = (sel: string) => page.locator(`mx-kernel-view ${sel}`);
    const paramErrors = await guard(view('#param-errors').allInnerTexts());
    if (paramErrors.length) throw new BenchError(`the kernel view rejected its URL parameters: ${paramErrors.join(' ')}`);

    // The view's progress line, forwarded when it changes.
    let last = '';
    poll = setInterval(() => {
      view('#progress')
        .evaluateAll((els) =>
          els.map((e) => {
            const p = e.querySelector('progress');
            return { text: (e.textContent ?? '').replace(/\s+/g, ' ').trim(), done: p?.value, total: p?.max };
          }),
        )
        .then((xs) => {
          const x = xs[0];
          const line = x ? `${x.total ? `[${x.done}/${x.total}] ` : ''}${x.text}` : '';
          if (line && line !== last) io.progress(`  ${line} (${secs()})`);
          last = line;
        })
        .catch(() => {});
    }, 500);

    /** Waits for `target` to appear; the view's error panel appearing instead is a failure. */
    const until = async (target: string | Locator, what: string) => {
      stage = what;
      const shown = (typeof target === 'string' ? view(target) : target).first().waitFor({ state: 'attached', timeout: 0 }).then(() => 'ok' as const);
      const error = view('#error').waitFor({ state: 'attached', timeout: 0 }).then(() => 'error' as const);
      const r = await guard(Promise.race([shown, error]));
      if (r === 'error') {
        const text = (await view('#error').innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
        throw new BenchError(`the kernel view failed while ${what}: ${text || 'no message'}`);
      }
    };
    const click = async (id: string) => {
      await guard(view(`#${id}:not([disabled])`).click({ timeout: 0 }));
    };

    await until('#adapter', 'starting the kernel worker and loading the model');
    io.progress(`${(await view('#adapter').innerText()).replace(/^GPU: /, 'adapter: ')} (${secs()})`);
    io.progress(`measuring peaks... (${secs()})`);
    // The peak is measured on open; a click while that runs would be ignored (one task at a time).
    await until(view('#peak-gflops').filter({ hasText: /^\d/ }), 'measuring the peaks');
    io.progress(`peak: ${await view('#peak-gflops').innerText()} GFLOPS, ${await view('#peak-gbs').innerText()} GB/s (${secs()})`);

    io.progress(`matmul${o.ort ? ' (and onnxruntime-web on the same shapes)' : ''}... (${secs()})`);
    await click('run-matmul');
    await until('#matmul-table', 'running the matmul benchmark');
    io.progress(`  ${(await view('#ort-note').innerText()).trim()}`);
    if (o.ops) {
      io.progress(`other kernels... (${secs()})`);
      await click('run-kernels');
      await until('#kernels-table', 'running the other kernels');
    }
    if (o.decode) {
      io.progress(`decode step breakdown at batch ${o.decodeBatches.join(', ')}, tokens/s at batch 1 and 16${o.ort ? ', onnxruntime-web at batch 1' : ''}... (${secs()})`);
      await click('run-decode');
      await until('#decode-table', 'running the decode step breakdown');
    }

    stage = 'downloading the report';
    await guard(view('#download-json:not([disabled])').waitFor({ timeout: 0 }));
    const [download] = await guard(Promise.all([page.waitForEvent('download', { timeout: 0 }), click('download-json')]));
    const file = await guard(download.path());
    const report = JSON.parse(await readFile(file, 'utf8')) as KernelReport;
    io.progress(`browser run done (${secs()})`);
    return report;
  } catch (e) {
    throw e instanceof BenchError ? e : new BenchError(`${(e as Error).message} (while ${stage})`);
  } finally {
    done = true;
    clearTimeout(timer);
    if (poll) clearInterval(poll);
    fail = () => {};
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
  }
}

/** Forwards the page's console errors (and its workers') to stderr; uncaught ones fail the run. */
function watchPage(page: Page, io: BrowserBenchIo, fail: (e: Error) => void): void {
  const seen = new Set<string>(); // a worker's message can arrive both through the page and the worker
  const onConsole = (where: string) => (m: { type(): string; text(): string }) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (seen.has(text)) return;
    seen.add(text);
    io.progress(`${where} console error: ${text}`);
    if (/^Uncaught\b/.test(text)) fail(new BenchError(`${where} error: ${text}`));
  };
  page.on('console', onConsole('page'));
  page.on('worker', (w) => w.on('console', onConsole('worker')));
  page.on('pageerror', (e) => fail(new BenchError(`page error: ${e.message}`)));
  page.on('crash', () => fail(new BenchError('the page crashed')));
}
