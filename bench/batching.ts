// `npm run bench:batching [-- --model FILE --tokenizer FILE] [--seconds S] [--load RHO] [--price $] [--out FILE]`
//
// What batching and pooling buy on this device, in one run, with the lab's own code: the live
// Engine over the GpuBackend (src/lab/run.ts, real-time clock), tenants replaying seeded
// traffic (src/lab/tenant-traffic.ts), and the page's figures (src/lab/metrics.ts).
//
// 1. Saturating load, max batch 16 and max batch 1: a closed loop (src/lab/saturation.ts) keeps
//    2 x max batch requests waiting for the whole phase; output tokens/s is measured after a 1 s
//    warm-up. Each phase runs as 3 segments, alternating with the other's (16, 1, 16, 1, 16, 1),
//    so that both sides of the ratio share whatever else loads the device over the same minute,
//    as the calibration's rounds do. Each phase must run >= 95% of its measured steps as a full
//    batch with requests waiting, and the batch-16 / batch-1 ratio must be within 15% of the
//    calibration's: both are device-independent checks, and the script exits 1 with a sentence
//    when one fails. The calibration's tokens/s are batch ÷ median step time (medians over its
//    rounds), so the checked ratio takes the closed loop's in that statistic too (max batch ÷
//    the median start-to-start period of its full steps); the output tokens/s ratio (a mean,
//    slow steps included) is printed beside it.
//    Like for like: the calibration's decode points are steps that advance every sequence by one
//    token, each at a mean context per sequence (CalibrationPoint.context, not the same at every
//    batch size). The closed loop's requests are a 1-token prompt (BOS), so their prefill is such
//    a step too, and at max batch B an output length that gives the phase's steps the mean
//    context of the calibration's batch-B point (measured from the steps and printed beside it).
//    Longer prompts would add prefill, which the decode points do not price (on SwiftShader a
//    prompt token costs ~1.6 batched decode tokens); the pooling phases have prompts.
// 2. Pooling: one tenant alone, then 16 tenants, each offering the same load ρ (default 0.05 of
//    the calibrated capacity at batch 16, so 16 tenants offer 0.8), Poisson arrivals, same seed;
//    time utilization (busy / wall) and cost per 1M tokens at an assumed $/GPU-hour.
import { parseBenchArgs } from './args.js';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { openModel } from '../src/cli/model-files.js';
import { gpuPrice } from '../src/econ/cost.js';
import { calibrate, type CalibrationPoint } from '../src/lab/calibrate.js';
import { labCapacity } from '../src/lab/capacity.js';
import { LabRun } from '../src/lab/run.js';
import { Replayer, promptIds, tenantSchedule } from '../src/lab/tenant-traffic.js';
import { RunStore, figures, type FigureOptions, type Figures } from '../src/lab/metrics.js';
import {
  FULL_BATCH_MIN_FRACTION,
  RATIO_TOLERANCE,
  closedLoop,
  decodePointMedian,
  fullStepPeriods,
  medianRate,
  mergeSaturation,
  ratioAgreement,
  saturation,
  saturationVerdict,
  type Saturation,
} from '../src/lab/saturation.js';
import { generatedPlan } from '../src/lab/traffic.js';
import { DEFAULT_STATE, type LabState } from '../src/lab/state.js';

const { values } = parseBenchArgs('bench:batching', {
    model: { type: 'string' },
    tokenizer: { type: 'string' },
    seconds: { type: 'string' },
    load: { type: 'string' },
    price: { type: 'string' },
    out: { type: 'string' },
  });
const num = (name: string, raw: string | undefined, dflt: number, min: number, max: number): number => {
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!(Number.isFinite(v) && v >= min && v <= max)) {
    process.stderr.write(`--${name} ${raw}: expected a number from ${min} to ${max}\n`);
    process.exit(2);
  }
  return v;
};
const SECONDS = num('seconds', values.seconds, 15, 4, 600);
const LOAD = num('load', values.load, 0.05, 0.001, 1);
const H100 = gpuPrice('h100');
const PRICE = num('price', values.price, H100.dollarsPerGpuHour, 0, 1000);
const PRICE_NOTE =
  values.price === undefined ? `${H100.label} at $${PRICE}/GPU-hour (assumption: ${H100.kind}, ${H100.asOf})` : `$${PRICE}/GPU-hour (given with --price)`;
