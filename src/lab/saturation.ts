// Is a throughput measurement saturated, and does it agree with the calibration? The batching
// benchmark (bench/batching.ts) measures output tokens/s at max batch B and at max batch 1 under a
// closed loop, and these checks decide whether those figures mean "what the engine does when it
// never waits":
// - closedLoop keeps at least `waiting` requests queued for the whole of a LabRun: whenever the
//   engine settles a request (or submits, aborts, stops: Engine.waitForWork), and on a short poll
//   in case no such event comes, it tops the queue up to `waiting` plus the batch's free slots, so
//   that the admissions of the next steps (at most the free slots) leave `waiting` behind.
// - saturation() counts, over a measured window, the steps that ran a full batch while requests
//   were still waiting (batchSize == maxBatch && queueDepth > 0); saturationVerdict() fails below
//   FULL_BATCH_MIN_FRACTION of them.
// - ratioAgreement() compares the measured batch-B / batch-1 ratio with the calibration's (decode
//   tokens/s at B / at 1, decodePointMedian) and fails when they differ by more than
//   RATIO_TOLERANCE of the calibration's ratio. Ratios, not tokens/s: they hold on any device.
//   The calibration's tokens/s is batch ÷ the median step time, so the closed loop's side is the
//   same statistic (medianRate over fullStepPeriods): a mean would also count the slow tail of
//   steps that another process or a GC delays, which the calibration leaves out by design.
import type { StepRecord } from '../metrics/records.js';
import type { Calibration, CalibrationPoint } from './calibrate.js';
import type { TenantRequestMessage } from './protocol.js';
import type { LabRun } from './run.js';

/** Full-batch-with-waiting steps a saturated window needs, as a fraction of its steps. */
export const FULL_BATCH_MIN_FRACTION = 0.95;
/** Allowed |measured ratio / calibration ratio - 1|. */
export const RATIO_TOLERANCE = 0.15;

export interface Saturation {
  /** Steps that began in the window. */
  steps: number;
  /** Of them, steps with batchSize == maxBatch and queueDepth > 0. */
  full: number;
  /** full / steps; NaN for an empty window. */
  fraction: number;
  /** Smallest queue depth at the start of a step in the window (NaN when empty). */
  minQueueDepth: number;
  /**
   * Mean context per sequence after a step (sum of contextTokens / sum of batchSize): the figure
   * to hold beside a calibration point's `context` when comparing tokens/s (NaN when empty).
   */
  meanContext: number;
  /** Sequences summed over the window's steps (sum of batchSize). */
  sequences: number;
}

/** Saturation of the steps that began in [t0, t1) (seconds on the run's clock). */
export function saturation(steps: readonly StepRecord[], maxBatch: number, window: { t0: number; t1: number }): Saturation {
  let n = 0;
  let full = 0;
  let minQueueDepth = Infinity;
  let context = 0;
  let sequences = 0;
  for (const s of steps) {
    if (s.start < window.t0 || s.start >= window.t1) continue;
    n++;
    if (s.batchSize === maxBatch && s.queueDepth > 0) full++;
    minQueueDepth = Math.min(minQueueDepth, s.queueDepth);
    context += s.contextTokens;
    sequences += s.batchSize;
  }
  if (n === 0) return { steps: 0, full: 0, fraction: NaN, minQueueDepth: NaN, meanContext: NaN, sequences: 0 };
  return { steps: n, full, fraction: full / n, minQueueDepth, meanContext: sequences > 0 ? context / sequences : NaN, sequences };
}

/** Saturation of several windows taken together (as if their steps were one window). */
export function mergeSaturation(parts: readonly Saturation[]): Saturation {
  const nonEmpty = parts.filter((p) => p.steps > 0);
  const steps = nonEmpty.reduce((a, p) => a + p.steps, 0);
  if (steps === 0) return { steps: 0, full: 0, fraction: NaN, minQueueDepth: NaN, meanContext: NaN, sequences: 0 };
  const full = nonEmpty.reduce((a, p) => a + p.full, 0);
  const sequences = nonEmpty.reduce((a, p) => a + p.sequences, 0);
  const context = nonEmpty.reduce((a, p) => a + (p.sequences > 0 ? p.meanContext * p.sequences : 0), 0);
  return {
    steps,
    full,
    fraction: full / steps,
    minQueueDepth: Math.min(...nonEmpty.map((p) => p.minQueueDepth)),
    meanContext: sequences > 0 ? context / sequences : NaN,
    sequences,
  };
}

