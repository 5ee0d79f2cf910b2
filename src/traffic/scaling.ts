// Explicit time and token scaling, so a real trace fits a small model and a short session, and
// the UI can say exactly what was done ("1 h of trace in 60 s (60× faster); token counts ×0.05,
// prompts clipped at 200 tokens (37 requests)").
// - timeScale: arrivals are divided by it (60: one hour of trace plays in 60 s).
// - tokenScale: token counts are multiplied and rounded; a count ≥ 1 stays ≥ 1.
// - clip (after token scaling): maxPrompt and maxOutput cap each count; maxContext caps
//   prompt + output by trimming the prompt first (keeping ≥ 1 token), then the output, so the
//   decode work, which sets batching, is kept where possible.
import type { Trace, TraceRequest } from './types.js';

export interface ScaleClip {
  maxPrompt?: number;
  maxOutput?: number;
  maxContext?: number;
}

export interface ScaleOptions {
  /** Compression factor for time (> 0); default 1. */
  timeScale?: number;
  /** Multiplier for token counts (> 0); default 1. */
  tokenScale?: number;
  clip?: ScaleClip;
}

export interface ScalingSummary {
  timeScale: number;
  tokenScale: number;
  clip: ScaleClip;
  requests: number;
  /** Trace length before and after time scaling, s (durationS, else the last arrival). */
  originalDurationS: number;
  scaledDurationS: number;
  /** Requests whose scaled count rounded to 0 and was raised to 1. */
  raisedToOne: number;
  /** Requests changed by each clip, and by any clip. */
  promptClipped: number;
  outputClipped: number;
  contextClipped: number;
  clippedRequests: number;
  /** Token totals before (unscaled) and after scaling and clipping. */
  promptTokensBefore: number;
  outputTokensBefore: number;
  promptTokensAfter: number;
  outputTokensAfter: number;
}

function checkPositive(v: number, name: string): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a finite number > 0, got ${v}`);
}

function checkLimit(v: number | undefined, name: string, min: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new RangeError(`clip.${name} must be a whole number ≥ ${min}, got ${v}`);
}

/** Returns a new trace with arrivals and token counts scaled and clipped, and what changed. */
export function scaleTrace(trace: Trace, options: ScaleOptions = {}): { trace: Trace; summary: ScalingSummary } {
  const timeScale = options.timeScale ?? 1;
  const tokenScale = options.tokenScale ?? 1;
  const clip = { ...(options.clip ?? {}) };
  checkPositive(timeScale, 'timeScale');
  checkPositive(tokenScale, 'tokenScale');
  checkLimit(clip.maxPrompt, 'maxPrompt', 1);
  checkLimit(clip.maxOutput, 'maxOutput', 1);
  checkLimit(clip.maxContext, 'maxContext', 2);
  const maxPrompt = clip.maxPrompt ?? Infinity;
  const maxOutput = clip.maxOutput ?? Infinity;
  const maxContext = clip.maxContext ?? Infinity;

  const s: ScalingSummary = {
    timeScale,
    tokenScale,
    clip,
    requests: trace.requests.length,
    originalDurationS: traceDuration(trace),
    scaledDurationS: traceDuration(trace) / timeScale,
    raisedToOne: 0,
    promptClipped: 0,
    outputClipped: 0,
    contextClipped: 0,
    clippedRequests: 0,
    promptTokensBefore: 0,
    outputTokensBefore: 0,
    promptTokensAfter: 0,
    outputTokensAfter: 0,
  };
  const scaleCount = (x: number): number => {
    if (tokenScale === 1 || x === 0) return x;
    const y = Math.round(x * tokenScale);
    return y >= 1 ? y : 1;
  };
  const requests: TraceRequest[] = new Array(trace.requests.length);
  for (let i = 0; i < trace.requests.length; i++) {
    const r = trace.requests[i]!;
    s.promptTokensBefore += r.promptTokens;
    s.outputTokensBefore += r.outputTokens;
    let p = scaleCount(r.promptTokens);
    let o = scaleCount(r.outputTokens);
    if ((r.promptTokens > 0 && Math.round(r.promptTokens * tokenScale) < 1) || (r.outputTokens > 0 && Math.round(r.outputTokens * tokenScale) < 1)) {
      s.raisedToOne++;
    }
    let clipped = false;
    if (p > maxPrompt) {
      p = maxPrompt;
      s.promptClipped++;
      clipped = true;
    }
    if (o > maxOutput) {
      o = maxOutput;
      s.outputClipped++;
      clipped = true;
    }
    if (p + o > maxContext) {
      p = Math.max(Math.min(p, 1), maxContext - o);
      if (p + o > maxContext) o = maxContext - p;
      s.contextClipped++;
      clipped = true;
    }
    if (clipped) s.clippedRequests++;
    s.promptTokensAfter += p;
    s.outputTokensAfter += o;
    requests[i] = { ...r, arrival: r.arrival / timeScale, promptTokens: p, outputTokens: o };
  }
  const out: Trace = { ...trace, requests };
  if (trace.durationS !== undefined) out.durationS = trace.durationS / timeScale;
  return { trace: out, summary: s };
}

/** The window a trace covers, s: its durationS when known, else its last arrival. */
export function traceDuration(trace: Trace): number {
  if (trace.durationS !== undefined) return trace.durationS;
  const n = trace.requests.length;
  return n === 0 ? 0 : trace.requests[n - 1]!.arrival;
}

/** "57.3 min", "1 h", "45 s". */
export function formatDuration(seconds: number): string {
  const p = (v: number): string => `${+v.toPrecision(3)}`;
  if (seconds >= 3600) return `${p(seconds / 3600)} h`;
  if (seconds >= 60) return `${p(seconds / 60)} min`;
  return `${p(seconds)} s`;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** One line for the UI stating every scaling and clip applied, with counts. */
export function describeScaling(s: ScalingSummary): string {
  const parts: string[] = [];
  const factor = (v: number): string => `${+v.toPrecision(3)}×`;
  if (s.timeScale === 1) parts.push(`real time (${formatDuration(s.originalDurationS)} of trace)`);
  else {
    const speed = s.timeScale > 1 ? `${factor(s.timeScale)} faster` : `${factor(1 / s.timeScale)} slower`;
    parts.push(`${formatDuration(s.originalDurationS)} of trace in ${formatDuration(s.scaledDurationS)} (${speed})`);
  }
  if (s.tokenScale === 1) parts.push('token counts unchanged');
  else parts.push(`token counts ×${+s.tokenScale.toPrecision(3)}${s.raisedToOne > 0 ? ` (${plural(s.raisedToOne, 'request')} raised to 1 token)` : ''}`);
  const clips: string[] = [];
  if (s.clip.maxPrompt !== undefined) clips.push(`prompts clipped at ${s.clip.maxPrompt} tokens (${plural(s.promptClipped, 'request')})`);
  if (s.clip.maxOutput !== undefined) clips.push(`outputs clipped at ${s.clip.maxOutput} tokens (${plural(s.outputClipped, 'request')})`);
  if (s.clip.maxContext !== undefined) clips.push(`prompt + output clipped at ${s.clip.maxContext} tokens of context (${plural(s.contextClipped, 'request')})`);
  parts.push(clips.length > 0 ? clips.join(', ') : 'no clipping');
  return parts.join('; ');
}
