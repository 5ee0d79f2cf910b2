// Peak-to-average: a customer whose daily peak is 5× its average, and the 8-hour-peak, 16-hour-low
// day (2× peak-to-average), each on a fleet sized for its peak minute.
import type { SimConfig } from '../config.js';
import { num } from '../report.js';
import { registerScenario, type Scenario } from '../scenarios.js';
import { CHAT_LENGTHS, CHAT_NOTE, DAY_NOTE, GPU_PARAM, MODEL_PARAM, UTIL_NOTE, dayParam, params, pctText, roofline } from './common.js';

interface PeakParams {
  rate: number;
  dayH: number;
  gpu: string;
  model: string;
}

/** Sized for the peak: the busiest 60 s window of the run at 100% of capacity. */
const FOR_PEAK = { method: 'peak', percentile: 100, windowS: 60, targetUtilization: 1 } as const;

/** 24 hourly multipliers: two peak hours at 5× the daily mean, the rest level (14/22 each). */
export const PEAK_5X_DAY = Array.from({ length: 24 }, (_, h) => (h === 13 || h === 14 ? 5 : 14 / 22));
/** 8 hours (9:00–17:00) at 2× the daily mean, 16 hours at 0.5×. */
export const PEAK_8H_DAY = Array.from({ length: 24 }, (_, h) => (h >= 9 && h < 17 ? 2 : 0.5));

function peakConfig(name: string, multipliers: number[], p: PeakParams, seed: number): SimConfig {
  const period = p.dayH * 3600;
  return {
    name,
    description: 'One customer on its own fleet, sized for its busiest minute (p100 of 60 s windows at 100% of capacity).',
    seed,
    durationS: period,
    stepTime: roofline(p.gpu, p.model),
    slo: { ttft: 2, tpot: 0.1 },
    tenants: [{ name: 'customer', arrival: { kind: 'profile', rate: p.rate, multipliers, periodS: period }, lengths: CHAT_LENGTHS }],
    deployment: { kind: 'reserved', sizing: { ...FOR_PEAK } },
  };
}

function peakRun(
  ex: Parameters<NonNullable<Scenario['run']>>[0],
  name: string,
  multipliers: number[],
  premise: { ratio: number; low: number; high: number; text: string },
  claim: { text: string; low: number; high: number; note: string },
): void {
  ex.plan(1);
  const p: PeakParams = { rate: ex.num('rate'), dayH: ex.num('dayH'), gpu: ex.str('gpu'), model: ex.str('model') };
  const r = ex.simulate(`sized for the peak`, peakConfig(name, multipliers, p, ex.seed));
  const f = r.fleet;
  const d = r.pools[0]!.demand;
  ex.check({
    id: 'premise',
    claim: premise.text,
    figure: 'premise: busiest minute ÷ mean demand (generated traffic)',
    simulated: d.peakServers / d.meanServers,
    low: premise.low,
    high: premise.high,
    unit: 'ratio',
    note: `the profile's peak is ${premise.ratio}× its mean; minute-to-minute noise adds to it.`,
  });
  ex.check({
    id: 'utilization',
    claim: claim.text,
    figure: 'capacity utilization, fleet sized for the peak',
    simulated: f.capacityUtilization,
    low: claim.low,
    high: claim.high,
    unit: 'percent',
    note: `${claim.note} A busiest minute of ${num(d.peakServers)} servers' worth of work (one serves ${num(r.pools[0]!.capacityPerServer.tokensPerS)} output tokens/s), rounded up to ${num(f.servers.mean)}.`,
  });
  ex.note(`Traffic: ${p.rate} requests/s on average over the day, following the day's profile by hour (${multipliers.map((m) => +m.toFixed(2)).join(', ')} × the mean), Poisson within each hour.`);
  ex.note('Sizing: for the peak: servers = ceil(busiest 60 s window of output tokens/s ÷ one server\'s capacity), no headroom.');
  ex.note(`Measured: capacity utilization ${pctText(f.capacityUtilization)}, time utilization ${pctText(f.timeUtilization)}. ${UTIL_NOTE}`);
  ex.note(CHAT_NOTE);
  ex.note(DAY_NOTE(p.dayH));
}

const PEAK_PARAMS = [
  { key: 'rate', label: 'Mean requests/s', kind: 'number', min: 0.5, max: 500, default: 20, reduced: 10 },
  dayParam(1, 0.5),
  GPU_PARAM,
  MODEL_PARAM,
] as const;

const peak5x: Scenario = {
  name: 'peak-5x',
  title: 'Peak 5× average, sized for peak (report: average utilization ~20%)',
  claim: 'A customer whose peak is 5× its average and who sizes for the peak averages about 20% utilization.',
  lesson: 'Capacity bought for two busy hours sits idle for the other twenty-two.',
  params: PEAK_PARAMS,
  config: (o = {}) => peakConfig('peak-5x', PEAK_5X_DAY, params<PeakParams>(peak5x, o), o.seed ?? 1),
  run(ex) {
    peakRun(
      ex,
      'peak-5x',
      PEAK_5X_DAY,
      { ratio: 5, low: 4.5, high: 5.5, text: 'peak 5× average' },
      { text: 'sized for peak, average ~20%', low: 0.15, high: 0.25, note: '"~20%" read as 15–25%.' },
    );
  },
};

const peak8h: Scenario = {
  name: 'peak-8h-16h',
  title: '8 h peak + 16 h low: 2× peak-to-average (report)',
  claim: 'Eight busy hours and sixteen quiet ones make a 2× peak-to-average day: a fleet sized for the peak is busy about half the time on average.',
  lesson: 'A working day: twice the average for eight hours, a quarter of the peak for sixteen.',
  params: PEAK_PARAMS,
  config: (o = {}) => peakConfig('peak-8h-16h', PEAK_8H_DAY, params<PeakParams>(peak8h, o), o.seed ?? 1),
  run(ex) {
    peakRun(
      ex,
      'peak-8h-16h',
      PEAK_8H_DAY,
      { ratio: 2, low: 1.8, high: 2.2, text: '8 h peak + 16 h low: 2× peak-to-average' },
      { text: '2× peak-to-average: a fleet sized for the peak averages ~50%', low: 0.45, high: 0.55, note: 'The report gives the ratio; ~50% (read as 45–55%) is what it implies for a fleet sized for the peak.' },
    );
  },
};

registerScenario(peak5x);
registerScenario(peak8h);