const MAX_BATCH = 16;
const TENANTS = 16;
/** Segments per saturating phase, and the warm-up excluded from each. */
const SEGMENTS = 3;
const SEGMENT_S = SECONDS / SEGMENTS;
const WARMUP_S = Math.min(1, SEGMENT_S / 4);
/** Prompt of every saturating request: BOS only, so its prefill is a one-token step like a decode. */
const PROMPT = 1;

const err = (s: string) => process.stderr.write(s);
/** Host CPU load (1-minute average) at the start: SwiftShader's figures move with other processes. */
const loadStart = loadavg()[0]!;
const opened = await openModel({ model: values.model, tokenizer: values.tokenizer }, 'gpu', { maxSequences: MAX_BATCH });
const { backend, model } = opened;
const c = model.config;
err(`adapter: ${opened.label}\nmodel: ${model.source} (dim ${c.dim}, ${c.nLayers} layers, context ${c.seqLen})\n`);
/**
 * Output tokens of a saturating request whose steps match calibration point `p` in mean context:
 * a request of PROMPT + O tokens steps at contexts PROMPT .. PROMPT + O - 1 (its prefill, then
 * O - 1 decodes), mean PROMPT + (O - 1) / 2, and the closed loop runs its requests in lockstep
 * cohorts, so the phase's steps have that mean too.
 */
const outputFor = (p: Pick<CalibrationPoint, 'context'>) => Math.max(2, Math.min(c.seqLen - PROMPT, Math.round(2 * (p.context - PROMPT) + 1)));

interface Phase {
  maxBatch: number;
  whole: Figures;
  measured: Figures;
  store: RunStore;
  saturation: Saturation;
}

/** Runs one LabRun of `seconds` to its end; `feed` sends its requests. Returns the page's figures over [from, end). */
async function phase(
  name: string,
  maxBatch: number,
  feed: (run: LabRun) => () => void,
  opts: { from: number; seconds: number },
): Promise<Phase> {
  const fo: FigureOptions = { work: capacity, price: PRICE, slo: {} };
  // keepGaps: figures() over the measured window recomputes from the records.
  const store = new RunStore(1, { ...fo, durationS: opts.seconds, keepGaps: true });
  const run = new LabRun(backend, 1, { maxBatch, policy: 'fcfs', preemption: 'recompute', durationS: opts.seconds }, (b) => store.add(b));
  err(`${name}: ${opts.seconds.toFixed(opts.seconds % 1 ? 1 : 0)} s…`);
  run.start();
  const stop = feed(run);
  await run.finished;
  stop();
  const measured = opts.from > 0 ? figures(store, fo, opts.seconds - opts.from) : figures(store, fo);
  const whole = figures(store, fo);
  const sat = saturation(store.steps, maxBatch, measured);
  const full = opts.from > 0 ? `, full batch with requests waiting ${(100 * sat.fraction).toFixed(1)}% of ${sat.steps} steps` : '';
  err(` ${measured.outputTokensPerS.toFixed(1)} output tokens/s, time utilization ${(100 * whole.timeUtilization).toFixed(0)}%${full}\n`);
  return { maxBatch, whole, measured, store, saturation: sat };
}

