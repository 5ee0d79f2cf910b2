// The simulator's workload: every tenant's requests, merged by arrival into typed-array columns
// (20 bytes a request, no objects), with each request's tenant as a dense index 0..T-1.
//
// Generated tenants use the same random streams as traffic/tenants.ts (tenantSeed(seed, index),
// then stream 1 for arrivals and 2 for lengths), so a tenant's requests do not change when other
// tenants are added, and a mix of standard arrival processes gives exactly generateTenantColumns()'s
// output. Trace tenants replay a parsed trace (scaled and clipped explicitly); the simulator core
// never reads files: the caller passes the parsed traces in (the CLI reads them from disk, the UI
// from the page).
import { Rng } from '../ops/random.js';
import { arrivalTimes, DAY_S, meanRate, type ArrivalProcess } from '../traffic/arrivals.js';
import { empiricalLengths, lengthSampler, type LengthDist } from '../traffic/lengths.js';
import { deriveSeed, exponential, lognormalParams, normal } from '../traffic/sampling.js';
import { scaleTrace, traceDuration } from '../traffic/scaling.js';
import { tenantSeed } from '../traffic/tenants.js';
import { mergeColumnStreams, type TraceColumns } from '../traffic/columns.js';
import type { Trace } from '../traffic/types.js';
import { parseTraceAuto, type ParseOptions } from '../traffic/auto.js';
import { FORMAT_NAMES, traceReport, type TraceReport } from '../traffic/report.js';
import type { Slo } from '../metrics/latency.js';
import { BURSTGPT_TRACE_OPTIONS, ConfigError, type ArrivalSpec, type LengthSpec, type ProfileArrival, type SimConfig, type TenantGroup, type TraceSource, type TzSpec } from './config.js';

export interface WorkloadInputs {
  /**
   * Parsed trace files, by traceKey(): the path the config names them with, plus the parser
   * options when it sets any (the same file filtered two ways is two traces).
   */
  traces?: ReadonlyMap<string, Trace>;
}

/** What a trace a config names was parsed into, and which tenants replay it. */
export interface WorkloadTrace extends TraceReport {
  /** Tenant group names (or `lengths of <name>`) that use it. */
  usedBy: string[];
}

// --- Trace files: which a config needs, how each is parsed, and what the parse left out ------

/** The parser options a trace source sets (format and BurstGPT's filter and failure policy). */
function traceParseOptions(src: Partial<TraceSource>): ParseOptions {
  const o: ParseOptions = {};
  if (src.format !== undefined) o.format = src.format;
  if (src.models !== undefined || src.failures !== undefined) {
    o.burstgpt = {};
    if (src.models !== undefined) o.burstgpt.models = src.models;
    if (src.failures !== undefined) o.burstgpt.failures = src.failures;
  }
  return o;
}

/** The key of a parsed trace in WorkloadInputs.traces: the path, plus the parser options when set. */
export function traceKey(src: Pick<TraceSource, 'path'> & Partial<TraceSource>): string {
  const o = traceParseOptions(src);
  if (o.format === undefined && o.burstgpt === undefined) return src.path;
  const models = o.burstgpt?.models === undefined ? undefined : [o.burstgpt.models].flat();
  return `${src.path}#${JSON.stringify({ format: o.format, models, failures: o.burstgpt?.failures })}`;
}

export interface TraceUse {
  key: string;
  path: string;
  options: ParseOptions;
  /** Where the config names it, e.g. `config.tenants[2].trace`. */
  field: string;
  /** The source's own fields (for checking that its options fit the detected format). */
  source: Partial<TraceSource>;
}

/** The distinct traces a config needs (tenant traces and trace-resampled lengths), in config order. */
export function traceUses(config: SimConfig): TraceUse[] {
  const out = new Map<string, TraceUse>();
  (config.tenants ?? []).forEach((g, i) => {
    const add = (src: Pick<TraceSource, 'path'> & Partial<TraceSource>, field: string) => {
      const key = traceKey(src);
      if (!out.has(key)) out.set(key, { key, path: src.path, options: traceParseOptions(src), field, source: src });
    };
    if (g.trace) add(g.trace, `config.tenants[${i}].trace`);
    if (g.lengths?.kind === 'trace') add({ path: g.lengths.path }, `config.tenants[${i}].lengths`);
  });
  return [...out.values()];
}

/**
 * Parses one trace file's text as the config asks (a TraceFormatError names the file and row);
 * a BurstGPT option on a file detected as another format is a ConfigError naming the field.
 */
