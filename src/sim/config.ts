// The simulator's JSON config (documented with examples in docs/sim-config.md) and its validator.
// validateConfig() checks an untrusted value (parsed JSON, URL state) field by field and throws a
// ConfigError listing every problem as "path: what is wrong" (e.g. `deployment.router: must be
// one of ...; got "jsqq"`); unknown fields are errors too, so a typo is never silently ignored.
import { validateArrival, type ArrivalProcess } from '../traffic/arrivals.js';
import { validateLengths, type LengthDist, type TokenDist } from '../traffic/lengths.js';
import type { ScaleClip } from '../traffic/scaling.js';
import { TRACE_FILE_FORMATS, type TraceFileFormat } from '../traffic/auto.js';
import { GPU_PRICES, type GpuPriceId } from '../econ/cost.js';
import type { Slo } from '../metrics/latency.js';
import { findGpu, findModel, GPU_SPECS, MODEL_SPECS } from './specs.js';
import type { StepTimeSpec } from './step-time.js';

// ---------------------------------------------------------------------------------------------
// Types

export type RouterKind = 'round-robin' | 'least-loaded' | 'jsq' | 'central-queue';
export const ROUTERS: readonly RouterKind[] = ['round-robin', 'least-loaded', 'jsq', 'central-queue'];

export interface SchedulerSettings {
  /** Sequences per step (default 256, vLLM's max_num_seqs; the queue shorthand uses 1). */
  maxBatch?: number;
  /** Tokens per step (default max(maxBatch, 2048)). */
  tokenBudget?: number;
  maxPrefillChunk?: number;
  policy?: 'fcfs' | 'fair';
  /** KV block size, positions (default 16). */
  blockSize?: number;
  /** KV blocks per server (default: roofline: what fits beside the weights; else maxBatch full contexts). */
  kvBlocks?: number;
  /** Positions per sequence (default: roofline: min(model context, 8192); else 8192). */
  maxContext?: number;
  preemption?: 'recompute' | 'none';
  watermark?: number;
}

export interface PriceSpec {
  /** An econ price preset (src/econ/cost.ts). */
  preset?: GpuPriceId;
  /** $ per GPU-hour (overrides the preset). A server of tp GPUs costs tp times this. */
  dollarsPerGpuHour?: number;
}

/** Piecewise-constant daily profile: rate · multiplier[k] during slot k of the (local) period. */
export interface ProfileArrival {
  kind: 'profile';
  /** Mean rate over the period, req/s. */
  rate: number;
  /** Relative rate of each equal slot of the period (normalized to mean 1), e.g. 24 hours. */
  multipliers: number[];
  /** Default 86400 s. */
  periodS?: number;
}

export type ArrivalSpec = ArrivalProcess | ProfileArrival;

export type LengthSpec = LengthDist | { kind: 'trace'; path: string };

export type TzSpec = number | number[] | { min: number; max: number };

export interface TraceSource {
  path: string;
  /** Arrivals are divided by it (default 1). */
  timeScale?: number;
  /** Token counts are multiplied by it (default 1). */
  tokenScale?: number;
  clip?: ScaleClip;
  /** Shifts every arrival later by this much, s (default 0). */
  offsetS?: number;
  /** One tenant per tenant id in the trace (project JSON and generated traces carry them) instead of one in all. */
  byTenant?: boolean;
  /** Parse as this format instead of detecting it from the header and first rows. */
  format?: TraceFileFormat;
  /** BurstGPT: keep only requests to these models (exact `Model` values); the others are counted as skipped. */
  models?: string | string[];
  /** BurstGPT: failed requests (Response tokens 0) are dropped and counted (default), or kept with 0 output tokens. */
  failures?: 'drop' | 'keep';
}

/** TraceSource fields that only the BurstGPT parser reads. */
export const BURSTGPT_TRACE_OPTIONS = ['models', 'failures'] as const;

export interface TenantGroup {
  name?: string;
  /** Tenants in the group (default 1); each gets its own random streams. */
  count?: number;
  /** Per-tenant arrival process (rates are per tenant). Either this or trace. */
  arrival?: ArrivalSpec;
  /** Spread of per-tenant rates within the group: lognormal multipliers with this CV, rescaled to mean 1. */
  rateSpread?: { cv: number };
  lengths?: LengthSpec;
  /** Hours east of UTC: one value, a list cycled over the group, or a range spread evenly. */
  tzOffsetH?: TzSpec;
  /** Replays a trace file as one tenant. */
  trace?: TraceSource;
  /** Model the tenant's requests go to (multi-model deployments). */
  model?: string;
  /** Per-tenant SLO (default: the run's). */
  slo?: Slo;
}

