// The ~85% ceiling: a fixed pooled fleet under rising offered load, p99 latency against load, and
// the fleet size against cost at a latency SLO. Offered load is work-based (work.ts): offered
// server-seconds of work per second ÷ servers, set exactly by configAtLoad; 100% is the rate a
// server serves at its saturated batch (up to maxBatch, vLLM's 256 by default, or its KV memory).
// The ceiling is read from the sweep: the load where p99 TTFT crosses the SLO, interpolated
// between the last swept load that meets it and the first that does not.
import type { SimConfig } from '../config.js';
import { num, secs } from '../report.js';
import { registerScenario, type Scenario } from '../scenarios.js';
import type { LoadRow, ServersRow } from '../sweep.js';
import { cheapestMeetingTarget, configAtLoad, loadRow, serversRow } from '../sweep.js';
import { CHAT_LENGTHS, CHAT_NOTE, GPU_PARAM, MODEL_PARAM, params, pctText, roofline } from './common.js';

interface CeilingParams {
  servers: number;
  ttftSlo: number;
  burst: number;
  minutes: number;
  explosionLoad: number;
  gpu: string;
  model: string;
}

/** Loads swept (offered load ρ = mean demand ÷ fleet capacity). */
export const CEILING_LOADS = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0];
const REDUCED_LOADS = [0.5, 0.7, 0.85, 0.95];

/** SLO attainment the servers sweep asks of a fleet. */
const SLO_TARGET = 0.99;

function ceilingConfig(p: CeilingParams, seed: number): SimConfig {
  const durationS = p.minutes * 60;
  return {
    name: 'ceiling-85',
    description: `A fixed pooled fleet of ${p.servers} servers under steady traffic from 200 customers; the load is set by scaling their rates.`,
    seed,
    durationS,
    warmupS: Math.min(120, durationS / 10),
    stepTime: roofline(p.gpu, p.model),
    slo: { ttft: p.ttftSlo },
    tenants: [
      {
        name: 'customer',
        count: 200,
        // Gamma inter-arrival gaps: CV 1 is Poisson; larger is burstier. The rate is scaled per run.
        arrival: p.burst === 1 ? { kind: 'poisson', rate: 0.05 } : { kind: 'gamma', rate: 0.05, cv: p.burst },
        lengths: CHAT_LENGTHS,
      },
    ],
    deployment: { kind: 'pooled', servers: p.servers, router: 'jsq' },
    report: { tenantRows: 0 },
  };
}

