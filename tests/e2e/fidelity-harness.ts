// The fidelity harness (tests/e2e/sim-fidelity.solo.test.ts explains the design): live replays of
// generated traces on the Engine over GpuBackend, the calibration, and the simulation of the
// evaluation parts. Kept apart from the test so that it can be run and studied on its own.
import { GpuBackend } from '../../src/model/gpu-forward.js';
import { Engine, gpuKvOptions, type Clock } from '../../src/engine/engine.js';
import type { GpuContext } from '../../src/gpu/device.js';
import { Rng } from '../../src/ops/random.js';
import { CalibratedModel, calibrateStepTime, runSimulation, serverCapacity, type Calibration } from '../../src/sim/index.js';
import type { RequestRecord, StepRecord } from '../../src/metrics/records.js';
import type { Trace, TraceRequest } from '../../src/traffic/types.js';
import { randomModel } from '../model/helpers.js';

export const PARTS = 6;
/** Evaluation load: this fraction of the capacity (at full batch) a scouting run's fit gives. */
export const LOAD = 0.3;
/** Simulations per evaluation part (seeds of the step-time draws); their mean is the simulator's figure. */
export const SIM_SEEDS = 16;
/** The clock of the live runs (see the test's header): this process's CPU time, or the wall clock. */
export const CLOCK: ClockKind = (process.env.FIDELITY_CLOCK as ClockKind | undefined) ?? 'cpu';
export const KV = { numBlocks: 128, blockSize: 16 };
export const SCHED = { maxBatch: 16, tokenBudget: 64, maxPrefillChunk: 64, kv: KV, maxContext: 128 };
const PROMPT = { min: 8, max: 32 };
const OUTPUT = { min: 4, max: 24 };
/** Requests per calibration part and per evaluation part. */
const CAL_N = 100;
const EVAL_N = 250;
const MEAN_PROMPT = (PROMPT.min + PROMPT.max) / 2;
const MEAN_OUTPUT = (OUTPUT.min + OUTPUT.max) / 2;

/** Poisson arrivals at rate(t), uniform lengths; seeded. */
export function makeTrace(seed: number, n: number, rate: (t: number) => number): TraceRequest[] {
  const rng = new Rng(seed);
  const out: TraceRequest[] = [];
  let t = 0;
  while (out.length < n) {
    t += -Math.log(1 - rng.next()) / rate(t);
    out.push({ arrival: t, promptTokens: rng.int(PROMPT.min, PROMPT.max), outputTokens: rng.int(OUTPUT.min, OUTPUT.max) });
  }
  return out;
}

export interface LiveRun {
  trace: TraceRequest[];
  /** Engine step records with busy = the step's occupancy of the server (see the test's header). */
  steps: StepRecord[];
  requests: RequestRecord[];
}

export type ClockKind = 'wall' | 'cpu';

/** Seconds of this process's CPU time (all its threads: JS, Dawn, SwiftShader's). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Replays a trace on a fresh engine over `backend`, in real time from 0 (on the given clock). */
export async function replay(backend: GpuBackend, trace: TraceRequest[], seed: number, kind: ClockKind = CLOCK): Promise<LiveRun> {
  const read = kind === 'cpu' ? cpuSeconds : () => performance.now() / 1000;
  let base = read();
  const clock: Clock = { now: () => read() - base };
  const engine = new Engine(backend, { scheduler: SCHED, stopAtEos: false, clock });
  const rng = new Rng(seed);
  const prompts = trace.map((r) => [1, ...Array.from({ length: r.promptTokens - 1 }, () => rng.int(3, backend.config.vocabSize - 1))]);
  const steps: (StepRecord & { t0: number })[] = [];
  const done: Promise<unknown>[] = [];
  let next = 0;
  let slept = true;
  base = read();
  while (next < trace.length || engine.pending > 0) {
    const now = clock.now();
    while (next < trace.length && trace[next]!.arrival <= now) {
      const r = trace[next]!;
      const s = engine.submit({ prompt: prompts[next]!, maxOutputTokens: r.outputTokens, arrival: r.arrival });
      if (!s.accepted) throw new Error(s.message);
      done.push(s.done);
      next++;
    }
    if (engine.pending > 0) {
      const t0 = clock.now();
      // Back to back: the previous step occupied the server until this one was planned.
      const prev = steps[steps.length - 1];
      if (prev && !slept) prev.busy = t0 - prev.t0;
      slept = false;
      const rec = await engine.step();
      const t1 = clock.now();
      if (rec) steps.push({ ...rec, busy: t1 - t0, t0 });
    } else {
      slept = true;
      const target = trace[next]!.arrival;
      // On the CPU clock only spinning advances time; on the wall clock, sleep and spin the last
      // few milliseconds (a timer may fire late on a loaded machine).
      const ms = kind === 'wall' ? (target - now) * 1000 - 3 : 0;
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      // Spin on performance.now() between reads of the clock: process.cpuUsage() allocates an
      // object a call, and spinning on it made enough garbage for ~10% of the run to go to
      // GC pauses, which then landed inside steps as 10-40 ms stalls.
      while (clock.now() < target) {
        const until = performance.now() + 0.2;
        while (performance.now() < until) {
          // spin
        }
      }
    }
  }
  await Promise.all(done);
  return { trace, steps, requests: [...engine.scheduler.records()] };
}

