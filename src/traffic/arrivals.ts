// Arrival processes: when requests come, as sorted times in [0, durationS) seconds.
// - poisson: exponential gaps at `rate` req/s (CV 1).
// - gamma: a renewal process with gamma gaps of mean 1/rate and coefficient of variation `cv`
//   (shape 1/cv²): cv < 1 is smoother than Poisson, cv > 1 burstier. It starts in equilibrium
//   (the first gap is the residual of a length-biased gap), so many tenants started together do
//   not arrive in lockstep.
// - diurnal: a non-homogeneous Poisson process by thinning, with
//     rate(t) = rate · (1 + amplitude · sin(2π((t + tzOffsetH·3600)/periodS + phase)))
//   t is trace (UTC) time; a tenant tzOffsetH hours east of UTC sees its local day that much
//   earlier, so its peak comes tzOffsetH hours earlier in trace time. With phase 0 the peak is
//   at local time periodS/4 (06:00 for a day); diurnalPhaseForPeak() sets the hour directly.
// - onoff: alternating exponential on and off periods (means meanOnS, meanOffS), Poisson at
//   onRate while on and offRate (default 0) while off; it starts in the stationary state.
import type { Rng } from '../ops/random.js';
import { exponential, gamma } from './sampling.js';

export const DAY_S = 86400;

export type ArrivalProcess =
  | { kind: 'poisson'; rate: number }
  | { kind: 'gamma'; rate: number; cv: number }
  | { kind: 'diurnal'; rate: number; amplitude: number; periodS?: number; phase?: number }
  | { kind: 'onoff'; onRate: number; offRate?: number; meanOnS: number; meanOffS: number };

/** Throws a RangeError naming the bad parameter. */
export function validateArrival(p: ArrivalProcess): void {
  const need = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`${p.kind} arrivals: ${what}`);
  };
  const nonNeg = (v: number | undefined): boolean => v === undefined || (Number.isFinite(v) && v >= 0);
  switch (p.kind) {
    case 'poisson':
      need(nonNeg(p.rate), `rate must be a finite number ≥ 0, got ${p.rate}`);
      break;
    case 'gamma':
      need(nonNeg(p.rate), `rate must be a finite number ≥ 0, got ${p.rate}`);
      need(Number.isFinite(p.cv) && p.cv > 0, `cv must be > 0, got ${p.cv}`);
      break;
    case 'diurnal':
      need(nonNeg(p.rate), `rate must be a finite number ≥ 0, got ${p.rate}`);
      need(Number.isFinite(p.amplitude) && p.amplitude >= 0 && p.amplitude <= 1, `amplitude must be in [0, 1], got ${p.amplitude}`);
      need(p.periodS === undefined || (Number.isFinite(p.periodS) && p.periodS > 0), `periodS must be > 0, got ${p.periodS}`);
      need(p.phase === undefined || Number.isFinite(p.phase), `phase must be finite, got ${p.phase}`);
      break;
    case 'onoff':
      need(nonNeg(p.onRate) && nonNeg(p.offRate), `rates must be finite numbers ≥ 0, got ${p.onRate}, ${p.offRate}`);
      need(Number.isFinite(p.meanOnS) && p.meanOnS > 0 && Number.isFinite(p.meanOffS) && p.meanOffS > 0, `meanOnS and meanOffS must be > 0, got ${p.meanOnS}, ${p.meanOffS}`);
      break;
    default:
      throw new RangeError(`unknown arrival process ${JSON.stringify((p as { kind: unknown }).kind)}`);
  }
}

/** Long-run mean arrival rate, req/s (diurnal: over whole periods). */
export function meanRate(p: ArrivalProcess): number {
  switch (p.kind) {
    case 'poisson':
    case 'gamma':
    case 'diurnal':
      return p.rate;
    case 'onoff':
      return (p.onRate * p.meanOnS + (p.offRate ?? 0) * p.meanOffS) / (p.meanOnS + p.meanOffS);
  }
}