export interface SizingRule {
  /**
   * 'slo' (default): the smallest fleet that meets the SLO-attainment target on the workload
   * (simulated and searched); 'peak': the windowed-peak rule (sizing.ts SIZING_RULES).
   */
  method?: 'slo' | 'peak';
  /** method 'slo': fraction of requests that must meet every SLO of their tenant (default 0.99). */
  sloTarget?: number;
  /** method 'peak': percentile of the per-window work rate to size for (default 99). */
  percentile?: number;
  /** method 'peak': window the work rate is measured over, s (default 60; any length, down to a second or less). */
  windowS?: number;
  /** method 'peak': capacity utilization allowed at that peak (default 1: the percentile is the headroom). */
  targetUtilization?: number;
  /** Fewest servers per pool (default 1). */
  minServers?: number;
}

export interface AutoscalerSpec {
  minServers?: number;
  /** Most servers (default: the fleet the SLO search sizes for the workload, as for a fixed pool). */
  maxServers?: number;
  /**
   * What it steers: 'capacity' (default): useful work done over the interval (work.ts) / (active
   * servers × interval); 'busy': the fraction of time the servers ran steps. A continuously
   * batching server is busy whenever one sequence runs, so 'busy' reads ~100% at small batches.
   */
  metric?: 'capacity' | 'busy';
  /** Utilization the autoscaler steers to (default 0.7). */
  targetUtilization?: number;
  /** Decision interval, s (default 60). */
  intervalS?: number;
  /** Time from the decision to a new server taking requests, s (default 120). It is billed from the decision. */
  provisioningDelayS?: number;
  /** Utilization must stay below target this long before a server is released, s (default 300). */
  scaleDownDelayS?: number;
}

export interface PoolOptions {
  servers?: number | 'auto';
  router?: RouterKind;
  /** Requests waiting in the pool (central queue or servers' queues) beyond which arrivals are rejected. */
  maxQueue?: number;
  autoscaler?: AutoscalerSpec;
}

export type DeploymentSpec =
  | ({ kind: 'pooled'; sizing?: SizingRule } & PoolOptions)
  | { kind: 'reserved'; sizing?: SizingRule; router?: RouterKind; maxQueue?: number }
  | {
      kind: 'multi-model';
      sizing?: SizingRule;
      pools: Record<string, PoolOptions & { stepTime?: StepTimeSpec; price?: PriceSpec; scheduler?: SchedulerSettings }>;
    };

export type SweepSpec =
  | { kind: 'load'; values: number[] }
  | { kind: 'tenants'; values: number[] }
  | { kind: 'servers'; values: number[]; sloTarget?: number };

/** The textbook queue: c servers, Poisson arrivals at rate λ, service mean S, batch size 1. */
export interface QueueSpec {
  servers: number;
  /** λ, requests/s. */
  arrivalRate: number;
  /** S, s. */
  meanServiceS: number;
  /** Default 'exponential'. */
  service?: 'exponential' | 'deterministic';
  requests: number;
}

export interface ReportOptions {
  /** Width of the time-series buckets, s (default: the span / 200, at least 1 s). */
  timeSeriesIntervalS?: number;
  /** Tenant rows in the result (default 'all'); summaries always cover every tenant. */
  tenantRows?: number | 'all';
}

export interface SimConfig {
  name?: string;
  description?: string;
  /** Default 1. */
  seed?: number;
  /** Generated tenants' arrivals cover [0, durationS). */
  durationS?: number;
  /** Cap on generated requests (the first ones by arrival). */
  requests?: number;
  /** Requests arriving before this, and time before it, are left out of the figures (default 0). */
  warmupS?: number;
  queue?: QueueSpec;
  stepTime?: StepTimeSpec;
  scheduler?: SchedulerSettings;
  price?: PriceSpec;
  slo?: Slo;
  tenants?: TenantGroup[];
  deployment?: DeploymentSpec;
  report?: ReportOptions;
  sweep?: SweepSpec;
}

// ---------------------------------------------------------------------------------------------
// Validation

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid simulator config:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

