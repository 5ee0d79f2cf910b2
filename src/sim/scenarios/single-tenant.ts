// One customer on GPUs of its own: a startup (small, business-hours traffic with bursts) and a
// mature single tenant (large, smooth diurnal traffic). Each fleet is sized by the rule (p99 of
// 60 s windows at 80% of capacity) for the customer's own demand; the figure is the capacity
// utilization that results.
import { diurnalPhaseForPeak } from '../../traffic/arrivals.js';
import type { SimConfig } from '../config.js';
import { registerScenario, type Scenario } from '../scenarios.js';
import { num } from '../report.js';
import { sizingRuleText } from '../sizing.js';
import { BUSINESS_DAY, CHAT_LENGTHS, CHAT_NOTE, DAY_NOTE, GPU_PARAM, MODEL_PARAM, UTIL_NOTE, dayParam, params, pctText, roofline, scaleTz } from './common.js';

// ---------------------------------------------------------------------------------------------

function startupConfig(p: { rate: number; burst: number; dayH: number; gpu: string; model: string }, seed: number): SimConfig {
  const period = p.dayH * 3600;
  // The bursts carry `burst` of the mean traffic: on for 2 minutes at a time, every ~40 minutes.
  const onS = 120;
  const offS = 2400;
  const burstRate = p.rate * p.burst;
  return {
    name: 'startup-reserved',
    description: "One startup's own fleet: its product traffic and its bursts share its servers, sized by the rule for its own peak.",
    seed,
    durationS: period,
    stepTime: roofline(p.gpu, p.model),
    slo: { ttft: 2, tpot: 0.1 },
    tenants: [
      {
        name: 'product',
        arrival: { kind: 'profile', rate: p.rate - burstRate, multipliers: BUSINESS_DAY, periodS: period },
        tzOffsetH: scaleTz(-5, p.dayH),
        lengths: CHAT_LENGTHS,
      },
      {
        name: 'bursts',
        arrival: { kind: 'onoff', onRate: (burstRate * (onS + offS)) / onS, offRate: 0, meanOnS: onS, meanOffS: offS },
        lengths: CHAT_LENGTHS,
      },
    ],
    deployment: { kind: 'pooled', servers: 'auto', router: 'jsq' },
  };
}

const startup: Scenario = {
  name: 'startup-reserved',
  title: 'One startup on reserved GPUs (report: 10–25% utilization)',
  claim: 'A startup that reserves GPUs for its own traffic keeps them 10–25% utilized: it sizes for its peaks, and its demand is bursty and follows the working day.',
  lesson: 'One customer alone: the fleet is sized for the busiest minute of the day, so most of the day most of it waits.',
  params: [
    { key: 'rate', label: 'Mean requests/s', hint: 'the startup\'s average over the day', kind: 'number', min: 0.05, max: 200, default: 3 },
    { key: 'burst', label: 'Share in bursts', hint: 'fraction of requests that come in short bursts', kind: 'number', min: 0, max: 0.9, default: 0.25 },
    dayParam(6, 1),
    GPU_PARAM,
    MODEL_PARAM,
  ],
  config: (o = {}) => startupConfig(params(startup, o), o.seed ?? 1),
  run(ex) {
    ex.plan(1);
    const p = { rate: ex.num('rate'), burst: ex.num('burst'), dayH: ex.num('dayH'), gpu: ex.str('gpu'), model: ex.str('model') };
    const r = ex.simulate('startup, own fleet', startupConfig(p, ex.seed));
    const f = r.fleet;
    ex.check({
      id: 'utilization',
      claim: 'one startup on reserved GPUs: 10–25% utilization',
      figure: 'capacity utilization of the startup\'s fleet',
      simulated: f.capacityUtilization,
      low: 0.1,
      high: 0.25,
      unit: 'percent',
      note: `${num(f.servers.mean)} server(s) for a mean of ${num(r.workload.offeredOutputTokensPerS)} output tokens/s; one server serves ${num(r.pools[0]!.capacityPerServer.tokensPerS)} at capacity.`,
    });
    ex.note(`Traffic: ${p.rate} requests/s on average: a business-hours day in UTC−5 (peak ≈ 2× the mean) plus ${Math.round(100 * p.burst)}% of the requests in 2-minute bursts about every 40 minutes.`);
    ex.note(`Sizing: ${sizingRuleText()}`);
    ex.note(`Measured: capacity utilization ${pctText(f.capacityUtilization)}, time utilization ${pctText(f.timeUtilization)}. ${UTIL_NOTE}`);
    ex.note('The figure depends on the startup\'s size against one server: a smaller startup still pays for a whole server (lower utilization); a larger one rounds less (higher). Change "Mean requests/s" to see it.');
    ex.note(CHAT_NOTE);
    ex.note(DAY_NOTE(p.dayH));
  },
};

