// Performance against utilization: a fast platform (twice the tokens/s per GPU) that is idle half
// the time, and a slow one that is busy, serving the same traffic on the same GPUs at the same
// price. Which sells a token cheaper?
import type { SimConfig } from '../config.js';
import { num, secs } from '../report.js';
import { registerScenario, type Scenario } from '../scenarios.js';
import type { RooflineSpec } from '../step-time.js';
import { buildWorkload } from '../workload.js';
import { makeStepTimeModel, serverCapacity } from '../step-time.js';
import { resolveScheduler } from '../run.js';
import { CHAT_LENGTHS, CHAT_NOTE, GPU_PARAM, MODEL_PARAM, params, pctText, tpFor } from './common.js';

interface FastSlowParams {
  fastServers: number;
  minutes: number;
  gpu: string;
  model: string;
}

/** The fast platform's kernels reach these fractions of the GPU's peaks; the slow one's half as much, with twice the per-step overhead: every step takes twice as long. */
const FAST_EFFICIENCY = { bandwidth: 0.8, flops: 0.6, overheadS: 0.002 };
const SLOW_EFFICIENCY = { bandwidth: 0.4, flops: 0.3, overheadS: 0.004 };

/** The report's utilization ranges, and their midpoints. */
const FAST_RANGE = [0.35, 0.5] as const;
const SLOW_RANGE = [0.7, 0.8] as const;

function spec(p: FastSlowParams, efficiency: typeof FAST_EFFICIENCY): RooflineSpec {
  return { kind: 'roofline', gpu: p.gpu, model: p.model, tp: tpFor(p.gpu, p.model), efficiency: { ...efficiency } };
}

/** Steady traffic from 200 customers; `rate` is the total requests/s. */
function traffic(p: FastSlowParams, seed: number, rate: number): SimConfig {
  return {
    name: 'fast-vs-slow',
    seed,
    durationS: p.minutes * 60,
    warmupS: Math.min(60, p.minutes * 6),
    stepTime: spec(p, FAST_EFFICIENCY),
    slo: { ttft: 2, tpot: 0.1 },
    tenants: [{ name: 'customer', count: 200, arrival: { kind: 'poisson', rate: rate / 200 }, lengths: CHAT_LENGTHS }],
    deployment: { kind: 'pooled', servers: 1, router: 'jsq' },
    report: { tenantRows: 0 },
  };
}

/** One server's output tokens/s at capacity for the config's step-time model and mean lengths. */
function capacityOf(config: SimConfig, s: RooflineSpec): number {
  const w = buildWorkload(config);
  let prompt = 0;
  let output = 0;
  const n = w.columns.arrival.length;
  for (let i = 0; i < n; i++) {
    prompt += w.columns.promptTokens[i]!;
    output += w.columns.outputTokens[i]!;
  }
  const model = makeStepTimeModel(s, 1);
  const sched = resolveScheduler(config.scheduler, model);
  return serverCapacity(model, { maxBatch: sched.maxBatch, numBlocks: sched.kv.numBlocks, blockSize: sched.kv.blockSize }, prompt / n, output / n).tokensPerS;
}

