// A platform pooling hundreds to thousands of customers on one shared fleet, against each
// customer on GPUs of its own, and the sweep over the number of pooled customers.
import type { SimConfig } from '../config.js';
import { num } from '../report.js';
import { registerScenario, type Scenario } from '../scenarios.js';
import { sizingRuleText } from '../sizing.js';
import type { TenantsRow } from '../sweep.js';
import {
  BUSINESS_DAY,
  CHAT_LENGTHS,
  CHAT_NOTE,
  DAY_NOTE,
  GPU_PARAM,
  MODEL_PARAM,
  ZONES,
  ZONES_PARAM,
  UTIL_NOTE,
  dayParam,
  params,
  pctText,
  reservedByRule,
  roofline,
  scaleTz,
} from './common.js';

interface PoolingParams {
  tenants: number;
  zones: string;
  rate: number;
  spread: number;
  dayH: number;
  gpu: string;
  model: string;
}

function platformConfig(p: PoolingParams, seed: number, deployment: 'pooled' | 'reserved' | 'autoscaled'): SimConfig {
  const period = p.dayH * 3600;
  return {
    name: 'platform-pooling',
    description: `${p.tenants} customers with business-hours days in their own time zones, ${deployment === 'reserved' ? 'each on servers of its own, sized by the rule' : deployment === 'pooled' ? 'pooled on one fleet sized by the rule' : 'pooled on one autoscaled fleet'}.`,
    seed,
    durationS: period,
    stepTime: roofline(p.gpu, p.model),
    slo: { ttft: 2, tpot: 0.1 },
    tenants: [
      {
        name: 'customer',
        count: p.tenants,
        arrival: { kind: 'profile', rate: p.rate, multipliers: BUSINESS_DAY, periodS: period },
        rateSpread: { cv: p.spread },
        tzOffsetH: scaleTz(ZONES[p.zones]!.tz, p.dayH),
        lengths: CHAT_LENGTHS,
      },
    ],
    deployment:
      deployment === 'reserved'
        ? { kind: 'reserved' }
        : deployment === 'pooled'
          ? { kind: 'pooled', servers: 'auto', router: 'jsq' }
          : { kind: 'pooled', servers: 'auto', router: 'jsq', autoscaler: { maxServers: 10_000, targetUtilization: AUTOSCALE_TARGET } },
    report: { tenantRows: 20 },
  };
}

/** What the autoscaled pool steers to (capacity utilization), and its other settings: the defaults (60 s decisions, 120 s provisioning, 300 s before releasing). */
const AUTOSCALE_TARGET = 0.75;

/** Tenant counts of the sweep: 1, 10, 100, … up to n (n itself last). */
export function tenantSteps(n: number): number[] {
  const out: number[] = [];
  for (let k = 1; k < n; k *= 10) out.push(k);
  out.push(n);
  return out;
}