export interface Verdict {
  ok: boolean;
  /** One sentence saying what was measured and, when it failed, why that fails. */
  sentence: string;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Passes when at least `min` of the window's steps ran a full batch with requests waiting. */
export function saturationVerdict(phase: string, s: Saturation, maxBatch: number, min = FULL_BATCH_MIN_FRACTION): Verdict {
  if (s.steps === 0) return { ok: false, sentence: `${phase}: no step began in the measured window, so nothing was measured.` };
  const what = `${phase}: ${s.full} of ${s.steps} steps (${pct(s.fraction)}) ran a full batch of ${maxBatch} with requests still waiting`;
  if (s.fraction >= min) return { ok: true, sentence: `${what}.` };
  return {
    ok: false,
    sentence: `${what}, below the ${pct(min)} a saturating phase needs: the engine waited for work, so its tokens/s is not its throughput at this batch.`,
  };
}

export interface RatioAgreement extends Verdict {
  measured: number;
  calibration: number;
  /** measured / calibration - 1 (NaN when either ratio is not a positive number). */
  relativeDifference: number;
}

/** Does the measured batch-B / batch-1 ratio agree with the calibration's within `tolerance`? */
export function ratioAgreement(maxBatch: number, measured: number, calibration: number, tolerance = RATIO_TOLERANCE): RatioAgreement {
  const valid = (v: number) => Number.isFinite(v) && v > 0;
  const rel = valid(measured) && valid(calibration) ? measured / calibration - 1 : NaN;
  const what = `batch ${maxBatch} / batch 1 measured ${measured.toFixed(2)}x against the calibration's ${calibration.toFixed(2)}x`;
  if (!Number.isFinite(rel)) {
    return { ok: false, measured, calibration, relativeDifference: rel, sentence: `${what}: a ratio is not a positive number, so they cannot be compared.` };
  }
  const diff = `${rel >= 0 ? '+' : ''}${pct(rel)}`;
  if (Math.abs(rel) <= tolerance) return { ok: true, measured, calibration, relativeDifference: rel, sentence: `${what} (${diff}), within ${pct(tolerance)}.` };
  return {
    ok: false,
    measured,
    calibration,
    relativeDifference: rel,
    sentence: `${what} (${diff}), outside ${pct(tolerance)}: the saturated engine and the calibration disagree on what batching buys on this device.`,
  };
}

export interface ClosedLoop {
  /** Requests submitted so far. */
  readonly submitted: number;
  /** Why the loop gave up (a request the engine did not queue), if it did. */
  readonly error?: string;
  stop(): void;
}

/** Poll interval of the closed loop, ms, in case no engine event wakes it. */
const POLL_MS = 5;

/**
 * Keeps at least `waiting` requests queued in `run` at the start of every step, until the run ends
 * or stop() is called. `request(i)` makes the i-th request. Stops with `error` set if a request is
 * not queued (rejected or malformed), rather than submitting forever.
 */
export function closedLoop(run: LabRun, request: (i: number) => TenantRequestMessage, waiting: number): ClosedLoop {
  if (!(Number.isInteger(waiting) && waiting >= 1)) throw new RangeError(`closed loop: waiting must be an integer >= 1, got ${waiting}`);
  const s = run.engine.scheduler;
  const state = { submitted: 0, error: undefined as string | undefined, stopped: false };
  const topUp = (): boolean => {
    const target = waiting + Math.max(0, run.info.maxBatch - s.runningCount);
    // A run past its end takes no more requests (LabRun.submit): nothing left to keep full.
    while (!run.done && run.clock.now() < run.durationS && s.queueDepth < target) {
      const before = s.queueDepth;
      run.submit(request(state.submitted++));
      if (s.queueDepth <= before) {
        state.error = `closed loop: request ${state.submitted - 1} was not queued (rejected or malformed), so the queue cannot be kept at ${waiting} or more`;
        return false;
      }
    }
    return true;
  };
  void (async () => {
    while (!state.stopped && !run.done && topUp()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([run.engine.waitForWork(), new Promise<void>((r) => (timer = setTimeout(r, POLL_MS)))]);
      clearTimeout(timer);
    }
  })();
  return {
    get submitted() {
      return state.submitted;
    },
    get error() {
      return state.error;
    },
    stop() {
      state.stopped = true;
    },
  };
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The calibration's decode point at `batch` as the median over its rounds of tokens/s and of mean
 * context per sequence. One round's point is a handful of steps (at least 4 and 0.1 s), which a
 * moment of load on the device moves; the round the calibration picks is chosen for its capacity
 * (the reference request's work), not for what batching buys. Throws when no round measured `batch`.
 */
export function decodePointMedian(cal: Pick<Calibration, 'rounds'>, batch: number): Pick<CalibrationPoint, 'batch' | 'tokensPerS' | 'context'> & { rounds: number } {
  const pts = cal.rounds.flatMap((r) => r.points.filter((p) => p.batch === batch));
  if (pts.length === 0) throw new RangeError(`calibration: no round measured decode at batch ${batch}`);
  return { batch, tokensPerS: median(pts.map((p) => p.tokensPerS)), context: median(pts.map((p) => p.context)), rounds: pts.length };
}

/**
 * Step periods in [t0, t1), s: for each full step (batchSize == maxBatch) that began in the window
 * and has a next step, the time from its start to the next step's start (its own time plus what
 * the engine did before the next). `steps` in run order.
 */
export function fullStepPeriods(steps: readonly StepRecord[], maxBatch: number, window: { t0: number; t1: number }): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < steps.length; i++) {
    const s = steps[i]!;
    if (s.start < window.t0 || s.start >= window.t1 || s.batchSize !== maxBatch) continue;
    out.push(steps[i + 1]!.start - s.start);
  }
  return out;
}

/** maxBatch ÷ the median period: tokens/s in the calibration's statistic (NaN without periods). */
export function medianRate(periods: readonly number[], maxBatch: number): number {
  if (periods.length === 0) return NaN;
  const m = median(periods);
  return m > 0 ? maxBatch / m : NaN;
}