/** Requests/s one server sustains at capacity under a fit, at the traces' mean lengths. */
export function capacityRate(fit: Calibration): number {
  const { unidentified: _u, clamped: _c, noise: _n, ...spec } = fit;
  const cap = serverCapacity(new CalibratedModel(spec), { maxBatch: SCHED.maxBatch, numBlocks: KV.numBlocks, blockSize: KV.blockSize }, MEAN_PROMPT, MEAN_OUTPUT);
  return cap.tokensPerS / MEAN_OUTPUT;
}

export interface Fidelity {
  clock: ClockKind;
  parts: number;
  load: number;
  /** Evaluation arrival rate, requests/s. */
  rate: number;
  liveSeconds: number;
  fit: Calibration;
  live: { requests: number; steps: number; meanBatch: number; throughput: number; meanTtft: number };
  sim: { requests: number; steps: number; throughput: number; meanTtft: number; seeds: number };
  /** simulated ÷ live − 1. */
  errors: { throughput: number; meanTtft: number };
  calSteps: StepRecord[];
  evals: LiveRun[];
}

export interface FidelityOptions {
  /**
   * Step-time residuals kept from the calibration, as equal-count group means (default Infinity:
   * every calibration step's own; 0: none, every step takes the fitted time).
   */
  noise?: number;
  parts?: number;
  load?: number;
  seeds?: number;
  clock?: ClockKind;
  /** Shifts every trace seed (another trial: independent traffic, same design). Default 0. */
  trial?: number;
  /** Requests per calibration part and per evaluation part (default CAL_N, EVAL_N). */
  calN?: number;
  evalN?: number;
}

/** What the live parts of a fidelity run recorded (runFidelity = collectLive, then simulateLive). */
export interface LiveData {
  clock: ClockKind;
  parts: number;
  load: number;
  /** Evaluation arrival rate, requests/s. */
  rate: number;
  liveSeconds: number;
  calSteps: StepRecord[];
  evals: LiveRun[];
  /** The trial's seed shift (see FidelityOptions.trial). */
  shift: number;
}

/** Plays the calibration and evaluation parts live. `track` registers the backend for cleanup. */
export async function collectLive(
  gpu: GpuContext,
  track: <T extends { destroy(): void }>(r: T) => T = (r) => r,
  options: FidelityOptions = {},
): Promise<LiveData> {
  const parts = options.parts ?? PARTS;
  const load = options.load ?? LOAD;
  const clock = options.clock ?? CLOCK;
  const sh = 1000 * (options.trial ?? 0);
  const calN = options.calN ?? CAL_N;
  const evalN = options.evalN ?? EVAL_N;
  const model = randomModel(5, { dim: 32, hiddenDim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 64, seqLen: 128 });
  const backend = track(new GpuBackend(gpu, model, { maxSequences: SCHED.maxBatch, maxTokensPerStep: SCHED.tokenBudget, ...gpuKvOptions(model.config, KV) }));
  // A warm-up burst compiles the pipelines (its first steps take seconds: not a step time), then a
  // pilot burst gives a first estimate of capacity, which scales the calibration traffic (the
  // same test on a faster device offers it more requests/s).
  await replay(backend, makeTrace(sh + 98, 24, () => 200), sh, clock);
  const pilot = await replay(backend, makeTrace(sh + 99, 40, () => 200), sh + 1, clock);
  const pilotCapacity = capacityRate(calibrateStepTime(pilot.steps));

  // A scouting run at varied load (20% to 120% of the pilot's estimate, one level a second:
  // batches from 1 to full, prefills alone and together) fits the capacity that sets the
  // evaluation rate: `load` × that capacity.
  const levels = [0.2, 0.6, 1.2, 0.4, 0.9];
  const scout = await replay(backend, makeTrace(sh + 97, CAL_N, (t) => pilotCapacity * levels[Math.floor(t) % levels.length]!), sh + 199, clock);
  const rate = load * capacityRate(calibrateStepTime(scout.steps));

  // Calibration and evaluation parts alternate; both are Poisson at that rate (other seeds), so
  // the fit sees the step shapes the evaluation will run.
  const calSteps: StepRecord[] = [];
  const evals: LiveRun[] = [];
  const t0 = performance.now();
  for (let k = 0; k < parts; k++) {
    const cal = await replay(backend, makeTrace(sh + 100 + k, calN, () => rate), sh + 200 + k, clock);
    calSteps.push(...cal.steps);
    evals.push(await replay(backend, makeTrace(sh + 300 + k, evalN, () => rate), sh + 400 + k, clock));
  }
  return { clock, parts, load, rate, liveSeconds: (performance.now() - t0) / 1000, calSteps, evals, shift: sh };
}

