// Calibration: this device's cost of a step, as the simulator's calibrated step-time model
// (src/sim/step-time.ts), so that the lab's capacity (capacity.ts) is in the fleet view's unit of work.
// - Rounds: decode at batch 1, 2, 4, ... maxBatch at short and long contexts, prefill, and prefills
//   beside decodes; each shape enters calibrateStepTime at the median of its timed steps.
// - Stopping rule: until the last `agree` rounds agree within `tolerance` on decode and prefill cost
//   per token, or one more round (with the anchors after it) would pass `maxSeconds`. Agreeing
//   rounds give the slowest (conservative); rounds that never agree give the upper median.
// - Anchors: the rounds set the model's shape; its level comes from the real Engine saturated at
//   maxBatch (and at each of `anchorBatches`), closed loop, the model scaled so it predicts those
//   steps' total wall time (the commit messages say why).
import { Engine } from '../engine/engine.js';
import type { Backend, StepEntry } from '../model/backend.js';
import type { StepRecord } from '../metrics/records.js';
import { Rng } from '../ops/random.js';
import { calibrateStepTime } from '../sim/calibrate.js';
import { CalibratedModel, type CalibratedSpec } from '../sim/step-time.js';
import { lengthSampler } from '../traffic/lengths.js';
import { deviceFacts, labCapacityFromSpec, labScheduler, REFERENCE_REQUEST, type DeviceFacts } from './capacity.js';
import { lengthsFor } from './traffic.js';

/** One decode point: `batch` sequences decoding together at a mean context per sequence. */
export interface CalibrationPoint {
  batch: number;
  /** Mean context per sequence over the timed steps. */
  context: number;
  /** Aggregate decode tokens/s (batch ÷ median step time). */
  tokensPerS: number;
  /** Median step time, ms. */
  msPerStep: number;
  /** Timed steps. */
  steps: number;
}

/** One prefill step measured: `tokens` prompt tokens over `sequences` sequences, each starting at `start`. */
export interface PrefillMeasure {
  tokens: number;
  sequences: number;
  start: number;
  ms: number;
}

export interface CalibrationRound {
  round: number;
  /** Wall seconds the round took. */
  seconds: number;
  /** Decode at short contexts, one point per batch size (1, 2, 4, ..., maxBatch). */
  points: CalibrationPoint[];
  /** Decode with the long sequences alone, and at maxBatch among short ones. */
  longPoints: CalibrationPoint[];
  /** maxBatch − 1 sequences decoding beside one prefilling its prompt, one point per prompt length (none at max batch 1). */
  mixed: CalibrationPoint[];
  /** Every prefill measured (the mixed steps' prompts included). */
  prefill: PrefillMeasure[];
  /** The round's fit. */
  stepTime: CalibratedSpec;
  /** The figures the stopping rule compares (capacity.ts, at the lab's scheduler for maxBatch). */
  decodeMsPerToken: number;
  prefillMsPerToken: number;
  /** Work of the reference request (capacity.ts REFERENCE_REQUEST), ms: the slowest round has the most. */
  referenceWorkMs: number;
  /** The anchor's measured time ÷ this round's fit's prediction of its steps (NaN until the anchor ran). */
  anchorFactor: number;
}

/** The saturated run the fitted model's level is set from (see the file header). */
export interface CalibrationAnchor {
  /** Timed steps (after the warm-up). */
  steps: number;
  /** Σ (end − start) of the timed steps, s. */
  seconds: number;
  /** Σ the chosen round's fit's prediction of the same steps, s. */
  predicted: number;
  /** seconds ÷ predicted: what the chosen round's fit was multiplied by. */
  factor: number;
  /** Mean sequences per timed step. */
  meanBatch: number;
  /** Mean step time (seconds ÷ steps), ms. */
  meanStepMs: number;
  /** Timed steps that prefilled (a prompt chunk beside the decodes, or alone). */
  prefillSteps: number;
  /** Timed steps that ran maxBatch sequences with requests still waiting, as a fraction. */
  fullFraction: number;
  /** Wall seconds of the whole saturated run (warm-up included). */
  wallSeconds: number;
}

