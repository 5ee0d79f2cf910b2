// Calibration: fit busy ≈ a + b·decodeTokens + c·prefillTokens + d·contextTokens + e·[the step
// prefills] to the live engine's StepRecords by least squares (Householder QR on column-scaled
// data, so the very different magnitudes of the columns do not matter), every coefficient >= 0.
// A column that never varies in the data (e.g. no step ever prefilled), or that follows from the
// others (every step prefilled: e is then the intercept's), cannot be identified: its coefficient
// is 0 and the fit says so. A negative coefficient (a step getting faster with more work: noise in
// a term that costs little on this device) would make the simulator's capacity wrong, more
// sequences a step looking cheaper; the most negative one is set to 0 and the others refitted
// until none is left, and the fit says which were clamped. (A greedy approximation of
// non-negative least squares: a clamped term is not tried again after the refits.)
import type { StepRecord } from '../metrics/records.js';
import type { CalibratedSpec } from './step-time.js';

export interface CalibrationOptions {
  /** Where the steps came from (device, model), kept with the fit. */
  source?: string;
  /** Drop steps with busy <= 0 (default true). */
  dropZero?: boolean;
  /**
   * Keep the steps' variability: the spec gets `noise` with this many factors (equal-count groups
   * of actual ÷ fitted times, each its mean; Infinity: one a step). Default 0: none (every step
   * takes the fitted time).
   */
  noise?: number;
  /**
   * How that variability is kept: 'factor' (actual ÷ fitted, multiplied into each simulated step)
   * or 'residual' (actual − fitted, added to it). Default 'factor'.
   */
  noiseKind?: 'factor' | 'residual';
  /**
   * With noise: Infinity and noiseKind 'residual': keep the residuals in step order and replay
   * them in runs of this many steps (StepNoise.run). Default 1: drawn one at a time, ascending.
   */
  residualRun?: number;
}

export interface Calibration extends CalibratedSpec {
  /** Terms that could not be fitted (constant in the data, or following from the others) and were set to 0. */
  unidentified: ('b' | 'c' | 'd' | 'e')[];
  /** Terms whose least-squares value was negative and were set to 0 (the others refitted). */
  clamped: ('a' | 'b' | 'c' | 'd' | 'e')[];
}

const TERMS = ['a', 'b', 'c', 'd', 'e'] as const;

/**
 * Least squares solution of X·β ≈ y (X: n rows × p columns, row-major), by Householder QR.
 * Columns whose scaled norm is ~0 after elimination (dependent or empty) get β = 0.
 */
export function leastSquares(X: Float64Array, y: Float64Array, n: number, p: number): { beta: Float64Array; rank: boolean[] } {
  const A = Float64Array.from(X);
  const b = Float64Array.from(y);
  // Scale columns to unit max-abs so the rank test is relative.
  const scale = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(A[i * p + j]!));
    scale[j] = m > 0 ? m : 1;
    for (let i = 0; i < n; i++) A[i * p + j] = A[i * p + j]! / scale[j]!;
  }
  const used = new Array<boolean>(p).fill(false);
  // pivotRow[k]: the row of R holding column k's diagonal (rows advance only for used columns).
  const pivotRow = new Int32Array(p).fill(-1);
  const diag = new Float64Array(p);
  let r = 0;
  for (let k = 0; k < p && r < n; k++) {
    let norm = 0;
    for (let i = r; i < n; i++) norm += A[i * p + k]! ** 2;
    norm = Math.sqrt(norm);
    if (norm < 1e-9 * Math.sqrt(n)) continue; // column k depends on earlier ones: leave it out
    used[k] = true;
    pivotRow[k] = r;
    const alpha = A[r * p + k]! > 0 ? -norm : norm;
    // v = x - alpha e_r, stored in place of column k; H = I - 2 v vᵀ / vᵀv
    A[r * p + k] = A[r * p + k]! - alpha;
    let vv = 0;
    for (let i = r; i < n; i++) vv += A[i * p + k]! ** 2;
    for (let j = k + 1; j < p; j++) {
      let s = 0;
      for (let i = r; i < n; i++) s += A[i * p + k]! * A[i * p + j]!;
      const f = (2 * s) / vv;
      for (let i = r; i < n; i++) A[i * p + j] = A[i * p + j]! - f * A[i * p + k]!;
    }
    let s = 0;
    for (let i = r; i < n; i++) s += A[i * p + k]! * b[i]!;
    const f = (2 * s) / vv;
    for (let i = r; i < n; i++) b[i] = b[i]! - f * A[i * p + k]!;
    diag[k] = alpha;
    r++;
  }
  // Back substitution over the used columns: R[pivotRow[k]][j] = A[pivotRow[k]][j] for j > k.
  const beta = new Float64Array(p);
  for (let k = p - 1; k >= 0; k--) {
    if (!used[k]) continue;
    const row = pivotRow[k]!;
    let s = b[row]!;
    for (let j = k + 1; j < p; j++) if (used[j]) s -= A[row * p + j]! * beta[j]!;
    beta[k] = s / diag[k]!;
  }
  for (let j = 0; j < p; j++) beta[j] = beta[j]! / scale[j]!;
  return { beta, rank: used };
}

