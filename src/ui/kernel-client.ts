// The kernel view's handle on its own worker (src/workers/kernel-worker.ts), created while the
// view is shown and terminated when it goes (the worker holds a GPUDevice only meanwhile), and
// the localStorage side of the autotuner's cache, which the worker reaches through a proxy
// (workers have no localStorage).
import * as Comlink from 'comlink';
import type { KernelWorkerApi, TuneStorage } from '../workers/kernel-api.js';

export const TUNE_STORAGE_KEY = 'multiplex.autotune.v1';

export interface KernelWorkerHandle {
  api: Comlink.Remote<KernelWorkerApi>;
  terminate(): void;
}

export function startKernelWorker(): KernelWorkerHandle {
  const worker = new Worker(new URL('../workers/kernel-worker.ts', import.meta.url), { type: 'module' });
  const api = Comlink.wrap<KernelWorkerApi>(worker);
  return {
    api,
    terminate() {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

/** The autotuner's document in this origin's localStorage (in memory where storage is blocked). */
export function localTuneStorage(key = TUNE_STORAGE_KEY): TuneStorage {
  let memory: string | undefined;
  return {
    read: () => {
      try {
        return localStorage.getItem(key);
      } catch {
        return memory;
      }
    },
    write: (text) => {
      try {
        localStorage.setItem(key, text);
      } catch {
        memory = text;
      }
    },
  };
}

export { Comlink };
