// Is the device still as fast as it calibrated? StepDrift takes a run's StepRecords as they arrive
// and keeps, for the whole run and for the steps that ended in the last `windowS` seconds,
//   Σ actual (end − start)  and  Σ predicted (the calibrated model's shapeTime of each step's shape)
// and their ratio actual ÷ predicted. Capacity, capacity utilization and offered load are all in
// the calibrated unit of work, so a ratio r off 1 moves them together: the device serves 1/r of
// the calibrated capacity, and utilization and ρ read off by that much (low when r > 1). Outside
// [DRIFT_LOW, DRIFT_HIGH] the verdict says so in one sentence. O(1) amortized per step.
import type { StepRecord } from '../metrics/records.js';
import { CalibratedModel, type CalibratedSpec } from '../sim/step-time.js';

/** The band of actual ÷ predicted within which the calibration holds (about ±13% of capacity). */
export const DRIFT_LOW = 0.87;
export const DRIFT_HIGH = 1.15;
/** Default window of the recent ratio, s. */
export const DRIFT_WINDOW_S = 10;

export interface DriftVerdict {
  /** The judged ratio is inside [low, high] (true too when no step was seen: nothing to say). */
  ok: boolean;
  /** The judged ratio: actual ÷ predicted over the run, or over the window (NaN without steps). */
  ratio: number;
  over: 'run' | 'window';
  steps: number;
  /** One sentence (always given, so the page can show it either way). */
  sentence: string;
}

export type DriftStep = Pick<StepRecord, 'start' | 'end' | 'batchSize' | 'decodeTokens' | 'prefillTokens' | 'contextTokens'>;

export class StepDrift {
  private readonly model: CalibratedModel;
  readonly windowS: number;
  readonly low: number;
  readonly high: number;
  private actual = 0;
  private predicted = 0;
  private n = 0;
  /** Steps in the window, oldest first, from `head` on: [end, actual, predicted]. */
  private win: [number, number, number][] = [];
  private head = 0;
  private winActual = 0;
  private winPredicted = 0;
  private latest = -Infinity;

  constructor(spec: CalibratedSpec, options: { windowS?: number; low?: number; high?: number } = {}) {
    this.model = new CalibratedModel({ ...spec, noise: undefined });
    this.windowS = options.windowS ?? DRIFT_WINDOW_S;
    this.low = options.low ?? DRIFT_LOW;
    this.high = options.high ?? DRIFT_HIGH;
    if (!(this.windowS > 0)) throw new RangeError(`step drift: windowS must be > 0, got ${this.windowS}`);
    if (!(this.low > 0 && this.low < 1 && this.high > 1)) throw new RangeError(`step drift: need 0 < low < 1 < high, got ${this.low}, ${this.high}`);
  }

  /** Predicted seconds of a step of this shape. */
  predict(s: DriftStep): number {
    return this.model.shapeTime({ batchSize: s.batchSize, decodeTokens: s.decodeTokens, prefillTokens: s.prefillTokens, contextTokens: s.contextTokens, attendedPairs: s.contextTokens });
  }

  /** Adds steps in the order they ran. */
  add(steps: Iterable<DriftStep>): void {
    for (const s of steps) {
      const a = s.end - s.start;
      const p = this.predict(s);
      this.actual += a;
      this.predicted += p;
      this.n++;
      this.win.push([s.end, a, p]);
      this.winActual += a;
      this.winPredicted += p;
      if (s.end > this.latest) this.latest = s.end;
    }
    this.evict();
  }

  private evict(): void {
    const from = this.latest - this.windowS;
    while (this.head < this.win.length && this.win[this.head]![0] <= from) {
      const [, a, p] = this.win[this.head++]!;
      this.winActual -= a;
      this.winPredicted -= p;
    }
    if (this.head > 1024 && this.head * 2 > this.win.length) {
      this.win = this.win.slice(this.head);
      this.head = 0;
      // Re-sum what is left so subtractions do not accumulate rounding.
      this.winActual = this.win.reduce((x, w) => x + w[1], 0);
      this.winPredicted = this.win.reduce((x, w) => x + w[2], 0);
    }
  }

  get steps(): number {
    return this.n;
  }

  /** Σ actual ÷ Σ predicted over every step added (NaN before the first). */
  get ratio(): number {
    return this.n > 0 ? this.actual / this.predicted : NaN;
  }

  /** Steps that ended in the last windowS seconds (before the latest step's end). */
  get windowSteps(): number {
    return this.win.length - this.head;
  }

  /** actual ÷ predicted over the window (NaN when it is empty). */
  get windowRatio(): number {
    return this.windowSteps > 0 ? this.winActual / this.winPredicted : NaN;
  }

  /** Judges the run's ratio (default) or the window's against [low, high]. */
  verdict(over: 'run' | 'window' = 'run'): DriftVerdict {
    const ratio = over === 'run' ? this.ratio : this.windowRatio;
    const steps = over === 'run' ? this.n : this.windowSteps;
    const where = over === 'run' ? `over the run's ${steps} steps` : `over the last ${this.windowS} s (${steps} steps)`;
    if (!(ratio > 0)) return { ok: true, ratio: NaN, over, steps, sentence: `No steps ${over === 'run' ? 'yet' : `in the last ${this.windowS} s`} to compare with the calibration.` };
    const x = ratio.toFixed(2);
    const pct = (v: number) => `${Math.round(100 * v)}%`;
    if (ratio > this.high) {
      return {
        ok: false,
        ratio,
        over,
        steps,
        sentence:
          `Steps are taking ${x}× the calibrated time ${where}: this device serves ~${pct(1 - 1 / ratio)} less than calibrated, ` +
          'so capacity utilization and offered load read low by that much.',
      };
    }
    if (ratio < this.low) {
      return {
        ok: false,
        ratio,
        over,
        steps,
        sentence:
          `Steps are taking ${x}× the calibrated time ${where}: this device serves ~${pct(1 / ratio - 1)} more than calibrated, ` +
          'so capacity utilization and offered load read high by that much.',
      };
    }
    return { ok: true, ratio, over, steps, sentence: `Steps are taking ${x}× the calibrated time ${where}, within ${this.low}–${this.high}×: the calibration holds.` };
  }
}
