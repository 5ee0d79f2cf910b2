// Pieces the report's scenarios share: request lengths, daily profiles and the hardware params.
import { percentile } from '../../metrics/percentiles.js';
import type { LengthDist } from '../../traffic/lengths.js';
import type { RooflineSpec } from '../step-time.js';
import { defaultParams, resolveParams, type Scenario, type ScenarioOptions, type ScenarioParam } from '../scenarios.js';

/** Chat-like lengths (the Azure conversation trace's scale): prompt mean 1,000, output mean 200, CV 1. */
export const CHAT_LENGTHS: LengthDist = {
  kind: 'parametric',
  prompt: { kind: 'lognormal', mean: 1000, cv: 1, min: 16, max: 6000 },
  output: { kind: 'lognormal', mean: 200, cv: 1, min: 8, max: 2000 },
};

export const CHAT_NOTE = 'Requests: prompt lognormal mean 1,000 tokens (at most 6,000), output mean 200 (CV 1, at most 2,000), like the Azure conversation trace.';

/**
 * A weekday of a business-hours product in its own time zone, by local hour (normalized to mean 1
 * by the simulator): quiet nights, a morning ramp, a plateau 9:00–17:00, an evening tail.
 */
export const BUSINESS_DAY = [0.25, 0.2, 0.2, 0.2, 0.25, 0.35, 0.6, 1.0, 1.5, 1.9, 2.0, 2.0, 1.9, 2.0, 2.0, 1.9, 1.7, 1.4, 1.1, 0.9, 0.8, 0.6, 0.45, 0.35];

/** Where a platform's customers are (hours east of UTC, cycled over the customers). */
export const ZONES: Record<string, { label: string; tz: number[] }> = {
  'americas-europe-asia': { label: 'mostly the Americas and Europe, some Asia', tz: [-8, -7, -6, -5, -5, -5, -4, -3, 0, 1, 1, 1, 2, 3, 5.5, 8, 9, 10] },
  global: { label: 'spread evenly around the globe', tz: Array.from({ length: 24 }, (_, i) => i - 11) },
  'one-zone': { label: 'all in one time zone (UTC−5)', tz: [-5] },
};

export const ZONES_PARAM: ScenarioParam = {
  key: 'zones',
  label: 'Customers\' time zones',
  kind: 'choice',
  options: Object.keys(ZONES),
  default: 'americas-europe-asia',
};

export const GPU_PARAM: ScenarioParam = {
  key: 'gpu',
  label: 'GPU',
  kind: 'choice',
  options: ['h100-sxm', 'h200', 'a100-80gb', 'l40s', 'b200'],
  default: 'h100-sxm',
};

export const MODEL_PARAM: ScenarioParam = {
  key: 'model',
  label: 'Model',
  kind: 'choice',
  options: ['llama-3.2-3b', 'llama-3.1-8b', 'llama-3.1-70b'],
  default: 'llama-3.1-8b',
};

export function dayParam(full: number, reduced: number): ScenarioParam {
  return {
    key: 'dayH',
    label: 'Day length',
    hint: 'hours a simulated day lasts (only the daily cycle is compressed)',
    kind: 'number',
    min: 0.25,
    max: 24,
    default: full,
    reduced,
  };
}

export const DAY_NOTE = (h: number) =>
  h === 24
    ? 'A full 24-hour day is simulated.'
    : `The daily cycle is compressed into ${h} h so that the run takes seconds: rates and request lengths are real; only the day is shorter (fewer requests per simulated day, and steeper daily ramps).`;

/** Tensor parallelism the model needs on the GPU (70B takes 4 of the 80 GB parts, 2 of the larger). */
export function tpFor(gpu: string, model: string): number {
  if (!model.includes('70b')) return 1;
  return gpu === 'h200' || gpu === 'b200' ? 2 : 4;
}

export function roofline(gpu: string, model: string): RooflineSpec {
  return { kind: 'roofline', gpu, model, tp: tpFor(gpu, model) };
}

/**
 * Hours east of UTC on a compressed day: the config's offsets are hours of a 24-hour day, so on a
 * day of dayH hours an offset of h hours is h × dayH / 24.
 */
export function scaleTz(h: number, dayH: number): number;
export function scaleTz(h: number[], dayH: number): number[];
export function scaleTz(h: number | number[], dayH: number): number | number[] {
  const f = dayH / 24;
  return Array.isArray(h) ? h.map((x) => x * f) : h * f;
}

export function pctText(v: number): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '—';
}

/** A scenario's params (checked) as a plain object, for config(). */
export function params<T extends object>(s: Scenario, o: ScenarioOptions): T {
  const { params: p, errors } = resolveParams(s, o.params ?? {}, o.reduced ?? false);
  if (errors.length) throw new RangeError(errors.join('; '));
  return { ...defaultParams(s, o.reduced ?? false), ...p } as T;
}

/** The q-quantile of the finite values (0 ≤ q ≤ 1), linear between order statistics; NaN when none. */
export function quantile(values: readonly number[], q: number): number {
  return percentile(values.filter(Number.isFinite), 100 * q, 'linear');
}
