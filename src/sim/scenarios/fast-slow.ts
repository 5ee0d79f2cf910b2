// Performance against utilization: a fast API and a slow one, on the same GPUs at the same price,
// each with the traffic it aggregates. The per-stream speeds are inputs (the report's figures);
// the utilizations and the cost per token come out of fleets sized by SLO for each one's traffic.
//
// Inputs and their sources (stated assumptions; committed before the verdicts were read):
// - speeds: the report's per-request output speeds, as API benchmarks quote them: fast 230–260
//   tokens/s, slow 120–150; the platforms are built for the midpoints, 245 and 135 (`fastSpeed`,
//   `slowSpeed`). How: Llama 3.1 8B on one H200 each server; the fast API runs fp8 weights and KV
//   cache, the slow one bf16 (the roofline's default efficiencies for both), and each caps its
//   batch at the largest whose decode step, at the traffic's mean context, is within 1 ÷ its
//   speed (speed is bought with small batches; 245 tokens/s is out of reach of bf16 on an H200).
// - SLO, what each platform promises: TTFT ≤ 2 s, and no stream at under half its quoted speed
//   (TPOT ≤ 2 ÷ speed), for 99% of requests; each fleet is the smallest that meets it.
// - traffic: customers of `rate` requests/s each on average (default 1, lognormal sizes, CV 1; the
//   size platform-pooling uses), business-hours days in their own time zones (common.ts
//   BUSINESS_DAY, zones 'americas-europe-asia' cycled), chat lengths. The fast API, a premium
//   low-latency service, has `fastCustomers` (default 30); the slow one, a large general platform,
//   aggregates five times as many, `slowCustomers` (default 150). An assumption: the report gives
//   no customer counts, only that the busy platform is the one that aggregates more.
// Checks: the measured median stream speeds (premises), each platform's capacity utilization
// against the report's 40–50% and 70–85%, and whether the slow, busy one sells a token for less.
import type { SimConfig } from '../config.js';
import type { SimResult } from '../run.js';
import { num, secs } from '../report.js';
import { registerScenario, ScenarioParamError, type Scenario } from '../scenarios.js';
import { makeStepTimeModel, type RooflineSpec } from '../step-time.js';
import { sizingRuleText } from '../sizing.js';
import { buildWorkload } from '../workload.js';
import { BUSINESS_DAY, CHAT_LENGTHS, CHAT_NOTE, DAY_NOTE, ZONES, params, pctText, scaleTz } from './common.js';
import { CHAT_SLO } from './sized.js';

interface FastSlowParams {
  fastCustomers: number;
  slowCustomers: number;
  rate: number;
  fastSpeed: number;
  slowSpeed: number;
  dayH: number;
  gpu: string;
}

const MODEL = 'llama-3.1-8b';
/** The report's ranges: per-stream output tokens/s and capacity utilization of each platform. */
const FAST_RANGE = { speed: [230, 260], utilization: [0.4, 0.5] } as const;
const SLOW_RANGE = { speed: [120, 150], utilization: [0.7, 0.85] } as const;

type Side = 'fast' | 'slow';

function spec(p: FastSlowParams, side: Side): RooflineSpec {
  const dtype = side === 'fast' ? 'fp8' : 'bf16';
  return { kind: 'roofline', gpu: p.gpu, model: MODEL, weights: dtype, kvCache: dtype };
}

function traffic(p: FastSlowParams, seed: number, side: Side, maxBatch?: number): SimConfig {
  const period = p.dayH * 3600;
  const speed = side === 'fast' ? p.fastSpeed : p.slowSpeed;
  const cfg: SimConfig = {
    name: `fast-vs-slow (${side})`,
    description: `The ${side} API: ${side === 'fast' ? p.fastCustomers : p.slowCustomers} customers, streams at ${speed} tokens/s.`,
    seed,
    durationS: period,
    stepTime: spec(p, side),
    slo: { ttft: CHAT_SLO.ttft, tpot: 2 / speed },
    tenants: [
      {
        name: 'customer',
        count: side === 'fast' ? p.fastCustomers : p.slowCustomers,
        arrival: { kind: 'profile', rate: p.rate, multipliers: BUSINESS_DAY, periodS: period },
        rateSpread: { cv: 1 },
        tzOffsetH: scaleTz(ZONES['americas-europe-asia']!.tz, p.dayH),
        lengths: CHAT_LENGTHS,
      },
    ],
    deployment: { kind: 'pooled', servers: 'auto', router: 'jsq' },
    report: { tenantRows: 0 },
  };
  if (maxBatch !== undefined) cfg.scheduler = { maxBatch };
  return cfg;
}

/**
 * The largest batch whose decode-only step, every sequence at context ctx, takes at most
 * 1 ÷ speed: the batch cap that serves each stream at `speed` tokens/s. 0 when even one
 * sequence is slower.
 */
export function batchForSpeed(s: RooflineSpec, speed: number, ctx: number, limit = 4096): number {
  const m = makeStepTimeModel(s, 1);
  const step = (b: number) => m.shapeTime({ batchSize: b, decodeTokens: b, prefillTokens: 0, contextTokens: b * ctx, attendedPairs: b * ctx });
  let b = 0;
  while (b < limit && step(b + 1) <= 1 / speed) b++;
  return b;
}

