// One simulation run: config → workload → pools (sized, priced, with their step-time models and
// scheduler settings) → the event loop (fleet.ts) → figures (SimResult, plain JSON).
//
// Definitions (DESIGN.md's, applied to a fleet; a "server" is one model replica of tp GPUs):
// - time utilization = busy server-seconds / billed server-seconds over the measured span
//   [warmupS, max(durationS, last event)); billed = provisioning, active or draining.
// - useful work (work.ts): the server-seconds a request costs a server at saturated efficiency;
//   capacity utilization = work served / billed server-seconds (GPU-weighted across pools of
//   different tp), offered load = offered work (total ÷ duration) / servers. "Capacity" in output
//   tokens/s is derived from it: the output tokens a server-second of work serves in this mix.
// - sizing (sizing.ts): by default the smallest fleet meeting the SLO-attainment target, found by
//   simulating each pool alone (pools share nothing, so a pool alone runs exactly as in the fleet).
// - cost per 1M tokens = billed GPU-hours × $/GPU-hour / (tokens served in the span / 1e6), for
//   output tokens and for all tokens (prefill, recomputation included, + decode).
// - a tenant's busy share: its pool's busy time × its share of the pool's tokens (prompt + output
//   of its finished requests); its time utilization only where it has servers of its own.
import { costPerMillionTokens, gpuPrice, laptopPrice, type GpuPrice } from '../econ/cost.js';
import { hasSloTarget, type Slo } from '../metrics/latency.js';
import { stepFunctionMeans } from '../metrics/utilization.js';
import { summarize, type PercentileSummary } from '../metrics/percentiles.js';
import type { SchedulerConfig } from '../engine/scheduler.js';
import type { StepRecord } from '../metrics/records.js';
import { Collector } from './collect.js';
import {
  expandQueue,
  validateConfig,
  type AutoscalerSpec,
  type PoolOptions,
  type PriceSpec,
  type RouterKind,
  type SchedulerSettings,
  type SimConfig,
  type SizingRule,
} from './config.js';
import { simulateFleet, type PoolSetup } from './fleet.js';
import { demandByGroup, searchServers, serversForPeak, SIZING_DEFAULTS, sizingRuleText, SloUnreachableError, weightedPercentile, type Demand, type SloSizing } from './sizing.js';
import { makeStepTimeModel, RooflineModel, type StepTimeModel, type StepTimeSpec } from './step-time.js';
import { idleAttainment, requestWork, WorkCosts, type RequestWork } from './work.js';
import { queueTheory, type QueueTheory } from './theory.js';
import { buildWorkload, type Workload, type WorkloadInputs, type WorkloadTrace } from './workload.js';

export interface RunOptions extends WorkloadInputs {
  /** Fraction of the arrivals simulated, about a hundred times a run (see progressEvery), and 1 at the end. */
  onProgress?: (fraction: number) => void;
  /** Arrivals between progress calls (default 1% of them, at least 1,000). */
  progressEvery?: number;
  onStep?: (record: StepRecord, pool: number) => void;
}

export interface LatencyFigures {
  ttft: PercentileSummary;
  tpot: PercentileSummary;
  e2e: PercentileSummary;
  /** Arrival → first admission to a batch. */
  wait: PercentileSummary;
}

export interface CostFigures {
  dollarsPerGpuHour: number;
  priceLabel: string;
  dollars: number;
  perMillionOutputTokens: number;
  perMillionAllTokens: number;
}

export interface ThroughputFigures {
  busyServerSeconds: number;
  billedServerSeconds: number;
  timeUtilization: number;
  /** Useful work served in the span, server-seconds (work.ts). */
  workServerSeconds: number;
  /** Mean billed servers × output tokens a server-second of work serves, output tokens/s. */
  capacityTokensPerS: number;
  /** Work served / billed server-seconds (GPU-weighted for a fleet). */
  capacityUtilization: number;
  /** Output tokens sampled in the span (first tokens included). */
  outputTokens: number;
  /** Prefill + decode tokens processed in the span. */
  allTokens: number;
  outputTokensPerS: number;
  allTokensPerS: number;
}

