// `npm run bench:batching [-- --model FILE --tokenizer FILE] [--seconds S] [--load RHO] [--price $] [--out FILE]`
//
// What batching and pooling buy on this device, in one run, with the lab's own code: the live
// Engine over the GpuBackend (src/lab/run.ts, real-time clock), tenants replaying seeded
// traffic (src/lab/tenant-traffic.ts), and the page's figures (src/lab/metrics.ts).
//
// 1. Saturating load, max batch 16 and max batch 1: a closed loop (src/lab/saturation.ts) keeps
//    2 x max batch requests waiting for the whole phase; output tokens/s is measured after a 2 s
//    warm-up. Each phase must run >= 95% of its measured steps as a full batch with requests
//    waiting, and the batch-16 / batch-1 ratio must be within 15% of the calibration's: both are
//    device-independent checks, and the script exits 1 with a sentence when one fails.
//    Like for like: the calibration times decode steps (one token per sequence) at the same
//    contexts at every batch size, 3..64; the closed loop's requests are a 1-token prompt (BOS)
//    and 64 output tokens, so each of their steps also advances every sequence by one token, at
//    contexts 1..64. Longer prompts would add prefill, which the calibration's decode figure does
//    not price (on SwiftShader a prompt token costs ~1.6 batched decode tokens): the pooling phases
//    have prompts, and the calibration's prefill weight prices them.
// 2. Pooling: one tenant alone, then 16 tenants, each offering the same load ρ (default 0.05 of
//    the calibrated capacity at batch 16, so 16 tenants offer 0.8), Poisson arrivals, same seed;
//    time utilization (busy / wall) and cost per 1M tokens at an assumed $/GPU-hour.
import { parseBenchArgs } from './args.js';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { openModel } from '../src/cli/model-files.js';
import { gpuPrice } from '../src/econ/cost.js';
import { calibrate, capacityAt } from '../src/lab/calibrate.js';
import { LabRun } from '../src/lab/run.js';
import { Replayer, promptIds, tenantSchedule } from '../src/lab/tenant-traffic.js';
import { RunStore, figures, type Figures } from '../src/lab/metrics.js';
import { FULL_BATCH_MIN_FRACTION, RATIO_TOLERANCE, closedLoop, ratioAgreement, saturation, saturationVerdict, type Saturation } from '../src/lab/saturation.js';
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
const WARMUP_S = 2;
/** Prompt of every saturating request, and of the calibration's decode sequences: BOS only. */
const PROMPT = 1;

const err = (s: string) => process.stderr.write(s);
/** Host CPU load (1-minute average) at the start: SwiftShader's figures move with other processes. */
const loadStart = loadavg()[0]!;
const opened = await openModel({ model: values.model, tokenizer: values.tokenizer }, 'gpu', { maxSequences: MAX_BATCH });
const { backend, model } = opened;
const c = model.config;
err(`adapter: ${opened.label}\nmodel: ${model.source} (dim ${c.dim}, ${c.nLayers} layers, context ${c.seqLen})\n`);
/** Output tokens of every saturating request: 64, or what the context leaves after the prompt. */
const OUTPUT = Math.min(64, c.seqLen - PROMPT);
/**
 * Timed calibration steps at every batch size: its sequences, after the prompt and one warm-up
 * decode, step at contexts PROMPT + 2 .. PROMPT + OUTPUT - 1, within the contexts a saturating
 * request steps at (PROMPT .. PROMPT + OUTPUT - 1). The lab's default (0.5 s per batch size) would
 * cover a different span at each batch size on a slow device.
 */
const CAL_STEPS = Math.max(1, OUTPUT - 2);

/** Runs one LabRun to its end; `feed` sends its requests. Returns the page's figures over [from, end). */
async function phase(
  name: string,
  maxBatch: number,
  feed: (run: LabRun) => () => void,
  opts: { capacityTokensPerS: number; from: number },
): Promise<{ whole: Figures; measured: Figures; store: RunStore; saturation: Saturation }> {
  let store!: RunStore;
  const run = new LabRun(backend, 1, { maxBatch, policy: 'fcfs', preemption: 'recompute', durationS: SECONDS }, (b) => store.add(b));
  store = new RunStore(1);
  err(`${name}: ${SECONDS} s…`);
  run.start();
  const stop = feed(run);
  await run.finished;
  stop();
  const fo = { capacityTokensPerS: opts.capacityTokensPerS, price: PRICE, slo: {} };
  const measured = opts.from > 0 ? figures(store, fo, SECONDS - opts.from) : figures(store, fo);
  const whole = figures(store, fo);
  const sat = saturation(store.steps, maxBatch, measured);
  err(` ${measured.outputTokensPerS.toFixed(1)} output tokens/s, time utilization ${(100 * whole.timeUtilization).toFixed(0)}%\n`);
  return { whole, measured, store, saturation: sat };
}