const pooling: Scenario = {
  name: 'platform-pooling',
  title: 'A platform pooling hundreds to thousands of customers (report: 60–85% utilization)',
  claim:
    'A platform that pools hundreds to thousands of independent customers on one fleet reaches 60–85% utilization: their bursts and daily peaks fall at different times, so the pooled peak is much closer to the mean (statistical multiplexing).',
  lesson: 'The same customers, pooled: one fleet sized for the peak of the sum, not the sum of the peaks.',
  params: [
    { key: 'tenants', label: 'Customers', kind: 'int', min: 2, max: 5000, default: 1000, reduced: 100 },
    ZONES_PARAM,
    { key: 'rate', label: 'Requests/s per customer', hint: 'mean; sizes vary around it', kind: 'number', min: 0.001, max: 10, default: 0.05 },
    { key: 'spread', label: 'Size spread (CV)', hint: 'lognormal spread of customer sizes', kind: 'number', min: 0, max: 5, default: 1.5 },
    dayParam(1.5, 1),
    GPU_PARAM,
    { ...MODEL_PARAM, default: 'llama-3.1-70b' },
  ],
  config: (o = {}) => platformConfig(params<PoolingParams>(pooling, o), o.seed ?? 1, 'pooled'),
  run(ex) {
    const p: PoolingParams = {
      tenants: ex.num('tenants'),
      zones: ex.str('zones'),
      rate: ex.num('rate'),
      spread: ex.num('spread'),
      dayH: ex.num('dayH'),
      gpu: ex.str('gpu'),
      model: ex.str('model'),
    };
    const steps = tenantSteps(p.tenants);
    ex.plan(steps.length + 1);
    const pooled = ex.simulate(`${p.tenants} customers pooled, fixed fleet`, platformConfig(p, ex.seed, 'pooled'));
    const f = pooled.fleet;
    const scaled = ex.simulate(`${p.tenants} customers pooled, autoscaled`, platformConfig(p, ex.seed, 'autoscaled'));
    const g = scaled.fleet;
    // The sweep: the first n customers pooled (simulated) and reserved (by the rule).
    const reserved = reservedByRule(platformConfig(p, ex.seed, 'reserved'), steps);
    const reservedAll = reserved[reserved.length - 1]!;
    const rows: TenantsRow[] = steps.map((n, k) => {
      const r = n === p.tenants ? pooled : ex.simulate(`${n} customers pooled`, platformConfig({ ...p, tenants: n }, ex.seed, 'pooled'), false);
      const res = reserved[k]!;
      return {
        tenants: n,
        pooled: {
          servers: r.fleet.servers.mean,
          timeUtilization: r.fleet.timeUtilization,
          capacityUtilization: r.fleet.capacityUtilization,
          ttftP99S: r.fleet.latency.ttft.p99,
          perMillionOutputTokens: r.fleet.cost.perMillionOutputTokens,
        },
        reserved: {
          servers: res.servers,
          timeUtilization: NaN,
          capacityUtilization: res.capacityUtilization,
          ttftP99S: NaN,
          perMillionOutputTokens: res.perMillionOutputTokens,
        },
      };
    });
    ex.sweeps.push({
      label: 'customers pooled vs reserved',
      sweep: { kind: 'tenants', rows },
      note: 'Pooled rows are simulated (a fixed fleet sized by the rule); reserved rows are the sizing rule alone (servers per customer from its own demand; every request served), which gives capacity utilization and cost but no latency.',
    });
    const d = pooled.pools[0]!.demand;
    ex.check({
      id: 'pooled-utilization',
      claim: 'platform pooling hundreds to thousands of tenants: 60–85% utilization',
      figure: `capacity utilization, ${p.tenants} customers pooled`,
      simulated: f.capacityUtilization,
      low: 0.6,
      high: 0.85,
      unit: 'percent',
      note: `a fixed fleet of ${num(f.servers.mean)} servers sized by the rule; the pooled demand's p99 minute is ${num(d.peakServers / d.meanServers)}× its mean; SLO attainment ${f.slo ? pctText(f.slo.attainment) : '—'} (TTFT ≤ 2 s, TPOT ≤ 100 ms).`,
    });
    ex.check({
      id: 'autoscaled-utilization',
      claim: 'platform pooling hundreds to thousands of tenants: 60–85% utilization',
      figure: `capacity utilization, pooled with an autoscaler`,
      simulated: g.capacityUtilization,
      low: 0.6,
      high: 0.85,
      unit: 'percent',
      note: `the autoscaler steers to ${pctText(AUTOSCALE_TARGET)} of capacity (60 s decisions, 2 min to provision); it ran ${num(g.servers.mean)} servers on average (peak ${g.servers.peak}); SLO attainment ${g.slo ? pctText(g.slo.attainment) : '—'}.`,
    });
    ex.check({
      id: 'pooling-gain',
      claim: 'pooling raises utilization over each customer on its own GPUs',
      figure: 'pooled ÷ reserved capacity utilization, same customers',
      simulated: f.capacityUtilization / reservedAll.capacityUtilization,
      low: 1,
      unit: 'ratio',
      note: `reserved: ${num(reservedAll.servers)} servers at ${pctText(reservedAll.capacityUtilization)} (sizing rule); pooled: ${num(f.servers.mean)} servers at ${pctText(f.capacityUtilization)}.`,
    });
    ex.note(
      `Customers: ${p.tenants}, ${p.rate} requests/s each on average (lognormal sizes, CV ${p.spread}), each with a business-hours day (peak ≈ 2× its mean) in its own time zone: ${ZONES[p.zones]!.label} (${ZONES[p.zones]!.tz.join(', ')} h from UTC, cycled).`,
    );
    ex.note(`Sizing, pooled and reserved alike: ${sizingRuleText()}`);
    ex.note(`The autoscaled pool shows what elasticity adds to multiplexing; its figure follows its target (${pctText(AUTOSCALE_TARGET)}), less what the provisioning delay and the scale-down delay cost. On a compressed day the daily ramps are steeper than real ones, which makes the delays cost more.`);
    ex.note(`Measured (pooled): capacity utilization ${pctText(f.capacityUtilization)}, time utilization ${pctText(f.timeUtilization)}. ${UTIL_NOTE}`);
    ex.note(
      'Where the figure lands depends on how far apart the customers\' peaks are: a platform whose customers share one time zone pools less; one spread around the globe pools more.',
    );
    ex.note(CHAT_NOTE);
    ex.note(DAY_NOTE(p.dayH));
  },
};

registerScenario(pooling);