/** The platform's config with its batch cap (from the speed, at the workload's mean context). */
function platform(p: FastSlowParams, seed: number, side: Side): { config: SimConfig; maxBatch: number; ctx: number } {
  const w = buildWorkload(traffic(p, seed, side, 1));
  const n = Math.max(1, w.columns.arrival.length);
  let prompt = 0;
  let output = 0;
  for (let i = 0; i < w.columns.arrival.length; i++) {
    prompt += w.columns.promptTokens[i]!;
    output += w.columns.outputTokens[i]!;
  }
  const ctx = prompt / n + output / n / 2;
  const speed = side === 'fast' ? p.fastSpeed : p.slowSpeed;
  const maxBatch = batchForSpeed(spec(p, side), speed, ctx);
  if (maxBatch < 1) {
    const key = side === 'fast' ? 'fastSpeed' : 'slowSpeed';
    throw new ScenarioParamError([
      `parameter "${key}=${speed}" is out of reach: one ${MODEL} stream (${side === 'fast' ? 'fp8' : 'bf16'}) on ${p.gpu} decodes slower than ${speed} tokens/s at context ${Math.round(ctx)}`,
    ]);
  }
  return { config: traffic(p, seed, side, maxBatch), maxBatch, ctx };
}

/** Median stream speed: 1 ÷ the median TPOT (the median of per-request TPOTs, so its reciprocal is the median speed). */
const medianSpeed = (r: SimResult): number => 1 / r.fleet.latency.tpot.p50;

