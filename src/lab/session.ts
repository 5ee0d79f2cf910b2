// One lab experiment from settings to its export, in the steps the page's controller and
// `lab run` share:
//   calibrate (calibrate.ts, up to calibrationBatch) → capacity and load basis (capacity.ts) →
//   SLOs → traffic plan (traffic.ts) → run (LabRun + one Replayer per tenant) → RunStore →
//   export object (export.ts).
// prepareRun and the export helpers are pure (the page calls them with the worker's calibration);
// runPrepared and runSession drive a Backend in this thread (Node, tests), the way the engine and
// tenant workers do on the page. A comparison runs one tenant alone, then all of them pooled, on
// the same traffic per tenant and for the same time.
import type { Backend } from '../model/backend.js';
import type { Trace } from '../traffic/types.js';
import { anchoredAt, calibrate, type Calibration, type CalibrateOptions } from './calibrate.js';
import { labCapacity, type DeviceFacts, type LabCapacity } from './capacity.js';
import { storeExport, type RunExport } from './export.js';
import { RunStore, WINDOW_S, type FigureOptions, type Figures } from './metrics.js';
import { LabRun, type LabRunInfo } from './run.js';
import { LIMITS, loadBatchOf, priceLabel, serializeLabState, type LabState } from './state.js';
import { Replayer, tenantSchedule } from './tenant-traffic.js';
import { fmt, generatedPlan, lengthsFor, sloSeconds, tracePlan, type ModelShape, type TrafficPlan } from './traffic.js';
import { meanLengths } from '../traffic/lengths.js';
import { StepDrift, type DriftVerdict } from './drift.js';

/** The largest max batch a state's run and its load basis need calibrated. */
export function calibrationBatch(state: Pick<LabState, 'batch' | 'loadBatch'>): number {
  return Math.max(state.batch, loadBatchOf(state));
}

/** The max batches below calibrationBatch whose level a state's run needs measured (anchored) on its own. */
export function anchorBatches(state: Pick<LabState, 'batch' | 'loadBatch'>): number[] {
  const top = calibrationBatch(state);
  return [...new Set([state.batch, loadBatchOf(state)])].filter((b) => b < top);
}

/**
 * The batches a calibration for `state` anchors besides its top one: those the state needs, and
 * max batch 1 always (what "no batching" costs), so that one calibration serves every preset and
 * switching between them replays the same traffic.
 */
export function calibrationAnchors(state: Pick<LabState, 'batch' | 'loadBatch'>): number[] {
  const top = calibrationBatch(state);
  return [...new Set([1, ...anchorBatches(state)])].filter((b) => b < top);
}

/** A calibration that can serve `state` (measured up to its batches, each anchored, on this backend kind). */
export function calibrationCovers(cal: Calibration | undefined, state: Pick<LabState, 'batch' | 'loadBatch'>, backend?: Backend['kind']): cal is Calibration {
  return (
    cal !== undefined &&
    cal.maxBatch === calibrationBatch(state) &&
    anchorBatches(state).every((b) => anchoredAt(cal, b)) &&
    (backend === undefined || cal.backend === backend)
  );
}

/**
 * What keeps a state from running on this device, as sentences naming the setting (empty: it can
 * run). `facts` undefined: not known yet (checked again once the backend is open).
 */
export function startProblems(state: LabState, facts?: Pick<DeviceFacts, 'maxSequences'>, trace?: Trace): string[] {
  const out: string[] = [];
  const d = LIMITS.duration;
  if (!(state.duration >= d.min && state.duration <= d.max)) out.push(`duration ${state.duration} s is outside ${d.min}–${d.max} s`);
  if (facts) {
    if (state.batch > facts.maxSequences) out.push(`batch ${state.batch} exceeds the ${facts.maxSequences} sequences this backend holds`);
    if (state.loadBatch !== 'run' && state.loadBatch > facts.maxSequences) out.push(`loadbatch ${loadBatchOf(state)} exceeds the ${facts.maxSequences} sequences this backend holds`);
  }
  if (state.traffic === 'trace') {
    if (!trace) out.push(state.trace ? `traffic=trace: the trace ${state.trace} is not loaded` : 'traffic=trace needs a trace (trace=FILE or URL)');
    else if (trace.requests.length === 0) out.push(`traffic=trace: ${trace.source} has no requests`);
  }
  if (state.mode === 'compare' && state.tenants < 2) out.push('mode=compare runs one tenant alone, then all pooled: it needs tenants ≥ 2');
  return out;
}