// Calibration, as the lab does it on start (capacity at batch 16 and the prompt-token weight),
// with the same decode span at every batch size (CAL_STEPS). A first round is discarded: the
// first run of each step shape is slower (pipelines compile; a software adapter's JIT warms), and
// the round's first point, batch 1, would pay for it (on SwiftShader 108-132 tokens/s against
// 138-173 in the rounds after it).
const calOptions = { maxBatch: MAX_BATCH, promptTokens: PROMPT, minSteps: CAL_STEPS, minSeconds: 0 };
err('warming up…');
await calibrate(backend, calOptions);
err(' calibrating…');
const cal = await calibrate(backend, calOptions);
const basis = capacityAt(cal, MAX_BATCH);
const cal1 = cal.points.find((p) => p.batch === 1)!.tokensPerS;
const calRatio = basis.capacityTokensPerS / cal1;
err(` capacity ${basis.capacityTokensPerS.toFixed(1)} tokens/s at batch ${MAX_BATCH} (batch 1: ${cal1.toFixed(1)})\n`);

// 1. Saturating load: a closed loop of PROMPT + OUTPUT requests, 2 x max batch always waiting.
const saturate = (maxBatch: number) => (run: LabRun) => {
  const spec = { seed: 7, tenant: 0, vocabSize: c.vocabSize };
  const loop = closedLoop(run, (i) => ({ type: 'request', tenant: 0, prompt: promptIds(spec, i, PROMPT), maxOutputTokens: OUTPUT }), 2 * maxBatch);
  loops.push(loop);
  return () => loop.stop();
};
const loops: ReturnType<typeof closedLoop>[] = [];
const sat16 = await phase(`saturating load, max batch ${MAX_BATCH}`, MAX_BATCH, saturate(MAX_BATCH), { capacityTokensPerS: basis.capacityTokensPerS, from: WARMUP_S });
const sat1 = await phase('saturating load, max batch 1', 1, saturate(1), { capacityTokensPerS: basis.capacityTokensPerS, from: WARMUP_S });
const ratio = sat16.measured.outputTokensPerS / sat1.measured.outputTokensPerS;
const verdicts = [
  ...loops.filter((l) => l.error).map((l) => ({ ok: false, sentence: `${l.error}.` })),
  saturationVerdict(`max batch ${MAX_BATCH}`, sat16.saturation, MAX_BATCH),
  saturationVerdict('max batch 1', sat1.saturation, 1),
];
const agreement = ratioAgreement(MAX_BATCH, ratio, calRatio);
// Each side of the ratio against its calibration point: says which one moved when they disagree.
const vsCal16 = sat16.measured.outputTokensPerS / basis.capacityTokensPerS - 1;
const vsCal1 = sat1.measured.outputTokensPerS / cal1 - 1;
verdicts.push(agreement);
const CONTEXTS =
  `closed-loop requests: a ${PROMPT}-token prompt (BOS) + ${OUTPUT} output tokens, one token per sequence per step at contexts ${PROMPT}..${PROMPT + OUTPUT - 1}; ` +
  `calibration: ${CAL_STEPS} timed decode steps at every batch size, contexts ${PROMPT + 2}..${PROMPT + CAL_STEPS + 1}; ` +
  `no prompt longer than one token, so neither figure includes prefill`;

// 2. One tenant alone vs 16 pooled, same per-tenant load.
const state: LabState = { ...DEFAULT_STATE, traffic: 'poisson', load: LOAD, prompt: 8, output: 16, duration: SECONDS, seed: 1, batch: MAX_BATCH };
const model2 = { vocabSize: c.vocabSize, seqLen: c.seqLen };
const tenantsFeed = (n: number) => (run: LabRun) => {
  const plan = generatedPlan(state, basis, model2, n);
  const reps = plan.specs.map((spec) => new Replayer(spec, tenantSchedule(spec), (m) => run.submit(m)));
  for (const r of reps) r.start();
  return () => reps.forEach((r) => r.stop());
};
const alone = await phase(`1 tenant at ρ = ${LOAD}`, MAX_BATCH, tenantsFeed(1), { capacityTokensPerS: basis.capacityTokensPerS, from: 0 });
const pooled = await phase(`${TENANTS} tenants at ρ = ${LOAD} each`, MAX_BATCH, tenantsFeed(TENANTS), { capacityTokensPerS: basis.capacityTokensPerS, from: 0 });
backend.destroy();
const loadEnd = loadavg()[0]!;
const HOST_LOAD = `host load (1-minute average) ${loadStart.toFixed(1)} at the start, ${loadEnd.toFixed(1)} at the end, on ${availableParallelism()} CPUs`;