const fastSlow: Scenario = {
  name: 'fast-vs-slow',
  title: 'Fast but idle vs slow but busy: cost per token (report: 230–260 tokens/s at 40–50% vs 120–150 at 70–85%)',
  claim:
    'A fast API (230–260 output tokens/s per request) at 40–50% utilization against a slow one (120–150 tokens/s) at 70–85%: performance pays only when demand uses it, utilization pays always, so the slow, busy platform can sell a token for less.',
  lesson: 'Speed halves the cost of a token only if the GPUs stay as busy; the platform that aggregates more traffic keeps them busy.',
  params: [
    { key: 'fastCustomers', label: 'Fast API customers', kind: 'int', min: 1, max: 2000, default: 30, reduced: 4 },
    { key: 'slowCustomers', label: 'Slow API customers', kind: 'int', min: 1, max: 2000, default: 150, reduced: 20 },
    { key: 'rate', label: 'Requests/s per customer', hint: 'mean; sizes vary around it', kind: 'number', min: 0.001, max: 10, default: 1 },
    { key: 'fastSpeed', label: 'Fast stream speed', hint: 'output tokens/s per request', kind: 'number', min: 10, max: 1000, default: 245 },
    { key: 'slowSpeed', label: 'Slow stream speed', hint: 'output tokens/s per request', kind: 'number', min: 10, max: 1000, default: 135 },
    { key: 'dayH', label: 'Day length', hint: 'hours a simulated day lasts (only the daily cycle is compressed)', kind: 'number', min: 0.1, max: 24, default: 0.25, reduced: 0.1 },
    { key: 'gpu', label: 'GPU', kind: 'choice', options: ['h200', 'h100-sxm', 'b200'], default: 'h200' },
  ],
  config: (o = {}) => platform(params<FastSlowParams>(fastSlow, o), o.seed ?? 1, 'fast').config,
  run(ex) {
    const p: FastSlowParams = {
      fastCustomers: ex.num('fastCustomers'),
      slowCustomers: ex.num('slowCustomers'),
      rate: ex.num('rate'),
      fastSpeed: ex.num('fastSpeed'),
      slowSpeed: ex.num('slowSpeed'),
      dayH: ex.num('dayH'),
      gpu: ex.str('gpu'),
    };
    const F = platform(p, ex.seed, 'fast');
    const S = platform(p, ex.seed, 'slow');
    ex.plan(2);
    const fast = ex.simulate(`fast API: ${p.fastCustomers} customers, streams at ${p.fastSpeed} tokens/s, sized by SLO`, F.config);
    const slow = ex.simulate(`slow API: ${p.slowCustomers} customers, streams at ${p.slowSpeed} tokens/s, sized by SLO`, S.config);
    const cost = (r: SimResult) => r.fleet.cost.perMillionOutputTokens;
    const fp = fast.pools[0]!;
    const sp = slow.pools[0]!;
    ex.check({
      id: 'premise-fast-speed',
      claim: 'the fast API serves 230–260 output tokens/s per request',
      figure: 'premise: fast API median stream speed, tokens/s',
      simulated: medianSpeed(fast),
      low: FAST_RANGE.speed[0],
      high: FAST_RANGE.speed[1],
      unit: 'number',
      note: `1 ÷ median TPOT (${secs(fast.fleet.latency.tpot.p50)}); batch capped at ${F.maxBatch} (a decode step within 1/${p.fastSpeed} s at context ${Math.round(F.ctx)}); prefill chunks and load slow streams below the cap's speed.`,
    });
    ex.check({
      id: 'premise-slow-speed',
      claim: 'the slow API serves 120–150 output tokens/s per request',
      figure: 'premise: slow API median stream speed, tokens/s',
      simulated: medianSpeed(slow),
      low: SLOW_RANGE.speed[0],
      high: SLOW_RANGE.speed[1],
      unit: 'number',
      note: `1 ÷ median TPOT (${secs(slow.fleet.latency.tpot.p50)}); batch capped at ${S.maxBatch} (a decode step within 1/${p.slowSpeed} s at context ${Math.round(S.ctx)}).`,
    });
    ex.check({
      id: 'fast-utilization',
      claim: 'the fast API runs at 40–50% utilization',
      figure: 'fast API capacity utilization, fleet sized by SLO',
      simulated: fast.fleet.capacityUtilization,
      low: FAST_RANGE.utilization[0],
      high: FAST_RANGE.utilization[1],
      unit: 'percent',
      note: `${num(fast.fleet.servers.mean)} servers for ${num(fast.workload.offeredWorkServers)} servers of offered work; SLO attainment ${fast.fleet.slo ? pctText(fast.fleet.slo.attainment) : '—'}.`,
    });
    ex.check({
      id: 'slow-utilization',
      claim: 'the slow API runs at 70–85% utilization',
      figure: 'slow API capacity utilization, fleet sized by SLO',
      simulated: slow.fleet.capacityUtilization,
      low: SLOW_RANGE.utilization[0],
      high: SLOW_RANGE.utilization[1],
      unit: 'percent',
      note: `${num(slow.fleet.servers.mean)} servers for ${num(slow.workload.offeredWorkServers)} servers of offered work; SLO attainment ${slow.fleet.slo ? pctText(slow.fleet.slo.attainment) : '—'}.`,
    });
    ex.check({
      id: 'cost',
      claim: 'the slow but busy platform has the lower cost per token',
      figure: '$/1M output tokens, slow ÷ fast',
      simulated: cost(slow) / cost(fast),
      high: 1,
      highOpen: true,
      unit: 'ratio',
      note: `$${num(cost(slow))} slow vs $${num(cost(fast))} fast per 1M output tokens, same GPUs at the same price.`,
    });
    ex.note(
      `Speeds are inputs (${p.fastSpeed} and ${p.slowSpeed} tokens/s, the midpoints of the report's ranges), built as ${MODEL} on ${p.gpu}: the fast API in fp8 (weights and KV cache) with at most ${F.maxBatch} sequences a step, the slow one in bf16 with at most ${S.maxBatch}. At those caps a saturated server serves ${num(fp.capacityPerServer.tokensPerS)} (fast) and ${num(sp.capacityPerServer.tokensPerS)} (slow) output tokens/s: ${num(fp.capacityPerServer.tokensPerS / sp.capacityPerServer.tokensPerS)}× per GPU, against ${num(p.fastSpeed / p.slowSpeed)}× per stream.`,
    );
    ex.note(
      `Traffic (an assumption): customers of ${p.rate} requests/s on average (lognormal sizes, CV 1), each with a business-hours day in its own time zone (${ZONES['americas-europe-asia']!.label}); the fast API has ${p.fastCustomers}, the slow one ${p.slowCustomers}. Offered: ${num(fast.workload.offeredWorkServers)} and ${num(slow.workload.offeredWorkServers)} servers of work.`,
    );
    ex.note(
      `SLO (what each promises): TTFT ≤ ${CHAT_SLO.ttft} s and TPOT ≤ 2 ÷ its speed (${secs(2 / p.fastSpeed)} fast, ${secs(2 / p.slowSpeed)} slow), for 99% of requests. ${sizingRuleText()}`,
    );
    ex.note(
      `Utilization is capacity utilization: useful work (server-seconds at each platform's own saturated batch) ÷ billed server-seconds; time utilization reads ${pctText(fast.fleet.timeUtilization)} fast and ${pctText(slow.fleet.timeUtilization)} slow. Latency: TTFT p99 ${secs(fast.fleet.latency.ttft.p99)} fast vs ${secs(slow.fleet.latency.ttft.p99)} slow.`,
    );
    ex.note(
      `Whole servers: the fast fleet is ${num(fast.fleet.servers.mean)} servers for ${num(fast.workload.offeredWorkServers)} of offered work, the slow one ${num(slow.fleet.servers.mean)} for ${num(slow.workload.offeredWorkServers)}; the smaller the traffic a platform aggregates, the more its utilization turns on rounding up and on its own peaks. Cost per token is GPU-hours ÷ tokens, so slow ÷ fast = (fast utilization × fast throughput per GPU) ÷ (slow utilization × slow throughput per GPU), with every factor measured here.`,
    );
    ex.note('The inputs were committed before the verdicts were read; a verdict that disagrees with the report is a finding about the claim under these stated inputs, not something tuned away.');
    ex.note(CHAT_NOTE);
    ex.note(DAY_NOTE(p.dayH));
  },
};

registerScenario(fastSlow);
