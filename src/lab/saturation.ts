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
// - ratioAgreement() compares the measured batch-B / batch-1 throughput ratio with the
//   calibration's (decode tokens/s at B / at 1) and fails when they differ by more than
//   RATIO_TOLERANCE of the calibration's ratio. Ratios, not tokens/s: they hold on any device.
import type { StepRecord } from '../metrics/records.js';
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
}

/** Saturation of the steps that began in [t0, t1) (seconds on the run's clock). */
export function saturation(steps: readonly StepRecord[], maxBatch: number, window: { t0: number; t1: number }): Saturation {
  let n = 0;
  let full = 0;
  let minQueueDepth = Infinity;
  for (const s of steps) {
    if (s.start < window.t0 || s.start >= window.t1) continue;
    n++;
    if (s.batchSize === maxBatch && s.queueDepth > 0) full++;
    minQueueDepth = Math.min(minQueueDepth, s.queueDepth);
  }
  return { steps: n, full, fraction: n > 0 ? full / n : NaN, minQueueDepth: n > 0 ? minQueueDepth : NaN };
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
    while (!run.done && s.queueDepth < target) {
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