export interface CalibrationStability {
  /** The last `agree` rounds agreed within `tolerance` on both figures. */
  stable: boolean;
  rounds: number;
  agree: number;
  tolerance: number;
  maxSeconds: number;
  /** max ÷ min − 1 over the last `agree` rounds (or all, when fewer ran), worse of the two figures. */
  spread: number;
  /**
   * The same over the rounds' figures each times its anchorFactor: how far the rounds disagree on
   * the model's shape once the anchor sets its level (reported; the stopping rule uses `spread`).
   */
  anchoredSpread: number;
  /** Index into `rounds` of the round whose fit is used (stable: the slowest of the last `agree`; else the upper median of all). */
  chosen: number;
  /** One sentence: how the estimate was reached. */
  verdict: string;
}

export interface Calibration {
  backend: Backend['kind'];
  maxBatch: number;
  /** The backend's facts the lab's scheduler settings follow from (capacity.ts labScheduler). */
  device: DeviceFacts;
  /** The chosen round's fitted step-time model times the anchor's factor (the round's fit statistics kept). */
  stepTime: CalibratedSpec;
  /**
   * The saturated run that set stepTime's level. Absent in calibrations made before it existed
   * (a lab export read back from a file): their stepTime is the chosen round's fit as it was.
   */
  anchor?: CalibrationAnchor;
  /**
   * Saturated runs at other max batches a session will run (CalibrateOptions.anchorBatches): a
   * run at `batch` uses stepTime × its factor (specAt), so its level is measured at its own batch,
   * not carried over from maxBatch's. `factor` here is relative to stepTime.
   */
  anchors?: (CalibrationAnchor & { batch: number })[];
  /** The chosen round's short-context decode points (what batching buys, per batch size). */
  points: CalibrationPoint[];
  /** Full-chunk prefill of the chosen round, from its fit. */
  prefill: { chunk: number; tokensPerS: number; msPerStep: number };
  rounds: CalibrationRound[];
  stability: CalibrationStability;
  /** Wall seconds the calibration took. */
  seconds: number;
}

export interface CalibrateOptions {
  maxBatch: number;
  /** Prompt tokens each short decode sequence starts with (default 8). */
  promptTokens?: number;
  /** Prefill chunk (default the lab's, 48, at most the context). */
  prefillChunk?: number;
  /** Timed decode steps per point, at least (default 4). */
  minSteps?: number;
  /** Timed seconds per point, at least (default 0.2). */
  minSeconds?: number;
  /** Rounds that must agree (default 3), within this fraction (default 0.05). */
  agree?: number;
  tolerance?: number;
  /** No round starts that would end, with the anchors after it, past this many seconds from the start (default 30). */
  maxSeconds?: number;
  /** Timed seconds of the anchor's saturated run (default 4: the anchor sets the level, so it gets the steps to average out step-to-step noise), after `anchorWarmupSeconds` untimed (default 0.5). */
  anchorSeconds?: number;
  anchorWarmupSeconds?: number;
  /** Other max batches (below maxBatch) to anchor as well, each with its own saturated run (within maxSeconds). */
  anchorBatches?: readonly number[];
  /** Milliseconds clock (default performance.now); tests drive a fake backend's time with it. */
  now?: () => number;
  onProgress?: (done: number, total: number, what: string) => void;
}

export const CALIBRATION_DEFAULTS = { promptTokens: 8, prefillChunk: 48, minSteps: 4, minSeconds: 0.2, agree: 3, tolerance: 0.05, maxSeconds: 30, anchorSeconds: 4, anchorWarmupSeconds: 0.5 } as const;

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** 1, 2, 4, ... below maxBatch, then maxBatch. */
export function calibrationBatches(maxBatch: number): number[] {
  const out: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) out.push(b);
  out.push(maxBatch);
  return out;
}

/** Tokens/s at `batch`, linearly interpolated between measured points (clamped at the ends). */
export function tokensPerSAt(points: readonly CalibrationPoint[], batch: number): number {
  if (points.length === 0) return NaN;
  const sorted = [...points].sort((a, b) => a.batch - b.batch);
  if (batch <= sorted[0]!.batch) return sorted[0]!.tokensPerS;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (batch <= b.batch) return a.tokensPerS + ((batch - a.batch) / (b.batch - a.batch)) * (b.tokensPerS - a.tokensPerS);
  }
  return sorted[sorted.length - 1]!.tokensPerS;
}

/** max ÷ min − 1 of positive values (0 for fewer than two). */
export function spreadOf(v: readonly number[]): number {
  if (v.length < 2) return 0;
  return Math.max(...v) / Math.min(...v) - 1;
}