class Checker {
  readonly issues: string[] = [];
  fail(path: string, msg: string): void {
    this.issues.push(`${path}: ${msg}`);
  }
  obj(v: unknown, path: string, allowed: readonly string[]): v is Obj {
    if (!isObj(v)) {
      this.fail(path, `must be an object; got ${show(v)}`);
      return false;
    }
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.fail(`${path}.${k}`, `unknown field (allowed: ${allowed.join(', ')})`);
    return true;
  }
  num(o: Obj, k: string, path: string, opt: { min?: number; max?: number; gt?: number; lt?: number; int?: boolean; required?: boolean } = {}): void {
    const v = o[k];
    const p = `${path}.${k}`;
    if (v === undefined) {
      if (opt.required) this.fail(p, 'is required');
      return;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(p, `must be a finite number; got ${show(v)}`);
    if (opt.int && !Number.isInteger(v)) return this.fail(p, `must be a whole number; got ${v}`);
    if (opt.min !== undefined && v < opt.min) return this.fail(p, `must be ≥ ${opt.min}; got ${v}`);
    if (opt.gt !== undefined && !(v > opt.gt)) return this.fail(p, `must be > ${opt.gt}; got ${v}`);
    if (opt.max !== undefined && v > opt.max) return this.fail(p, `must be ≤ ${opt.max}; got ${v}`);
    if (opt.lt !== undefined && !(v < opt.lt)) return this.fail(p, `must be < ${opt.lt}; got ${v}`);
  }
  str(o: Obj, k: string, path: string, required = false): void {
    const v = o[k];
    if (v === undefined) {
      if (required) this.fail(`${path}.${k}`, 'is required');
      return;
    }
    if (typeof v !== 'string' || v === '') this.fail(`${path}.${k}`, `must be a non-empty string; got ${show(v)}`);
  }
  oneOf(o: Obj, k: string, path: string, choices: readonly string[], required = false): void {
    const v = o[k];
    if (v === undefined) {
      if (required) this.fail(`${path}.${k}`, `is required (one of ${choices.join(', ')})`);
      return;
    }
    if (typeof v !== 'string' || !choices.includes(v)) this.fail(`${path}.${k}`, `must be one of ${choices.join(', ')}; got ${show(v)}`);
  }
  /** Runs a validator that throws (the traffic module's), reporting its message at path. */
  wrap(path: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.fail(path, (e as Error).message);
    }
  }
}

const STEP_KINDS = ['calibrated', 'roofline', 'fixed'] as const;

function checkStepTime(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) return c.fail(path, `must be an object with kind ${STEP_KINDS.join(' | ')}; got ${show(v)}`);
  switch (v.kind) {
    case 'calibrated':
      if (!c.obj(v, path, ['kind', 'a', 'b', 'c', 'd', 'e', 'fit', 'noise'])) return;
      for (const k of ['a', 'b', 'c', 'd']) c.num(v, k, path, { required: true, min: 0 });
      c.num(v, 'e', path, { min: 0 });
      if (v.fit !== undefined) c.obj(v.fit, `${path}.fit`, ['n', 'r2', 'mape', 'rmse', 'source']);
      if (v.noise !== undefined && c.obj(v.noise, `${path}.noise`, ['factors', 'residuals', 'run'])) {
        const f = v.noise.factors;
        const r = v.noise.residuals;
        if ((f === undefined) === (r === undefined)) {
          c.fail(`${path}.noise`, `needs exactly one of factors (multiplied) or residuals (added, seconds); got ${show(v.noise)}`);
        } else if (f !== undefined && (!Array.isArray(f) || f.length === 0 || !f.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0))) {
          c.fail(`${path}.noise.factors`, `must be a non-empty array of numbers ≥ 0; got ${show(f)}`);
        } else if (r !== undefined && (!Array.isArray(r) || r.length === 0 || !r.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
          c.fail(`${path}.noise.residuals`, `must be a non-empty array of finite numbers (seconds); got ${show(r)}`);
        } else if (v.noise.run !== undefined && r === undefined) {
          c.fail(`${path}.noise.run`, `replays residuals in runs, and there are none here (factors are drawn one at a time)`);
        } else c.num(v.noise, 'run', `${path}.noise`, { int: true, min: 1 });
      }
      return;
    case 'roofline': {
      if (!c.obj(v, path, ['kind', 'gpu', 'model', 'tp', 'weights', 'kvCache', 'efficiency', 'memoryFraction', 'activationReserveGiB'])) return;
      c.str(v, 'gpu', path, true);
      c.str(v, 'model', path, true);
      if (typeof v.gpu === 'string' && v.gpu && !findGpu(v.gpu)) c.fail(`${path}.gpu`, `unknown GPU ${show(v.gpu)} (known: ${GPU_SPECS.map((g) => g.id).join(', ')})`);
      if (typeof v.model === 'string' && v.model && !findModel(v.model)) {
        c.fail(`${path}.model`, `unknown model ${show(v.model)} (known: ${MODEL_SPECS.map((m) => m.id).join(', ')})`);
      }
      c.num(v, 'tp', path, { int: true, min: 1, max: 64 });
      c.oneOf(v, 'weights', path, ['bf16', 'fp8']);
      c.oneOf(v, 'kvCache', path, ['bf16', 'fp8']);
      c.num(v, 'memoryFraction', path, { gt: 0, max: 1 });
      c.num(v, 'activationReserveGiB', path, { min: 0 });
      const effKeys = ['bandwidth', 'flops', 'attention', 'link', 'collectiveLatencyS', 'kernelS', 'overheadS'];
      if (v.efficiency !== undefined && c.obj(v.efficiency, `${path}.efficiency`, effKeys)) {
        for (const k of ['bandwidth', 'flops', 'attention', 'link']) c.num(v.efficiency, k, `${path}.efficiency`, { gt: 0, max: 1 });
        for (const k of ['collectiveLatencyS', 'kernelS', 'overheadS']) c.num(v.efficiency, k, `${path}.efficiency`, { min: 0 });
      }
      return;
    }
    case 'fixed':
      if (!c.obj(v, path, ['kind', 'meanS', 'distribution'])) return;
      c.num(v, 'meanS', path, { gt: 0, required: true });
      c.oneOf(v, 'distribution', path, ['exponential', 'deterministic']);
      return;
    default:
      c.fail(`${path}.kind`, `must be one of ${STEP_KINDS.join(', ')}; got ${show(v.kind)}`);
  }
}