/** Everything a run needs before it starts, for `tenants` tenants. */
export interface PreparedRun {
  state: LabState;
  tenants: number;
  /** Work of requests at the run's own scheduler settings: what its figures count. */
  capacity: LabCapacity;
  /** The capacity the plan's ρ is set against (capacity, unless state.loadBatch names another batch). */
  loadBasis: LabCapacity;
  /** SLO targets, s ('auto' resolved on this device). */
  slo: { ttft: number; tpot: number };
  plan: TrafficPlan;
}

/**
 * SLO targets for a state on this device ('auto' ones: traffic.ts sloSeconds). The step is the mean
 * step of a server at capacity for the state's mean request: each step samples one token for each
 * of its B sequences, and a token costs the request's work ÷ its output tokens, so the step is
 * B × work ÷ output (the prefills of the requests it admits included: a step at max batch alone
 * would be missed by every TPOT of a saturated server that prefills beside its decodes).
 */
export function sloFor(state: LabState, capacity: LabCapacity, seqLen: number): { ttft: number; tpot: number } {
  const m = meanLengths(lengthsFor(state, seqLen));
  const P = Math.max(1, m.prompt);
  const M = Math.max(1, m.output);
  const batch = capacity.decodeStep(P + M / 2).batch;
  const step = (batch * capacity.workS(P, M)) / M;
  return sloSeconds(state, 1000 * step, 1000 * capacity.prefillPerToken(), m.prompt);
}

/** Capacity, load basis, SLOs and traffic plan of a state from a calibration (throws with the reason when it cannot). */
export function prepareRun(state: LabState, cal: Calibration, model: ModelShape, options: { trace?: Trace; tenants?: number } = {}): PreparedRun {
  const problems = startProblems(state, cal.device, options.trace);
  if (problems.length) throw new RangeError(`cannot start: ${problems.join('; ')}`);
  const tenants = options.tenants ?? state.tenants;
  const capacity = labCapacity(cal, state.batch, state.kv);
  const lb = loadBatchOf(state);
  const loadBasis = lb === state.batch ? capacity : labCapacity(cal, lb, state.kv);
  const plan = state.traffic === 'trace' ? tracePlan(options.trace!, state, loadBasis, model, tenants) : generatedPlan(state, loadBasis, model, tenants);
  return { state, tenants, capacity, loadBasis, slo: sloFor(state, capacity, model.seqLen), plan };
}

/** What the figures of a prepared run are computed with: work at the run's own settings. */
export function figureOptionsFor(p: PreparedRun): FigureOptions {
  return { work: p.capacity, price: p.state.price, slo: p.slo };
}

/** The notes an export carries: what its numbers assume. */
export function runNotes(p: PreparedRun, calibration: Calibration, timing: LabRunInfo['timing'] | undefined): string[] {
  const secs = (v: number) => `${fmt(v)} s`;
  return [
    `Price: ${priceLabel(p.state)}. Cost per 1M tokens = $/GPU-hour ÷ (tokens served per hour / 1e6).`,
    timing === 'timestamp'
      ? 'Busy time: GPU execution time of each engine step (timestamp queries); time utilization = busy / wall.'
      : 'Busy time: the wall time of each engine step (submit to results read back: this device has no timestamp queries); time utilization = busy / wall.',
    p.capacity.sentence(),
    `Offered load: ${p.plan.description}.`,
    `Calibration: ${calibration.stability.verdict}`,
    `Latency figures are over a sliding ${WINDOW_S} s window or the whole run, as labelled; SLOs: TTFT ${secs(p.slo.ttft)}, TPOT ${secs(p.slo.tpot)}.`,
  ];
}

/** A finished run: its records (and figures, in the store) and what it was set up with. */
export interface RunOutcome {
  prepared: PreparedRun;
  info: LabRunInfo;
  store: RunStore;
  /** The store's whole-run figures. */
  whole: Figures;
  /** The run's steps against the calibrated model: whether the calibration held (drift.ts). */
  drift: DriftVerdict;
}

/** The page's comparison (lab-controller Comparison): one tenant alone, then all pooled. */
export interface Comparison {
  step: 'alone' | 'pooled' | 'done';
  tenants: number;
  duration: number;
  load: number;
  alone?: Figures;
  pooled?: Figures;
}

/**
 * Runs a prepared plan on `backend` in this thread, in real time, to the state's duration: a
 * LabRun (engine over the backend) fed by one Replayer per tenant.
 */