/** A saturating phase's segments taken together: their measured windows as one span. */
function combine(segments: readonly Phase[]) {
  const span = (f: Figures) => f.t1 - f.t0;
  const seconds = segments.reduce((a, p) => a + span(p.measured), 0);
  const mean = (pick: (f: Figures) => number) => segments.reduce((a, p) => a + pick(p.measured) * span(p.measured), 0) / seconds;
  const sat = mergeSaturation(segments.map((p) => p.saturation));
  const maxBatch = segments[0]!.maxBatch;
  const periods = segments.flatMap((p) => fullStepPeriods(p.store.steps, maxBatch, p.measured));
  return {
    /** Tokens/s in the calibration's statistic: max batch ÷ median step period. */
    medianTokensPerS: medianRate(periods, maxBatch),
    /** Mean step period ÷ median: how much the slow tail weighs in the mean figures. */
    tail: (periods.reduce((a, b) => a + b, 0) / periods.length) * medianRate(periods, 1),
    seconds,
    outputTokensPerS: mean((f) => f.outputTokensPerS),
    timeUtilization: mean((f) => f.timeUtilization),
    meanBatch: sat.sequences / sat.steps,
    requests: segments.reduce((a, p) => a + p.store.requests.size, 0),
    saturation: sat,
  };
}

// Calibration, as the lab does it on start: the step-time model and its decode points per batch size.
err('calibrating…');
const cal = await calibrate(backend, { maxBatch: MAX_BATCH });
const capacity = labCapacity(cal, MAX_BATCH);
// What batching buys by the calibration: its decode points at max batch and at 1, medians over its rounds.
const cal16 = decodePointMedian(cal, MAX_BATCH);
const cal1 = decodePointMedian(cal, 1);
const calRatio = cal16.tokensPerS / cal1.tokensPerS;
err(` ${cal.stability.verdict} Decode ${cal16.tokensPerS.toFixed(1)} tokens/s at batch ${MAX_BATCH}, ${cal1.tokensPerS.toFixed(1)} at batch 1 (medians of ${cal16.rounds} rounds)\n`);

// 1. Saturating load: a closed loop of PROMPT + outputFor(point) requests, 2 x max batch always waiting.
const loops: ReturnType<typeof closedLoop>[] = [];
const saturate = (maxBatch: number, output: number) => (run: LabRun) => {
  const spec = { seed: 7, tenant: 0, vocabSize: c.vocabSize };
  const loop = closedLoop(run, (i) => ({ type: 'request', tenant: 0, prompt: promptIds(spec, i, PROMPT), maxOutputTokens: output }), 2 * maxBatch);
  loops.push(loop);
  return () => loop.stop();
};
const out16 = outputFor(cal16);
const out1 = outputFor(cal1);
const seg16: Phase[] = [];
const seg1: Phase[] = [];
const segOpts = { from: WARMUP_S, seconds: SEGMENT_S };
for (let k = 1; k <= SEGMENTS; k++) {
  seg16.push(await phase(`saturating load, max batch ${MAX_BATCH}, segment ${k}/${SEGMENTS}`, MAX_BATCH, saturate(MAX_BATCH, out16), segOpts));
  seg1.push(await phase(`saturating load, max batch 1, segment ${k}/${SEGMENTS}`, 1, saturate(1, out1), segOpts));
}
const sat16 = combine(seg16);
const sat1 = combine(seg1);
/** Output tokens/s, batch 16 ÷ batch 1: what batching buys, slow steps included. */
const ratio = sat16.outputTokensPerS / sat1.outputTokensPerS;
/** The same in the calibration's statistic (median step period): the ratio checked against it. */
const medianRatio = sat16.medianTokensPerS / sat1.medianTokensPerS;
const verdicts = [
  ...loops.filter((l) => l.error).map((l) => ({ ok: false, sentence: `${l.error}.` })),
  saturationVerdict(`max batch ${MAX_BATCH}`, sat16.saturation, MAX_BATCH),
  saturationVerdict('max batch 1', sat1.saturation, 1),
];
const agreement = ratioAgreement(MAX_BATCH, medianRatio, calRatio);
// Each side of the ratio against its calibration point: says which one moved when they disagree.
const vsCal16 = sat16.medianTokensPerS / cal16.tokensPerS - 1;
const vsCal1 = sat1.medianTokensPerS / cal1.tokensPerS - 1;
verdicts.push(agreement);
const ctx = (v: number) => v.toFixed(1);
const CONTEXTS =
  `every step advances each sequence by one token (calibration decode points; closed-loop requests of a ${PROMPT}-token prompt, BOS), so neither side includes prefill; ` +
  `mean context per sequence: max batch ${MAX_BATCH} ${ctx(sat16.saturation.meanContext)} in the closed loop (${out16}-token outputs) against ${ctx(cal16.context)} in the calibration, ` +
  `max batch 1 ${ctx(sat1.saturation.meanContext)} (${out1}-token outputs) against ${ctx(cal1.context)}`;