/** Plays the parts live, fits on the calibration parts and simulates the evaluation parts. */
export async function runFidelity(
  gpu: GpuContext,
  track: <T extends { destroy(): void }>(r: T) => T = (r) => r,
  options: FidelityOptions = {},
): Promise<Fidelity> {
  return simulateLive(await collectLive(gpu, track, options), options);
}

/** Fits the step-time model on the calibration parts and simulates every evaluation part. */
export function simulateLive(data: LiveData, options: Pick<FidelityOptions, 'noise' | 'seeds'> & { fit?: Calibration } = {}): Fidelity {
  const { clock, parts, load, rate, liveSeconds, calSteps, evals, shift: sh } = data;
  const seeds = options.seeds ?? SIM_SEEDS;
  // options.fit: another fit of the same steps, to compare step-time models on one live run.
  const fit =
    options.fit ??
    calibrateStepTime(calSteps, { source: 'the live engine on this device: the calibration parts', noise: options.noise ?? Infinity, noiseKind: 'residual' });
  const { unidentified: _u, clamped: _c, ...spec } = fit;
  const live = { out: 0, span: 0, ttft: 0, n: 0, steps: 0, batch: 0 };
  const sim = { out: 0, span: 0, ttft: 0, n: 0, steps: 0 };
  for (const e of evals) {
    const finished = e.requests.filter((x) => x.status === 'finished');
    if (finished.length !== e.trace.length) throw new Error(`the live run finished ${finished.length} of ${e.trace.length} requests`);
    live.out += finished.reduce((a, x) => a + x.outputTokens, 0);
    live.span += Math.max(...finished.map((x) => x.finish!));
    live.ttft += finished.reduce((a, x) => a + (x.firstToken! - x.arrival), 0);
    live.n += finished.length;
    live.steps += e.steps.length;
    live.batch += e.steps.reduce((a, s) => a + s.batchSize, 0);
    const trace: Trace = { source: 'evaluation part', format: 'generated', requests: e.trace, badRows: [] };
    for (let seed = sh + 1; seed <= sh + seeds; seed++) {
      const r = runSimulation(
        {
          seed,
          stepTime: spec,
          scheduler: {
            maxBatch: SCHED.maxBatch,
            tokenBudget: SCHED.tokenBudget,
            maxPrefillChunk: SCHED.maxPrefillChunk,
            blockSize: KV.blockSize,
            kvBlocks: KV.numBlocks,
            maxContext: SCHED.maxContext,
          },
          tenants: [{ name: 'eval', trace: { path: 'eval' } }],
          deployment: { kind: 'pooled', servers: 1 },
        },
        { traces: new Map([['eval', trace]]) },
      );
      if (r.fleet.requests.finished !== e.trace.length) throw new Error(`the simulation finished ${r.fleet.requests.finished} of ${e.trace.length} requests`);
      sim.out += r.fleet.outputTokens / seeds;
      sim.span += (r.span.t1 - r.span.t0) / seeds;
      sim.ttft += (r.fleet.latency.ttft.mean * r.fleet.latency.ttft.count) / seeds;
      sim.n += r.fleet.latency.ttft.count / seeds;
      sim.steps += r.run.steps / seeds;
    }
  }
  const liveTput = live.out / live.span;
  const simTput = sim.out / sim.span;
  const liveTtft = live.ttft / live.n;
  const simTtft = sim.ttft / sim.n;
  return {
    clock,
    parts,
    load,
    rate,
    liveSeconds,
    fit,
    live: { requests: live.n, steps: live.steps, meanBatch: live.batch / live.steps, throughput: liveTput, meanTtft: liveTtft },
    sim: { requests: Math.round(sim.n), steps: Math.round(sim.steps), throughput: simTput, meanTtft: simTtft, seeds },
    errors: { throughput: simTput / liveTput - 1, meanTtft: simTtft / liveTtft - 1 },
    calSteps,
    evals,
  };
}
