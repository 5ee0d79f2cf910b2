// The lab's ReactiveController: it owns the conversation with the engine worker (load, calibrate,
// runs) and the tenant workers, and holds the current run's RunStore, which keeps the figures and
// chart columns up to date as metrics batches arrive (src/lab/metrics.ts). Everything between
// settings and figures (capacity, SLOs, traffic plan, export) is the headless core's
// (src/lab/session.ts), shared with `npm run lab -- run`. The view only renders what this holds.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { Comlink, engine } from './engine-client.js';
import type {
  Calibration,
  CalibrationProgress,
  EngineInfo,
  LabRunInfo,
  LoadProgress,
  MetricsBatch,
} from '../workers/engine-api.js';
import type { TenantWorkerApi } from '../workers/tenant-worker.js';
import { parseTraceAuto } from '../traffic/auto.js';
import type { Trace } from '../traffic/types.js';
import { LIMITS, type LabState } from '../lab/state.js';
import { RunStore, type Figures, type LabSeries } from '../lab/metrics.js';
import { calibrationAnchors, calibrationBatch, calibrationCovers, figureOptionsFor, prepareRun, sloFor, type Comparison, type PreparedRun } from '../lab/session.js';
import { labCapacity } from '../lab/capacity.js';
import { tenantDemand, type TenantDemand } from '../lab/demand.js';
import { StepDrift, type DriftVerdict } from '../lab/drift.js';
import { labModelSource } from './lab-model.js';

export type LabPhase = 'loading' | 'calibrating' | 'ready' | 'running' | 'paused' | 'done' | 'error';
export type { Comparison };


interface TenantHandle {
  worker: Worker;
  api: Comlink.Remote<TenantWorkerApi>;
}

/** Tenant workers, reused from run to run (started and stopped, not re-created). */
class TenantPool {
  private readonly handles: TenantHandle[] = [];
  private active = 0;

  ensure(n: number): TenantHandle[] {
    while (this.handles.length < n) {
      const worker = new Worker(new URL('../workers/tenant-worker.ts', import.meta.url), { type: 'module', name: `tenant ${this.handles.length + 1}` });
      this.handles.push({ worker, api: Comlink.wrap<TenantWorkerApi>(worker) });
    }
    this.active = n;
    return this.handles.slice(0, n);
  }

  async each(f: (t: TenantHandle) => Promise<unknown> | unknown): Promise<void> {
    await Promise.all(this.handles.slice(0, this.active).map((t) => f(t)));
  }

  terminate(): void {
    for (const h of this.handles) h.worker.terminate();
    this.handles.length = 0;
    this.active = 0;
  }
}

export class LabController implements ReactiveController {
  phase: LabPhase = 'loading';
  info?: EngineInfo;
  loadProgress?: LoadProgress;
  calProgress?: CalibrationProgress;
  calibration?: Calibration;
  error = '';
  runInfo?: LabRunInfo;
  store?: RunStore;
  window?: Figures;
  whole?: Figures;
  series?: LabSeries;
  /** The current run's capacity, SLOs and traffic plan (session.ts prepareRun). */
  prepared?: PreparedRun;
  /** Each tenant's offered demand over the current run, in the chart's buckets (demand.ts). */
  demand?: TenantDemand;
  /** The current run's steps against the calibrated model (drift.ts): whether the calibration still holds. */
  drift?: DriftVerdict;
  /** State the current run was started with. */
  runState?: LabState;
  trace?: Trace;
  traceMessage = '';
  compare?: Comparison;
  /** Tenants in the current run. */
  runTenants = 0;