// 2. One tenant alone vs 16 pooled, same per-tenant load.
const state: LabState = { ...DEFAULT_STATE, traffic: 'poisson', load: LOAD, prompt: 8, output: 16, duration: SECONDS, seed: 1, batch: MAX_BATCH };
const model2 = { vocabSize: c.vocabSize, seqLen: c.seqLen };
const tenantsFeed = (n: number) => (run: LabRun) => {
  const plan = generatedPlan(state, capacity, model2, n);
  const reps = plan.specs.map((spec) => new Replayer(spec, tenantSchedule(spec), (m) => run.submit(m)));
  for (const r of reps) r.start();
  return () => reps.forEach((r) => r.stop());
};
const alone = await phase(`1 tenant at ρ = ${LOAD}`, MAX_BATCH, tenantsFeed(1), { from: 0, seconds: SECONDS });
const pooled = await phase(`${TENANTS} tenants at ρ = ${LOAD} each`, MAX_BATCH, tenantsFeed(TENANTS), { from: 0, seconds: SECONDS });
backend.destroy();
const loadEnd = loadavg()[0]!;
const HOST_LOAD = `host load (1-minute average) ${loadStart.toFixed(1)} at the start, ${loadEnd.toFixed(1)} at the end, on ${availableParallelism()} CPUs`;