const ceiling: Scenario = {
  name: 'ceiling-85',
  title: 'The ~85% ceiling: tail latency against load (report: sustained >85% explodes tail latency)',
  claim: 'Sustained load above ~85% of capacity makes tail latency explode, so even a perfectly pooled fleet cannot run much hotter than that and still meet a latency SLO.',
  lesson: 'Queues form when arrivals outpace the batch slots: far from capacity waiting is rare; near it, p99 latency climbs steeply.',
  params: [
    { key: 'servers', label: 'Servers', kind: 'int', min: 1, max: 64, default: 4, reduced: 2 },
    { key: 'ttftSlo', label: 'TTFT SLO (s)', hint: 'p99 time to first token the fleet must meet', kind: 'number', min: 0.05, max: 60, default: 2 },
    { key: 'burst', label: 'Burstiness (CV)', hint: 'of each customer\'s gaps; 1 = Poisson', kind: 'number', min: 0.2, max: 10, default: 1 },
    { key: 'minutes', label: 'Run length (min)', kind: 'number', min: 2, max: 240, default: 10, reduced: 8 },
    { key: 'explosionLoad', label: 'Explosion judged at', hint: 'offered load whose p99 TTFT is set against the one at 70%', kind: 'number', min: 0.75, max: 1.5, default: 0.95 },
    GPU_PARAM,
    MODEL_PARAM,
  ],
  config: (o = {}) => ceilingConfig(params<CeilingParams>(ceiling, o), o.seed ?? 1),
  run(ex) {
    const p: CeilingParams = {
      servers: ex.num('servers'),
      ttftSlo: ex.num('ttftSlo'),
      burst: ex.num('burst'),
      minutes: ex.num('minutes'),
      explosionLoad: ex.num('explosionLoad'),
      gpu: ex.str('gpu'),
      model: ex.str('model'),
    };
    const loads = [...new Set([...(ex.reduced ? REDUCED_LOADS : CEILING_LOADS), p.explosionLoad])].sort((a, b) => a - b);
    const base = ceilingConfig(p, ex.seed);
    // The servers sweep: the demand that `servers` carry at 80% load, on fewer and more servers.
    const sweepLoad = 0.8;
    const counts: number[] = [];
    for (let n = Math.max(1, Math.ceil(p.servers * sweepLoad) - (ex.reduced ? 0 : 1)); n <= p.servers + (ex.reduced ? 0 : 1); n++) counts.push(n);
    ex.plan(loads.length + counts.length);

    // Each load's config once: the servers sweep reuses the swept row at its load.
    const atLoad = new Map<number, SimConfig>();
    const configAt = (load: number): SimConfig => {
      let c = atLoad.get(load);
      if (!c) atLoad.set(load, (c = configAtLoad(base, load).config));
      return c;
    };
    let maxBatch = NaN;
    const rows: LoadRow[] = loads.map((target) => {
      // The run at 85% is kept whole (its figures and time series); the others give their row.
      const r = ex.simulate(`offered load ${pctText(target)}`, configAt(target), target === 0.85);
      maxBatch = r.pools[0]!.scheduler.maxBatch;
      return loadRow(target, r);
    });
    ex.sweeps.push({ label: 'offered load vs p99 latency', sweep: { kind: 'load', rows } });

    const demandCfg = configAt(sweepLoad);
    const srows: ServersRow[] = counts.map((n) => {
      const r = ex.simulate(`${n} servers`, { ...demandCfg, deployment: { kind: 'pooled', servers: n, router: 'jsq' } }, false);
      return serversRow(n, r, SLO_TARGET);
    });
    const cheapest = cheapestMeetingTarget(srows);
    const best = cheapest === null ? undefined : srows.find((r) => r.servers === cheapest);
    ex.sweeps.push({
      label: `servers vs cost at the TTFT SLO`,
      sweep: { kind: 'servers', sloTarget: SLO_TARGET, rows: srows, cheapestMeetingTarget: cheapest },
      note: `the demand ${p.servers} servers carry at ${pctText(sweepLoad)} load, on ${counts[0]}–${counts[counts.length - 1]} servers`,
    });

    const c = ceilingOf(rows, p.ttftSlo);
    ex.check({
      id: 'ceiling',
      claim: 'sustained load above ~85% makes tail latency explode',
      figure: `offered load where p99 TTFT crosses ${secs(p.ttftSlo)}`,
      simulated: c.load,
      low: 0.8,
      high: 0.9,
      unit: 'percent',
      note: `"~85%" read as 80–90%. ${c.how} Loads swept: ${rows.map((r) => pctText(r.offeredLoad)).join(', ')}.`,
    });
    const at = (target: number) => rows.find((r) => r.target === target)!;
    const hi = at(p.explosionLoad);
    const mid = at(0.7);
    ex.check({
      id: 'explosion',
      claim: 'tail latency explodes past ~85%',
      figure: `p99 TTFT at ${pctText(hi.target)} ÷ at ${pctText(mid.target)} load`,
      simulated: hi.ttftP99S / mid.ttftP99S,
      low: 3,
      unit: 'ratio',
      note: `"explodes" read as at least 3× within that step; p99 TTFT ${secs(mid.ttftP99S)} at ${pctText(mid.offeredLoad)}, ${secs(hi.ttftP99S)} at ${pctText(hi.offeredLoad)}.`,
    });
    if (best) {
      const row = best;
      ex.note(
        `Servers sweep: the cheapest fleet meeting ${pctText(SLO_TARGET)} SLO attainment (TTFT ≤ ${secs(p.ttftSlo)}) for that demand has ${row.servers} servers, at ${pctText(row.capacityUtilization)} capacity utilization and $${num(row.perMillionOutputTokens)} per 1M output tokens.`,
      );
    } else ex.note(`Servers sweep: no fleet in the sweep meets ${pctText(SLO_TARGET)} SLO attainment.`);
    ex.note(
      `Fleet: ${p.servers} servers (${base.stepTime!.kind === 'roofline' ? `${p.model} on ${p.gpu}` : ''}), join-shortest-queue, max batch ${maxBatch}; traffic: 200 customers with ${p.burst === 1 ? 'Poisson arrivals' : `gamma gaps of CV ${p.burst}`}, ${p.minutes} min per load (the first ${num(base.warmupS!)} s left out as warm-up).`,
    );
    ex.note(
      'Offered load ρ = offered work ÷ duration ÷ servers, where a request\'s work is the server-seconds it costs a server at its saturated efficiency (prefill at full-chunk speed, decode at the largest batch its context\'s KV and max batch allow); capacity utilization is the work served ÷ billed server-seconds.',
    );
    const over = [...rows.map((r) => r.capacityUtilization), ...srows.map((r) => r.capacityUtilization)].filter((u) => u > 1);
    if (over.length) {
      ex.note(
        `Some runs served more work than a server's saturated rate (capacity utilization up to ${pctText(Math.max(...over))}): the server outran the rate that defines 100% load, so loads near 100% are not yet its limit.`,
      );
    }
    ex.note(CHAT_NOTE);
  },
};

/**
 * Where p99 TTFT crosses the SLO along a load sweep (rows by rising load): linear between the
 * last load that meets it and the first that does not; censored at the ends (the highest load
 * when every load meets, the lowest when none does), which the sentence `how` says.
 */
export function ceilingOf(rows: readonly LoadRow[], slo: number): { load: number; how: string } {
  const first = rows.findIndex((r) => !(r.ttftP99S <= slo));
  if (first < 0) {
    const top = rows[rows.length - 1]!;
    return { load: top.offeredLoad, how: `Every swept load met the SLO: the ceiling is at least ${pctText(top.offeredLoad)} (the highest swept).` };
  }
  const bad = rows[first]!;
  if (first === 0) return { load: bad.offeredLoad, how: `Even the lowest swept load missed the SLO: the ceiling is below ${pctText(bad.offeredLoad)}.` };
  const ok = rows[first - 1]!;
  const f = Number.isFinite(bad.ttftP99S) ? (slo - ok.ttftP99S) / (bad.ttftP99S - ok.ttftP99S) : 0;
  const load = ok.offeredLoad + f * (bad.offeredLoad - ok.offeredLoad);
  return {
    load,
    how: `Interpolated between ${pctText(ok.offeredLoad)} (p99 TTFT ${secs(ok.ttftP99S)}) and ${pctText(bad.offeredLoad)} (${secs(bad.ttftP99S)}).`,
  };
}

registerScenario(ceiling);