function checkScheduler(c: Checker, v: unknown, path: string): void {
  const keys = ['maxBatch', 'tokenBudget', 'maxPrefillChunk', 'policy', 'blockSize', 'kvBlocks', 'maxContext', 'preemption', 'watermark'];
  if (!c.obj(v, path, keys)) return;
  c.num(v, 'maxBatch', path, { int: true, min: 1 });
  c.num(v, 'tokenBudget', path, { int: true, min: 1 });
  if (typeof v.tokenBudget === 'number' && typeof v.maxBatch === 'number' && v.tokenBudget < v.maxBatch) {
    c.fail(`${path}.tokenBudget`, `must be at least maxBatch (${v.maxBatch}); got ${v.tokenBudget}`);
  }
  c.num(v, 'maxPrefillChunk', path, { int: true, min: 1 });
  c.oneOf(v, 'policy', path, ['fcfs', 'fair']);
  c.num(v, 'blockSize', path, { int: true, min: 1 });
  c.num(v, 'kvBlocks', path, { int: true, min: 1 });
  c.num(v, 'maxContext', path, { int: true, min: 2 });
  c.oneOf(v, 'preemption', path, ['recompute', 'none']);
  c.num(v, 'watermark', path, { min: 0, lt: 1 });
}

function checkPrice(c: Checker, v: unknown, path: string): void {
  if (!c.obj(v, path, ['preset', 'dollarsPerGpuHour'])) return;
  c.oneOf(v, 'preset', path, GPU_PRICES.map((p) => p.id));
  c.num(v, 'dollarsPerGpuHour', path, { min: 0 });
  if (v.preset === undefined && v.dollarsPerGpuHour === undefined) c.fail(path, 'needs preset or dollarsPerGpuHour');
}

function checkSlo(c: Checker, v: unknown, path: string): void {
  if (!c.obj(v, path, ['ttft', 'tpot', 'e2e'])) return;
  for (const k of ['ttft', 'tpot', 'e2e']) c.num(v, k, path, { gt: 0 });
}

function checkArrival(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) return c.fail(path, `must be an object with kind poisson | gamma | diurnal | onoff | profile; got ${show(v)}`);
  if (v.kind === 'profile') {
    if (!c.obj(v, path, ['kind', 'rate', 'multipliers', 'periodS'])) return;
    c.num(v, 'rate', path, { min: 0, required: true });
    c.num(v, 'periodS', path, { gt: 0 });
    const m = v.multipliers;
    if (!Array.isArray(m) || m.length === 0) return c.fail(`${path}.multipliers`, `must be a non-empty array of numbers ≥ 0; got ${show(m)}`);
    if (!m.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) c.fail(`${path}.multipliers`, 'every multiplier must be a finite number ≥ 0');
    else if (!m.some((x) => (x as number) > 0)) c.fail(`${path}.multipliers`, 'at least one multiplier must be > 0');
    return;
  }
  const keys: Record<string, string[]> = {
    poisson: ['kind', 'rate'],
    gamma: ['kind', 'rate', 'cv'],
    diurnal: ['kind', 'rate', 'amplitude', 'periodS', 'phase'],
    onoff: ['kind', 'onRate', 'offRate', 'meanOnS', 'meanOffS'],
  };
  const allowed = typeof v.kind === 'string' ? keys[v.kind] : undefined;
  if (!allowed) return c.fail(`${path}.kind`, `must be one of poisson, gamma, diurnal, onoff, profile; got ${show(v.kind)}`);
  if (!c.obj(v, path, allowed)) return;
  c.wrap(path, () => validateArrival(v as unknown as ArrivalProcess));
}