export interface PoolResult extends ThroughputFigures {
  name: string;
  stepTime: string;
  stepTimeSpec: StepTimeSpec;
  router: RouterKind;
  tenants: number;
  gpusPerServer: number;
  servers: { initial: number; mean: number; peak: number; final: number; sizedBy: 'config' | 'slo' | 'peak' | 'autoscaler' };
  /** How the fleet size was found, where the simulator sized it. */
  sizing?: { method: 'slo'; search: SloSizing } | { method: 'peak'; peakServers: number; percentile: number; windowS: number; targetUtilization: number };
  /**
   * One server at saturation in this pool's mix: output tokens/s (output tokens ÷ work), the
   * decode batch at the mean context, the mean lengths and work per request.
   */
  capacityPerServer: { tokensPerS: number; batch: number; meanPrompt: number; meanOutput: number; workPerRequestS: number };
  /** Offered work in servers (total ÷ duration), its windowed peak, and offered output tokens/s. */
  demand: { meanServers: number; peakServers: number; meanTokensPerS: number; percentile: number; windowS: number };
  /** Offered work / initial servers. */
  offeredLoad: number;
  cost: CostFigures;
  scheduler: { maxBatch: number; tokenBudget: number; kvBlocks: number; blockSize: number; maxContext: number };
  autoscaler?: Required<AutoscalerSpec> & { scaleUps: number; scaleDowns: number };
  serverChanges?: [number, number][];
}

export interface TenantRow {
  name: string;
  pool: string;
  requests: number;
  finished: number;
  rejected: number;
  outputTokens: number;
  /** Offered work in servers (mean, windowed peak) and output tokens/s. */
  demand: { meanServers: number; peakServers: number; meanTokensPerS: number };
  /** Busy server-seconds attributed to the tenant (by tokens). */
  busyServerSeconds: number;
  /** Where the tenant has its own servers: busy / billed of its pool; else null. */
  timeUtilization: number | null;
  servers: number | null;
  ttftMeanS: number;
  ttftP99S: number;
  e2eMeanS: number;
  e2eP99S: number;
  waitMeanS: number;
  sloAttainment: number | null;
}

export interface QueueingCheck {
  theory: QueueTheory;
  simulated: { waitS: number; timeInSystemS: number; utilization: number; requests: number };
  relativeError: { waitS: number; timeInSystemS: number; utilization: number };
}

export interface SimResult {
  name: string | null;
  seed: number;
  deployment: 'pooled' | 'reserved' | 'multi-model';
  sizingRule: string;
  workload: {
    requests: number;
    tenants: number;
    durationS: number;
    meanPrompt: number;
    meanOutput: number;
    offeredOutputTokensPerS: number;
    /** Offered work (total ÷ duration), servers. */
    offeredWorkServers: number;
    /** Offered work / initial servers (GPU-weighted). */
    offeredLoad: number;
    notes: string[];
    /** Each trace file replayed: rows read, requests kept, bad and skipped rows, the parser's notes. */
    traces: WorkloadTrace[];
  };
  span: { t0: number; t1: number };
  fleet: ThroughputFigures & {
    servers: { mean: number; peak: number };
    gpus: { mean: number; peak: number };
    gpuHours: number;
    cost: Omit<CostFigures, 'dollarsPerGpuHour' | 'priceLabel'>;
    requests: {
      arrived: number;
      finished: number;
      rejected: number;
      rejectedByReason: Record<string, number>;
      aborted: number;
      preempted: number;
      preemptions: number;
    };
    latency: LatencyFigures;
    /** The textbook figures: mean queueing wait, mean time in system (E2E), utilization. */
    queueing: { meanWaitS: number; meanTimeInSystemS: number; utilization: number };
    slo: { attainment: number; met: number; ended: number; goodputPerS: number } | null;
  };
  pools: PoolResult[];
  tenants: {
    count: number;
    /** Distribution over tenants with servers of their own. */
    timeUtilization: PercentileSummary | null;
    sloAttainment: PercentileSummary | null;
    rows: TenantRow[];
  };
  fragmentation?: { servers: number; serversIfShared: number; extraServers: number; note: string };
  queueing?: QueueingCheck;
  timeSeries: {
    intervalS: number;
    /** Latency percentiles: requests placed at their first token (TTFT) or finish (E2E), each bucket alone. */
    note: string;
    t: number[];
    arrivalsPerS: number[];
    finishedPerS: number[];
    rejectedPerS: number[];
    busyServers: number[];
    servers: number[];
    utilization: (number | null)[];
    /** Work done (at step ends) ÷ billed servers, each bucket alone. */
    capacityUtilization: (number | null)[];
    outputTokensPerS: number[];
    ttftP99S: (number | null)[];
    e2eP99S: (number | null)[];
  };
  run: { events: number; steps: number; lastEventS: number };
}

// ---------------------------------------------------------------------------------------------

interface ResolvedPool {
  name: string;
  spec: StepTimeSpec;
  model: StepTimeModel;
  scheduler: Omit<SchedulerConfig, 'gpu' | 'keepRecords' | 'onRequest'>;
  gpusPerServer: number;
  price: GpuPrice | { label: string; dollarsPerGpuHour: number };
  options: PoolOptions;
  tenants: number[];
}

const AUTOSCALER_DEFAULTS = { minServers: 1, metric: 'capacity' as const, targetUtilization: 0.7, intervalS: 60, provisioningDelayS: 120, scaleDownDelayS: 300 } as const;