  private readonly engine = engine();
  private readonly tenants = new TenantPool();
  private lastRead = 0;
  private computeTimer?: ReturnType<typeof setTimeout>;
  private loadedKey = '';
  private stepDrift?: StepDrift;
  private driftSeen = 0;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    void this.engine.api.stopLab().catch(() => {});
    this.tenants.terminate();
    clearTimeout(this.computeTimer);
  }

  private update(): void {
    this.host.requestUpdate();
  }

  /** Loads the model (once per source) and calibrates up to state.batch. */
  async prepare(state: LabState): Promise<boolean> {
    const source = labModelSource(state);
    const key = JSON.stringify([source.checkpoint, source.tokenizer, state.backend]);
    try {
      if (key !== this.loadedKey || !this.info) {
        this.phase = 'loading';
        this.error = '';
        this.info = undefined;
        this.calibration = undefined;
        this.update();
        this.info = await this.engine.api.load(
          source,
          state.backend,
          Comlink.proxy((p: LoadProgress) => {
            this.loadProgress = p;
            this.update();
          }),
          { maxSequences: LIMITS.batch.max },
        );
        this.loadedKey = key;
        this.loadProgress = undefined;
      }
      if (!calibrationCovers(this.calibration, state, this.info.backend)) {
        this.phase = 'calibrating';
        this.update();
        this.calibration = await this.engine.api.calibrate(
          calibrationBatch(state),
          Comlink.proxy((p: CalibrationProgress) => {
            this.calProgress = p;
            this.update();
          }),
          false,
          calibrationAnchors(state),
        );
        this.calProgress = undefined;
      }
      if (this.phase === 'loading' || this.phase === 'calibrating' || this.phase === 'error') this.phase = 'ready';
      this.update();
      return true;
    } catch (e) {
      this.phase = 'error';
      this.error = (e as Error).message ?? String(e);
      this.loadProgress = undefined;
      this.calProgress = undefined;
      this.update();
      return false;
    }
  }

  /** SLO targets (s) for a state on this device (NaN until calibrated). */
  slo(state: LabState): { ttft: number; tpot: number } {
    const cal = this.calibration;
    if (!cal || !this.info || !calibrationCovers(cal, state)) return { ttft: NaN, tpot: NaN };
    return sloFor(state, labCapacity(cal, state.batch, state.kv), this.info.model.config.seqLen);
  }

  /** Fetches and parses a trace from a URL (the `trace` parameter). */
  async fetchTrace(url: string): Promise<void> {
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      this.useTrace(await res.text(), url);
    } catch (e) {
      this.trace = undefined;
      this.traceMessage = `Could not load the trace ${url}: ${(e as Error).message}`;
      this.update();
    }
  }

  /** Parses a trace's text; the message says what was read and which rows were bad. */
  useTrace(text: string, source: string): boolean {
    try {
      const t = parseTraceAuto(text, source);
      this.trace = t;
      const bad = t.badRows.length;
      this.traceMessage =
        `${source}: ${t.format}, ${t.requests.length} requests` +
        (bad ? `; ${bad} bad row${bad === 1 ? '' : 's'} left out (first: line ${t.badRows[0]!.line}: ${t.badRows[0]!.reason})` : '');
      this.update();
      return true;
    } catch (e) {
      this.trace = undefined;
      this.traceMessage = (e as Error).message;
      this.update();
      return false;
    }
  }

  /** Capacity, SLOs and traffic plan for a state (undefined with a reason when it cannot be made). */
  prepareFor(state: LabState, tenants = state.tenants): { prepared?: PreparedRun; why?: string } {
    if (!this.calibration || !this.info) return { why: 'the engine is not calibrated yet' };
    const model = { vocabSize: this.info.model.config.vocabSize, seqLen: this.info.model.config.seqLen };
    if (state.traffic === 'trace' && !this.trace) {
      return { why: 'choose a trace file (Azure CSV, BurstGPT CSV, Mooncake JSONL or Multiplex JSON) or give a trace= URL' };
    }
    try {
      return { prepared: prepareRun(state, this.calibration, model, { trace: this.trace, tenants }) };
    } catch (e) {
      return { why: (e as Error).message.replace(/^cannot start: /, '') };
    }
  }

  /** Play: resume a paused run, or start a new one (or a comparison). */
  async play(state: LabState): Promise<void> {
    if (this.phase === 'paused') {
      await this.engine.api.resumeLab();
      await this.tenants.each((t) => t.api.resume());
      this.phase = 'running';
      this.update();
      return;
    }
    if (this.phase === 'running') return;
    if (!(await this.prepare(state))) return;
    this.compare = state.mode === 'compare' ? { step: 'alone', tenants: state.tenants, duration: state.duration, load: state.load } : undefined;
    await this.startRun(state, state.mode === 'compare' ? 1 : state.tenants);
  }

  private async startRun(state: LabState, tenants: number): Promise<void> {
    const { prepared, why } = this.prepareFor(state, tenants);
    if (!prepared) {
      this.phase = 'ready';
      this.error = `Cannot start: ${why}.`;
      this.update();
      return;
    }
    this.error = '';
    const plan = prepared.plan;
    this.prepared = prepared;
    this.runState = { ...state };
    this.runTenants = tenants;
    this.window = undefined;
    this.whole = undefined;
    this.series = undefined;
    try {
      // Tenant workers load first, so the run's clock does not start before they can send.
      const handles = this.tenants.ensure(tenants);
      await Promise.all(handles.map((t) => t.api.sent()));
      this.runInfo = await this.engine.api.startLab(
        { maxBatch: state.batch, policy: state.policy, preemption: state.preempt, kvFraction: state.kv, durationS: state.duration },
        Comlink.proxy((b: MetricsBatch) => this.onBatch(b)),
      );
      this.store = new RunStore(this.runInfo.run, { ...figureOptionsFor(prepared), durationS: state.duration });
      this.demand = tenantDemand(plan.specs, prepared.capacity, state.duration, this.store.interval);
      this.stepDrift = new StepDrift(prepared.capacity.spec);
      this.driftSeen = 0;
      this.drift = undefined;
      await Promise.all(
        handles.map(async (t, i) => {
          const ch = new MessageChannel();
          await this.engine.api.connectTenant(Comlink.transfer(ch.port1, [ch.port1]));
          await t.api.start(plan.specs[i]!, Comlink.transfer(ch.port2, [ch.port2]));
        }),
      );
      this.phase = 'running';
    } catch (e) {
      this.phase = 'error';
      this.error = (e as Error).message ?? String(e);
    }
    this.update();
  }

  private onBatch(b: MetricsBatch): void {
    const store = this.store;
    if (!store || !store.add(b)) return;
    if (b.done) {
      void this.tenants.each((t) => t.api.stop());
      this.read(true);
      if (b.error) {
        this.phase = 'error';
        this.error = `The engine stopped: ${b.error}`;
      } else this.afterRun();
      this.update();
      return;
    }
    this.read(false);
  }

  private afterRun(): void {
    const c = this.compare;
    if (c && c.step === 'alone') {
      c.alone = this.whole;
      c.step = 'pooled';
      void this.startRun(this.runState!, c.tenants);
      return;
    }
    if (c && c.step === 'pooled') {
      c.pooled = this.whole;
      c.step = 'done';
    }
    this.phase = 'done';
  }

  /**
   * Reads the store's figures and chart columns for the view, at most every 200 ms (always for the
   * last batch). The store keeps them up to date as batches arrive: a read costs no more at the
   * end of an hour's run than at its start.
   */
  private read(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastRead < 200) {
      if (!this.computeTimer) this.computeTimer = setTimeout(() => ((this.computeTimer = undefined), this.read(true)), 200);
      return;
    }
    this.lastRead = now;
    const store = this.store;
    if (!store) return;
    this.window = store.windowFigures();
    this.whole = store.runFigures();
    this.series = store.series();
    if (this.stepDrift) {
      this.stepDrift.add(store.steps.slice(this.driftSeen));
      this.driftSeen = store.steps.length;
      this.drift = this.stepDrift.verdict();
    }
    this.update();
  }

  /** Applies a new price or SLO to the current run's figures (no restart needed). */
  reprice(state: LabState): void {
    if (this.runState && this.store) {
      this.runState = { ...this.runState, price: state.price, gpu: state.gpu, ttft: state.ttft, tpot: state.tpot };
      this.store.reprice({ price: state.price, slo: this.slo(this.runState) });
      this.read(true);
    }
  }

  async pause(): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'paused';
    this.update();
    await this.tenants.each((t) => t.api.pause());
    await this.engine.api.pauseLab();
    this.read(true);
  }

  /** Ends any run and clears its records; the calibration is kept. */
  async reset(): Promise<void> {
    this.compare = undefined;
    await this.tenants.each((t) => t.api.stop());
    await this.engine.api.stopLab();
    this.store = undefined;
    this.window = undefined;
    this.whole = undefined;
    this.series = undefined;
    this.runInfo = undefined;
    this.prepared = undefined;
    this.demand = undefined;
    this.stepDrift = undefined;
    this.drift = undefined;
    if (this.phase !== 'error' || this.info) this.phase = this.calibration ? 'ready' : this.phase;
    this.error = '';
    this.update();
  }
}
