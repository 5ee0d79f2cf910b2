// What the lab's workers say to each other and to the page:
// - tenant worker -> engine worker (over a MessageChannel port): one message per request;
// - engine worker -> page (a comlink callback, every ~250 ms): a MetricsBatch of new step records,
//   changed request records and the gaps between each request's tokens, as typed-array columns
//   whose buffers are transferred, not copied.
// Pure code: the page, both workers and the Node bench import it.
import type { RequestRecord, RequestStatus, StepRecord } from '../metrics/records.js';

/** A request a tenant sends to the engine worker. */
export interface TenantRequestMessage {
  type: 'request';
  tenant: number;
  /** Prompt token ids (BOS first). */
  prompt: Uint32Array;
  maxOutputTokens: number;
}

// ---------------------------------------------------------------------------------------------
// Step records as columns

export interface StepColumns {
  index: Float64Array;
  start: Float64Array;
  end: Float64Array;
  busy: Float64Array;
  batchSize: Float64Array;
  decodeTokens: Float64Array;
  outputTokens: Float64Array;
  prefillTokens: Float64Array;
  contextTokens: Float64Array;
  queueDepth: Float64Array;
  kvBlocksUsed: Float64Array;
  kvBlocksTotal: Float64Array;
  /** 0 timestamp, 1 wall, 2 model. */
  timing: Uint8Array;
}

const STEP_FIELDS = [
  'index',
  'start',
  'end',
  'busy',
  'batchSize',
  'decodeTokens',
  'outputTokens',
  'prefillTokens',
  'contextTokens',
  'queueDepth',
  'kvBlocksUsed',
  'kvBlocksTotal',
] as const;
const TIMINGS: StepRecord['timing'][] = ['timestamp', 'wall', 'model'];

export function encodeSteps(steps: readonly StepRecord[]): StepColumns {
  const n = steps.length;
  const c = Object.fromEntries(STEP_FIELDS.map((f) => [f, new Float64Array(n)])) as unknown as StepColumns;
  c.timing = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = steps[i]!;
    for (const f of STEP_FIELDS) c[f][i] = s[f];
    c.timing[i] = TIMINGS.indexOf(s.timing);
  }
  return c;
}