const r = (v: number, d = 4) => (Number.isFinite(v) ? +v.toPrecision(d) : null);
const out = {
  adapter: opened.label,
  model: model.source,
  seconds_per_phase: SECONDS,
  warmup_s: WARMUP_S,
  price: PRICE_NOTE,
  busy_time:
    sat16.store.steps[0]?.timing === 'timestamp' ? 'GPU time of each engine step (timestamp queries)' : 'wall time of each engine step (submit to results read back)',
  calibration: { capacity_tokens_per_s_b16: r(basis.capacityTokensPerS), points: cal.points.map((p) => ({ batch: p.batch, tokens_per_s: r(p.tokensPerS) })), prefill_weight: r(basis.prefillWeight) },
  calibration_steps_per_batch: CAL_STEPS,
  calibration_ratio_b16_vs_b1: r(calRatio),
  closed_loop: { waiting_b16: 2 * MAX_BATCH, waiting_b1: 2, prompt_tokens: PROMPT, output_tokens: OUTPUT, requests_b16: sat16.store.requests.size, requests_b1: sat1.store.requests.size },
  contexts: CONTEXTS,
  full_batch_fraction_b16: r(sat16.saturation.fraction),
  full_batch_fraction_b1: r(sat1.saturation.fraction),
  full_batch_steps_b16: { full: sat16.saturation.full, steps: sat16.saturation.steps, min_queue_depth: sat16.saturation.minQueueDepth },
  full_batch_steps_b1: { full: sat1.saturation.full, steps: sat1.saturation.steps, min_queue_depth: sat1.saturation.minQueueDepth },
  full_batch_min_fraction: FULL_BATCH_MIN_FRACTION,
  tokens_per_s_b16: r(sat16.measured.outputTokensPerS),
  tokens_per_s_b1: r(sat1.measured.outputTokensPerS),
  mean_batch_b16: r(sat16.measured.meanBatch),
  time_utilization_b16: r(sat16.measured.timeUtilization),
  time_utilization_b1: r(sat1.measured.timeUtilization),
  throughput_ratio_b16_vs_b1: r(ratio),
  ratio_vs_calibration: r(agreement.relativeDifference),
  tokens_per_s_b16_vs_calibration: r(vsCal16),
  tokens_per_s_b1_vs_calibration: r(vsCal1),
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
console.log(`saturating load, closed loop with 2 x max batch waiting; output tokens/s (after ${WARMUP_S} s): max batch ${MAX_BATCH} ${sat16.measured.outputTokensPerS.toFixed(1)} (mean batch ${sat16.measured.meanBatch.toFixed(1)}, time utilization ${p(sat16.measured.timeUtilization)}), max batch 1 ${sat1.measured.outputTokensPerS.toFixed(1)} (time utilization ${p(sat1.measured.timeUtilization)})`);
console.log(`full batch with requests waiting: max batch ${MAX_BATCH} ${p(sat16.saturation.fraction)} of ${sat16.saturation.steps} steps, max batch 1 ${p(sat1.saturation.fraction)} of ${sat1.saturation.steps} steps (need ${p(FULL_BATCH_MIN_FRACTION)})`);
console.log(`throughput ratio batch ${MAX_BATCH} / batch 1: ${ratio.toFixed(2)}x; calibration ${calRatio.toFixed(2)}x (${basis.capacityTokensPerS.toFixed(1)} / ${cal1.toFixed(1)} tokens/s); difference ${(100 * agreement.relativeDifference).toFixed(1)}% (allowed ±${(100 * RATIO_TOLERANCE).toFixed(0)}%)${ratio >= 4 ? '' : '; below 4x: see `npm run bench:decode` for the kernels that dominate a step'}`);
const signed = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}%`;
console.log(`each against its calibration point: max batch ${MAX_BATCH} ${signed(vsCal16)}, max batch 1 ${signed(vsCal1)}`);
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
