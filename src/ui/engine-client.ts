// The page's handle on the engine worker (comlink). The page holds no GPUDevice.
import * as Comlink from 'comlink';
import type { EngineWorkerApi } from '../workers/engine-api.js';

export function startEngineWorker(): { api: Comlink.Remote<EngineWorkerApi>; worker: Worker } {
  const worker = new Worker(new URL('../workers/engine-worker.ts', import.meta.url), { type: 'module' });
  return { api: Comlink.wrap<EngineWorkerApi>(worker), worker };
}

export { Comlink };