const r = (v: number, d = 4) => (Number.isFinite(v) ? +v.toPrecision(d) : null);
const segmentRow = (maxBatch: number, p: Phase) => ({ max_batch: maxBatch, tokens_per_s: r(p.measured.outputTokensPerS), full_batch_fraction: r(p.saturation.fraction) });
const out = {
  adapter: opened.label,
  model: model.source,
  seconds_per_phase: SECONDS,
  warmup_s: WARMUP_S,
  price: PRICE_NOTE,
  segments_per_saturating_phase: SEGMENTS,
  busy_time:
    seg16[0]!.store.steps[0]?.timing === 'timestamp' ? 'GPU time of each engine step (timestamp queries)' : 'wall time of each engine step (submit to results read back)',
  calibration: {
    capacity_tokens_per_s_b16: r(cal.points.find((q) => q.batch === MAX_BATCH)!.tokensPerS),
    points: cal.points.map((p) => ({ batch: p.batch, context: r(p.context), tokens_per_s: r(p.tokensPerS) })),
    prefill_tokens_per_s: r(cal.prefill.tokensPerS),
    stability: cal.stability.verdict,
    // Each round's batch-16 / batch-1 ratio: how much the calibration's own ratio moves.
    ratio_b16_vs_b1_per_round: cal.rounds.map((k) => {
      const at = (b: number) => k.points.find((q) => q.batch === b)?.tokensPerS ?? NaN;
      return r(at(MAX_BATCH) / at(1));
    }),
  },
  calibration_ratio_b16_vs_b1: r(calRatio),
  calibration_ratio_basis: `decode tokens/s at batch ${MAX_BATCH} / at batch 1, each the median over the calibration's ${cal16.rounds} rounds`,
  closed_loop: {
    waiting_b16: 2 * MAX_BATCH,
    waiting_b1: 2,
    prompt_tokens: PROMPT,
    output_tokens_b16: out16,
    output_tokens_b1: out1,
    requests_b16: sat16.requests,
    requests_b1: sat1.requests,
    measured_s_b16: r(sat16.seconds),
    measured_s_b1: r(sat1.seconds),
  },
  segments: seg16.flatMap((p16, k) => [segmentRow(MAX_BATCH, p16), segmentRow(1, seg1[k]!)]),
  mean_context_b16: { closed_loop: r(sat16.saturation.meanContext), calibration: r(cal16.context) },
  mean_context_b1: { closed_loop: r(sat1.saturation.meanContext), calibration: r(cal1.context) },
  contexts: CONTEXTS,
  full_batch_fraction_b16: r(sat16.saturation.fraction),
  full_batch_fraction_b1: r(sat1.saturation.fraction),
  full_batch_steps_b16: { full: sat16.saturation.full, steps: sat16.saturation.steps, min_queue_depth: sat16.saturation.minQueueDepth },
  full_batch_steps_b1: { full: sat1.saturation.full, steps: sat1.saturation.steps, min_queue_depth: sat1.saturation.minQueueDepth },
  full_batch_min_fraction: FULL_BATCH_MIN_FRACTION,
  tokens_per_s_b16: r(sat16.outputTokensPerS),
  tokens_per_s_b1: r(sat1.outputTokensPerS),
  mean_batch_b16: r(sat16.meanBatch),
  time_utilization_b16: r(sat16.timeUtilization),
  time_utilization_b1: r(sat1.timeUtilization),
  throughput_ratio_b16_vs_b1: r(ratio),
  throughput_ratio_vs_calibration: r(ratio / calRatio - 1),
  median_tokens_per_s_b16: r(sat16.medianTokensPerS),
  median_tokens_per_s_b1: r(sat1.medianTokensPerS),
  median_ratio_b16_vs_b1: r(medianRatio),
  ratio_vs_calibration: r(agreement.relativeDifference),
  ratio_checked: 'median_ratio_b16_vs_b1 (max batch / median start-to-start period of full steps, the calibration statistic) against calibration_ratio_b16_vs_b1',
  mean_over_median_step_b16: r(sat16.tail),
  mean_over_median_step_b1: r(sat1.tail),
  median_tokens_per_s_b16_vs_calibration: r(vsCal16),
  median_tokens_per_s_b1_vs_calibration: r(vsCal1),
  ratio_tolerance: RATIO_TOLERANCE,
  host_load: HOST_LOAD,
  ratio_agrees: agreement.ok,
  checks_passed: verdicts.every((v) => v.ok),
  load_per_tenant: LOAD,
  requests_1_tenant: alone.store.requests.size,
  requests_16_tenants: pooled.store.requests.size,
  time_utilization_1_tenant: r(alone.whole.timeUtilization),
  time_utilization_16_tenants: r(pooled.whole.timeUtilization),
  capacity_utilization_1_tenant: r(alone.whole.capacityUtilization),
  capacity_utilization_16_tenants: r(pooled.whole.capacityUtilization),
  output_tokens_per_s_1_tenant: r(alone.whole.outputTokensPerS),
  output_tokens_per_s_16_tenants: r(pooled.whole.outputTokensPerS),
  cost_per_mtok_1_tenant: r(alone.whole.costPerMOutput),
  cost_per_mtok_16_tenants: r(pooled.whole.costPerMOutput),
  cost_per_mtok_all_1_tenant: r(alone.whole.costPerMAll),
  cost_per_mtok_all_16_tenants: r(pooled.whole.costPerMAll),
  cost_basis: 'per 1M output tokens (cost_per_mtok_all_*: per 1M prompt + output tokens processed)',
};