export function parseTraceUse(use: TraceUse, text: string): Trace {
  const trace = parseTraceAuto(text, use.path, use.options);
  if (trace.format !== 'burstgpt') {
    const wrong = BURSTGPT_TRACE_OPTIONS.filter((k) => use.source[k] !== undefined);
    if (wrong.length > 0) {
      throw new ConfigError(wrong.map((k) => `${use.field}.${k}: applies to BurstGPT traces only; ${use.path} is an ${FORMAT_NAMES[trace.format]} trace`));
    }
  }
  return trace;
}

export interface TenantInfo {
  /** Dense index, 0..T-1: the tenant id the schedulers see. */
  index: number;
  name: string;
  /** Index of its group in config.tenants. */
  group: number;
  model?: string;
  tzOffsetH: number;
  /** Nominal mean arrival rate, req/s (a trace tenant: its requests over its span). */
  rate: number;
  slo?: Slo;
  /** Generated requests, and their mean prompt and output tokens. */
  requests: number;
  meanPrompt: number;
  meanOutput: number;
}

export interface Workload {
  columns: TraceColumns;
  tenants: TenantInfo[];
  /** Arrivals cover [0, durationS). */
  durationS: number;
  /** What was adjusted, in sentences (nothing is changed silently). */
  notes: string[];
  /** Every trace file used: rows read, requests kept, bad and skipped rows, the parser's notes. */
  traces: WorkloadTrace[];
}

const ARRIVAL_STREAM = 1;
const LENGTH_STREAM = 2;
const SPREAD_STREAM = 0x5a7e;

/** Arrival times of a profile process on [0, durationS) (non-homogeneous Poisson by thinning). */
export function profileArrivalTimes(p: ProfileArrival, durationS: number, rng: Rng, tzOffsetH: number, out: number[] = []): number[] {
  const k = p.multipliers.length;
  let sum = 0;
  let max = 0;
  for (const m of p.multipliers) {
    sum += m;
    if (m > max) max = m;
  }
  if (p.rate === 0 || max === 0) return out;
  const period = p.periodS ?? DAY_S;
  const slot = period / k;
  const peak = (p.rate * max * k) / sum;
  const shift = tzOffsetH * 3600;
  for (let t = exponential(rng, peak); t < durationS; t += exponential(rng, peak)) {
    let local = (t + shift) % period;
    if (local < 0) local += period;
    const m = p.multipliers[Math.min(k - 1, Math.floor(local / slot))]!;
    if (rng.next() * max < m) out.push(t);
  }
  return out;
}

function scaleArrival(a: ArrivalSpec, f: number): ArrivalSpec {
  if (f === 1) return a;
  if (a.kind === 'onoff') return { ...a, onRate: a.onRate * f, offRate: (a.offRate ?? 0) * f };
  return { ...a, rate: a.rate * f };
}

export function arrivalMeanRate(a: ArrivalSpec): number {
  return a.kind === 'profile' ? a.rate : meanRate(a);
}

function tzFor(spec: TzSpec | undefined, i: number, count: number): number {
  if (spec === undefined) return 0;
  if (typeof spec === 'number') return spec;
  if (Array.isArray(spec)) return spec[i % spec.length]!;
  return spec.min + ((spec.max - spec.min) * (i + 0.5)) / count;
}

/** Per-tenant rate multipliers of a group: lognormal with mean 1 and the given CV (1 without spread). */
function rateMultiplier(seed: number, group: number, i: number, cv: number | undefined): number {
  if (!cv) return 1;
  const { mu, sigma } = lognormalParams(1, cv);
  return Math.exp(mu + sigma * normal(new Rng(deriveSeed(seed, SPREAD_STREAM, group, i))));
}

/** The parsed trace a source names, recorded (once per key) in `reports` as used by `user`. */
function useTrace(src: Pick<TraceSource, 'path'> & Partial<TraceSource>, inputs: WorkloadInputs, reports: Map<string, WorkloadTrace>, user: string, field: string): Trace {
  const key = traceKey(src);
  const t = inputs.traces?.get(key);
  if (!t) throw new Error(`${field}: '${src.path}' was not loaded (pass it in inputs.traces${key === src.path ? '' : ` under the key '${key}'`})`);
  let r = reports.get(key);
  if (!r) reports.set(key, (r = { ...traceReport(src.path, t), usedBy: [] }));
  if (!r.usedBy.includes(user)) r.usedBy.push(user);
  return t;
}