/** vLLM's default max_num_seqs. */
export const DEFAULT_MAX_BATCH = 256;

export function resolveScheduler(s: SchedulerSettings = {}, model: StepTimeModel): ResolvedPool['scheduler'] {
  const maxBatch = s.maxBatch ?? DEFAULT_MAX_BATCH;
  const blockSize = s.blockSize ?? 16;
  const roof = model instanceof RooflineModel ? model : undefined;
  const maxContext = s.maxContext ?? (roof ? Math.min(roof.model.maxContext, 8192) : 8192);
  let numBlocks = s.kvBlocks;
  if (numBlocks === undefined) {
    if (roof) {
      numBlocks = roof.kvBlocks(blockSize);
      if (numBlocks < 1) {
        throw new RangeError(
          `${roof.model.label} (${(roof.weightBytes / 1e9).toFixed(0)} GB of weights) does not fit on ${roof.tp} × ${roof.gpu.label}: raise tp or use fp8 weights`,
        );
      }
    } else numBlocks = maxBatch * Math.ceil(maxContext / blockSize);
  }
  const out: ResolvedPool['scheduler'] = {
    maxBatch,
    tokenBudget: s.tokenBudget ?? Math.max(maxBatch, 2048),
    kv: { numBlocks, blockSize },
    maxContext,
    policy: s.policy ?? 'fcfs',
    preemption: s.preemption ?? 'recompute',
  };
  if (s.maxPrefillChunk !== undefined) out.maxPrefillChunk = s.maxPrefillChunk;
  if (s.watermark !== undefined) out.admission = { watermark: s.watermark };
  return out;
}

export function resolvePrice(p: PriceSpec | undefined, spec: StepTimeSpec, model: StepTimeModel): ResolvedPool['price'] {
  if (p?.dollarsPerGpuHour !== undefined) return { label: p.preset ? `${gpuPrice(p.preset).label} (price given)` : 'given', dollarsPerGpuHour: p.dollarsPerGpuHour };
  if (p?.preset) return gpuPrice(p.preset);
  if (spec.kind === 'roofline') {
    const id = (model as RooflineModel).gpu.price;
    if (!id) throw new RangeError(`price: no econ preset for ${(model as RooflineModel).gpu.label}; give price.dollarsPerGpuHour`);
    return gpuPrice(id);
  }
  return laptopPrice(0.1);
}

function resolvePools(config: SimConfig, w: Workload): { pools: ResolvedPool[]; tenantPool: Int32Array } {
  const seed = config.seed ?? 1;
  const dep = config.deployment!;
  const tenantPool = new Int32Array(w.tenants.length);
  const base = (name: string, spec: StepTimeSpec, sched: SchedulerSettings | undefined, price: PriceSpec | undefined, options: PoolOptions): ResolvedPool => {
    const model = makeStepTimeModel(spec, seed);
    return {
      name,
      spec,
      model,
      scheduler: resolveScheduler(sched, model),
      gpusPerServer: spec.kind === 'roofline' ? (spec.tp ?? 1) : 1,
      price: resolvePrice(price, spec, model),
      options,
      tenants: [],
    };
  };
  const pools: ResolvedPool[] = [];
  switch (dep.kind) {
    case 'pooled': {
      const spec = withModel(config.stepTime!, w.tenants.find((t) => t.model !== undefined)?.model);
      const p = base('pool', spec, config.scheduler, config.price, dep);
      p.tenants = w.tenants.map((t) => t.index);
      pools.push(p);
      break;
    }
    case 'reserved': {
      // One model and price for every tenant: resolve once, copy per tenant.
      const spec = withModel(config.stepTime!, w.tenants.find((t) => t.model !== undefined)?.model);
      const proto = base('', spec, config.scheduler, config.price, { servers: 'auto', router: dep.router, maxQueue: dep.maxQueue });
      for (const t of w.tenants) {
        tenantPool[t.index] = pools.length;
        pools.push({ ...proto, name: t.name, tenants: [t.index] });
      }
      break;
    }
    case 'multi-model': {
      const names = Object.keys(dep.pools);
      names.forEach((name, i) => {
        const o = dep.pools[name]!;
        const spec = o.stepTime ?? withModel(config.stepTime!, name);
        pools.push(base(name, spec, o.scheduler ?? config.scheduler, o.price ?? config.price, o));
        for (const t of w.tenants) if (t.model === name) pools[i]!.tenants.push(t.index);
      });
      for (const [i, p] of pools.entries()) for (const t of p.tenants) tenantPool[t] = i;
      break;
    }
  }
  return { pools, tenantPool };
}

