// Sweeps: the same config run at several settings, one row per run.
// - load: offered load ρ (offered work ÷ duration ÷ servers, work.ts) set by scaling every
//   tenant's rate until the workload offers it (configAtLoad); servers held at what the base
//   config gives. Shows p99 latency against load.
// - tenants: the first n tenants, pooled (servers by the sizing rule) and reserved (each tenant
//   sized by the same rule). Shows utilization against the number of pooled tenants.
// - servers: a pooled fleet of n servers. Shows cost per 1M tokens against SLO attainment, and
//   which count is the cheapest that meets the target attainment.
import { expandQueue, validateConfig, type SimConfig, type SweepSpec } from './config.js';
import { offeredLoadOf, planRun, runSimulation, type RunOptions, type SimResult } from './run.js';
import type { WorkloadInputs } from './workload.js';
import { firstTenants, scaleConfigRates } from './workload.js';

export interface LoadRow {
  target: number;
  offeredLoad: number;
  servers: number;
  timeUtilization: number;
  capacityUtilization: number;
  ttftP99S: number;
  tpotP99S: number;
  e2eP99S: number;
  meanWaitS: number;
  sloAttainment: number | null;
  rejected: number;
}

export interface TenantsRow {
  tenants: number;
  pooled: { servers: number; timeUtilization: number; capacityUtilization: number; ttftP99S: number; perMillionOutputTokens: number };
  reserved: { servers: number; timeUtilization: number; capacityUtilization: number; ttftP99S: number; perMillionOutputTokens: number };
}

export interface ServersRow {
  servers: number;
  gpus: number;
  perMillionOutputTokens: number;
  timeUtilization: number;
  capacityUtilization: number;
  ttftP99S: number;
  sloAttainment: number | null;
  meetsTarget: boolean;
}

export type SweepResult =
  | { kind: 'load'; rows: LoadRow[] }
  | { kind: 'tenants'; rows: TenantsRow[] }
  | { kind: 'servers'; sloTarget: number; rows: ServersRow[]; cheapestMeetingTarget: number | null };

export interface SweepOptions extends RunOptions {
  /** Called after each run with its index and result. */
  onRun?: (index: number, result: SimResult) => void;
}

/**
 * The config with every tenant's rate scaled so that its workload offers `target` load on a
 * fixed fleet (pooled `servers`, or the queue's): offered work ÷ duration ÷ servers, within
 * `tolerance` (relative). Scaling a rate changes which requests fall inside the run, so the scale
 * is refined on the workload itself (built, never simulated) a few times; the result says the
 * load it reached.
 */
export function configAtLoad(
  input: SimConfig | unknown,
  target: number,
  options: WorkloadInputs & { tolerance?: number; maxIterations?: number } = {},
): { config: SimConfig; offeredLoad: number; scale: number } {
  if (!(target > 0)) throw new RangeError(`target load must be > 0, got ${target}`);
  // Rates are scaled on the config as written (a queue keeps its shorthand); its expansion says the servers.
  const base = validateConfig(input);
  const dep = expandQueue(base).deployment;
  if (!dep || dep.kind !== 'pooled' || typeof dep.servers !== 'number') throw new Error('configAtLoad needs a pooled deployment with a fixed number of servers (or a queue)');
  const servers = [dep.servers];
  const tol = options.tolerance ?? 0.002;
  let scale = 1;
  let config = base;
  let load = offeredLoadOf(planRun(config, options), servers);
  if (!(load > 0)) throw new RangeError('the base config offers no work: no load to scale');
  for (let k = 0; k < (options.maxIterations ?? 8) && Math.abs(load / target - 1) > tol; k++) {
    scale *= target / load;
    config = scaleConfigRates(base, scale);
    load = offeredLoadOf(planRun(config, options), servers);
  }
  return { config, offeredLoad: load, scale };
}

/** A load sweep's row: the run at `target` load. */
export function loadRow(target: number, r: SimResult): LoadRow {
  const f = r.fleet;
  return {
    target,
    offeredLoad: r.workload.offeredLoad,
    servers: r.pools[0]!.servers.initial,
    timeUtilization: f.timeUtilization,
    capacityUtilization: f.capacityUtilization,
    ttftP99S: f.latency.ttft.p99,
    tpotP99S: f.latency.tpot.p99,
    e2eP99S: f.latency.e2e.p99,
    meanWaitS: f.queueing.meanWaitS,
    sloAttainment: f.slo?.attainment ?? null,
    rejected: f.requests.rejected,
  };
}

