// From the lab's settings and the device's capacity to each tenant's traffic. Pure code.
//
// Load: each tenant offers ρ (state.load) of capacity, counted in work (capacity.ts: a request's
// work is the GPU-seconds it costs this device at saturated efficiency, the fleet view's unit):
//   arrival rate per tenant = ρ / E[work of a request]
// so the same preset loads a phone and a workstation alike. The capacity the load is set against
// is the one at max batch state.loadBatch ('run': the run's own max batch); `no-batching` sets it
// to pooled-8's batch so that both offer the same traffic. E[work] of generated lengths is the
// mean over a fixed, seeded sample of WORK_SAMPLES draws of the length distribution (clipped to
// the context as the tenants' schedules are), so a plan is deterministic.
// Traffic shapes:
// - poisson: steady; gamma: bursts set by the CV of the gaps;
// - diurnal: a day plays in 60 s / speed, amplitude 0.8, tenant i peaking i/N of a day later
//   (its time zone);
// - onoff: bursts of mean 2 s / speed at 4× the mean rate, idle 6 s / speed between (on 25%);
// - trace: a parsed trace, its tokens scaled (state.tokenScale, 'auto' sizes its mean request
//   like prompt + output) and clipped to the context, its time compressed so one copy offers ρ;
//   tenant i replays it from i/N of its length (wrapping), looped to the run's duration.
import type { ArrivalProcess } from '../traffic/arrivals.js';
import { lengthSampler, meanLengths, parametricLengths, type LengthDist } from '../traffic/lengths.js';
import { describeScaling, scaleTrace, traceDuration, type ScalingSummary } from '../traffic/scaling.js';
import type { Trace } from '../traffic/types.js';
import { Rng } from '../ops/random.js';
import type { RequestWorkModel } from './capacity.js';
import type { TenantSpec } from './tenant-traffic.js';
import type { LabState, SloValue } from './state.js';

/** What a tenant's load is measured against: the work model of the load's capacity. */
export type LoadBasis = RequestWorkModel;

export interface ModelShape {
  vocabSize: number;
  seqLen: number;
}

export interface TrafficPlan {
  specs: TenantSpec[];
  /** Requests per second per tenant (mean). */
  ratePerTenant: number;
  /** Mean work of a request, s (capacity.ts). */
  workPerRequestS: number;
  /** Offered load per tenant and in total, fractions of capacity (ρ). */
  loadPerTenant: number;
  loadTotal: number;
  /** One line for the page: what each tenant sends. */
  description: string;
  /** For a trace: every scaling and clip applied (describeScaling). */
  scaling?: { summary: ScalingSummary; text: string };
}

/** Draws of the length distribution that E[work] is taken over. */
export const WORK_SAMPLES = 8192;

/** Work of a request of P prompt and M output tokens, s. */
export function requestWorkS(work: RequestWorkModel, P: number, M: number): number {
  return work.prefillS(P) + Math.max(0, M - 1) * work.decodeS(P, M);
}

/**
 * Mean work of a request drawn from `lengths`, s: over WORK_SAMPLES seeded draws, each clipped to
 * `maxContext` positions as tenantSchedule clips (prompt + output − 1 ≤ context, output first).
 */
export function meanRequestWork(lengths: LengthDist, work: RequestWorkModel, maxContext: number): number {
  const sampler = lengthSampler(lengths);
  const rng = new Rng(0x3a11);
  let total = 0;
  for (let i = 0; i < WORK_SAMPLES; i++) {
    sampler.next(rng);
    let p = Math.max(1, sampler.prompt);
    let o = Math.max(1, sampler.output);
    if (p + o - 1 > maxContext) o = Math.max(1, maxContext + 1 - p);
    if (p + o - 1 > maxContext) p = maxContext;
    total += requestWorkS(work, p, o);
  }
  return total / WORK_SAMPLES;
}

export const DIURNAL_DAY_S = 60;
export const ONOFF = { onS: 2, offS: 6 } as const;