/** Fits the calibrated step-time model to live steps; reports R², MAPE and RMSE of the fit. */
export function calibrateStepTime(steps: readonly StepRecord[], options: CalibrationOptions = {}): Calibration {
  const rows = options.dropZero === false ? steps : steps.filter((s) => s.busy > 0);
  const n = rows.length;
  if (n < 4) throw new RangeError(`calibration needs at least 4 steps with busy > 0, got ${n}`);
  const p = 5;
  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = rows[i]!;
    X[i * p] = 1;
    X[i * p + 1] = s.decodeTokens;
    X[i * p + 2] = s.prefillTokens;
    X[i * p + 3] = s.contextTokens;
    X[i * p + 4] = s.prefillTokens > 0 ? 1 : 0;
    y[i] = s.busy;
  }
  const ols = leastSquares(X, y, n, p);
  let beta = ols.beta;
  const rank = ols.rank;
  const unidentified = (['b', 'c', 'd', 'e'] as const).filter((_, j) => !rank[j + 1]);
  // An unidentified column stays out of every refit below (zeroing another column could otherwise
  // make it identifiable, and it would come back under another term's name).
  for (let j = 1; j < p; j++) if (!rank[j]) for (let i = 0; i < n; i++) X[i * p + j] = 0;
  // Non-negative coefficients: zero the column of the most negative one and refit (a zero
  // column gets beta = 0), until none is negative.
  // A term whose (negative) contribution is below 1e-9 of the largest step time is rounding
  // noise of a zero coefficient: it becomes 0 without a refit and is not reported.
  const colMax = new Float64Array(p);
  let yMax = 0;
  for (let i = 0; i < n; i++) {
    yMax = Math.max(yMax, Math.abs(y[i]!));
    for (let j = 0; j < p; j++) colMax[j] = Math.max(colMax[j]!, Math.abs(X[i * p + j]!));
  }
  const negligible = (j: number) => -beta[j]! * colMax[j]! <= 1e-9 * yMax;
  const clamped: Calibration['clamped'] = [];
  for (;;) {
    let worst = -1;
    for (let j = 0; j < p; j++) {
      if (!(beta[j]! < 0)) continue;
      if (negligible(j)) beta[j] = 0;
      else if (worst < 0 || beta[j]! * colMax[j]! < beta[worst]! * colMax[worst]!) worst = j;
    }
    if (worst < 0) break;
    clamped.push(TERMS[worst]!);
    for (let i = 0; i < n; i++) X[i * p + worst] = 0;
    ({ beta } = leastSquares(X, y, n, p));
    beta[worst] = 0;
  }
  clamped.sort();
  const [a, b, c, d, e] = [beta[0]!, beta[1]!, beta[2]!, beta[3]!, beta[4]!];
  const predict = (i: number) => a + b * X[i * p + 1]! + c * X[i * p + 2]! + d * X[i * p + 3]! + e * X[i * p + 4]!;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]!;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  let ape = 0;
  let apeN = 0;
  for (let i = 0; i < n; i++) {
    const r = y[i]! - predict(i);
    ssRes += r * r;
    ssTot += (y[i]! - mean) ** 2;
    if (y[i]! > 0) {
      ape += Math.abs(r) / y[i]!;
      apeN++;
    }
  }
  const out: Calibration = {
    kind: 'calibrated',
    a,
    b,
    c,
    d,
    e,
    fit: { n, r2: ssTot > 0 ? 1 - ssRes / ssTot : 1, mape: apeN ? ape / apeN : 0, rmse: Math.sqrt(ssRes / n) },
    unidentified,
    clamped,
  };
  if (options.source !== undefined) out.fit!.source = options.source;
  const k = Math.floor(options.noise ?? 0); // Infinity stays Infinity: one group a step
  const run = options.residualRun ?? 1;
  if (!Number.isInteger(run) || run < 1) throw new RangeError(`residualRun must be an integer >= 1, got ${run}`);
  if (run > 1 && (k !== Infinity || options.noiseKind !== 'residual')) {
    throw new RangeError(
      `residualRun replays every step's own residual in order: it needs noise: Infinity and noiseKind: 'residual' (got noise: ${options.noise}, noiseKind: ${options.noiseKind ?? "'factor' (the default)"})`,
    );
  }
  if (k > 0) {
    const additive = options.noiseKind === 'residual';
    const devs: number[] = [];
    for (let i = 0; i < n; i++) {
      const pred = predict(i);
      if (additive) devs.push(y[i]! - pred);
      else if (pred > 0) devs.push(y[i]! / pred);
    }
    // Runs replay every step's own residual in step order: no grouping, no sorting.
    if (run > 1) {
      out.noise = { residuals: devs, run };
      return out;
    }
    devs.sort((u, v) => u - v);
    const groups = Math.min(k, devs.length);
    const means: number[] = [];
    for (let g = 0; g < groups; g++) {
      const lo = Math.floor((g * devs.length) / groups);
      const hi = Math.floor(((g + 1) * devs.length) / groups);
      let sum = 0;
      for (let i = lo; i < hi; i++) sum += devs[i]!;
      means.push(sum / (hi - lo));
    }
    if (means.length > 0) out.noise = additive ? { residuals: means } : { factors: means };
  }
  return out;
}
