// One simulation run: config → workload → pools (sized, priced, with their step-time models and
// scheduler settings) → the event loop (fleet.ts) → figures (SimResult, plain JSON).
//
// Definitions (DESIGN.md's, applied to a fleet; a "server" is one model replica of tp GPUs):
// - time utilization = busy server-seconds / billed server-seconds over the measured span
//   [warmupS, max(durationS, last event)); billed = provisioning, active or draining.
// - capacity = one server's output tokens/s at the largest batch that fits at the pool's mean
//   lengths (step-time.ts serverCapacity); capacity utilization = output tokens/s / (mean billed
//   servers × capacity).
// - cost per 1M tokens = billed GPU-hours × $/GPU-hour / (tokens served in the span / 1e6), for
//   output tokens and for all tokens (prefill, recomputation included, + decode).
// - a tenant's busy share: its pool's busy time × its share of the pool's tokens (prompt + output
//   of its finished requests); its time utilization only where it has servers of its own.
import { costPerMillionTokens, gpuPrice, laptopPrice, type GpuPrice } from '../econ/cost.js';
import type { Slo } from '../metrics/latency.js';
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
import { demandByGroup, serversFor, SIZING_DEFAULTS, SIZING_RULE, seriesPercentile, type Demand } from './sizing.js';
import { makeStepTimeModel, RooflineModel, serverCapacity, type StepTimeModel, type StepTimeSpec } from './step-time.js';
import { queueTheory, type QueueTheory } from './theory.js';
import { buildWorkload, type Workload, type WorkloadInputs } from './workload.js';

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
  /** Mean billed servers × capacity per server, output tokens/s. */
  capacityTokensPerS: number;
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
  servers: { initial: number; mean: number; peak: number; final: number; sizedBy: 'config' | 'rule' | 'autoscaler' };
  capacityPerServer: { tokensPerS: number; batch: number; meanPrompt: number; meanOutput: number };
  demand: { meanTokensPerS: number; peakTokensPerS: number; percentile: number; windowS: number };
  /** Mean demand / (initial servers × capacity per server). */
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
  demand: { meanTokensPerS: number; peakTokensPerS: number };
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
    offeredLoad: number;
    notes: string[];
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