export function lengthsFor(state: Pick<LabState, 'prompt' | 'output'>, seqLen: number): LengthDist {
  const half = Math.max(1, Math.floor(seqLen / 2));
  return parametricLengths(
    { kind: 'lognormal', mean: Math.min(state.prompt, half), cv: 0.5, min: 1, max: half },
    { kind: 'lognormal', mean: Math.min(state.output, half), cv: 0.5, min: 1, max: half },
  );
}

export function arrivalFor(state: Pick<LabState, 'traffic' | 'cv' | 'speed'>, rate: number, tenantIndex: number, tenants: number): ArrivalProcess {
  switch (state.traffic) {
    case 'poisson':
    case 'trace':
      return { kind: 'poisson', rate };
    case 'gamma':
      return { kind: 'gamma', rate, cv: state.cv };
    case 'diurnal':
      return { kind: 'diurnal', rate, amplitude: 0.8, periodS: DIURNAL_DAY_S / state.speed, phase: 0.25 - tenantIndex / tenants };
    case 'onoff': {
      const onS = ONOFF.onS / state.speed;
      const offS = ONOFF.offS / state.speed;
      return { kind: 'onoff', onRate: (rate * (onS + offS)) / onS, meanOnS: onS, meanOffS: offS };
    }
  }
}

function trafficWords(state: LabState): string {
  switch (state.traffic) {
    case 'poisson':
      return 'Poisson arrivals';
    case 'gamma':
      return `gamma arrivals, CV ${state.cv}`;
    case 'diurnal':
      return `diurnal arrivals, a day in ${+(DIURNAL_DAY_S / state.speed).toPrecision(3)} s, peaks spread over time zones`;
    case 'onoff':
      return `on/off bursts (${+(ONOFF.onS / state.speed).toPrecision(3)} s on at 4× the mean rate, ${+(ONOFF.offS / state.speed).toPrecision(3)} s off, on average)`;
    case 'trace':
      return 'trace replay';
  }
}

/** What the load is set against, for descriptions: '' for the run's own capacity. */
function basisWords(state: Pick<LabState, 'loadBatch' | 'batch'>): string {
  return state.loadBatch === 'run' || state.loadBatch === state.batch ? '' : ` at max batch ${state.loadBatch}`;
}

/** Generated traffic for `tenants` tenants (default state.tenants). */
export function generatedPlan(state: LabState, basis: LoadBasis, model: ModelShape, tenants = state.tenants): TrafficPlan {
  const lengths = lengthsFor(state, model.seqLen);
  const m = meanLengths(lengths);
  const work = meanRequestWork(lengths, basis, model.seqLen);
  const rate = state.load / work;
  const specs: TenantSpec[] = [];
  for (let i = 0; i < tenants; i++) {
    specs.push({
      tenant: i,
      name: `tenant ${i + 1}`,
      seed: state.seed,
      vocabSize: model.vocabSize,
      maxContext: model.seqLen,
      source: { kind: 'generated', arrival: arrivalFor(state, rate, i, tenants), lengths, horizonS: state.duration + 1 },
    });
  }
  const description =
    `${tenants} tenant${tenants === 1 ? '' : 's'}, each ${trafficWords(state)} at ${fmt(rate)} req/s ` +
    `(prompt ~${m.prompt}, output ~${m.output} tokens, ${fmt(1000 * work)} ms of work each): ` +
    `ρ = ${fmt(state.load)} of capacity${basisWords(state)} each, ${fmt(state.load * tenants)} in total`;
  return { specs, ratePerTenant: rate, workPerRequestS: work, loadPerTenant: state.load, loadTotal: state.load * tenants, description };
}

/** Token scale that sizes the trace's mean request like prompt + output (at most 1). */
export function autoTokenScale(trace: Trace, state: Pick<LabState, 'prompt' | 'output'>): number {
  let total = 0;
  for (const r of trace.requests) total += r.promptTokens + r.outputTokens;
  const mean = trace.requests.length ? total / trace.requests.length : 0;
  if (!(mean > 0)) return 1;
  return +Math.min(1, (state.prompt + state.output) / mean).toPrecision(3);
}