/** A synthetic StepRecord of a measured shape, for calibrateStepTime. */
function row(busyS: number, decodeTokens: number, prefillTokens: number, contextTokens: number, batchSize: number): StepRecord {
  return {
    index: 0,
    gpu: 0,
    start: 0,
    end: busyS,
    busy: busyS,
    timing: 'wall',
    batchSize,
    decodeTokens,
    outputTokens: batchSize,
    prefillTokens,
    contextTokens,
    queueDepth: 0,
    kvBlocksUsed: 0,
    kvBlocksTotal: 0,
  };
}

interface RoundSettings {
  maxBatch: number;
  prompt: number;
  chunk: number;
  /** Prompt lengths of the sequence that prefills beside decodes in mixed steps, and steps of each. */
  mixedPrompts: number[];
  mixedSteps: number;
  longContext: number;
  longSequences: number;
  maxSteps: number;
  minSteps: number;
  minMs: number;
  now: () => number;
}

/** Steps of one round (see the file header); returns the measurements and the fit's rows. */
async function measureRound(
  backend: Backend,
  o: RoundSettings,
  progress: (what: string) => void,
): Promise<Pick<CalibrationRound, 'points' | 'longPoints' | 'mixed' | 'prefill'> & { rows: StepRecord[] }> {
  const c = backend.config;
  // Token ids from a fixed pattern in [3, vocab): no randomness needed, no EOS.
  const tok = (i: number) => 3 + ((i * 7919) % (c.vocabSize - 3));
  const entry = (seq: number, tokens: number[]): StepEntry => ({ seq, tokens, temperature: 0, topP: 1, u: 0 });
  const tokens = (n: number, from: number) => Array.from({ length: n }, (_, i) => tok(from + i));
  const rows: StepRecord[] = [];
  const prefill: PrefillMeasure[] = [];
  const next = new Map<number, number>();
  const timed = async (entries: StepEntry[]): Promise<number> => {
    const t = o.now();
    const r = await backend.step(entries);
    const ms = o.now() - t;
    entries.forEach((e, j) => next.set(e.seq, r.next[j]!));
    return ms;
  };
  const decodeEntries = (seqs: readonly number[]) => seqs.map((s) => entry(s, [next.get(s)!]));
  const contextAfter = (seqs: readonly number[]) => seqs.reduce((sum, s) => sum + backend.length(s) + 1, 0);
  /** Rows of a group of equally shaped steps: their median, once per step. */
  const addRows = (times: readonly number[], decode: number, prefillTokens: number, ctx: number, batch: number) => {
    const ms = median(times);
    for (let i = 0; i < times.length; i++) rows.push(row(ms / 1000, decode, prefillTokens, ctx, batch));
    return ms;
  };

  /** Decode `seqs` together: one untimed step, then timed ones; one point (and its rows). */
  const decodePoint = async (seqs: readonly number[]): Promise<CalibrationPoint> => {
    await timed(decodeEntries(seqs));
    const times: number[] = [];
    let ctx = 0;
    const start = o.now();
    const longest = () => Math.max(...seqs.map((s) => backend.length(s)));
    while (times.length < o.maxSteps && longest() + 1 < c.seqLen && (times.length < o.minSteps || o.now() - start < o.minMs)) {
      ctx += contextAfter(seqs);
      times.push(await timed(decodeEntries(seqs)));
    }
    if (times.length === 0) throw new Error(`calibrate: no room left in the context (${c.seqLen}) to time decode at batch ${seqs.length}`);
    const meanCtx = ctx / times.length;
    const ms = addRows(times, seqs.length, 0, meanCtx, seqs.length);
    return { batch: seqs.length, context: meanCtx / seqs.length, tokensPerS: (seqs.length * 1000) / ms, msPerStep: ms, steps: times.length };
  };

  // maxBatch sequences, alive for the whole round (one of them renewed by the mixed steps).
  const short = Array.from({ length: o.maxBatch }, () => backend.newSequence());
  try {
    // Their prompts, a chunk's worth of sequences per step (as the scheduler admits short prompts
    // together): prefill at position 0, fitted.
    progress(`prefill of ${o.maxBatch} × ${o.prompt} tokens`);
    const perStep = Math.max(1, Math.floor(o.chunk / o.prompt));
    const groups = new Map<number, number[]>();
    for (let j = 0; j < short.length; j += perStep) {
      const g = short.slice(j, j + perStep);
      const ms = await timed(g.map((s, i) => entry(s, tokens(o.prompt, (j + i) * 31))));
      prefill.push({ tokens: g.length * o.prompt, sequences: g.length, start: 0, ms });
      groups.set(g.length, [...(groups.get(g.length) ?? []), ms]);
    }
    for (const [n, times] of groups) addRows(times, 0, n * o.prompt, n * o.prompt, n);

    const points: CalibrationPoint[] = [];
    for (const B of calibrationBatches(o.maxBatch)) {
      progress(`decode at batch ${B}`);
      points.push(await decodePoint(short.slice(0, B)));
    }

    // The first sequences grow to a long context chunk by chunk (not fitted: a chunk after the
    // first attends to every position before it, a cost the linear model has no term for, and the
    // lab's prompts are mostly shorter than a chunk); then decode with them alone, and at maxBatch
    // among the short ones.
    const long = short.slice(0, o.longSequences);
    progress(`prefill of ${long.length} sequences to ${o.longContext} tokens`);
    for (const [j, s] of long.entries()) {
      for (let at = backend.length(s); at < o.longContext; at = backend.length(s)) {
        await timed([entry(s, tokens(Math.min(o.chunk, o.longContext - at), at + 97 * (j + 1)))]);
      }
    }
    progress('decode at long contexts');
    const longPoints = [await decodePoint(long)];
    if (o.maxBatch > long.length) longPoints.push(await decodePoint(short));

    // A full chunk alone, at position 0, on the last sequence (renewed each time): the shape the
    // prefill figure of the stopping rule is taken at.
    const renew = (): number => {
      backend.freeSequence(short[o.maxBatch - 1]!);
      return (short[o.maxBatch - 1] = backend.newSequence());
    };
    progress(`prefill of a ${o.chunk}-token chunk`);
    const full: number[] = [];
    for (let i = 0; i < o.mixedSteps; i++) {
      const ms = await timed([entry(renew(), tokens(o.chunk, 300 + 11 * i))]);
      full.push(ms);
      prefill.push({ tokens: o.chunk, sequences: 1, start: 0, ms });
    }
    addRows(full, 0, o.chunk, o.chunk, 1);

    // Mixed steps, as the lab runs under load: maxBatch − 1 sequences decode while a new one (the
    // last sequence, renewed each time) prefills a prompt of each of the lab's usual lengths.
    const mixed: CalibrationPoint[] = [];
    if (o.maxBatch > 1) {
      const rest = short.slice(0, o.maxBatch - 1);
      const room = () => Math.max(...rest.map((s) => backend.length(s))) + 1 < c.seqLen;
      for (const k of o.mixedPrompts) {
        progress(`decode at batch ${o.maxBatch - 1} beside a prefill of ${k} tokens`);
        const times: number[] = [];
        let ctx = 0;
        for (let i = 0; i < o.mixedSteps && room(); i++) {
          const fresh = renew();
          ctx += contextAfter(rest) + k;
          const ms = await timed([...decodeEntries(rest), entry(fresh, tokens(k, 500 + 7 * i + k))]);
          times.push(ms);
          prefill.push({ tokens: k, sequences: 1, start: 0, ms });
        }
        if (times.length === 0) break;
        const ms = addRows(times, rest.length, k, ctx / times.length, o.maxBatch);
        mixed.push({ batch: o.maxBatch, context: ctx / times.length / o.maxBatch, tokensPerS: ((rest.length + 1) * 1000) / ms, msPerStep: ms, steps: times.length });
      }
    }
    return { points, longPoints, mixed, prefill, rows };
  } finally {
    for (const s of short) backend.freeSequence(s);
  }
}