const p = (v: number) => `${(100 * v).toFixed(1)}%`;
const $ = (v: number) => (Number.isFinite(v) ? `$${v.toFixed(2)}` : 'n/a (no tokens)');
console.log(`\nBatching on ${opened.label}, ${model.source}; ${SECONDS} s per phase`);
console.log(
  `saturating load, closed loop with 2 x max batch waiting, ${SEGMENTS} alternating segments of ${SEGMENT_S.toFixed(1)} s each; output tokens/s (after ${WARMUP_S} s of each): ` +
    `max batch ${MAX_BATCH} ${sat16.outputTokensPerS.toFixed(1)} (mean batch ${sat16.meanBatch.toFixed(1)}, time utilization ${p(sat16.timeUtilization)}), ` +
    `max batch 1 ${sat1.outputTokensPerS.toFixed(1)} (time utilization ${p(sat1.timeUtilization)})`,
);
console.log(`full batch with requests waiting: max batch ${MAX_BATCH} ${p(sat16.saturation.fraction)} of ${sat16.saturation.steps} steps, max batch 1 ${p(sat1.saturation.fraction)} of ${sat1.saturation.steps} steps (need ${p(FULL_BATCH_MIN_FRACTION)})`);
const signed = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%`;
console.log(`throughput ratio batch ${MAX_BATCH} / batch 1 (output tokens/s): ${ratio.toFixed(2)}x${ratio >= 4 ? '' : ' (below 4x: see `npm run bench:decode` for the kernels that dominate a step)'}`);
console.log(
  `checked against the calibration, median step time: ${medianRatio.toFixed(2)}x (${sat16.medianTokensPerS.toFixed(1)} / ${sat1.medianTokensPerS.toFixed(1)} tokens/s); ` +
    `calibration ${calRatio.toFixed(2)}x (${cal16.tokensPerS.toFixed(1)} / ${cal1.tokensPerS.toFixed(1)} tokens/s, medians of ${cal16.rounds} rounds); difference ${signed(agreement.relativeDifference)} (allowed ±${(100 * RATIO_TOLERANCE).toFixed(0)}%)`,
);
console.log(
  `each against its calibration point: max batch ${MAX_BATCH} ${signed(vsCal16)}, max batch 1 ${signed(vsCal1)}; ` +
    `mean step ÷ median step: ${sat16.tail.toFixed(2)} at max batch ${MAX_BATCH}, ${sat1.tail.toFixed(2)} at max batch 1`,
);
console.log(`like for like: ${CONTEXTS}`);
console.log(HOST_LOAD);
console.log(`\npooling at ρ = ${LOAD} per tenant, Poisson, prompt ~8 / output ~16 tokens; price ${PRICE_NOTE}`);
console.log(`${''.padEnd(28)}${'1 tenant'.padStart(12)}${`${TENANTS} tenants`.padStart(14)}`);
const line = (name: string, a: string, b: string) => console.log(`${name.padEnd(28)}${a.padStart(12)}${b.padStart(14)}`);
line('requests', String(alone.store.requests.size), String(pooled.store.requests.size));
line('time utilization', p(alone.whole.timeUtilization), p(pooled.whole.timeUtilization));
line('capacity utilization', p(alone.whole.capacityUtilization), p(pooled.whole.capacityUtilization));
line('output tokens/s', alone.whole.outputTokensPerS.toFixed(2), pooled.whole.outputTokensPerS.toFixed(2));
line('$ per 1M output tokens', $(alone.whole.costPerMOutput), $(pooled.whole.costPerMOutput));
line('$ per 1M tokens (all)', $(alone.whole.costPerMAll), $(pooled.whole.costPerMAll));
if (values.out) {
  writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  err(`wrote ${values.out}\n`);
}
const failed = verdicts.filter((v) => !v.ok);
if (failed.length > 0) {
  for (const v of failed) console.error(`bench:batching failed: ${v.sentence}`);
  if (!agreement.ok && Math.max(Math.abs(vsCal16), Math.abs(vsCal1)) > RATIO_TOLERANCE) {
    const [b, v] = Math.abs(vsCal16) > Math.abs(vsCal1) ? [MAX_BATCH, vsCal16] : [1, vsCal1];
    console.error(`(max batch ${b} ran ${signed(v)} against its calibration point; another process using the device, or the CPU for a software adapter, during one of them would do that: ${HOST_LOAD}.)`);
  }
  process.exit(1);
}
process.exit(0);