function checkTokenDist(c: Checker, v: unknown, path: string): void {
  const keys: Record<string, string[]> = {
    fixed: ['kind', 'value'],
    uniform: ['kind', 'min', 'max'],
    lognormal: ['kind', 'mean', 'cv', 'min', 'max'],
    geometric: ['kind', 'mean', 'max'],
  };
  if (!isObj(v)) return c.fail(path, `must be an object with kind fixed | uniform | lognormal | geometric; got ${show(v)}`);
  const allowed = typeof v.kind === 'string' ? keys[v.kind] : undefined;
  if (!allowed) return c.fail(`${path}.kind`, `must be one of fixed, uniform, lognormal, geometric; got ${show(v.kind)}`);
  c.obj(v, path, allowed);
}

function checkLengths(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) return c.fail(path, `must be an object with kind parametric | trace; got ${show(v)}`);
  if (v.kind === 'trace') {
    if (c.obj(v, path, ['kind', 'path'])) c.str(v, 'path', path, true);
    return;
  }
  if (v.kind !== 'parametric') return c.fail(`${path}.kind`, `must be parametric or trace; got ${show(v.kind)}`);
  if (!c.obj(v, path, ['kind', 'prompt', 'output'])) return;
  const before = c.issues.length;
  checkTokenDist(c, v.prompt, `${path}.prompt`);
  checkTokenDist(c, v.output, `${path}.output`);
  if (c.issues.length === before) c.wrap(path, () => validateLengths(v as unknown as LengthDist));
  const out = v.output as TokenDist | undefined;
  if (out && out.kind === 'fixed' && out.value < 1) c.fail(`${path}.output.value`, 'every request needs at least 1 output token');
}

function checkTrace(c: Checker, v: unknown, path: string): void {
  if (!c.obj(v, path, ['path', 'timeScale', 'tokenScale', 'clip', 'offsetS', 'byTenant', 'format', ...BURSTGPT_TRACE_OPTIONS])) return;
  if (v.byTenant !== undefined && typeof v.byTenant !== 'boolean') c.fail(`${path}.byTenant`, `must be true or false; got ${show(v.byTenant)}`);
  c.str(v, 'path', path, true);
  c.num(v, 'timeScale', path, { gt: 0 });
  c.num(v, 'tokenScale', path, { gt: 0 });
  c.num(v, 'offsetS', path, { min: 0 });
  if (v.clip !== undefined && c.obj(v.clip, `${path}.clip`, ['maxPrompt', 'maxOutput', 'maxContext'])) {
    c.num(v.clip, 'maxPrompt', `${path}.clip`, { int: true, min: 1 });
    c.num(v.clip, 'maxOutput', `${path}.clip`, { int: true, min: 1 });
    c.num(v.clip, 'maxContext', `${path}.clip`, { int: true, min: 2 });
  }
  // Parser options. Whether a BurstGPT option fits a detected format is checked when the file is read.
  c.oneOf(v, 'format', path, TRACE_FILE_FORMATS);
  c.oneOf(v, 'failures', path, ['drop', 'keep']);
  const m = v.models;
  if (m !== undefined && !(typeof m === 'string' && m !== '') && !(Array.isArray(m) && m.length > 0 && m.every((x) => typeof x === 'string' && x !== ''))) {
    c.fail(`${path}.models`, `must be a model name or a non-empty list of them (BurstGPT \`Model\` values); got ${show(m)}`);
  }
  if (typeof v.format === 'string' && v.format !== 'burstgpt') {
    for (const k of BURSTGPT_TRACE_OPTIONS) if (v[k] !== undefined) c.fail(`${path}.${k}`, `applies to BurstGPT traces only (format is ${v.format})`);
  }
}

