// The page's handle on the engine worker (comlink). One worker for the whole page: it owns the
// only GPUDevice, and every view talks to it through this handle. The page holds no GPUDevice.
import * as Comlink from 'comlink';
import type { EngineWorkerApi } from '../workers/engine-api.js';

let handle: { api: Comlink.Remote<EngineWorkerApi>; worker: Worker } | undefined;

export function engine(): { api: Comlink.Remote<EngineWorkerApi>; worker: Worker } {
  if (!handle) {
    const worker = new Worker(new URL('../workers/engine-worker.ts', import.meta.url), { type: 'module' });
    handle = { api: Comlink.wrap<EngineWorkerApi>(worker), worker };
  }
  return handle;
}

export { Comlink };
