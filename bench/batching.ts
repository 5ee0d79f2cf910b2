// `npm run bench:batching [-- --model FILE --tokenizer FILE] [--seconds S] [--load RHO] [--price $] [--out FILE]`
//
// What batching and pooling buy on this device, in one run, with the lab's own code: the live
// Engine over the GpuBackend (src/lab/run.ts, real-time clock), tenants replaying seeded
// traffic (src/lab/tenant-traffic.ts), and the page's figures (src/lab/metrics.ts).
//
// 1. Saturating load: 64 requests queued at once, so the engine never waits; output tokens/s
//    with max batch 16 and with max batch 1, measured after a 2 s warm-up. Prints the ratio.
// 2. Pooling: one tenant alone, then 16 tenants, each offering the same load ρ (default 0.05 of
//    the calibrated capacity at batch 16, so 16 tenants offer 0.8), Poisson arrivals, same seed;
//    time utilization (busy / wall) and cost per 1M tokens at an assumed $/GPU-hour.
import { parseBenchArgs } from './args.js';
import { writeFileSync } from 'node:fs';
import { openModel } from '../src/cli/model-files.js';
import { gpuPrice } from '../src/econ/cost.js';
import { calibrate, capacityAt } from '../src/lab/calibrate.js';
import { LabRun } from '../src/lab/run.js';
import { Replayer, promptIds, tenantSchedule } from '../src/lab/tenant-traffic.js';
import { RunStore, figures, type Figures } from '../src/lab/metrics.js';
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

const err = (s: string) => process.stderr.write(s);
const opened = await openModel({ model: values.model, tokenizer: values.tokenizer }, 'gpu', { maxSequences: MAX_BATCH });
const { backend, model } = opened;
const c = model.config;
err(`adapter: ${opened.label}\nmodel: ${model.source} (dim ${c.dim}, ${c.nLayers} layers, context ${c.seqLen})\n`);

/** Runs one LabRun to its end; `feed` sends its requests. Returns the page's figures over [from, end). */
async function phase(
  name: string,
  maxBatch: number,
  feed: (run: LabRun) => () => void,
  opts: { capacityTokensPerS: number; from: number },
): Promise<{ whole: Figures; measured: Figures; store: RunStore }> {
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
  err(` ${measured.outputTokensPerS.toFixed(1)} output tokens/s, time utilization ${(100 * whole.timeUtilization).toFixed(0)}%\n`);
  return { whole, measured, store };
}

// Calibration, as the lab does it on start: capacity at batch 16 and the prompt-token weight.
err('calibrating…');
const cal = await calibrate(backend, { maxBatch: MAX_BATCH });
const basis = capacityAt(cal, MAX_BATCH);
err(` capacity ${basis.capacityTokensPerS.toFixed(1)} tokens/s at batch ${MAX_BATCH} (batch 1: ${cal.points[0]!.tokensPerS.toFixed(1)})\n`);

// 1. Saturating load.
const saturate = (run: LabRun) => {
  const spec = { seed: 7, tenant: 0, vocabSize: c.vocabSize };
  for (let i = 0; i < 64; i++) run.submit({ type: 'request', tenant: 0, prompt: promptIds(spec, i, 8), maxOutputTokens: Math.min(64, c.seqLen - 8) });
  return () => {};
};
const sat16 = await phase(`saturating load, max batch ${MAX_BATCH}`, MAX_BATCH, saturate, { capacityTokensPerS: basis.capacityTokensPerS, from: WARMUP_S });
const sat1 = await phase('saturating load, max batch 1', 1, saturate, { capacityTokensPerS: basis.capacityTokensPerS, from: WARMUP_S });
const ratio = sat16.measured.outputTokensPerS / sat1.measured.outputTokensPerS;

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

const r = (v: number, d = 4) => (Number.isFinite(v) ? +v.toPrecision(d) : null);
const out = {
  adapter: opened.label,
  model: model.source,
  seconds_per_phase: SECONDS,
  warmup_s: WARMUP_S,
  price: PRICE_NOTE,
  busy_time: 'wall time of each engine step (submit to results read back)',
  calibration: { capacity_tokens_per_s_b16: r(basis.capacityTokensPerS), points: cal.points.map((p) => ({ batch: p.batch, tokens_per_s: r(p.tokensPerS) })), prefill_weight: r(basis.prefillWeight) },
  tokens_per_s_b16: r(sat16.measured.outputTokensPerS),
  tokens_per_s_b1: r(sat1.measured.outputTokensPerS),
  mean_batch_b16: r(sat16.measured.meanBatch),
  throughput_ratio_b16_vs_b1: r(ratio),
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
console.log(`saturating load, output tokens/s (after ${WARMUP_S} s): max batch ${MAX_BATCH} ${sat16.measured.outputTokensPerS.toFixed(1)} (mean batch ${sat16.measured.meanBatch.toFixed(1)}), max batch 1 ${sat1.measured.outputTokensPerS.toFixed(1)}`);
console.log(`throughput ratio batch ${MAX_BATCH} / batch 1: ${ratio.toFixed(2)}x${ratio >= 4 ? '' : '  (below 4x: see `npm run bench:decode` for the kernels that dominate a step)'}`);
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
process.exit(0);
