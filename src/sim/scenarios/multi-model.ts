// Multi-model fragmentation: customers spread over several fine-tuned variants of one base model;
// a GPU holds one variant, so each variant gets a pool of its own, sized by the rule. Compared
// with one shared pool serving the same requests (as if any server could hold any variant).
import type { SimConfig, TenantGroup } from '../config.js';
import { num } from '../report.js';
import { registerScenario, ScenarioParamError, type Scenario } from '../scenarios.js';
import { sizingRuleText } from '../sizing.js';
import { CHAT_LENGTHS, CHAT_NOTE, DAY_NOTE, GPU_PARAM, UTIL_NOTE, ZONES, dayParam, params, pctText, roofline, scaleTz } from './common.js';

interface MultiParams {
  models: number;
  tenants: number;
  rate: number;
  dayH: number;
  gpu: string;
}

/** Customers per variant: Zipf (1/k) popularity over `models` variants, every variant with at least one. */
export function zipfCounts(tenants: number, models: number): number[] {
  if (tenants < models) {
    throw new ScenarioParamError([`parameter "tenants=${tenants}" is invalid: every one of the ${models} variants needs a customer (tenants ≥ models)`]);
  }
  const w = Array.from({ length: models }, (_, k) => 1 / (k + 1));
  const sum = w.reduce((a, b) => a + b, 0);
  const counts = w.map((x) => Math.max(1, Math.floor((tenants * x) / sum)));
  // Hand what rounding left over to the most popular variants, in order.
  let left = tenants - counts.reduce((a, b) => a + b, 0);
  for (let k = 0; left > 0; k = (k + 1) % models, left--) counts[k]!++;
  for (let k = models - 1; left < 0; k = k > 0 ? k - 1 : models - 1) {
    if (counts[k]! > 1) {
      counts[k]!--;
      left++;
    }
  }
  return counts;
}

function multiConfig(p: MultiParams, seed: number, shared: boolean): SimConfig {
  const period = p.dayH * 3600;
  const counts = zipfCounts(p.tenants, p.models);
  const names = counts.map((_, k) => `variant-${k + 1}`);
  const base = roofline(p.gpu, 'llama-3.1-8b');
  const tenants: TenantGroup[] = counts.map((count, k) => {
    const g: TenantGroup = {
      name: names[k]!,
      count,
      arrival: { kind: 'diurnal', rate: p.rate, amplitude: 0.6, periodS: period },
      rateSpread: { cv: 1 },
      tzOffsetH: scaleTz(ZONES['americas-europe-asia']!.tz, p.dayH),
      lengths: CHAT_LENGTHS,
    };
    if (!shared) g.model = names[k]!;
    return g;
  });
  return {
    name: 'multi-model',
    description: shared
      ? `The same customers on one shared pool, as if any server could hold any of the ${p.models} variants.`
      : `${p.tenants} customers over ${p.models} fine-tuned variants of Llama 3.1 8B (Zipf popularity); a server holds one variant.`,
    seed,
    durationS: period,
    stepTime: base,
    slo: { ttft: 2, tpot: 0.1 },
    tenants,
    deployment: shared
      ? { kind: 'pooled', servers: 'auto', router: 'jsq' }
      : { kind: 'multi-model', pools: Object.fromEntries(names.map((n) => [n, { servers: 'auto' as const, router: 'jsq' as const, stepTime: base }])) },
    report: { tenantRows: 20 },
  };
}

const multi: Scenario = {
  name: 'multi-model',
  title: 'Multi-model fragmentation (report: many models fragment the fleet)',
  claim:
    'Serving many models fragments a fleet: a GPU holds one model, so each model needs GPUs of its own, sized for its own peak; the same demand needs more GPUs, and each is less utilized.',
  lesson: 'Eight variants of one model: the popular one fills its servers, the long tail keeps whole servers warm for a trickle.',
  params: [
    { key: 'models', label: 'Model variants', kind: 'int', min: 1, max: 64, default: 8, reduced: 4 },
    { key: 'tenants', label: 'Customers', kind: 'int', min: 1, max: 5000, default: 400, reduced: 60 },
    { key: 'rate', label: 'Requests/s per customer', kind: 'number', min: 0.001, max: 10, default: 0.05 },
    dayParam(1, 0.5),
    GPU_PARAM,
  ],
  config: (o = {}) => multiConfig(params<MultiParams>(multi, o), o.seed ?? 1, false),
  run(ex) {
    const p: MultiParams = { models: ex.num('models'), tenants: ex.num('tenants'), rate: ex.num('rate'), dayH: ex.num('dayH'), gpu: ex.str('gpu') };
    ex.plan(2);
    const split = ex.simulate(`${p.models} variants, a pool each`, multiConfig(p, ex.seed, false));
    const shared = ex.simulate('one shared pool', multiConfig(p, ex.seed, true));
    const a = split.fleet;
    const b = shared.fleet;
    ex.check({
      id: 'servers',
      claim: 'each model needs GPUs of its own: the same demand needs more GPUs',
      figure: 'servers, per-variant pools ÷ one shared pool',
      simulated: a.servers.mean / b.servers.mean,
      low: 1,
      lowOpen: true,
      unit: 'ratio',
      note: `${num(a.servers.mean)} servers in ${p.models} pools (${split.pools.map((x) => x.servers.initial).join(' + ')}) vs ${num(b.servers.mean)} shared.`,
    });
    ex.check({
      id: 'utilization',
      claim: 'fragmentation lowers utilization',
      figure: 'capacity utilization, per-variant pools ÷ one shared pool',
      simulated: a.capacityUtilization / b.capacityUtilization,
      high: 1,
      highOpen: true,
      unit: 'ratio',
      note: `${pctText(a.capacityUtilization)} split vs ${pctText(b.capacityUtilization)} shared; cost per 1M output tokens $${num(a.cost.perMillionOutputTokens)} vs $${num(b.cost.perMillionOutputTokens)}.`,
    });
    const counts = zipfCounts(p.tenants, p.models);
    ex.note(`Customers per variant (Zipf popularity): ${counts.join(', ')}; each customer ${p.rate} requests/s on average (lognormal sizes, CV 1), a diurnal day (peak 1.6× its mean) in its own time zone.`);
    ex.note(`Every variant is Llama 3.1 8B on ${p.gpu} (same speed); each pool is sized by the rule for its own demand and keeps at least one server. ${sizingRuleText()}`);
    ex.note(`The report gives no figure here; the checks are directions: more servers, lower utilization. ${UTIL_NOTE}`);
    ex.note(CHAT_NOTE);
    ex.note(DAY_NOTE(p.dayH));
  },
};

registerScenario(multi);
