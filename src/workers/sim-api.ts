// The sim worker's typed interface (comlink). The fleet simulator is pure code: the worker only
// keeps a long run off the page's main thread and reports its progress.
import type { ParamValue, ScenarioOutcome } from '../sim/index.js';

export interface SimRunRequest {
  scenario: string;
  seed: number;
  /** The reduced size the test suite runs. */
  reduced: boolean;
  params: Record<string, ParamValue>;
}

export interface SimWorkerApi {
  /**
   * Runs a scenario of the report; `onProgress` (a Comlink.proxy) hears the fraction done over
   * all of its simulations and what is running. Rejects with the reason (bad params name
   * themselves). A run cannot be interrupted: the page terminates the worker to stop one.
   */
  run(request: SimRunRequest, onProgress?: (fraction: number, label: string) => void): Promise<ScenarioOutcome>;
}