function lengthDist(spec: LengthSpec, inputs: WorkloadInputs, reports: Map<string, WorkloadTrace>, user: string, gi: number): LengthDist {
  if (spec.kind !== 'trace') return spec;
  return empiricalLengths(useTrace(spec, inputs, reports, `lengths of ${user}`, `tenants[${gi}].lengths`));
}

interface TenantStream {
  arrival: ArrayLike<number>;
  prompt: Int32Array;
  output: Int32Array;
}

/** Expands groups into tenants (in order) and generates or loads each tenant's requests. */
export function buildWorkload(config: SimConfig, inputs: WorkloadInputs = {}): Workload {
  const seed = config.seed ?? 1;
  const groups = config.tenants ?? [];
  const notes: string[] = [];
  const tenants: TenantInfo[] = [];
  const streams: TenantStream[] = [];
  const traceReports = new Map<string, WorkloadTrace>();

  // The arrivals window: durationS, or what the request cap needs at the nominal rates, or the traces' span.
  let durationS = config.durationS;
  if (durationS === undefined && config.requests !== undefined) {
    let rate = 0;
    groups.forEach((g, gi) => {
      if (g.arrival) for (let i = 0; i < (g.count ?? 1); i++) rate += arrivalMeanRate(g.arrival) * rateMultiplier(seed, gi, i, g.rateSpread?.cv);
    });
    if (rate > 0) durationS = (config.requests / rate) * 1.05 + 100 / rate;
  }

  groups.forEach((g: TenantGroup, gi) => {
    const count = g.count ?? 1;
    const base = g.name ?? `group${gi}`;
    if (g.trace) {
      const raw = useTrace(g.trace, inputs, traceReports, base, `tenants[${gi}].trace`);
      const { trace, summary } = scaleTrace(raw, { timeScale: g.trace.timeScale, tokenScale: g.trace.tokenScale, clip: g.trace.clip });
      const off = g.trace.offsetS ?? 0;
      const span = traceDuration(trace) + off;
      // One tenant, or (byTenant) one per tenant id the trace carries, in ascending id order.
      const groupsOf = new Map<number, number[]>();
      trace.requests.forEach((r, i) => {
        const key = g.trace!.byTenant ? (r.tenant ?? -1) : 0;
        let list = groupsOf.get(key);
        if (!list) groupsOf.set(key, (list = []));
        list.push(i);
      });
      const keys = [...groupsOf.keys()].sort((a, b) => a - b);
      let raised = 0;
      for (const key of keys) {
        const idx = groupsOf.get(key)!;
        const n = idx.length;
        const arrival = new Float64Array(n);
        const prompt = new Int32Array(n);
        const output = new Int32Array(n);
        for (let j = 0; j < n; j++) {
          const r = trace.requests[idx[j]!]!;
          arrival[j] = r.arrival + off;
          prompt[j] = Math.max(1, r.promptTokens);
          output[j] = Math.max(1, r.outputTokens);
          if (r.promptTokens < 1 || r.outputTokens < 1) raised++;
        }
        streams.push({ arrival, prompt, output });
        const name = g.trace.byTenant ? `${base}-${key < 0 ? 'none' : key}` : base;
        tenants.push(tenantInfo(tenants.length, name, gi, g, 0, span > 0 ? n / span : 0, prompt, output));
      }
      if (raised > 0) notes.push(`${base}: ${raised} requests with 0 prompt or output tokens raised to 1`);
      if (summary.clippedRequests > 0 || summary.timeScale !== 1 || summary.tokenScale !== 1) {
        notes.push(`${base}: time ×1/${summary.timeScale}, tokens ×${summary.tokenScale}, ${summary.clippedRequests} requests clipped`);
      }
      if (durationS === undefined || (config.durationS === undefined && span > durationS)) durationS = Math.max(durationS ?? 0, span);
      return;
    }
    const lengths = lengthDist(g.lengths!, inputs, traceReports, base, gi);
    for (let i = 0; i < count; i++) {
      const index = tenants.length;
      const tz = tzFor(g.tzOffsetH, i, count);
      const arrivalSpec = scaleArrival(g.arrival!, rateMultiplier(seed, gi, i, g.rateSpread?.cv));
      const ts = tenantSeed(seed, index);
      const rng = new Rng(deriveSeed(ts, ARRIVAL_STREAM));
      const dur = durationS ?? 0;
      const times =
        arrivalSpec.kind === 'profile' ? profileArrivalTimes(arrivalSpec, dur, rng, tz) : arrivalTimes(arrivalSpec as ArrivalProcess, dur, rng, tz);
      const n = times.length;
      const prompt = new Int32Array(n);
      const output = new Int32Array(n);
      const lrng = new Rng(deriveSeed(ts, LENGTH_STREAM));
      const s = lengthSampler(lengths);
      for (let j = 0; j < n; j++) {
        s.next(lrng);
        prompt[j] = s.prompt;
        output[j] = s.output;
      }
      let zero = 0;
      for (let j = 0; j < n; j++) {
        if (prompt[j]! < 1 || output[j]! < 1) {
          zero++;
          prompt[j] = Math.max(1, prompt[j]!);
          output[j] = Math.max(1, output[j]!);
        }
      }
      if (zero > 0) notes.push(`${base}${count > 1 ? `-${i}` : ''}: ${zero} requests with 0 prompt or output tokens raised to 1`);
      streams.push({ arrival: times, prompt, output });
      const name = count > 1 ? `${base}-${i}` : base;
      tenants.push(tenantInfo(index, name, gi, g, tz, arrivalMeanRate(arrivalSpec), prompt, output));
    }
  });

  let generated = 0;
  for (const st of streams) generated += st.arrival.length;
  const columns = mergeStreams(streams, config.requests);
  const truncated = generated > columns.arrival.length;
  if (config.requests !== undefined && columns.arrival.length < config.requests) {
    notes.push(`asked for ${config.requests} requests; the arrivals window holds ${columns.arrival.length}`);
  }
  if (config.requests !== undefined) {
    // Per-tenant counts and means over what was kept.
    for (const t of tenants) {
      t.requests = 0;
      t.meanPrompt = 0;
      t.meanOutput = 0;
    }
    const c = columns;
    for (let i = 0; i < c.arrival.length; i++) {
      const t = tenants[c.tenant[i]!]!;
      t.requests++;
      t.meanPrompt += c.promptTokens[i]!;
      t.meanOutput += c.outputTokens[i]!;
    }
    for (const t of tenants) {
      t.meanPrompt = t.requests ? t.meanPrompt / t.requests : 0;
      t.meanOutput = t.requests ? t.meanOutput / t.requests : 0;
    }
    // Cut by the cap: the arrivals window ends with the last request kept.
    if (truncated && c.arrival.length > 0) durationS = c.arrival[c.arrival.length - 1]!;
  }
  return { columns, tenants, durationS: durationS ?? 0, notes, traces: [...traceReports.values()] };
}