/**
 * One step of each shape a round runs (the short prompts in their groups, decode at every batch
 * size, a chunk at the start and one after it), untimed: the first use of a pipeline or of a
 * dispatch size compiles or allocates, which is not a step time.
 */
async function warmUp(backend: Backend, o: RoundSettings): Promise<void> {
  const entry = (seq: number, tokens: number[]): StepEntry => ({ seq, tokens, temperature: 0, topP: 1, u: 0 });
  const seqs = Array.from({ length: o.maxBatch }, () => backend.newSequence());
  const extra = backend.maxSequences > o.maxBatch ? backend.newSequence() : undefined;
  try {
    const perStep = Math.max(1, Math.floor(o.chunk / o.prompt));
    for (let j = 0; j < seqs.length; j += perStep) await backend.step(seqs.slice(j, j + perStep).map((s) => entry(s, Array.from({ length: o.prompt }, () => 3))));
    for (const B of calibrationBatches(o.maxBatch)) await backend.step(seqs.slice(0, B).map((s) => entry(s, [3])));
    const s = extra ?? seqs[0]!;
    const k = Math.min(o.chunk, Math.floor((backend.config.seqLen - backend.length(s) - 2) / 2));
    if (k > 0) {
      await backend.step([entry(s, Array.from({ length: k }, () => 4))]);
      await backend.step([entry(s, Array.from({ length: k }, () => 5))]);
    }
  } finally {
    for (const q of seqs) backend.freeSequence(q);
    if (extra !== undefined) backend.freeSequence(extra);
  }
}