export function resolveScheduler(s: SchedulerSettings = {}, model: StepTimeModel): ResolvedPool['scheduler'] {
  const maxBatch = s.maxBatch ?? 64;
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

/** Validates (when given raw JSON), expands the queue shorthand, builds and runs. */
export function runSimulation(input: SimConfig | unknown, options: RunOptions = {}): SimResult {
  const config = expandQueue(validateConfig(input));
  const seed = config.seed ?? 1;
  const w = buildWorkload(config, options);
  const { pools: resolved, tenantPool } = resolvePools(config, w);
  const dep = config.deployment!;
  const rule: SizingRule = dep.sizing ?? {};
  const pct = rule.percentile ?? SIZING_DEFAULTS.percentile;

  // Demand and capacity per pool; servers by the rule where asked.
  const demand = demandByGroup(w.columns, tenantPool, resolved.length, w.durationS, rule);
  const setups: PoolSetup[] = [];
  const caps: { tokensPerS: number; batch: number }[] = [];
  const sizedBy: PoolResult['servers']['sizedBy'][] = [];
  const autoscalers: (Required<AutoscalerSpec> | undefined)[] = [];
  resolved.forEach((p, i) => {
    const d = demand[i]!;
    const cap = serverCapacity(p.model, { maxBatch: p.scheduler.maxBatch, numBlocks: p.scheduler.kv.numBlocks, blockSize: p.scheduler.kv.blockSize }, d.meanPrompt, d.meanOutput);
    caps.push(cap);
    const o = p.options;
    const as = o.autoscaler ? { ...AUTOSCALER_DEFAULTS, ...o.autoscaler } : undefined;
    autoscalers.push(as);
    let servers: number;
    if (typeof o.servers === 'number') {
      servers = o.servers;
      sizedBy.push(as ? 'autoscaler' : 'config');
    } else if (o.servers === 'auto' || !as) {
      servers = d.requests > 0 ? serversFor(d.peak, cap.tokensPerS, rule) : (rule.minServers ?? SIZING_DEFAULTS.minServers);
      sizedBy.push(as ? 'autoscaler' : 'rule');
    } else {
      servers = as.minServers;
      sizedBy.push('autoscaler');
    }
    if (as) servers = Math.min(as.maxServers, Math.max(as.minServers, servers));
    const setup: PoolSetup = {
      name: p.name,
      model: p.model,
      scheduler: p.scheduler,
      servers,
      router: o.router ?? (config.queue ? 'central-queue' : 'jsq'),
      capacityTokensPerS: cap.tokensPerS,
    };
    if (o.maxQueue !== undefined) setup.maxQueue = o.maxQueue;
    if (as) setup.autoscaler = as;
    setups.push(setup);
  });

  const span = Math.max(1, w.durationS);
  const intervalS = config.report?.timeSeriesIntervalS ?? Math.max(1, niceInterval(span / 200));
  const tenantSlo: (Slo | undefined)[] = w.tenants.map((t) => t.slo ?? config.slo);
  const collector = new Collector({ tenants: w.tenants.length, pools: resolved.length, warmupS: config.warmupS ?? 0, tenantSlo, intervalS });
  const outcome = simulateFleet({
    columns: w.columns,
    tenantPool,
    pools: setups,
    collector,
    durationS: w.durationS,
    onStep: options.onStep,
    onProgress: options.onProgress,
    progressEvery: options.progressEvery,
  });

  // --- figures -------------------------------------------------------------------------------
  const wall = outcome.t1 - outcome.t0;
  const throughput = (busy: number, billed: number, capTotal: number, sampled: number, all: number): ThroughputFigures => ({
    busyServerSeconds: busy,
    billedServerSeconds: billed,
    timeUtilization: billed > 0 ? busy / billed : NaN,
    capacityTokensPerS: capTotal,
    capacityUtilization: capTotal > 0 ? sampled / wall / capTotal : NaN,
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

  let fleetBusy = 0;
  let fleetBilled = 0;
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
    const cap = caps[i]!;
    const busy = collector.pBusy[i]!;
    const sampled = collector.pSampled[i]!;
    const all = collector.pDecode[i]! + collector.pPrefill[i]!;
    const capTotal = o.meanServers * cap.tokensPerS;
    const f = throughput(busy, o.billedServerSeconds, capTotal, sampled, all);
    const gpuH = (o.billedServerSeconds * p.gpusPerServer) / 3600;
    const cost = gpuH * p.price.dollarsPerGpuHour;
    fleetBusy += busy;
    fleetBilled += o.billedServerSeconds;
    fleetCap += capTotal;
    fleetSampled += sampled;
    fleetAll += all;
    dollars += cost;
    gpuSeconds += o.billedServerSeconds * p.gpusPerServer;
    meanServers += o.meanServers;
    meanGpus += o.meanServers * p.gpusPerServer;
    const setup = setups[i]!;
    const r: PoolResult = {
      name: p.name,
      stepTime: p.model.describe(),
      stepTimeSpec: p.spec,
      router: setup.router,
      tenants: p.tenants.length,
      gpusPerServer: p.gpusPerServer,
      servers: { initial: setup.servers, mean: o.meanServers, peak: o.peakServers, final: o.finalServers, sizedBy: sizedBy[i]! },
      capacityPerServer: { tokensPerS: cap.tokensPerS, batch: cap.batch, meanPrompt: d.meanPrompt, meanOutput: d.meanOutput },
      demand: { meanTokensPerS: d.mean, peakTokensPerS: d.peak, percentile: pct, windowS: d.windowS },
      offeredLoad: d.mean / (setup.servers * cap.tokensPerS),
      ...f,
      cost: {
        dollarsPerGpuHour: p.price.dollarsPerGpuHour,
        priceLabel: p.price.label,
        dollars: cost,
        perMillionOutputTokens: costPerMillionTokens(o.meanServers * p.gpusPerServer, p.price.dollarsPerGpuHour, f.outputTokensPerS),
        perMillionAllTokens: costPerMillionTokens(o.meanServers * p.gpusPerServer, p.price.dollarsPerGpuHour, f.allTokensPerS),
      },
      scheduler: {
        maxBatch: p.scheduler.maxBatch,
        tokenBudget: p.scheduler.tokenBudget,
        kvBlocks: p.scheduler.kv.numBlocks,
        blockSize: p.scheduler.kv.blockSize,
        maxContext: p.scheduler.maxContext,
      },
    };
    const as = autoscalers[i];
    if (as) {
      r.autoscaler = { ...as, scaleUps: o.scaleUps, scaleDowns: o.scaleDowns };
      r.serverChanges = o.serverChanges;
    }
    return r;
  });
  const fleet = throughput(fleetBusy, fleetBilled, fleetCap, fleetSampled, fleetAll);

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
    perTenant = demandByGroup(w.columns, identity, w.tenants.length, w.durationS, rule);
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
      demand: { meanTokensPerS: td.mean, peakTokensPerS: td.peak },
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
  const nn = (v: number) => (Number.isFinite(v) ? v : null);

  const totalDemand = demand.reduce((a, d) => a + d.mean, 0);
  const initialCap = setups.reduce((a, s, i) => a + s.servers * caps[i]!.tokensPerS, 0);
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
    sizingRule: SIZING_RULE,
    workload: {
      requests: nReq,
      tenants: w.tenants.length,
      durationS: w.durationS,
      meanPrompt: nReq ? promptSum / nReq : 0,
      meanOutput: nReq ? outputSum / nReq : 0,
      offeredOutputTokensPerS: totalDemand,
      offeredLoad: initialCap > 0 ? totalDemand / initialCap : NaN,
      notes: w.notes,
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
      note: 'each bucket alone; TTFT placed at the first token, E2E at the finish; warm-up included',
      t: edges.slice(0, buckets),
      arrivalsPerS: perS(c.sArrivals),
      finishedPerS: perS(c.sFinished),
      rejectedPerS: perS(c.sRejected),
      busyServers,
      servers,
      utilization: busyServers.map((b, k) => (servers[k]! > 0 ? b / servers[k]! : null)),
      outputTokensPerS: perS(c.sSampled),
      ttftP99S: c.sTtft.map((_, k) => nn(c.bucketTtftP99(k))),
      e2eP99S: c.sE2e.map((_, k) => nn(c.bucketE2eP99(k))),
    },
    run: { events: outcome.events, steps: outcome.steps, lastEventS: outcome.lastEventS },
  };

  if (dep.kind === 'multi-model') result.fragmentation = fragmentation(demand, caps, poolResults, rule);
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

function fragmentation(demand: Demand[], caps: { tokensPerS: number }[], pools: PoolResult[], rule: SizingRule): SimResult['fragmentation'] {
  const windows = demand[0]?.series.length ?? 0;
  const units = new Float64Array(windows);
  demand.forEach((d, i) => {
    for (let k = 0; k < windows; k++) units[k] += d.series[k]! / caps[i]!.tokensPerS;
  });
  const peak = seriesPercentile(units, rule.percentile ?? SIZING_DEFAULTS.percentile);
  const shared = serversFor(peak, 1, rule);
  const servers = pools.reduce((a, p) => a + p.servers.initial, 0);
  return {
    servers,
    serversIfShared: shared,
    extraServers: servers - shared,
    note: 'serversIfShared: the sizing rule applied to the summed demand in server units, as if any server could hold any model',
  };
}

/** 1, 2, 5 × 10^k at or above x. */
function niceInterval(x: number): number {
  if (!(x > 0)) return 1;
  const e = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * e >= x) return m * e;
  return 10 * e;
}