/** A roofline spec with the tenants' model (when they name one); other kinds as they are. */
function withModel(spec: StepTimeSpec, model: string | undefined): StepTimeSpec {
  return spec.kind === 'roofline' && model !== undefined ? { ...spec, model } : spec;
}

const summaryOf = (values: number[]): PercentileSummary | null => (values.length ? summarize(values) : null);

/** A config's workload, pools and useful work, before anything is simulated (sizing, sweeps). */
export interface PlannedRun {
  config: SimConfig;
  workload: Workload;
  pools: ResolvedPool[];
  tenantPool: Int32Array;
  tenantSlo: (Slo | undefined)[];
  work: RequestWork;
  rule: SizingRule;
  demand: Demand[];
}

/** Validates (when given raw JSON), expands the queue shorthand, builds the workload and its work. */
export function planRun(input: SimConfig | unknown, options: WorkloadInputs = {}): PlannedRun {
  const config = expandQueue(validateConfig(input));
  const w = buildWorkload(config, options);
  const { pools, tenantPool } = resolvePools(config, w);
  const rule: SizingRule = config.deployment!.sizing ?? {};
  const tenantSlo: (Slo | undefined)[] = w.tenants.map((t) => t.slo ?? config.slo);
  const work = requestWork(w.columns, tenantPool, pools, tenantSlo);
  const demand = demandByGroup(w.columns, work, tenantPool, pools.length, w.durationS, rule);
  return { config, workload: w, pools, tenantPool, tenantSlo, work, rule, demand };
}

/** Offered work ÷ servers (GPU-weighted over pools), for servers per pool. */
export function offeredLoadOf(plan: PlannedRun, servers: readonly number[]): number {
  let num = 0;
  let den = 0;
  plan.pools.forEach((p, i) => {
    num += plan.demand[i]!.mean * p.gpusPerServer;
    den += servers[i]! * p.gpusPerServer;
  });
  return den > 0 ? num / den : NaN;
}

/** Request indices of each pool, in arrival order. */
function poolOrders(plan: PlannedRun): Int32Array[] {
  const { columns } = plan.workload;
  const counts = new Int32Array(plan.pools.length);
  for (let i = 0; i < columns.tenant.length; i++) counts[plan.tenantPool[columns.tenant[i]!]!]!++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(plan.pools.length);
  for (let i = 0; i < columns.tenant.length; i++) {
    const g = plan.tenantPool[columns.tenant[i]!]!;
    out[g]![fill[g]!++] = i;
  }
  return out;
}

function routerOf(config: SimConfig, o: PoolOptions): RouterKind {
  return o.router ?? (config.queue ? 'central-queue' : 'jsq');
}

/**
 * The SLO search for pool g: each trial simulates the pool alone (its own requests, a fixed fleet
 * of n servers, no autoscaler) and reads the SLO attainment of its requests. Refused before any
 * trial where the pool's tenants have no SLO, or where fewer requests than the target would meet
 * their SLO even on an idle server.
 */
/** A simulated fleet kept for reuse: a single-pool run at the size the search settles on is that trial. */
interface Trial {
  collector: Collector;
  outcome: ReturnType<typeof simulateFleet>;
}

function sizeBySlo(plan: PlannedRun, g: number, order: Int32Array, where: string, intervalS: number, keep?: Map<number, Trial>): SloSizing {
  const p = plan.pools[g]!;
  const { config, workload: w, rule } = plan;
  const target = rule.sloTarget ?? SIZING_DEFAULTS.sloTarget;
  const min = rule.minServers ?? SIZING_DEFAULTS.minServers;
  if (!p.tenants.some((t) => hasSloTarget(plan.tenantSlo[t]))) {
    throw new RangeError(
      `${where}: sizing by SLO (the default) needs an SLO: give slo (ttft, tpot or e2e) for the run or its tenants, a fixed servers count, or deployment.sizing.method 'peak'`,
    );
  }
  if (order.length === 0) return { servers: min, target, attainment: NaN, below: null, trials: [] };
  const idle = idleAttainment(w.columns, order, p.model, p.scheduler, plan.tenantSlo);
  if (idle !== null && idle < target) {
    throw new SloUnreachableError(
      `${where}: the SLO-attainment target ${(100 * target).toFixed(2)}% is out of reach: even on an idle server only ${(100 * idle).toFixed(2)}% of its ${order.length} requests meet their SLO (prefill and decode at batch 1); relax the SLO or lower sizing.sloTarget`,
    );
  }
  const single = new Int32Array(plan.tenantPool.length).fill(0);
  const all = order.length === w.columns.arrival.length;
  const evaluate = (n: number): number => {
    const collector = new Collector({ tenants: w.tenants.length, pools: 1, warmupS: config.warmupS ?? 0, tenantSlo: plan.tenantSlo, intervalS });
    const setup: PoolSetup = { name: p.name, model: p.model, scheduler: p.scheduler, servers: n, router: routerOf(config, p.options) };
    if (p.options.maxQueue !== undefined) setup.maxQueue = p.options.maxQueue;
    const outcome = simulateFleet({ columns: w.columns, tenantPool: single, pools: [setup], collector, work: plan.work, durationS: w.durationS, ...(all ? {} : { order }) });
    keep?.set(n, { collector, outcome });
    return collector.sloEnded > 0 ? collector.sloMet / collector.sloEnded : 1;
  };
  const guess = Math.ceil(plan.demand[g]!.mean - 1e-9);
  try {
    return searchServers(evaluate, { guess, min, max: Math.max(min, order.length), target });
  } catch (e) {
    if (e instanceof SloUnreachableError) throw new SloUnreachableError(`${where}: ${e.message}`);
    throw e;
  }
}