export interface SaturatedRunOptions {
  maxBatch: number;
  /** Timed seconds: steps that start before warm-up + seconds are timed. */
  seconds: number;
  /** Untimed seconds first (pipelines of new shapes, the batch filling up). */
  warmupSeconds: number;
  /** Milliseconds clock. */
  now: () => number;
  /** Seed of the requests' lengths (default 1). */
  seed?: number;
}

export interface SaturatedRun {
  /** The timed steps, in run order (seconds on the run's clock). */
  steps: StepRecord[];
  /** Wall seconds of the whole run (warm-up included). */
  wallSeconds: number;
  /** Requests submitted. */
  submitted: number;
}

/**
 * The Engine on `backend` flat out at max batch: the scheduler settings a LabRun uses
 * (labScheduler, fcfs, recompute), a closed loop that before every step tops the queue up to
 * 2 × maxBatch waiting plus the batch's free slots, requests of the lab's reference lengths
 * (lengthsFor(REFERENCE_REQUEST), seeded), no EOS. Every request is aborted at the end, so the
 * backend's sequences are free again. Throws when a request is not queued.
 */
export async function saturatedRun(backend: Backend, o: SaturatedRunOptions): Promise<SaturatedRun> {
  const c = backend.config;
  const sched = labScheduler(deviceFacts(backend), o.maxBatch);
  const t0 = o.now();
  const engine = new Engine(backend, {
    scheduler: { ...sched, policy: 'fcfs', preemption: 'recompute' },
    clock: { now: () => (o.now() - t0) / 1000 },
    stopAtEos: false,
  });
  const lengths = lengthSampler(lengthsFor(REFERENCE_REQUEST, c.seqLen));
  const rng = new Rng(o.seed ?? 1);
  const waiting = 2 * o.maxBatch;
  const ids: number[] = [];
  const s = engine.scheduler;
  const steps: StepRecord[] = [];
  const warmEnd = o.warmupSeconds;
  const end = o.warmupSeconds + o.seconds;
  try {
    for (;;) {
      while (s.queueDepth < waiting + Math.max(0, o.maxBatch - s.runningCount)) {
        lengths.next(rng);
        const n = ids.length;
        const prompt = Array.from({ length: Math.max(1, lengths.prompt) }, (_, i) => 3 + (((n + 1) * 7919 + i * 31) % (c.vocabSize - 3)));
        const r = engine.submit({ prompt, maxOutputTokens: Math.max(1, lengths.output) });
        if (!r.accepted) throw new Error(`calibrate: the saturated run's request ${n} (${prompt.length} prompt, ${lengths.output} output tokens) was not queued: ${r.message}`);
        r.done.catch(() => {});
        ids.push(r.id);
      }
      const at = engine.clock.now();
      if (at >= end) break;
      const rec = await engine.step();
      if (rec && rec.start >= warmEnd) steps.push(rec);
    }
  } finally {
    for (const id of ids) engine.abort(id);
  }
  return { steps, wallSeconds: (o.now() - t0) / 1000, submitted: ids.length };
}

