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
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadModelFiles } from '../../src/model/load-node.js';
import { DEFAULT_MODEL } from '../../src/cli/model-files.js';
import { DEFAULT_RESIDUAL_RUN } from '../../src/cli/sim.js';

// Idle-time garbage collection. While a step is in flight, the webgpu package polls Dawn with a
// setImmediate loop that makes a new native function every turn (its AsyncRunner), ~60 MB/s of
// garbage that outlives the young generation; V8 then ran a full mark-compact about once a
// second, and the step it landed in stalled for 40-100 ms (with the finalizers of that garbage).
// Those stalls were most of the noise of the fidelity test. A browser collects in idle time
// (Chrome's idle tasks); Node has no idle tasks, so the replay collects when the server is idle and
// the next arrival is far enough off (the collection takes ~20-30 ms here), once enough garbage
// has piled up. Steps still pay for the young generation and any major GC that comes anyway.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
/**
 * Collect when idle only if the next arrival is at least this far off (s), and at least 1.5x as far
 * as the last collection took (on the CPU-time clock one took 40-70 ms: V8's helper threads and
 * the finalizers count too).
 */
export const IDLE_GC_GAP = 0.05;
/** ... and the heap has grown by this much since the last collection (bytes). */
export const IDLE_GC_GROWTH = 16 << 20;

export const PARTS = 10;
/** Evaluation load: this fraction of the capacity (at full batch) a scouting run's fit gives. */
export const LOAD = 0.3;
/** Simulations per evaluation part (seeds of the step-time draws); their mean is the simulator's figure. */
export const SIM_SEEDS = 16;
/** The calibration's residuals are replayed in runs of this many steps (StepNoise.run): the CLI's default. */
export const RESIDUAL_RUN = DEFAULT_RESIDUAL_RUN;
/** The clock of the live runs (see the test's header): this process's CPU time, or the wall clock. */
export const CLOCK: ClockKind = (process.env.FIDELITY_CLOCK as ClockKind | undefined) ?? 'cpu';
/** Collect garbage in idle gaps (see collectGarbage; FIDELITY_IDLE_GC=0 turns it off). */
export const IDLE_GC = process.env.FIDELITY_IDLE_GC !== '0';
export const KV = { numBlocks: 128, blockSize: 16 };
export const SCHED = { maxBatch: 16, tokenBudget: 64, maxPrefillChunk: 64, kv: KV, maxContext: 128 };
const PROMPT = { min: 8, max: 32 };
const OUTPUT = { min: 4, max: 24 };
/** Requests per calibration part and per evaluation part. */
const CAL_N = 60;
const EVAL_N = 60;
/** Requests of the scouting run that sets the evaluation rate. */
const SCOUT_N = 200;
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
  /** Idle-time collections: how many, their clock time, and how far they ran past an arrival (s). */
  idleGc: { count: number; seconds: number; overrun: number };
}

export type ClockKind = 'wall' | 'cpu';

/** Seconds of this process's CPU time (all its threads: JS, Dawn, SwiftShader's). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Replays a trace on a fresh engine over `backend`, in real time from 0 (on the given clock). */
export async function replay(backend: GpuBackend, trace: TraceRequest[], seed: number, kind: ClockKind = CLOCK, idleGc = IDLE_GC): Promise<LiveRun> {
  const read = kind === 'cpu' ? cpuSeconds : () => performance.now() / 1000;
  let base = read();
  const clock: Clock = { now: () => read() - base };
  const engine = new Engine(backend, { scheduler: { ...SCHED, keepRecords: true }, stopAtEos: false, clock });
  const rng = new Rng(seed);
  const prompts = trace.map((r) => [1, ...Array.from({ length: r.promptTokens - 1 }, () => rng.int(3, backend.config.vocabSize - 1))]);
  const steps: (StepRecord & { t0: number })[] = [];
  const done: Promise<unknown>[] = [];
  let next = 0;
  let slept = true;
  let heapAfterGc = getHeapStatistics().used_heap_size;
  const idleGcStats = { count: 0, seconds: 0, overrun: 0 };
  let lastGcSeconds = 0;
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
      if (idleGc && target - now >= Math.max(IDLE_GC_GAP, 1.5 * lastGcSeconds) && getHeapStatistics().used_heap_size - heapAfterGc >= IDLE_GC_GROWTH) {
        const g0 = clock.now();
        collectGarbage();
        // Let the finalizers that the collection queued run now, not in the next step.
        await new Promise((r) => setImmediate(r));
        heapAfterGc = getHeapStatistics().used_heap_size;
        const g1 = clock.now();
        idleGcStats.count++;
        idleGcStats.seconds += g1 - g0;
        lastGcSeconds = g1 - g0;
        idleGcStats.overrun += Math.max(0, g1 - target);
      }
      const ms = kind === 'wall' ? (target - clock.now()) * 1000 - 3 : 0;
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
  return { trace, steps, requests: [...engine.scheduler.records()], idleGc: idleGcStats };
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
  /** The live model's name and dimensions. */
  model: string;
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
  /** Residuals replayed in runs of this many steps (default RESIDUAL_RUN; see StepNoise.run). */
  residualRun?: number;
  /** GpuBackendOptions.settleFraction for the live engine (default: the backend's). */
  settleFraction?: number;
}