function tenantInfo(
  index: number,
  name: string,
  group: number,
  g: TenantGroup,
  tz: number,
  rate: number,
  prompt: Int32Array,
  output: Int32Array,
): TenantInfo {
  let p = 0;
  let o = 0;
  for (let i = 0; i < prompt.length; i++) {
    p += prompt[i]!;
    o += output[i]!;
  }
  const n = prompt.length;
  const t: TenantInfo = { index, name, group, tzOffsetH: tz, rate, requests: n, meanPrompt: n ? p / n : 0, meanOutput: n ? o / n : 0 };
  if (g.model !== undefined) t.model = g.model;
  if (g.slo !== undefined) t.slo = g.slo;
  return t;
}

/**
 * k-way merge of sorted per-tenant streams (binary heap on the next arrivals; ties go to the
 * lower tenant index), keeping at most `limit` requests.
 */
export function mergeStreams(streams: readonly TenantStream[], limit = Infinity): TraceColumns {
  return mergeColumnStreams(streams, { limit });
}

/** Multiplies every tenant's arrival rate by f (trace tenants: their timeScale). */
export function scaleConfigRates(config: SimConfig, f: number): SimConfig {
  if (config.queue) return { ...config, queue: { ...config.queue, arrivalRate: config.queue.arrivalRate * f } };
  return {
    ...config,
    tenants: (config.tenants ?? []).map((g) =>
      g.trace ? { ...g, trace: { ...g.trace, timeScale: (g.trace.timeScale ?? 1) * f } } : { ...g, arrival: scaleArrival(g.arrival!, f) },
    ),
  };
}

/** The config with only its first n tenants (groups cut in order). */
export function firstTenants(config: SimConfig, n: number): SimConfig {
  const out: TenantGroup[] = [];
  let left = n;
  for (const g of config.tenants ?? []) {
    if (left <= 0) break;
    const c = g.count ?? 1;
    out.push(c <= left ? g : { ...g, count: left });
    left -= Math.min(c, left);
  }
  return { ...config, tenants: out };
}

/** Tenants a config expands to. */
export function tenantCount(config: SimConfig): number {
  if (config.queue) return 1;
  let n = 0;
  for (const g of config.tenants ?? []) n += g.count ?? 1;
  return n;
}