/** A servers sweep's row: the run on `servers`, and whether it meets the SLO-attainment target. */
export function serversRow(servers: number, r: SimResult, sloTarget: number): ServersRow {
  const att = r.fleet.slo?.attainment ?? null;
  return {
    servers,
    gpus: r.fleet.gpus.mean,
    perMillionOutputTokens: r.fleet.cost.perMillionOutputTokens,
    timeUtilization: r.fleet.timeUtilization,
    capacityUtilization: r.fleet.capacityUtilization,
    ttftP99S: r.fleet.latency.ttft.p99,
    sloAttainment: att,
    meetsTarget: att !== null && att >= sloTarget,
  };
}

/** The cheapest server count (per 1M output tokens) among the rows that meet the target, or null. */
export function cheapestMeetingTarget(rows: readonly ServersRow[]): number | null {
  let best: ServersRow | undefined;
  for (const r of rows) if (r.meetsTarget && (!best || r.perMillionOutputTokens < best.perMillionOutputTokens)) best = r;
  return best ? best.servers : null;
}

export function runSweep(input: SimConfig | unknown, spec?: SweepSpec, options: SweepOptions = {}): SweepResult {
  const config = validateConfig(input);
  const sweep = spec ?? config.sweep;
  if (!sweep) throw new Error('runSweep: the config has no sweep');
  const { onRun, ...runOpts } = options;
  const base: SimConfig = { ...config };
  delete base.sweep;
  switch (sweep.kind) {
    case 'load': {
      if (base.deployment && base.deployment.kind !== 'pooled') throw new Error('a load sweep needs a pooled deployment (or a queue)');
      if (base.deployment?.kind === 'pooled' && base.deployment.autoscaler) throw new Error('a load sweep holds the servers fixed: remove the autoscaler');
      // The sweep holds the server count constant: the config's, or what sizing gives the base run.
      let fixed: SimConfig = base;
      if (base.deployment?.kind === 'pooled' && typeof base.deployment.servers !== 'number') {
        const probe = runSimulation(base, runOpts);
        onRun?.(-1, probe);
        fixed = { ...base, deployment: { ...base.deployment, servers: probe.pools[0]!.servers.initial } };
      }
      const rows = sweep.values.map((target, k) => {
        const r = runSimulation(configAtLoad(fixed, target, runOpts).config, runOpts);
        onRun?.(k, r);
        return loadRow(target, r);
      });
      return { kind: 'load', rows };
    }
    case 'tenants': {
      if (base.queue) throw new Error('a tenants sweep needs tenants, not a queue');
      const sizing = base.deployment?.sizing;
      const rows = sweep.values.map((n, k) => {
        const cut = firstTenants(base, n);
        const pooled = runSimulation({ ...cut, deployment: { kind: 'pooled', servers: 'auto', ...(sizing ? { sizing } : {}) } }, runOpts);
        const reserved = runSimulation({ ...cut, deployment: { kind: 'reserved', ...(sizing ? { sizing } : {}) } }, runOpts);
        onRun?.(k, pooled);
        const pick = (r: SimResult) => ({
          servers: r.fleet.servers.mean,
          timeUtilization: r.fleet.timeUtilization,
          capacityUtilization: r.fleet.capacityUtilization,
          ttftP99S: r.fleet.latency.ttft.p99,
          perMillionOutputTokens: r.fleet.cost.perMillionOutputTokens,
        });
        return { tenants: pooled.workload.tenants, pooled: pick(pooled), reserved: pick(reserved) };
      });
      return { kind: 'tenants', rows };
    }
    case 'servers': {
      const target = sweep.sloTarget ?? 0.99;
      const rows = sweep.values.map((servers, k) => {
        const cfg: SimConfig = base.queue
          ? { ...base, queue: { ...base.queue, servers } }
          : { ...base, deployment: { ...(base.deployment?.kind === 'pooled' ? base.deployment : { kind: 'pooled' as const }), servers } };
        if (cfg.deployment?.kind === 'pooled') delete cfg.deployment.autoscaler;
        const r = runSimulation(cfg, runOpts);
        onRun?.(k, r);
        return serversRow(servers, r, target);
      });
      return { kind: 'servers', sloTarget: target, rows, cheapestMeetingTarget: cheapestMeetingTarget(rows) };
    }
  }
}