function checkTenant(c: Checker, v: unknown, path: string): void {
  const keys = ['name', 'count', 'arrival', 'rateSpread', 'lengths', 'tzOffsetH', 'trace', 'model', 'slo'];
  if (!c.obj(v, path, keys)) return;
  c.str(v, 'name', path);
  c.num(v, 'count', path, { int: true, min: 1, max: 1_000_000 });
  c.str(v, 'model', path);
  if (v.trace !== undefined) {
    if (v.arrival !== undefined) c.fail(`${path}.arrival`, 'a trace tenant takes its arrivals from the trace: give arrival or trace, not both');
    if (v.count !== undefined && v.count !== 1) c.fail(`${path}.count`, 'a trace tenant is one tenant (count 1)');
    if (v.rateSpread !== undefined) c.fail(`${path}.rateSpread`, 'applies to generated tenants only');
    if (v.lengths !== undefined) c.fail(`${path}.lengths`, 'a trace tenant takes its lengths from the trace');
    checkTrace(c, v.trace, `${path}.trace`);
  } else {
    if (v.arrival === undefined) c.fail(`${path}.arrival`, 'is required (or give trace)');
    else checkArrival(c, v.arrival, `${path}.arrival`);
    if (v.lengths === undefined) c.fail(`${path}.lengths`, 'is required for a generated tenant');
    else checkLengths(c, v.lengths, `${path}.lengths`);
  }
  if (v.rateSpread !== undefined && c.obj(v.rateSpread, `${path}.rateSpread`, ['cv'])) c.num(v.rateSpread, 'cv', `${path}.rateSpread`, { min: 0, required: true });
  const tz = v.tzOffsetH;
  if (tz !== undefined) {
    const okH = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= -24 && x <= 24;
    if (Array.isArray(tz)) {
      if (tz.length === 0 || !tz.every(okH)) c.fail(`${path}.tzOffsetH`, 'a list must hold numbers in [-24, 24]');
    } else if (isObj(tz)) {
      if (c.obj(tz, `${path}.tzOffsetH`, ['min', 'max'])) {
        c.num(tz, 'min', `${path}.tzOffsetH`, { min: -24, max: 24, required: true });
        c.num(tz, 'max', `${path}.tzOffsetH`, { min: -24, max: 24, required: true });
        if (typeof tz.min === 'number' && typeof tz.max === 'number' && tz.min > tz.max) c.fail(`${path}.tzOffsetH`, 'min must be ≤ max');
      }
    } else if (!okH(tz)) c.fail(`${path}.tzOffsetH`, `must be hours in [-24, 24], a list of them, or {min, max}; got ${show(tz)}`);
  }
  if (v.slo !== undefined) checkSlo(c, v.slo, `${path}.slo`);
}

function checkSizing(c: Checker, v: unknown, path: string): void {
  if (!c.obj(v, path, ['method', 'sloTarget', 'percentile', 'windowS', 'targetUtilization', 'minServers'])) return;
  c.oneOf(v, 'method', path, ['slo', 'peak']);
  const method = v.method ?? 'slo';
  if (method === 'slo') {
    for (const k of ['percentile', 'windowS', 'targetUtilization']) {
      if (v[k] !== undefined) c.fail(`${path}.${k}`, `applies to method 'peak' only; add method: 'peak' (the default method, 'slo', sizes by simulating the SLO)`);
    }
    c.num(v, 'sloTarget', path, { gt: 0, max: 1 });
  } else if (v.sloTarget !== undefined) c.fail(`${path}.sloTarget`, `applies to method 'slo' only; got method ${show(v.method)}`);
  c.num(v, 'percentile', path, { gt: 0, max: 100 });
  c.num(v, 'windowS', path, { gt: 0 });
  c.num(v, 'targetUtilization', path, { gt: 0, max: 1 });
  c.num(v, 'minServers', path, { int: true, min: 1 });
}

function checkAutoscaler(c: Checker, v: unknown, path: string): void {
  const keys = ['minServers', 'maxServers', 'metric', 'targetUtilization', 'intervalS', 'provisioningDelayS', 'scaleDownDelayS'];
  if (!c.obj(v, path, keys)) return;
  c.oneOf(v, 'metric', path, ['capacity', 'busy']);
  c.num(v, 'minServers', path, { int: true, min: 1 });
  c.num(v, 'maxServers', path, { int: true, min: 1 });
  if (typeof v.minServers === 'number' && typeof v.maxServers === 'number' && v.minServers > v.maxServers) c.fail(`${path}.minServers`, `must be ≤ maxServers (${v.maxServers})`);
  c.num(v, 'targetUtilization', path, { gt: 0, max: 1 });
  c.num(v, 'intervalS', path, { gt: 0 });
  c.num(v, 'provisioningDelayS', path, { min: 0 });
  c.num(v, 'scaleDownDelayS', path, { min: 0 });
}