/** Σ (end − start) of `steps` and Σ the model's prediction of their shapes, s. */
export function actualAndPredicted(steps: readonly StepRecord[], spec: CalibratedSpec): { actual: number; predicted: number } {
  const m = new CalibratedModel({ ...spec, noise: undefined });
  let actual = 0;
  let predicted = 0;
  for (const x of steps) {
    actual += x.end - x.start;
    predicted += m.shapeTime({ batchSize: x.batchSize, decodeTokens: x.decodeTokens, prefillTokens: x.prefillTokens, contextTokens: x.contextTokens, attendedPairs: x.contextTokens });
  }
  return { actual, predicted };
}

/** `spec` with every coefficient times `factor` (its prediction of every shape times factor, above the floor). */
/** Whether a run at max batch `batch` has a measured level in `cal` (its maxBatch, or one of its extra anchors). */
export function anchoredAt(cal: Calibration, batch: number): boolean {
  return batch === cal.maxBatch || (cal.anchors ?? []).some((a) => a.batch === batch);
}

/** The step-time model for runs at max batch `batch`: stepTime, times that batch's own anchor factor when it has one. */
export function specAt(cal: Calibration, batch: number): CalibratedSpec {
  const a = (cal.anchors ?? []).find((x) => x.batch === batch);
  return a ? scaleSpec(cal.stepTime, a.factor) : cal.stepTime;
}

export function scaleSpec(spec: CalibratedSpec, factor: number): CalibratedSpec {
  const out: CalibratedSpec = { ...spec, a: spec.a * factor, b: spec.b * factor, c: spec.c * factor, d: spec.d * factor };
  if (spec.e !== undefined) out.e = spec.e * factor;
  if (spec.fit) out.fit = { ...spec.fit, source: `${spec.fit.source ?? 'lab calibration'}, anchored × ${factor.toFixed(3)}` };
  return out;
}

/**
 * Calibrates `backend` for runs up to `maxBatch` (see the file header). Throws when maxBatch does
 * not fit the backend or the context is too short to measure in.
 */