const fastSlow: Scenario = {
  name: 'fast-vs-slow',
  title: 'Fast but idle vs slow but busy: cost per token (report: the busier one can be cheaper)',
  claim:
    'A fast API (about 2× the tokens/s per GPU) at 35–50% utilization against a slow one at 70–80%: performance pays only when demand uses it, utilization pays always, so the slow, busy platform can sell a token for less.',
  lesson: 'Twice the speed halves the cost of a token only if the GPUs stay as busy.',
  params: [
    { key: 'fastServers', label: 'Fast platform servers', hint: 'at its mid utilization; the traffic follows', kind: 'int', min: 2, max: 64, default: 10, reduced: 4 },
    { key: 'minutes', label: 'Run length (min)', kind: 'number', min: 2, max: 120, default: 8, reduced: 4 },
    GPU_PARAM,
    MODEL_PARAM,
  ],
  config: (o = {}) => {
    const p = params<FastSlowParams>(fastSlow, o);
    return traffic(p, o.seed ?? 1, 50);
  },
  run(ex) {
    const p: FastSlowParams = { fastServers: ex.num('fastServers'), minutes: ex.num('minutes'), gpu: ex.str('gpu'), model: ex.str('model') };
    const fastSpec = spec(p, FAST_EFFICIENCY);
    const slowSpec = spec(p, SLOW_EFFICIENCY);
    // Size the traffic so that the fast platform's servers run at its mid utilization.
    const probeCfg = traffic(p, ex.seed, 10);
    const capFast = capacityOf(probeCfg, fastSpec);
    const capSlow = capacityOf(probeCfg, slowSpec);
    const fastMid = (FAST_RANGE[0] + FAST_RANGE[1]) / 2;
    const slowMid = (SLOW_RANGE[0] + SLOW_RANGE[1]) / 2;
    const w0 = buildWorkload(probeCfg);
    let out0 = 0;
    for (let i = 0; i < w0.columns.arrival.length; i++) out0 += w0.columns.outputTokens[i]!;
    const tokensPerRequest = out0 / Math.max(1, w0.columns.arrival.length);
    const demand = p.fastServers * capFast * fastMid; // output tokens/s
    const cfg = traffic(p, ex.seed, demand / tokensPerRequest);
    const on = (s: RooflineSpec, util: number): SimConfig => ({
      ...cfg,
      stepTime: s,
      deployment: { kind: 'pooled', servers: Math.max(1, Math.round(demand / ((s === fastSpec ? capFast : capSlow) * util))), router: 'jsq' },
    });
    ex.plan(6);
    const fast = ex.simulate(`fast at ${pctText(fastMid)}`, on(fastSpec, fastMid));
    const slow = ex.simulate(`slow at ${pctText(slowMid)}`, on(slowSpec, slowMid));
    const corners = {
      fastLo: ex.simulate(`fast at ${pctText(FAST_RANGE[0])}`, on(fastSpec, FAST_RANGE[0]), false),
      fastHi: ex.simulate(`fast at ${pctText(FAST_RANGE[1])}`, on(fastSpec, FAST_RANGE[1]), false),
      slowLo: ex.simulate(`slow at ${pctText(SLOW_RANGE[0])}`, on(slowSpec, SLOW_RANGE[0]), false),
      slowHi: ex.simulate(`slow at ${pctText(SLOW_RANGE[1])}`, on(slowSpec, SLOW_RANGE[1]), false),
    };
    const cost = (r: typeof fast) => r.fleet.cost.perMillionOutputTokens;
    const speed = fast.pools[0]!.capacityPerServer.tokensPerS / slow.pools[0]!.capacityPerServer.tokensPerS;
    ex.check({
      id: 'premise-speed',
      claim: 'the fast API has ~2× the tokens/s',
      figure: 'premise: capacity per server, fast ÷ slow',
      simulated: speed,
      low: 1.8,
      high: 2.2,
      unit: 'ratio',
      note: `${num(fast.pools[0]!.capacityPerServer.tokensPerS)} vs ${num(slow.pools[0]!.capacityPerServer.tokensPerS)} output tokens/s per server at the largest batch.`,
    });
    ex.check({
      id: 'premise-fast-util',
      claim: 'the fast API runs at 35–50% utilization',
      figure: 'premise: fast platform capacity utilization',
      simulated: fast.fleet.capacityUtilization,
      low: FAST_RANGE[0],
      high: FAST_RANGE[1],
      unit: 'percent',
      note: `set by its fleet size: ${fast.fleet.servers.mean} servers for the traffic.`,
    });
    ex.check({
      id: 'premise-slow-util',
      claim: 'the slow API runs at 70–80% utilization',
      figure: 'premise: slow platform capacity utilization',
      simulated: slow.fleet.capacityUtilization,
      low: SLOW_RANGE[0],
      high: SLOW_RANGE[1],
      unit: 'percent',
      note: `set by its fleet size: ${slow.fleet.servers.mean} servers for the same traffic.`,
    });
    ex.check({
      id: 'cost-mid',
      claim: 'the slow but busy platform has the lower cost per token',
      figure: `$/1M output tokens, slow ÷ fast, at ${pctText(slowMid)} vs ${pctText(fastMid)}`,
      simulated: cost(slow) / cost(fast),
      high: 1,
      highOpen: true,
      unit: 'ratio',
      note: `$${num(cost(slow))} slow vs $${num(cost(fast))} fast per 1M output tokens, same GPUs at the same price.`,
    });
    const best = cost(corners.slowHi) / cost(corners.fastLo);
    const worst = cost(corners.slowLo) / cost(corners.fastHi);
    ex.check({
      id: 'cost-best-corner',
      claim: 'the slow but busy platform can have the lower cost per token',
      figure: `$/1M output tokens, slow ÷ fast, at ${pctText(SLOW_RANGE[1])} vs ${pctText(FAST_RANGE[0])} (the report's most favourable corner)`,
      simulated: best,
      high: 1,
      highOpen: true,
      unit: 'ratio',
      note: `at the least favourable corner (${pctText(SLOW_RANGE[0])} vs ${pctText(FAST_RANGE[1])}) the ratio is ${num(worst)}×.`,
    });
    ex.note(
      `Both platforms serve the same traffic (200 customers, Poisson, ${num(demand / tokensPerRequest)} requests/s in all) with ${p.model} on ${p.gpu} at the same $/GPU-hour. The fast one's kernels reach ${FAST_EFFICIENCY.bandwidth} of peak bandwidth and ${FAST_EFFICIENCY.flops} of peak FLOPs with ${FAST_EFFICIENCY.overheadS * 1000} ms per step; the slow one's half as much with twice the overhead, so its every step takes twice as long.`,
    );
    ex.note(
      'The utilizations are the report\'s premise, set by each fleet\'s size (servers = demand ÷ (capacity × utilization), rounded); the simulation measures what each platform then delivers: tokens served, cost per token and latency.',
    );
    ex.note(
      `Cost per token is GPU-hours ÷ tokens, so slow ÷ fast = (fast utilization × fast speed) ÷ (slow utilization × slow speed): the slow platform wins only where its utilization is more than ${num(speed)}× the fast one's. Latency: TTFT p99 ${secs(fast.fleet.latency.ttft.p99)} fast vs ${secs(slow.fleet.latency.ttft.p99)} slow; TPOT p50 ${secs(fast.fleet.latency.tpot.p50)} vs ${secs(slow.fleet.latency.tpot.p50)}.`,
    );
    ex.note(CHAT_NOTE);
  },
};

registerScenario(fastSlow);
