// The sim worker: runs the report's scenarios (src/sim/scenarios/) off the page's main thread,
// with progress. Nothing here touches a GPU.
import * as Comlink from 'comlink';
import '../sim/scenarios/index.js';
import { findScenario, runScenario } from '../sim/index.js';
import type { SimWorkerApi } from './sim-api.js';

const api: SimWorkerApi = {
  async run(request, onProgress) {
    const s = findScenario(request.scenario);
    if (!s) throw new Error(`no scenario named ${request.scenario}`);
    let last = -1;
    const outcome = runScenario(s, {
      seed: request.seed,
      reduced: request.reduced,
      params: request.params,
      // At most one message per percent.
      onProgress: onProgress
        ? (f, label) => {
            const p = Math.floor(f * 100);
            if (p === last && f < 1) return;
            last = p;
            void onProgress(f, label);
          }
        : undefined,
    });
    // NaN and Infinity survive structured cloning; the page formats them as "—".
    return outcome;
  },
};

Comlink.expose(api);