/** Validates (when given raw JSON), expands the queue shorthand, builds, sizes and runs. */
export function runSimulation(input: SimConfig | unknown, options: RunOptions = {}): SimResult {
  const plan = planRun(input, options);
  const { config, workload: w, pools: resolved, tenantPool, tenantSlo, work, rule, demand } = plan;
  const seed = config.seed ?? 1;
  const dep = config.deployment!;
  const pct = rule.percentile ?? SIZING_DEFAULTS.percentile;
  const method = rule.method ?? SIZING_DEFAULTS.method;

  const span = Math.max(1, w.durationS);
  const intervalS = config.report?.timeSeriesIntervalS ?? Math.max(1, niceInterval(span / 200));
  // A single pool sized by SLO, with no autoscaler and nobody listening to steps: the search's
  // trial at N is the run itself (same inputs, same outcome), so it is kept instead of rerun.
  const reuse = resolved.length === 1 && !resolved[0]!.options.autoscaler && !options.onStep && typeof resolved[0]!.options.servers !== 'number' ? new Map<number, Trial>() : undefined;

  // Servers per pool: as configured, or sized by the rule.
  let orders: Int32Array[] | undefined;
  const setups: PoolSetup[] = [];
  const sizedBy: PoolResult['servers']['sizedBy'][] = [];
  const sizings: PoolResult['sizing'][] = [];
  const autoscalers: (PoolSetup['autoscaler'] | undefined)[] = [];
  resolved.forEach((p, i) => {
    const d = demand[i]!;
    const o = p.options;
    const where = dep.kind === 'reserved' ? `deployment (reserved), tenant ${p.name}` : dep.kind === 'multi-model' ? `deployment.pools.${p.name}` : 'deployment';
    // Sizes the pool once (the fixed size, or the autoscaler's bound) and records how.
    const size = (): number => {
      if (method === 'peak') {
        sizings[i] = { method: 'peak', peakServers: d.peak, percentile: pct, windowS: d.windowS, targetUtilization: rule.targetUtilization ?? SIZING_DEFAULTS.targetUtilization };
        return serversForPeak(d.peak, rule);
      }
      orders ??= poolOrders(plan);
      const search = sizeBySlo(plan, i, orders[i]!, where, intervalS, reuse);
      sizings[i] = { method: 'slo', search };
      return search.servers;
    };
    const asSpec = o.autoscaler;
    let servers: number;
    let sizedServers: number | undefined;
    if (typeof o.servers === 'number') {
      servers = o.servers;
      sizedBy.push(asSpec ? 'autoscaler' : 'config');
    } else if (o.servers === 'auto' || !asSpec) {
      servers = sizedServers = size();
      sizedBy.push(asSpec ? 'autoscaler' : method);
    } else {
      servers = asSpec.minServers ?? AUTOSCALER_DEFAULTS.minServers;
      sizedBy.push('autoscaler');
    }
    let as: PoolSetup['autoscaler'] | undefined;
    if (asSpec) {
      const maxServers = asSpec.maxServers ?? sizedServers ?? size();
      as = { ...AUTOSCALER_DEFAULTS, ...asSpec, maxServers };
      servers = Math.min(as.maxServers, Math.max(as.minServers, servers));
    }
    autoscalers.push(as);
    const setup: PoolSetup = { name: p.name, model: p.model, scheduler: p.scheduler, servers, router: routerOf(config, o) };
    if (o.maxQueue !== undefined) setup.maxQueue = o.maxQueue;
    if (as) setup.autoscaler = as;
    setups.push(setup);
  });

  const kept = reuse?.get(setups[0]!.servers);
  const collector = kept?.collector ?? new Collector({ tenants: w.tenants.length, pools: resolved.length, warmupS: config.warmupS ?? 0, tenantSlo, intervalS });
  const outcome =
    kept?.outcome ??
    simulateFleet({
      columns: w.columns,
      tenantPool,
      pools: setups,
      collector,
      work,
      durationS: w.durationS,
      onStep: options.onStep,
      onProgress: options.onProgress,
      progressEvery: options.progressEvery,
    });
  if (kept) options.onProgress?.(1);

  // --- figures -------------------------------------------------------------------------------
  const wall = outcome.t1 - outcome.t0;
  const throughput = (busy: number, billed: number, workS: number, capTotal: number, sampled: number, all: number): ThroughputFigures => ({
    busyServerSeconds: busy,
    billedServerSeconds: billed,
    timeUtilization: billed > 0 ? busy / billed : NaN,
    workServerSeconds: workS,
    capacityTokensPerS: capTotal,
    capacityUtilization: billed > 0 ? workS / billed : NaN,
    outputTokens: sampled,
    allTokens: all,
    outputTokensPerS: sampled / wall,
    allTokensPerS: all / wall,
  });
  // Tokens per tenant and pool (finished requests), for busy shares.
  const tenantTokens = new Float64Array(w.tenants.length);
  const poolTokens = new Float64Array(resolved.length);
  for (const t of w.tenants) {
    tenantTokens[t.index] = collector.tOutputTokens[t.index]! + collector.tPromptTokens[t.index]!;
    poolTokens[tenantPool[t.index]!] += tenantTokens[t.index]!;
  }
  /** Output tokens a server-second of work serves in a demand's mix. */
  const tokensPerWork = (d: Demand): number => (d.workS > 0 ? (d.outputTokensPerS * span) / d.workS : NaN);

  // Fleet sums are GPU-weighted: a server of tp GPUs counts tp times.
  let fleetBusy = 0;
  let fleetBilled = 0;
  let fleetWork = 0;
  let fleetCap = 0;
  let fleetSampled = 0;
  let fleetAll = 0;
  let dollars = 0;
  let gpuSeconds = 0;
  let meanServers = 0;
  let meanGpus = 0;
  const poolResults: PoolResult[] = resolved.map((p, i) => {
    const o = outcome.pools[i]!;
    const d = demand[i]!;
    const busy = collector.pBusy[i]!;
    const workS = collector.pWork[i]!;
    const sampled = collector.pSampled[i]!;
    const all = collector.pDecode[i]! + collector.pPrefill[i]!;
    const perServer = tokensPerWork(d);
    const capTotal = o.meanServers * perServer;
    const f = throughput(busy, o.billedServerSeconds, workS, capTotal, sampled, all);
    const tp = p.gpusPerServer;
    const gpuH = (o.billedServerSeconds * tp) / 3600;
    const cost = gpuH * p.price.dollarsPerGpuHour;
    fleetBusy += busy * tp;
    fleetBilled += o.billedServerSeconds * tp;
    fleetWork += workS * tp;
    if (Number.isFinite(capTotal)) fleetCap += capTotal;
    fleetSampled += sampled;
    fleetAll += all;
    dollars += cost;
    gpuSeconds += o.billedServerSeconds * tp;
    meanServers += o.meanServers;
    meanGpus += o.meanServers * tp;
    const setup = setups[i]!;
    const meanCtx = d.meanPrompt + d.meanOutput / 2;
    const batch = p.model.spec.kind === 'fixed' ? 1 : new WorkCosts(p.model, p.scheduler).decode(Math.max(1, meanCtx)).batch;
    const r: PoolResult = {
      name: p.name,
      stepTime: p.model.describe(),
      stepTimeSpec: p.spec,
      router: setup.router,
      tenants: p.tenants.length,
      gpusPerServer: tp,
      servers: { initial: setup.servers, mean: o.meanServers, peak: o.peakServers, final: o.finalServers, sizedBy: sizedBy[i]! },
      capacityPerServer: { tokensPerS: perServer, batch, meanPrompt: d.meanPrompt, meanOutput: d.meanOutput, workPerRequestS: d.requests ? d.workS / d.requests : NaN },
      demand: { meanServers: d.mean, peakServers: d.peak, meanTokensPerS: d.outputTokensPerS, percentile: pct, windowS: d.windowS },
      offeredLoad: d.mean / setup.servers,
      ...f,
      cost: {
        dollarsPerGpuHour: p.price.dollarsPerGpuHour,
        priceLabel: p.price.label,
        dollars: cost,
        perMillionOutputTokens: costPerMillionTokens(o.meanServers * tp, p.price.dollarsPerGpuHour, f.outputTokensPerS),
        perMillionAllTokens: costPerMillionTokens(o.meanServers * tp, p.price.dollarsPerGpuHour, f.allTokensPerS),
      },
      scheduler: {
        maxBatch: p.scheduler.maxBatch,
        tokenBudget: p.scheduler.tokenBudget,
        kvBlocks: p.scheduler.kv.numBlocks,
        blockSize: p.scheduler.kv.blockSize,
        maxContext: p.scheduler.maxContext,
      },
    };
    const sz = sizings[i];
    if (sz) r.sizing = sz;
    const as = autoscalers[i];
    if (as) {
      r.autoscaler = { ...as, scaleUps: o.scaleUps, scaleDowns: o.scaleDowns };
      r.serverChanges = o.serverChanges;
    }
    return r;
  });
  const fleet = throughput(fleetBusy, fleetBilled, fleetWork, fleetCap, fleetSampled, fleetAll);

  const c = collector;
  const sloFig = c.hasSlo
    ? { attainment: c.sloEnded ? c.sloMet / c.sloEnded : NaN, met: c.sloMet, ended: c.sloEnded, goodputPerS: c.sloMet / wall }
    : null;

  // Tenants.
  const dedicated = dep.kind === 'reserved';
  let perTenant: Demand[] | undefined;
  if (!dedicated) {
    const identity = new Int32Array(w.tenants.length);
    for (let i = 0; i < identity.length; i++) identity[i] = i;
    perTenant = demandByGroup(w.columns, work, identity, w.tenants.length, w.durationS, rule);
  }
  const rows: TenantRow[] = w.tenants.map((t) => {
    const i = t.index;
    const pi = tenantPool[i]!;
    const pr = poolResults[pi]!;
    const share = poolTokens[pi]! > 0 ? tenantTokens[i]! / poolTokens[pi]! : 0;
    const td = dedicated ? demand[pi]! : perTenant![i]!;
    return {
      name: t.name,
      pool: pr.name,
      requests: c.tArrived[i]!,
      finished: c.tFinished[i]!,
      rejected: c.tRejected[i]!,
      outputTokens: c.tOutputTokens[i]!,
      demand: { meanServers: td.mean, peakServers: td.peak, meanTokensPerS: td.outputTokensPerS },
      busyServerSeconds: pr.busyServerSeconds * share,
      timeUtilization: dedicated ? pr.timeUtilization : null,
      servers: dedicated ? pr.servers.mean : null,
      ttftMeanS: c.tFinished[i]! > 0 ? c.tTtftSum[i]! / c.tFinished[i]! : NaN,
      ttftP99S: c.tenantTtftP99(i),
      e2eMeanS: c.tFinished[i]! > 0 ? c.tE2eSum[i]! / c.tFinished[i]! : NaN,
      e2eP99S: c.tenantE2eP99(i),
      waitMeanS: c.tWaitCount[i]! > 0 ? c.tWaitSum[i]! / c.tWaitCount[i]! : NaN,
      sloAttainment: tenantSlo[i] !== undefined && c.tSloEnded[i]! > 0 ? c.tSloMet[i]! / c.tSloEnded[i]! : null,
    };
  });
  const tenantRowsLimit = config.report?.tenantRows ?? 'all';

  // Time series: billed servers per bucket from the pools' change logs.
  const buckets = c.sArrivals.length;
  const edges: number[] = [];
  for (let k = 0; k <= buckets; k++) edges.push(k * intervalS);
  const servers = new Array<number>(buckets).fill(0);
  for (const o of outcome.pools) {
    const means = stepFunctionMeans(o.serverChanges.map((x) => x[0]), o.serverChanges.map((x) => x[1]), edges);
    for (let k = 0; k < buckets; k++) servers[k] += means[k]!;
  }
  const perS = (a: number[]) => a.map((v) => v / intervalS);
  const busyServers = perS(c.sBusy);
  const workServers = perS(c.sWork);
  const nn = (v: number) => (Number.isFinite(v) ? v : null);

  let promptSum = 0;
  let outputSum = 0;
  for (let i = 0; i < w.columns.arrival.length; i++) {
    promptSum += w.columns.promptTokens[i]!;
    outputSum += w.columns.outputTokens[i]!;
  }
  const nReq = w.columns.arrival.length;

  const result: SimResult = {
    name: config.name ?? null,
    seed,
    deployment: dep.kind,
    sizingRule: sizingRuleText(rule),
    workload: {
      requests: nReq,
      tenants: w.tenants.length,
      durationS: w.durationS,
      meanPrompt: nReq ? promptSum / nReq : 0,
      meanOutput: nReq ? outputSum / nReq : 0,
      offeredOutputTokensPerS: demand.reduce((a, d) => a + d.outputTokensPerS, 0),
      offeredWorkServers: demand.reduce((a, d) => a + d.mean, 0),
      offeredLoad: offeredLoadOf(plan, setups.map((s) => s.servers)),
      notes: w.notes,
      traces: w.traces,
    },
    span: { t0: outcome.t0, t1: outcome.t1 },
    fleet: {
      ...fleet,
      servers: { mean: meanServers, peak: outcome.pools.reduce((a, o) => a + o.peakServers, 0) },
      gpus: { mean: meanGpus, peak: outcome.pools.reduce((a, o, i) => a + o.peakServers * resolved[i]!.gpusPerServer, 0) },
      gpuHours: gpuSeconds / 3600,
      cost: {
        dollars,
        perMillionOutputTokens: fleetSampled > 0 ? dollars / (fleetSampled / 1e6) : Infinity,
        perMillionAllTokens: fleetAll > 0 ? dollars / (fleetAll / 1e6) : Infinity,
      },
      requests: {
        arrived: c.arrived,
        finished: c.finished,
        rejected: c.rejectedTotal,
        rejectedByReason: c.rejected,
        aborted: c.aborted,
        preempted: c.preempted,
        preemptions: c.preemptions,
      },
      latency: { ttft: c.ttft.summary(), tpot: c.tpot.summary(), e2e: c.e2e.summary(), wait: c.wait.summary() },
      queueing: {
        meanWaitS: c.waitCount ? c.waitSum / c.waitCount : NaN,
        meanTimeInSystemS: c.finished ? c.e2eSum / c.finished : NaN,
        utilization: fleet.timeUtilization,
      },
      slo: sloFig,
    },
    pools: poolResults,
    tenants: {
      count: w.tenants.length,
      timeUtilization: dedicated ? summaryOf(rows.map((r) => r.timeUtilization!).filter(Number.isFinite)) : null,
      sloAttainment: summaryOf(rows.map((r) => r.sloAttainment).filter((v): v is number => v !== null)),
      rows: tenantRowsLimit === 'all' ? rows : rows.slice(0, tenantRowsLimit),
    },
    timeSeries: {
      intervalS,
      note: 'each bucket alone; TTFT placed at the first token, E2E at the finish, work at the step end; warm-up included',
      t: edges.slice(0, buckets),
      arrivalsPerS: perS(c.sArrivals),
      finishedPerS: perS(c.sFinished),
      rejectedPerS: perS(c.sRejected),
      busyServers,
      servers,
      utilization: busyServers.map((b, k) => (servers[k]! > 0 ? b / servers[k]! : null)),
      capacityUtilization: workServers.map((b, k) => (servers[k]! > 0 ? b / servers[k]! : null)),
      outputTokensPerS: perS(c.sSampled),
      ttftP99S: c.sTtft.map((_, k) => nn(c.bucketTtftP99(k))),
      e2eP99S: c.sE2e.map((_, k) => nn(c.bucketE2eP99(k))),
    },
    run: { events: outcome.events, steps: outcome.steps, lastEventS: outcome.lastEventS },
  };

  if (dep.kind === 'multi-model') result.fragmentation = fragmentation(demand, poolResults, rule);
  if (config.queue) {
    const q = config.queue;
    const theory = queueTheory(q.servers, q.arrivalRate, q.meanServiceS, q.service ?? 'exponential');
    const sim = { waitS: result.fleet.queueing.meanWaitS, timeInSystemS: result.fleet.queueing.meanTimeInSystemS, utilization: fleet.timeUtilization, requests: c.finished };
    result.queueing = {
      theory,
      simulated: sim,
      relativeError: {
        waitS: sim.waitS / theory.waitS - 1,
        timeInSystemS: sim.timeInSystemS / theory.timeInSystemS - 1,
        utilization: sim.utilization / theory.utilization - 1,
      },
    };
  }
  return result;
}