/** A trace replayed by `tenants` tenants (default state.tenants), each offering state.load. */
export function tracePlan(trace: Trace, state: LabState, basis: LoadBasis, model: ModelShape, tenants = state.tenants): TrafficPlan {
  if (trace.requests.length === 0) throw new RangeError(`${trace.source}: the trace has no requests`);
  const tokenScale = state.tokenScale === 'auto' ? autoTokenScale(trace, state) : state.tokenScale;
  const clip = { maxContext: model.seqLen };
  const tokensOnly = scaleTrace(trace, { tokenScale, clip }).trace;
  let work = 0;
  for (const r of tokensOnly.requests) work += requestWorkS(basis, r.promptTokens, r.outputTokens);
  const span = traceDuration(trace) || 1;
  const workRate = work / span; // work seconds per trace second
  const timeScale = state.load / workRate;
  const { trace: scaled, summary } = scaleTrace(trace, { timeScale, tokenScale, clip });
  const length = Math.max(traceDuration(scaled), 1e-3);
  const horizon = state.duration + 1;
  const specs: TenantSpec[] = [];
  for (let i = 0; i < tenants; i++) {
    const offset = (i * length) / tenants;
    const a: number[] = [];
    const p: number[] = [];
    const o: number[] = [];
    // Tenant i starts i/N of the way through and wraps; copies follow each other until the horizon.
    const shifted = scaled.requests
      .map((r) => ({ t: (((r.arrival - offset) % length) + length) % length, r }))
      .sort((x, y) => x.t - y.t);
    for (let lap = 0; lap * length < horizon; lap++) {
      for (const { t, r } of shifted) {
        const at = t + lap * length;
        if (at >= horizon) break;
        a.push(at);
        p.push(r.promptTokens);
        o.push(r.outputTokens);
      }
    }
    specs.push({
      tenant: i,
      name: `tenant ${i + 1}`,
      seed: state.seed,
      vocabSize: model.vocabSize,
      maxContext: model.seqLen,
      source: { kind: 'trace', arrival: Float64Array.from(a), promptTokens: Int32Array.from(p), outputTokens: Int32Array.from(o) },
    });
  }
  const rate = scaled.requests.length / length;
  const text = describeScaling(summary);
  const description =
    `${tenants} tenant${tenants === 1 ? '' : 's'}, each replaying ${trace.source} from a different point (offset i/${tenants} of its length, looped) ` +
    `at ${fmt(rate)} req/s: ρ = ${fmt(state.load)} of capacity${basisWords(state)} each, ${fmt(state.load * tenants)} in total`;
  return {
    specs,
    ratePerTenant: rate,
    workPerRequestS: work / scaled.requests.length,
    loadPerTenant: state.load,
    loadTotal: state.load * tenants,
    description,
    scaling: { summary, text },
  };
}

/**
 * SLO targets in seconds. 'auto' follows this device, so a preset's SLOs mean the same anywhere:
 * TPOT 2× the mean step time of the device serving at capacity (session.ts sloFor: prefills
 * included, so a saturated but not overloaded server meets it); TTFT 10× that step plus the
 * prefill time of a mean prompt.
 */
export function sloSeconds(
  value: { ttft: SloValue; tpot: SloValue },
  stepMsAtCapacity: number,
  prefillMsPerToken: number,
  meanPrompt: number,
): { ttft: number; tpot: number } {
  const step = stepMsAtCapacity / 1000;
  return {
    ttft: value.ttft === 'auto' ? 10 * step + (prefillMsPerToken * meanPrompt) / 1000 : value.ttft,
    tpot: value.tpot === 'auto' ? 2 * step : value.tpot,
  };
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : `${+v.toPrecision(a >= 1 ? 3 : 2)}`;
}