/** What the live parts of a fidelity run recorded (runFidelity = collectLive, then simulateLive). */
export interface LiveData {
  clock: ClockKind;
  parts: number;
  load: number;
  /** Evaluation arrival rate, requests/s. */
  rate: number;
  liveSeconds: number;
  /** Fidelity.model. */
  model: string;
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
  const { model } = await loadModelFiles(DEFAULT_MODEL.checkpoint, DEFAULT_MODEL.tokenizer);
  const c = model.config;
  const modelName = `${DEFAULT_MODEL.name} (dim ${c.dim}, ${c.nLayers} layers, vocab ${c.vocabSize})`;
  const backend = track(new GpuBackend(gpu, model, { maxSequences: SCHED.maxBatch, maxTokensPerStep: SCHED.tokenBudget, ...gpuKvOptions(model.config, KV), settleFraction: options.settleFraction }));
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
  const scout = await replay(backend, makeTrace(sh + 97, SCOUT_N, (t) => pilotCapacity * levels[Math.floor(t) % levels.length]!), sh + 199, clock);
  const rate = load * capacityRate(calibrateStepTime(scout.steps));

  // A settling run at that rate, not recorded: the first minute of a process still speeds up (the
  // first calibration part's steps were up to 0.8 ms slower than the fit, the later parts' 0.2-0.4
  // ms faster).
  await replay(backend, makeTrace(sh + 96, calN, () => rate), sh + 198, clock);
  // Calibration and evaluation parts alternate; both are Poisson at that rate (other seeds), so
  // the fit sees the step shapes the evaluation will run. The order within a pair alternates too
  // (cal eval, eval cal, cal eval, ...), so a drift of the machine's speed over the run weighs on
  // both alike.
  const calSteps: StepRecord[] = [];
  const evals: LiveRun[] = [];
  const t0 = performance.now();
  for (let k = 0; k < parts; k++) {
    const calibrate = async () => calSteps.push(...(await replay(backend, makeTrace(sh + 100 + k, calN, () => rate), sh + 200 + k, clock)).steps);
    const evaluate = async () => evals.push(await replay(backend, makeTrace(sh + 300 + k, evalN, () => rate), sh + 400 + k, clock));
    if (k % 2 === 0) {
      await calibrate();
      await evaluate();
    } else {
      await evaluate();
      await calibrate();
    }
  }
  return { clock, parts, load, rate, liveSeconds: (performance.now() - t0) / 1000, model: modelName, calSteps, evals, shift: sh };
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
export function simulateLive(data: LiveData, options: Pick<FidelityOptions, 'noise' | 'seeds' | 'residualRun'> & { fit?: Calibration } = {}): Fidelity {
  const { clock, parts, load, rate, liveSeconds, model, calSteps, evals, shift: sh } = data;
  const seeds = options.seeds ?? SIM_SEEDS;
  // options.fit: another fit of the same steps, to compare step-time models on one live run.
  const fit =
    options.fit ??
    calibrateStepTime(calSteps, {
      source: 'the live engine on this device: the calibration parts',
      noise: options.noise ?? Infinity,
      noiseKind: 'residual',
      residualRun: (options.noise ?? Infinity) === Infinity ? (options.residualRun ?? RESIDUAL_RUN) : 1,
    });
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
    model,
    fit,
    live: { requests: live.n, steps: live.steps, meanBatch: live.batch / live.steps, throughput: liveTput, meanTtft: liveTtft },
    sim: { requests: Math.round(sim.n), steps: Math.round(sim.steps), throughput: simTput, meanTtft: simTtft, seeds },
    errors: { throughput: simTput / liveTput - 1, meanTtft: simTtft / liveTtft - 1 },
    calSteps,
    evals,
  };
}