/**
 * What the per-model pools cost against one shared pool, by the peak rule on work (which is in
 * servers whatever the model): the pools' windowed work summed, its percentile, rounded up once.
 */
function fragmentation(demand: Demand[], pools: PoolResult[], rule: SizingRule): SimResult['fragmentation'] {
  const first = demand[0];
  const windows = first?.series.length ?? 0;
  const units = new Float64Array(windows);
  for (const d of demand) for (let k = 0; k < windows; k++) units[k] += d.series[k]!;
  const peak = first ? weightedPercentile(units, first.lengths, rule.percentile ?? SIZING_DEFAULTS.percentile) : 0;
  const shared = serversForPeak(peak, { ...rule, targetUtilization: rule.targetUtilization ?? SIZING_DEFAULTS.targetUtilization });
  const servers = pools.reduce((a, p) => a + p.servers.initial, 0);
  return {
    servers,
    serversIfShared: shared,
    extraServers: servers - shared,
    note: 'serversIfShared: the peak rule on the summed work of every pool (work is in servers whatever the model), as if any server could hold any model; an estimate, not a simulation',
  };
}

/** 1, 2, 5 × 10^k at or above x. */
function niceInterval(x: number): number {
  if (!(x > 0)) return 1;
  const e = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * e >= x) return m * e;
  return 10 * e;
}