export async function runPrepared(backend: Backend, p: PreparedRun, run = 1): Promise<RunOutcome> {
  const s = p.state;
  const store = new RunStore(run, { ...figureOptionsFor(p), durationS: s.duration });
  const lab = new LabRun(backend, run, { maxBatch: s.batch, policy: s.policy, preemption: s.preempt, kvFraction: s.kv, durationS: s.duration }, (b) => store.add(b));
  const replayers = p.plan.specs.map((spec) => new Replayer(spec, tenantSchedule(spec), (m) => lab.submit(m)));
  lab.start();
  for (const r of replayers) r.start();
  try {
    await lab.finished;
  } finally {
    for (const r of replayers) r.stop();
  }
  if (store.error) throw new Error(`the engine stopped: ${store.error}`);
  const drift = new StepDrift(p.capacity.spec);
  drift.add(store.steps);
  return { prepared: p, info: lab.info, store, whole: store.runFigures(), drift: drift.verdict() };
}

/** The page's JSON export of a run (export.ts runJson takes it). */
export function exportObject(o: {
  outcome: RunOutcome;
  calibration: Calibration;
  device: unknown;
  comparison?: Comparison;
  /** Where the URL of the settings points (the page: its own address; default: a relative query). */
  baseUrl?: string;
  exportedAt?: string;
}): Omit<RunExport, 'format' | 'version'> {
  const { outcome: r, calibration } = o;
  const out: Omit<RunExport, 'format' | 'version'> = {
    exportedAt: o.exportedAt ?? new Date().toISOString(),
    settings: r.prepared.state,
    url: `${o.baseUrl ?? ''}?${serializeLabState(r.prepared.state)}`,
    device: o.device,
    calibration,
    engine: r.info,
    notes: [...runNotes(r.prepared, calibration, r.info.timing), `Calibration check: ${r.drift.sentence}`],
    ...storeExport(r.store),
  };
  if (o.comparison) out.comparison = o.comparison;
  return out;
}

export interface SessionOptions {
  /** A calibration to reuse (taken when it covers the state on this backend; else a new one is made). */
  calibration?: Calibration;
  trace?: Trace;
  calibrate?: Omit<CalibrateOptions, 'maxBatch'>;
  onProgress?: (line: string) => void;
}

export interface SessionResult {
  calibration: Calibration;
  /** The run (the pooled one in a comparison). */
  outcome: RunOutcome;
  comparison?: Comparison;
  /** The alone half of a comparison. */
  alone?: RunOutcome;
}

/** Seconds of the plan's traffic a backend serves, untimed, before a run that reuses a calibration. */
export const WARMUP_S = LIMITS.duration.min;
const warmed = new WeakSet<Backend>();

/** A whole experiment on `backend`: calibrate if needed, prepare, run (both halves of a comparison). */
export async function runSession(backend: Backend, state: LabState, o: SessionOptions = {}): Promise<SessionResult> {
  const model = { vocabSize: backend.config.vocabSize, seqLen: backend.config.seqLen };
  const early = startProblems(state, { maxSequences: backend.maxSequences }, o.trace);
  if (early.length) throw new RangeError(`cannot start: ${early.join('; ')}`);
  let calibration = o.calibration;
  let measured = false;
  if (!calibrationCovers(calibration, state, backend.kind)) {
    const maxBatch = calibrationBatch(state);
    o.onProgress?.(`calibrating up to max batch ${maxBatch}…`);
    calibration = await calibrate(backend, { ...o.calibrate, maxBatch, anchorBatches: calibrationAnchors(state) });
    measured = true;
  }
  o.onProgress?.(calibration.stability.verdict);
  if (!measured && !warmed.has(backend)) {
    // A reused calibration skips the steps that compile the backend's pipelines: run the plan's own
    // traffic briefly first, so that compiling is not counted as serving.
    o.onProgress?.(`warming up for ${WARMUP_S} s (compiling pipelines)…`);
    await runPrepared(backend, prepareRun({ ...state, duration: WARMUP_S, mode: 'live' }, calibration, model, { trace: o.trace }), 0);
  }
  warmed.add(backend);
  if (state.mode !== 'compare') {
    const p = prepareRun(state, calibration, model, { trace: o.trace });
    o.onProgress?.(`${p.plan.description}; running ${state.duration} s…`);
    return { calibration, outcome: await runPrepared(backend, p, 1) };
  }
  const comparison: Comparison = { step: 'alone', tenants: state.tenants, duration: state.duration, load: state.load };
  const pa = prepareRun(state, calibration, model, { trace: o.trace, tenants: 1 });
  o.onProgress?.(`alone: ${pa.plan.description}; running ${state.duration} s…`);
  const alone = await runPrepared(backend, pa, 1);
  comparison.alone = alone.whole;
  comparison.step = 'pooled';
  const pp = prepareRun(state, calibration, model, { trace: o.trace });
  o.onProgress?.(`pooled: ${pp.plan.description}; running ${state.duration} s…`);
  const pooled = await runPrepared(backend, pp, 2);
  comparison.pooled = pooled.whole;
  comparison.step = 'done';
  return { calibration, outcome: pooled, comparison, alone };
}