/** The diurnal phase that puts the peak at `peakHourLocal` (hours into the local period). */
export function diurnalPhaseForPeak(peakHourLocal: number, periodS = DAY_S): number {
  return 0.25 - (peakHourLocal * 3600) / periodS;
}

/** Instantaneous diurnal rate at trace time t, req/s. */
export function diurnalRate(p: Extract<ArrivalProcess, { kind: 'diurnal' }>, t: number, tzOffsetH = 0): number {
  const period = p.periodS ?? DAY_S;
  const x = (t + tzOffsetH * 3600) / period + (p.phase ?? 0);
  return Math.max(0, p.rate * (1 + p.amplitude * Math.sin(2 * Math.PI * x)));
}

/**
 * Appends the arrival times in [0, durationS) to `out` (sorted), drawing from `rng`.
 * Returns `out`.
 */
export function arrivalTimes(p: ArrivalProcess, durationS: number, rng: Rng, tzOffsetH = 0, out: number[] = []): number[] {
  validateArrival(p);
  if (!(durationS >= 0) || !Number.isFinite(durationS)) throw new RangeError(`durationS must be a finite number ≥ 0, got ${durationS}`);
  switch (p.kind) {
    case 'poisson': {
      if (p.rate === 0) return out;
      for (let t = exponential(rng, p.rate); t < durationS; t += exponential(rng, p.rate)) out.push(t);
      return out;
    }
    case 'gamma': {
      if (p.rate === 0) return out;
      const k = 1 / (p.cv * p.cv);
      const scale = 1 / (p.rate * k); // mean gap k·scale = 1/rate
      // Equilibrium start: the gap covering t = 0 is length-biased, Gamma(k + 1); the time to
      // its end is uniform over it.
      let t = rng.next() * gamma(rng, k + 1) * scale;
      for (; t < durationS; t += gamma(rng, k) * scale) out.push(t);
      return out;
    }
    case 'diurnal': {
      const peak = p.rate * (1 + p.amplitude);
      if (peak === 0) return out;
      const period = p.periodS ?? DAY_S;
      const shift = (tzOffsetH * 3600) / period + (p.phase ?? 0);
      const w = (2 * Math.PI) / period;
      const a = p.amplitude / (1 + p.amplitude); // rate(t)/peak = (1 + A sin)/(1 + A)
      const b = 1 / (1 + p.amplitude);
      for (let t = exponential(rng, peak); t < durationS; t += exponential(rng, peak)) {
        const accept = b + a * Math.sin(w * t + 2 * Math.PI * shift);
        if (rng.next() < accept) out.push(t);
      }
      return out;
    }
    case 'onoff': {
      const offRate = p.offRate ?? 0;
      let on = rng.next() < p.meanOnS / (p.meanOnS + p.meanOffS); // stationary start
      let start = 0;
      while (start < durationS) {
        const end = Math.min(durationS, start + exponential(rng, 1 / (on ? p.meanOnS : p.meanOffS)));
        const rate = on ? p.onRate : offRate;
        if (rate > 0) {
          for (let t = start + exponential(rng, rate); t < end; t += exponential(rng, rate)) out.push(t);
        }
        start = end;
        on = !on;
      }
      return out;
    }
  }
}

/** A short human description ("gamma, 2.0 req/s, CV 4"). */
export function describeArrival(p: ArrivalProcess): string {
  const r = (v: number): string => `${+v.toPrecision(3)} req/s`;
  switch (p.kind) {
    case 'poisson':
      return `Poisson, ${r(p.rate)}`;
    case 'gamma':
      return `gamma, ${r(p.rate)}, CV ${+p.cv.toPrecision(3)}`;
    case 'diurnal':
      return `diurnal, mean ${r(p.rate)}, amplitude ${+p.amplitude.toPrecision(3)}, period ${+((p.periodS ?? DAY_S) / 3600).toPrecision(3)} h`;
    case 'onoff':
      return `on/off, ${r(p.onRate)} on (mean ${+p.meanOnS.toPrecision(3)} s) / ${r(p.offRate ?? 0)} off (mean ${+p.meanOffS.toPrecision(3)} s)`;
  }
}