// ---------------------------------------------------------------------------------------------

function matureConfig(p: { rate: number; amplitude: number; dayH: number; gpu: string; model: string }, seed: number): SimConfig {
  const period = p.dayH * 3600;
  return {
    name: 'mature-tenant',
    description: 'One large customer on its own fleet, sized by the rule for its own peak.',
    seed,
    durationS: period,
    stepTime: roofline(p.gpu, p.model),
    slo: { ttft: 2, tpot: 0.1 },
    tenants: [
      {
        name: 'mature',
        // Peak at 14:00 local time.
        arrival: { kind: 'diurnal', rate: p.rate, amplitude: p.amplitude, periodS: period, phase: diurnalPhaseForPeak(14 * (p.dayH / 24), period) },
        lengths: CHAT_LENGTHS,
      },
    ],
    deployment: { kind: 'reserved' },
  };
}

const mature: Scenario = {
  name: 'mature-tenant',
  title: 'A mature single tenant on its own GPUs (report: 40–60% utilization)',
  claim: 'A mature, large single tenant on its own GPUs reaches 40–60% utilization: its traffic is smooth, but it still sizes for its daily peak.',
  lesson: 'A big customer alone: minute-to-minute noise averages out, but the daily cycle remains, and the fleet is sized for its top.',
  params: [
    { key: 'rate', label: 'Mean requests/s', kind: 'number', min: 1, max: 1000, default: 40, reduced: 15 },
    { key: 'amplitude', label: 'Daily swing', hint: 'peak = (1 + swing) × mean', kind: 'number', min: 0, max: 1, default: 0.5 },
    dayParam(2, 0.75),
    GPU_PARAM,
    MODEL_PARAM,
  ],
  config: (o = {}) => matureConfig(params(mature, o), o.seed ?? 1),
  run(ex) {
    ex.plan(1);
    const p = { rate: ex.num('rate'), amplitude: ex.num('amplitude'), dayH: ex.num('dayH'), gpu: ex.str('gpu'), model: ex.str('model') };
    const r = ex.simulate('mature tenant, own fleet', matureConfig(p, ex.seed));
    const f = r.fleet;
    ex.check({
      id: 'utilization',
      claim: 'mature single tenant: 40–60% utilization',
      figure: 'capacity utilization of the tenant\'s fleet',
      simulated: f.capacityUtilization,
      low: 0.4,
      high: 0.6,
      unit: 'percent',
      note: `${num(f.servers.mean)} servers; the rule's peak is ${num(r.pools[0]!.demand.peakServers / r.pools[0]!.demand.meanServers)}× the mean demand.`,
    });
    ex.note(`Traffic: ${p.rate} requests/s on average, Poisson, one region's day (sinusoid, peak ${1 + p.amplitude}× and trough ${1 - p.amplitude}× the mean, at 14:00).`);
    ex.note(`Sizing: ${sizingRuleText()}`);
    ex.note(`Measured: capacity utilization ${pctText(f.capacityUtilization)}, time utilization ${pctText(f.timeUtilization)}. ${UTIL_NOTE}`);
    ex.note(CHAT_NOTE);
    ex.note(DAY_NOTE(p.dayH));
  },
};

registerScenario(startup);
registerScenario(mature);
