// One customer on GPUs of its own: a startup (small, business-hours traffic with bursts) and a
// mature single tenant (large, smooth diurnal traffic). Each fleet is sized by SLO: the smallest
// fleet that keeps 99% of the customer's requests within its SLO, found by simulating its traffic.
// The figure is the capacity utilization that fleet then reaches: nothing in the check sets it.
//
// Inputs and their sources (stated assumptions where no data exists; committed before the
// verdicts were read):
// - request lengths: the Azure conversation trace's scale (common.ts CHAT_LENGTHS);
// - SLO: TTFT 2 s, TPOT 100 ms (sized.ts CHAT_SLO), an interactive chat product;
// - startup: 3 requests/s on average (≈ 260,000 a day; between the 2.57 and 5.53 req/s of the two
//   Azure production services of the 2023 traces), a business-hours day in UTC−5 (BUSINESS_DAY,
//   peak ≈ 2× the mean), 25% of its requests in 2-minute bursts (the Azure code trace's
//   inter-arrival CV of ~13 shows production LLM traffic is bursty);
// - mature tenant: 40 requests/s (≈ 3.5 million a day), Poisson, one region's sinusoidal day with
//   peak 1.5× the mean (amplitude 0.5) at 14:00.
import { diurnalPhaseForPeak } from '../../traffic/arrivals.js';
import type { SimConfig } from '../config.js';
import { registerScenario, type Scenario } from '../scenarios.js';
import { num } from '../report.js';
import { BUSINESS_DAY, CHAT_LENGTHS, CHAT_NOTE, DAY_NOTE, GPU_PARAM, MODEL_PARAM, dayParam, params, roofline, scaleTz } from './common.js';
import { CHAT_SLO, SIZED_NOTE, SLO_NOTE, sizingNote, utilizationNote } from './sized.js';

// ---------------------------------------------------------------------------------------------

/** The startup's bursts: on for 2 minutes at a time, about every 40 minutes (real time, not compressed with the day). */
const BURST_ON_S = 120;
const BURST_OFF_S = 2400;

function startupConfig(p: { rate: number; burst: number; dayH: number; gpu: string; model: string }, seed: number): SimConfig {
  const period = p.dayH * 3600;
  // The bursts carry `burst` of the mean traffic.
  const burstRate = p.rate * p.burst;
  return {
    name: 'startup-reserved',
    description: "One startup's own fleet: its product traffic and its bursts share its servers, sized by SLO for its own traffic.",
    seed,
    durationS: period,
    stepTime: roofline(p.gpu, p.model),
    slo: { ...CHAT_SLO },
    tenants: [
      {
        name: 'product',
        arrival: { kind: 'profile', rate: p.rate - burstRate, multipliers: BUSINESS_DAY, periodS: period },
        tzOffsetH: scaleTz(-5, p.dayH),
        lengths: CHAT_LENGTHS,
      },
      {
        name: 'bursts',
        arrival: { kind: 'onoff', onRate: (burstRate * (BURST_ON_S + BURST_OFF_S)) / BURST_ON_S, offRate: 0, meanOnS: BURST_ON_S, meanOffS: BURST_OFF_S },
        lengths: CHAT_LENGTHS,
      },
    ],
    deployment: { kind: 'pooled', servers: 'auto', router: 'jsq', sizing: { method: 'slo' } },
  };
}

const startup: Scenario = {
  name: 'startup-reserved',
  title: 'One startup on reserved GPUs (report: 10–25% utilization)',
  claim: 'A startup that reserves GPUs for its own traffic keeps them 10–25% utilized: it sizes for its peaks, and its demand is bursty and follows the working day.',
  lesson: 'One customer alone: the fleet must meet the SLO in the busiest minutes and bursts, and is at least one whole server, so most of the day most of it waits.',
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
    const r = ex.simulate('startup, own fleet (sized by SLO)', startupConfig(p, ex.seed));
    const f = r.fleet;
    ex.check({
      id: 'utilization',
      claim: 'one startup on reserved GPUs: 10–25% utilization',
      figure: 'capacity utilization of the startup\'s SLO-sized fleet',
      simulated: f.capacityUtilization,
      low: 0.1,
      high: 0.25,
      unit: 'percent',
      note: `${num(f.servers.mean)} server(s) for ${num(r.workload.offeredWorkServers)} servers' worth of offered work on average; ${sizingNote(r)}.`,
    });
    ex.note(
      `Traffic (stated assumption): ${p.rate} requests/s on average (the Azure 2023 traces' two production services average 2.57 and 5.53): ` +
        `a business-hours day in UTC−5 (peak ≈ 2× the mean) plus ${Math.round(100 * p.burst)}% of the requests in 2-minute bursts about every 40 minutes.`,
    );
    ex.note(SLO_NOTE);
    ex.note(SIZED_NOTE);
    ex.note(utilizationNote(r));
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
    description: 'One large customer on its own fleet, sized by SLO for its own traffic.',
    seed,
    durationS: period,
    stepTime: roofline(p.gpu, p.model),
    slo: { ...CHAT_SLO },
    tenants: [
      {
        name: 'mature',
        // Peak at 14:00 local time.
        arrival: { kind: 'diurnal', rate: p.rate, amplitude: p.amplitude, periodS: period, phase: diurnalPhaseForPeak(14 * (p.dayH / 24), period) },
        lengths: CHAT_LENGTHS,
      },
    ],
    deployment: { kind: 'reserved', sizing: { method: 'slo' } },
  };
}

const mature: Scenario = {
  name: 'mature-tenant',
  title: 'A mature single tenant on its own GPUs (report: 40–60% utilization)',
  claim: 'A mature, large single tenant on its own GPUs reaches 40–60% utilization: its traffic is smooth, but it still sizes for its daily peak.',
  lesson: 'A big customer alone: minute-to-minute noise averages out, but the daily cycle remains, and the fleet must meet the SLO at its top.',
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
    const r = ex.simulate('mature tenant, own fleet (sized by SLO)', matureConfig(p, ex.seed));
    const f = r.fleet;
    const d = r.pools[0]!.demand;
    ex.check({
      id: 'premise-swing',
      claim: `premise: one region's day, peak ${1 + p.amplitude}× the mean`,
      figure: 'premise: busiest minutes (p99 of 60 s windows) ÷ mean offered work',
      simulated: d.peakServers / d.meanServers,
      low: (1 + p.amplitude) * 0.9,
      high: (1 + p.amplitude) * 1.25,
      unit: 'ratio',
      note: 'A premise of the traffic generated, not a claim check: the sinusoid\'s peak, plus minute-to-minute noise.',
    });
    ex.check({
      id: 'utilization',
      claim: 'mature single tenant: 40–60% utilization',
      figure: 'capacity utilization of the tenant\'s SLO-sized fleet',
      simulated: f.capacityUtilization,
      low: 0.4,
      high: 0.6,
      unit: 'percent',
      note: `${num(f.servers.mean)} servers for ${num(d.meanServers)} servers' worth of offered work on average; ${sizingNote(r)}.`,
    });
    ex.note(`Traffic (stated assumption): ${p.rate} requests/s on average, Poisson, one region's day (sinusoid, peak ${1 + p.amplitude}× and trough ${1 - p.amplitude}× the mean, at 14:00).`);
    ex.note(SLO_NOTE);
    ex.note(SIZED_NOTE);
    ex.note(utilizationNote(r));
    ex.note(CHAT_NOTE);
    ex.note(DAY_NOTE(p.dayH));
  },
};

registerScenario(startup);
registerScenario(mature);