function checkPoolOptions(c: Checker, v: Obj, path: string): void {
  if (v.servers !== undefined && v.servers !== 'auto') c.num(v, 'servers', path, { int: true, min: 1 });
  c.oneOf(v, 'router', path, ROUTERS);
  c.num(v, 'maxQueue', path, { int: true, min: 0 });
  if (v.autoscaler !== undefined) checkAutoscaler(c, v.autoscaler, `${path}.autoscaler`);
}

function checkDeployment(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) return c.fail(path, `must be an object with kind pooled | reserved | multi-model; got ${show(v)}`);
  switch (v.kind) {
    case 'pooled':
      if (!c.obj(v, path, ['kind', 'servers', 'router', 'maxQueue', 'autoscaler', 'sizing'])) return;
      checkPoolOptions(c, v, path);
      break;
    case 'reserved':
      if (!c.obj(v, path, ['kind', 'sizing', 'router', 'maxQueue'])) return;
      c.oneOf(v, 'router', path, ROUTERS);
      c.num(v, 'maxQueue', path, { int: true, min: 0 });
      break;
    case 'multi-model': {
      if (!c.obj(v, path, ['kind', 'sizing', 'pools'])) return;
      if (!isObj(v.pools) || Object.keys(v.pools).length === 0) {
        c.fail(`${path}.pools`, 'must be an object with one entry per model name');
        break;
      }
      for (const [name, p] of Object.entries(v.pools)) {
        const pp = `${path}.pools.${name}`;
        if (!c.obj(p, pp, ['servers', 'router', 'maxQueue', 'autoscaler', 'stepTime', 'price', 'scheduler'])) continue;
        checkPoolOptions(c, p, pp);
        if (p.stepTime !== undefined) checkStepTime(c, p.stepTime, `${pp}.stepTime`);
        if (p.price !== undefined) checkPrice(c, p.price, `${pp}.price`);
        if (p.scheduler !== undefined) checkScheduler(c, p.scheduler, `${pp}.scheduler`);
      }
      break;
    }
    default:
      return c.fail(`${path}.kind`, `must be one of pooled, reserved, multi-model; got ${show(v.kind)}`);
  }
  if (v.sizing !== undefined) checkSizing(c, v.sizing, `${path}.sizing`);
}

function checkSweep(c: Checker, v: unknown, path: string): void {
  if (!isObj(v)) return c.fail(path, `must be an object with kind load | tenants | servers; got ${show(v)}`);
  if (!['load', 'tenants', 'servers'].includes(v.kind as string)) return c.fail(`${path}.kind`, `must be one of load, tenants, servers; got ${show(v.kind)}`);
  if (!c.obj(v, path, v.kind === 'servers' ? ['kind', 'values', 'sloTarget'] : ['kind', 'values'])) return;
  const vals = v.values;
  if (!Array.isArray(vals) || vals.length === 0 || !vals.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
    c.fail(`${path}.values`, `must be a non-empty array of numbers > 0; got ${show(vals)}`);
  } else if (v.kind !== 'load' && !vals.every((x) => Number.isInteger(x))) c.fail(`${path}.values`, 'must be whole numbers');
  c.num(v, 'sloTarget', path, { gt: 0, max: 1 });
}

