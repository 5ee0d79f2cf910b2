// The fleet view's ReactiveController: it owns the sim worker (created on demand, terminated to
// stop a run, since a simulation cannot be interrupted from outside), the run's progress, and its
// outcome. The view only renders what this holds.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import * as Comlink from 'comlink';
import type { ScenarioOutcome } from '../sim/index.js';
import type { SimRunRequest, SimWorkerApi } from '../workers/sim-api.js';
import { effectiveParams, type FleetState } from './fleet-state.js';

export type FleetPhase = 'idle' | 'running' | 'done' | 'stopped' | 'error';

export class FleetController implements ReactiveController {
  phase: FleetPhase = 'idle';
  /** Fraction done over all of the run's simulations, and what is running. */
  progress = 0;
  progressLabel = '';
  outcome?: ScenarioOutcome;
  /** The state the outcome (or the run in progress) belongs to. */
  runState?: FleetState;
  error = '';
  /** Wall seconds the last run took. */
  seconds = 0;

  private worker?: Worker;
  private api?: Comlink.Remote<SimWorkerApi>;
  private runId = 0;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.terminate();
  }

  private ensureWorker(): Comlink.Remote<SimWorkerApi> {
    if (!this.api) {
      this.worker = new Worker(new URL('../workers/sim-worker.ts', import.meta.url), { type: 'module', name: 'fleet simulator' });
      this.api = Comlink.wrap<SimWorkerApi>(this.worker);
    }
    return this.api;
  }

  private terminate(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.api = undefined;
  }

  async run(state: FleetState): Promise<void> {
    const id = ++this.runId;
    if (this.phase === 'running') this.terminate();
    this.phase = 'running';
    this.progress = 0;
    this.progressLabel = 'starting the simulator';
    this.error = '';
    this.runState = { ...state, params: { ...state.params } };
    this.host.requestUpdate();
    const request: SimRunRequest = { scenario: state.scenario, seed: state.seed, reduced: state.size === 'reduced', params: effectiveParams(state) };
    const t0 = performance.now();
    let frame = 0;
    const onProgress = (f: number, label: string): void => {
      if (id !== this.runId) return;
      this.progress = f;
      this.progressLabel = label;
      // Coalesce repaints to one per animation frame.
      if (!frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          this.host.requestUpdate();
        });
      }
    };
    try {
      const outcome = await this.ensureWorker().run(request, Comlink.proxy(onProgress));
      if (id !== this.runId) return;
      this.outcome = outcome;
      this.phase = 'done';
      this.progress = 1;
      this.seconds = (performance.now() - t0) / 1000;
    } catch (e) {
      if (id !== this.runId) return;
      this.phase = 'error';
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.host.requestUpdate();
  }

  /** Stops the run in progress (the worker is terminated; the next run starts a new one). */
  stop(): void {
    if (this.phase !== 'running') return;
    this.runId++;
    this.terminate();
    this.phase = 'stopped';
    this.progressLabel = 'stopped';
    this.host.requestUpdate();
  }
}