export async function calibrate(backend: Backend, options: CalibrateOptions): Promise<Calibration> {
  const c = backend.config;
  const maxBatch = options.maxBatch;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1 && maxBatch <= backend.maxSequences)) {
    throw new RangeError(`calibrate: maxBatch must be an integer in 1..${backend.maxSequences}, got ${maxBatch}`);
  }
  const D = CALIBRATION_DEFAULTS;
  const now = options.now ?? (() => performance.now());
  const agree = options.agree ?? D.agree;
  const tolerance = options.tolerance ?? D.tolerance;
  const maxSeconds = options.maxSeconds ?? D.maxSeconds;
  if (!(Number.isInteger(agree) && agree >= 1)) throw new RangeError(`calibrate: agree must be an integer >= 1, got ${agree}`);
  if (c.seqLen < 16) throw new RangeError(`calibrate: the model's context (${c.seqLen}) is too short to measure decode and prefill in (need 16)`);
  const chunk = Math.max(1, Math.min(options.prefillChunk ?? D.prefillChunk, Math.floor(c.seqLen / 4)));
  const prompt = Math.max(1, Math.min(options.promptTokens ?? D.promptTokens, Math.floor(c.seqLen / 8)));
  const minSteps = options.minSteps ?? D.minSteps;
  // Steps per short-context point (the untimed one included) so that the first sequence, which
  // decodes at every batch size, stays within half the context; the long phase has the rest.
  const nBatches = calibrationBatches(maxBatch).length;
  const maxSteps = Math.max(1, Math.floor((Math.floor(c.seqLen / 2) - prompt) / nBatches) - 1);
  // Mixed steps' prompts: the lab's are lognormal around 16 tokens (state.ts), most between 8 and 32.
  const mixedPrompts = [...new Set([prompt, 2 * prompt, 4 * prompt].map((k) => Math.min(k, chunk)))];
  const mixedSteps = Math.max(1, Math.min(minSteps, maxSteps));
  // Long context: half the context plus half a chunk, leaving room for two decode points and the
  // mixed steps (the long sequences decode in both).
  const longContext = Math.min(Math.floor(c.seqLen / 2) + Math.ceil(chunk / 2), c.seqLen - 2 * (maxSteps + 1) - mixedPrompts.length * mixedSteps - 1);
  const settings: RoundSettings = {
    maxBatch,
    prompt,
    chunk,
    mixedPrompts,
    mixedSteps,
    longContext,
    longSequences: Math.min(3, maxBatch),
    maxSteps,
    minSteps: Math.min(minSteps, maxSteps),
    minMs: (options.minSeconds ?? D.minSeconds) * 1000,
    now,
  };
  const facts = deviceFacts(backend);
  const anchorSeconds = options.anchorSeconds ?? D.anchorSeconds;
  const anchorWarmup = options.anchorWarmupSeconds ?? D.anchorWarmupSeconds;
  if (!(anchorSeconds > 0 && anchorWarmup >= 0)) throw new RangeError(`calibrate: anchorSeconds must be > 0 and anchorWarmupSeconds >= 0, got ${anchorSeconds}, ${anchorWarmup}`);

  const extraBatches = [...new Set(options.anchorBatches ?? [])].filter((b) => b !== maxBatch);
  for (const b of extraBatches) {
    if (!(Number.isInteger(b) && b >= 1 && b < maxBatch)) throw new RangeError(`calibrate: anchorBatches must be integers in 1..${maxBatch - 1}, got ${b}`);
  }
  const t0 = now();
  options.onProgress?.(0, agree, 'warming up (compiling pipelines)');
  await warmUp(backend, settings);
  const rounds: CalibrationRound[] = [];
  let stable = false;
  for (;;) {
    const r0 = now();
    const k = rounds.length + 1;
    const m = await measureRound(backend, settings, (what) => options.onProgress?.(rounds.length, Math.max(agree, rounds.length + 1), `round ${k}: ${what}`));
    const fit = calibrateStepTime(m.rows, { source: `lab calibration round ${k}` });
    const { unidentified: _u, clamped: _c, ...stepTime } = fit;
    const cap = labCapacityFromSpec(stepTime, facts, maxBatch, 1);
    const { rows: _rows, ...measured } = m;
    rounds.push({
      round: k,
      seconds: (now() - r0) / 1000,
      ...measured,
      stepTime,
      decodeMsPerToken: 1000 * cap.decodeS(REFERENCE_REQUEST.prompt, REFERENCE_REQUEST.output),
      prefillMsPerToken: (1000 * cap.prefillS(cap.scheduler.maxPrefillChunk)) / cap.scheduler.maxPrefillChunk,
      referenceWorkMs: 1000 * cap.workS(REFERENCE_REQUEST.prompt, REFERENCE_REQUEST.output),
      anchorFactor: NaN,
    });
    const last = rounds.slice(-agree);
    if (last.length === agree && Math.max(spreadOf(last.map((r) => r.decodeMsPerToken)), spreadOf(last.map((r) => r.prefillMsPerToken))) <= tolerance) {
      stable = true;
      break;
    }
    const elapsed = (now() - t0) / 1000;
    const slowestRound = Math.max(...rounds.map((r) => r.seconds));
    if (elapsed + slowestRound + (1 + extraBatches.length) * (anchorWarmup + anchorSeconds) > maxSeconds) break;
  }

  const window = rounds.slice(-agree);
  const spread = Math.max(spreadOf(window.map((r) => r.decodeMsPerToken)), spreadOf(window.map((r) => r.prefillMsPerToken)));
  let chosen: number;
  if (stable) {
    chosen = rounds.length - window.length;
    for (let i = chosen; i < rounds.length; i++) if (rounds[i]!.referenceWorkMs > rounds[chosen]!.referenceWorkMs) chosen = i;
  } else {
    // The rounds disagree: the slowest may be a stall, the fastest a lucky moment; the upper
    // median of all of them errs least either way (and on the slow side of the middle).
    const byWork = rounds.map((_, i) => i).sort((i, j) => rounds[i]!.referenceWorkMs - rounds[j]!.referenceWorkMs);
    chosen = byWork[Math.floor(byWork.length / 2)]!;
  }
  // The anchor: the engine flat out sets the level of the chosen round's fit.
  options.onProgress?.(rounds.length, rounds.length + 1, `anchor: the engine saturated at max batch ${maxBatch} for ${anchorSeconds} s`);
  const sat = await saturatedRun(backend, { maxBatch, seconds: anchorSeconds, warmupSeconds: anchorWarmup, now });
  if (sat.steps.length === 0) throw new Error(`calibrate: the saturated run at max batch ${maxBatch} timed no step in ${anchorSeconds} s`);
  for (const r of rounds) {
    const ap = actualAndPredicted(sat.steps, r.stepTime);
    r.anchorFactor = ap.actual / ap.predicted;
  }
  const pick = rounds[chosen]!;
  const ap = actualAndPredicted(sat.steps, pick.stepTime);
  const factor = ap.actual / ap.predicted;
  const n = sat.steps.length;
  const anchor: CalibrationAnchor = {
    steps: n,
    seconds: ap.actual,
    predicted: ap.predicted,
    factor,
    meanBatch: sat.steps.reduce((a, x) => a + x.batchSize, 0) / n,
    meanStepMs: (1000 * ap.actual) / n,
    prefillSteps: sat.steps.filter((x) => x.prefillTokens > 0).length,
    fullFraction: sat.steps.filter((x) => x.batchSize === maxBatch && x.queueDepth > 0).length / n,
    wallSeconds: sat.wallSeconds,
  };
  const anchored = (f: (r: CalibrationRound) => number) => window.map((r) => f(r) * r.anchorFactor);
  const anchoredSpread = Math.max(spreadOf(anchored((r) => r.decodeMsPerToken)), spreadOf(anchored((r) => r.prefillMsPerToken)));
  const stepTime = scaleSpec(pick.stepTime, factor);
  const anchors: (CalibrationAnchor & { batch: number })[] = [];
  for (const b of extraBatches) {
    options.onProgress?.(rounds.length, rounds.length + 1, `anchor: the engine saturated at max batch ${b} for ${anchorSeconds} s`);
    const run = await saturatedRun(backend, { maxBatch: b, seconds: anchorSeconds, warmupSeconds: anchorWarmup, now });
    if (run.steps.length === 0) throw new Error(`calibrate: the saturated run at max batch ${b} timed no step in ${anchorSeconds} s`);
    const q = actualAndPredicted(run.steps, stepTime);
    const k = run.steps.length;
    anchors.push({
      batch: b,
      steps: k,
      seconds: q.actual,
      predicted: q.predicted,
      factor: q.actual / q.predicted,
      meanBatch: run.steps.reduce((a, x) => a + x.batchSize, 0) / k,
      meanStepMs: (1000 * q.actual) / k,
      prefillSteps: run.steps.filter((x) => x.prefillTokens > 0).length,
      fullFraction: run.steps.filter((x) => x.batchSize === b && x.queueDepth > 0).length / k,
      wallSeconds: run.wallSeconds,
    });
  }

  const seconds = (now() - t0) / 1000;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const level =
    ` Level from the engine saturated at max batch ${maxBatch}: ${n} steps (mean batch ${anchor.meanBatch.toFixed(1)}, ${anchor.meanStepMs.toFixed(1)} ms each) ` +
    `took ${factor.toFixed(2)}× the round's prediction, so its model was scaled by that (anchored, the last ${window.length} spread ${pct(anchoredSpread)}).` +
    anchors.map((a) => ` At max batch ${a.batch}: ${a.steps} saturated steps took ${a.factor.toFixed(2)}× that model, so runs at ${a.batch} use it scaled by that.`).join('');
  const verdict = stable
    ? `${rounds.length} rounds in ${seconds.toFixed(1)} s; the last ${agree} agreed within ${pct(tolerance)} (spread ${pct(spread)}); the model's shape from the slowest of them (round ${chosen + 1}).${level}`
    : `Not stable: ${rounds.length} round${rounds.length === 1 ? '' : 's'} in ${seconds.toFixed(1)} s reached the ${maxSeconds} s limit without ${agree} agreeing within ${pct(tolerance)} ` +
      `(the last ${window.length} spread ${pct(spread)}); the model's shape from the median round (round ${chosen + 1}).${level}`;
  options.onProgress?.(rounds.length + 1, rounds.length + 1, 'done');
  const capChosen = labCapacityFromSpec(stepTime, facts, maxBatch, 1);
  const C = capChosen.scheduler.maxPrefillChunk;
  const prefillMs = 1000 * capChosen.prefillS(C);
  return {
    backend: backend.kind,
    maxBatch,
    device: facts,
    stepTime,
    anchor,
    ...(anchors.length ? { anchors } : {}),
    points: pick.points,
    prefill: { chunk: C, tokensPerS: (C * 1000) / prefillMs, msPerStep: prefillMs },
    rounds,
    stability: { stable, rounds: rounds.length, agree, tolerance, maxSeconds, spread, anchoredSpread, chosen, verdict },
    seconds,
  };
}