/** Checks an untrusted value and returns it typed, or throws a ConfigError listing every problem. */
export function validateConfig(input: unknown): SimConfig {
  const c = new Checker();
  const top = [
    'name', 'description', 'seed', 'durationS', 'requests', 'warmupS', 'queue', 'stepTime', 'scheduler', 'price', 'slo', 'tenants',
    'deployment', 'report', 'sweep', '$schema',
  ];
  if (!c.obj(input, 'config', top)) throw new ConfigError(c.issues);
  const v = input;
  c.str(v, 'name', 'config');
  c.str(v, 'description', 'config');
  c.num(v, 'seed', 'config', { int: true, min: 0, max: 2 ** 32 - 1 });
  c.num(v, 'durationS', 'config', { gt: 0 });
  c.num(v, 'requests', 'config', { int: true, min: 1 });
  c.num(v, 'warmupS', 'config', { min: 0 });
  if (v.queue !== undefined) {
    for (const k of ['stepTime', 'tenants', 'deployment', 'scheduler', 'requests', 'durationS']) {
      if (v[k] !== undefined) c.fail(`config.${k}`, 'a queue config sets this itself: remove it (or drop queue)');
    }
    const q = v.queue;
    if (c.obj(q, 'config.queue', ['servers', 'arrivalRate', 'meanServiceS', 'service', 'requests'])) {
      c.num(q, 'servers', 'config.queue', { int: true, min: 1, required: true });
      c.num(q, 'arrivalRate', 'config.queue', { gt: 0, required: true });
      c.num(q, 'meanServiceS', 'config.queue', { gt: 0, required: true });
      c.oneOf(q, 'service', 'config.queue', ['exponential', 'deterministic']);
      c.num(q, 'requests', 'config.queue', { int: true, min: 1, required: true });
    }
  } else {
    if (v.stepTime === undefined) c.fail('config.stepTime', 'is required (or give queue)');
    else checkStepTime(c, v.stepTime, 'config.stepTime');
    if (!Array.isArray(v.tenants) || v.tenants.length === 0) c.fail('config.tenants', 'must be a non-empty array of tenant groups');
    else v.tenants.forEach((t, i) => checkTenant(c, t, `config.tenants[${i}]`));
    if (v.deployment === undefined) c.fail('config.deployment', 'is required (kind pooled | reserved | multi-model)');
    else checkDeployment(c, v.deployment, 'config.deployment');
    if (v.scheduler !== undefined) checkScheduler(c, v.scheduler, 'config.scheduler');
    const generated = Array.isArray(v.tenants) && v.tenants.some((t) => isObj(t) && t.trace === undefined);
    if (generated && v.durationS === undefined && v.requests === undefined) {
      c.fail('config.durationS', 'is required when tenants are generated (or give requests)');
    }
  }
  if (v.price !== undefined) checkPrice(c, v.price, 'config.price');
  if (v.slo !== undefined) checkSlo(c, v.slo, 'config.slo');
  if (v.report !== undefined && c.obj(v.report, 'config.report', ['timeSeriesIntervalS', 'tenantRows'])) {
    c.num(v.report, 'timeSeriesIntervalS', 'config.report', { gt: 0 });
    if (v.report.tenantRows !== 'all') c.num(v.report, 'tenantRows', 'config.report', { int: true, min: 0 });
  }
  if (v.sweep !== undefined) checkSweep(c, v.sweep, 'config.sweep');
  // Cross-field checks on models.
  if (c.issues.length === 0 && v.queue === undefined) {
    const dep = v.deployment as DeploymentSpec;
    const tenants = v.tenants as TenantGroup[];
    if (dep.kind === 'multi-model') {
      tenants.forEach((t, i) => {
        if (t.model === undefined) c.fail(`config.tenants[${i}].model`, `is required in a multi-model deployment (one of ${Object.keys(dep.pools).join(', ')})`);
        else if (!(t.model in dep.pools)) c.fail(`config.tenants[${i}].model`, `has no pool in deployment.pools (${Object.keys(dep.pools).join(', ')}); got ${show(t.model)}`);
      });
    } else {
      const models = new Set(tenants.map((t) => t.model).filter((m) => m !== undefined));
      if (models.size > 1) c.fail('config.tenants', `use different models (${[...models].join(', ')}): a ${dep.kind} deployment runs one model; use kind multi-model`);
    }
  }
  if (c.issues.length > 0) throw new ConfigError(c.issues);
  return v as SimConfig;
}

/**
 * Expands the textbook queue shorthand into a full config (anything else is returned as is). The
 * result keeps `queue`, so that the run can report theory beside the simulation; it is for
 * running, not for validating again.
 */
export function expandQueue(config: SimConfig): SimConfig {
  const q = config.queue;
  if (!q) return config;
  return {
    ...config,
    requests: q.requests,
    stepTime: { kind: 'fixed', meanS: q.meanServiceS, distribution: q.service ?? 'exponential' },
    scheduler: { maxBatch: 1, tokenBudget: 1, maxContext: 2, blockSize: 1, kvBlocks: 1 },
    tenants: [
      {
        name: 'poisson',
        arrival: { kind: 'poisson', rate: q.arrivalRate },
        lengths: { kind: 'parametric', prompt: { kind: 'fixed', value: 1 }, output: { kind: 'fixed', value: 1 } },
      },
    ],
    deployment: { kind: 'pooled', servers: q.servers, router: 'central-queue' },
  };
}