export function decodeSteps(c: StepColumns, gpu = 0): StepRecord[] {
  const out: StepRecord[] = new Array(c.index.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = {
      index: c.index[i]!,
      gpu,
      start: c.start[i]!,
      end: c.end[i]!,
      busy: c.busy[i]!,
      timing: TIMINGS[c.timing[i]!] ?? 'wall',
      batchSize: c.batchSize[i]!,
      decodeTokens: c.decodeTokens[i]!,
      outputTokens: c.outputTokens[i]!,
      prefillTokens: c.prefillTokens[i]!,
      contextTokens: c.contextTokens[i]!,
      queueDepth: c.queueDepth[i]!,
      kvBlocksUsed: c.kvBlocksUsed[i]!,
      kvBlocksTotal: c.kvBlocksTotal[i]!,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Request records as columns (NaN: not yet)

export interface RequestColumns {
  id: Float64Array;
  tenant: Float64Array;
  arrival: Float64Array;
  firstToken: Float64Array;
  finish: Float64Array;
  promptTokens: Float64Array;
  outputTokens: Float64Array;
  maxOutputTokens: Float64Array;
  preemptions: Float64Array;
  /** Index into REQUEST_STATUSES. */
  status: Uint8Array;
  /** Reject reasons of rejected requests, by position (sparse). */
  rejectReasons: Record<number, string>;
}

export const REQUEST_STATUSES: RequestStatus[] = ['queued', 'running', 'finished', 'rejected', 'aborted'];
const REQ_FIELDS = ['id', 'tenant', 'arrival', 'promptTokens', 'outputTokens', 'maxOutputTokens', 'preemptions'] as const;

export function encodeRequests(records: readonly Readonly<RequestRecord>[]): RequestColumns {
  const n = records.length;
  const c = Object.fromEntries(REQ_FIELDS.map((f) => [f, new Float64Array(n)])) as unknown as RequestColumns;
  c.firstToken = new Float64Array(n);
  c.finish = new Float64Array(n);
  c.status = new Uint8Array(n);
  c.rejectReasons = {};
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    for (const f of REQ_FIELDS) c[f][i] = r[f];
    c.firstToken[i] = r.firstToken ?? NaN;
    c.finish[i] = r.finish ?? NaN;
    c.status[i] = REQUEST_STATUSES.indexOf(r.status);
    if (r.rejectReason !== undefined) c.rejectReasons[i] = r.rejectReason;
  }
  return c;
}

export function decodeRequests(c: RequestColumns): RequestRecord[] {
  const out: RequestRecord[] = new Array(c.id.length);
  for (let i = 0; i < out.length; i++) {
    const r: RequestRecord = {
      id: c.id[i]!,
      tenant: c.tenant[i]!,
      arrival: c.arrival[i]!,
      promptTokens: c.promptTokens[i]!,
      outputTokens: c.outputTokens[i]!,
      maxOutputTokens: c.maxOutputTokens[i]!,
      preemptions: c.preemptions[i]!,
      status: REQUEST_STATUSES[c.status[i]!] ?? 'queued',
    };
    if (!Number.isNaN(c.firstToken[i]!)) r.firstToken = c.firstToken[i]!;
    if (!Number.isNaN(c.finish[i]!)) r.finish = c.finish[i]!;
    const why = c.rejectReasons[i];
    if (why !== undefined) r.rejectReason = why;
    out[i] = r;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Token gaps as columns

/**
 * One entry per output token after a request's first: the request, the token's time (the end of
 * the step that sampled it, on the run clock) and the gap since the request's previous token, s.
 * A request's gaps in order are vLLM's `itl` list for it; they sum to finish - firstToken.
 */
export interface GapColumns {
  id: Float64Array;
  t: Float64Array;
  gap: Float64Array;
}

export function encodeGaps(id: ArrayLike<number>, t: ArrayLike<number>, gap: ArrayLike<number>): GapColumns {
  if (id.length !== t.length || id.length !== gap.length) {
    throw new RangeError(`gap columns differ in length: id ${id.length}, t ${t.length}, gap ${gap.length}`);
  }
  return { id: Float64Array.from(id), t: Float64Array.from(t), gap: Float64Array.from(gap) };
}

/** The buffers of a batch's columns, for a postMessage / Comlink.transfer list. */
export function batchBuffers(b: MetricsBatch): ArrayBuffer[] {
  const bufs: ArrayBuffer[] = [];
  for (const v of Object.values(b.steps)) if (ArrayBuffer.isView(v)) bufs.push(v.buffer as ArrayBuffer);
  for (const v of Object.values(b.requests)) if (ArrayBuffer.isView(v)) bufs.push(v.buffer as ArrayBuffer);
  for (const v of Object.values(b.gaps)) bufs.push(v.buffer as ArrayBuffer);
  return bufs;
}

// ---------------------------------------------------------------------------------------------
// The metrics stream

/** Records since the previous batch, and where the run stands. */
export interface MetricsBatch {
  /** Which run (startLab's answer); batches of an older run are ignored. */
  run: number;
  /**
   * Run clock, s (pauses excluded), capped at the run's duration: the batch carries every event
   * before it. The last batch may also carry the step that was in flight at the end (it ends
   * after `now`); figures over [0, now) count such a step in proportion.
   */
  now: number;
  steps: StepColumns;
  /**
   * Requests whose record changed since the last batch (arrived, first token, settled); the last
   * batch (done) also carries every request still queued or running, with its current record.
   */
  requests: RequestColumns;
  /** Gaps between consecutive tokens of each request, for the tokens sampled since the last batch. */
  gaps: GapColumns;
  queueDepth: number;
  running: number;
  /** Tenant messages that were not valid requests (with the last reason). */
  badMessages: number;
  lastBadMessage?: string;
  /** The run has ended (its duration reached, or stopped): no batch follows. */
  done: boolean;
  /** A step failed; the run is over. */
  error?: string;
}
