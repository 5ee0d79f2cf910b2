// The project's own trace format: one JSON document, written one request per line so files
// diff well and bad entries can be reported by line.
//   {"format":"multiplex-trace","version":1,"source":"...","durationS":3600,"requests":[
//   {"t":0,"in":812,"out":41,"tenant":3},
//   {"t":0.27,"in":95,"out":210,"tenant":0,"model":"GPT-4","blocks":2,"failed":true}
//   ]}
// t: arrival, s from the start of the trace (kept as written: not rebased to the first request,
// so a trace round-trips exactly); in/out: prompt/output tokens; tenant, model, blocks
// (hashBlocks), failed: optional. durationS (optional): the window the trace covers.
import { badRow, checkCount, checkTime, finishTrace, TraceFormatError, type BadRow } from './parse-common.js';
import type { Trace, TraceRequest } from './types.js';

export const PROJECT_FORMAT = 'multiplex-trace';
export const PROJECT_VERSION = 1;

/** Serialises a trace in the project's format (arrivals kept exactly; bad rows are not written). */
export function toProjectJson(trace: Trace): string {
  const head: Record<string, unknown> = { format: PROJECT_FORMAT, version: PROJECT_VERSION, source: trace.source };
  if (trace.durationS !== undefined) head.durationS = trace.durationS;
  // Hand-written per line (String(n) is JSON's number form for finite n): ~10× faster than
  // JSON.stringify per object on million-request traces.
  const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');
  const lines = trace.requests.map((r) => {
    let line = `{"t":${num(r.arrival)},"in":${num(r.promptTokens)},"out":${num(r.outputTokens)}`;
    if (r.tenant !== undefined) line += `,"tenant":${num(r.tenant)}`;
    if (r.model !== undefined) line += `,"model":${JSON.stringify(r.model)}`;
    if (r.hashBlocks !== undefined) line += `,"blocks":${num(r.hashBlocks)}`;
    if (r.failed) line += ',"failed":true';
    return `${line}}`;
  });
  const open = JSON.stringify(head).slice(0, -1) + ',"requests":[';
  return `${open}\n${lines.join(',\n')}\n]}\n`;
}

/** Parses a project trace. Entries that cannot be used are reported by line, like CSV rows. */
export function parseProjectJson(text: string, source: string): Trace {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TraceFormatError(source, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || (doc as { format?: unknown }).format !== PROJECT_FORMAT) {
    throw new TraceFormatError(source, `not a Multiplex trace: expected a JSON object with "format": "${PROJECT_FORMAT}"`);
  }
  const d = doc as Record<string, unknown>;
  if (d.version !== PROJECT_VERSION) {
    throw new TraceFormatError(
      source,
      typeof d.version === 'number' && d.version > PROJECT_VERSION
        ? `version ${d.version} is newer than this reader (${PROJECT_VERSION})`
        : `unsupported version ${JSON.stringify(d.version)} (expected ${PROJECT_VERSION})`,
    );
  }
  if (!Array.isArray(d.requests)) throw new TraceFormatError(source, '"requests" is missing or not an array');
  let durationS: number | undefined;
  if (d.durationS !== undefined) {
    if (typeof d.durationS !== 'number' || !Number.isFinite(d.durationS) || d.durationS < 0) {
      throw new TraceFormatError(source, `"durationS" must be a non-negative number, found ${JSON.stringify(d.durationS)}`);
    }
    durationS = d.durationS;
  }
  const requests: TraceRequest[] = [];
  const bad: { index: number; reason: string; text: string }[] = [];
  d.requests.forEach((e: unknown, index: number) => {
    const reason = checkEntry(e, requests);
    if (reason !== null) bad.push({ index, reason, text: JSON.stringify(e) ?? String(e) });
  });
  let badRows: BadRow[] = [];
  if (bad.length > 0) {
    const lines = requestLines(text);
    badRows = bad.map((b) => badRow(lines[b.index] ?? 1, `request ${b.index}: ${b.reason}`, b.text));
  }
  const extra: { rebase: false; durationS?: number } = { rebase: false };
  if (durationS !== undefined) extra.durationS = durationS;
  return finishTrace(source, 'json', requests, badRows, 1, extra);
}

/** Validates one entry and appends it; returns why it is unusable, or null. */
function checkEntry(e: unknown, out: TraceRequest[]): string | null {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'not a JSON object';
  const o = e as Record<string, unknown>;
  const t = checkTime(o.t, 't');
  if (typeof t === 'string') return t;
  const p = checkCount(o.in, 'in');
  if (typeof p === 'string') return p;
  const q = checkCount(o.out, 'out');
  if (typeof q === 'string') return q;
  const r: TraceRequest = { arrival: t, promptTokens: p, outputTokens: q };
  if (o.tenant !== undefined) {
    if (typeof o.tenant !== 'number' || !Number.isInteger(o.tenant) || o.tenant < 0) return `tenant must be a non-negative integer, found ${JSON.stringify(o.tenant)}`;
    r.tenant = o.tenant;
  }
  if (o.model !== undefined) {
    if (typeof o.model !== 'string') return `model must be a string, found ${JSON.stringify(o.model)}`;
    r.model = o.model;
  }
  if (o.blocks !== undefined) {
    const b = checkCount(o.blocks, 'blocks');
    if (typeof b === 'string') return b;
    r.hashBlocks = b;
  }
  if (o.failed !== undefined) {
    if (typeof o.failed !== 'boolean') return `failed must be true or false, found ${JSON.stringify(o.failed)}`;
    if (o.failed) r.failed = true;
  }
  out.push(r);
  return null;
}

/**
 * The 1-based line on which each element of the top-level "requests" array starts. A single
 * scan that tracks strings and nesting; run only when there is something to report.
 */
function requestLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let key = '';
  let arrayDepth = -1; // depth inside the requests array, while in it
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (arrayDepth >= 0 && depth === arrayDepth && expectElement && c !== 93 /* ] */) {
      lines.push(line);
      expectElement = false;
    }
    if (c === 34 /* " */) {
      const start = i + 1;
      i++;
      while (i < text.length && text.charCodeAt(i) !== 34) {
        if (text.charCodeAt(i) === 92 /* \ */) i++;
        i++;
      }
      if (depth === 1) key = text.slice(start, i);
      continue;
    }
    if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (c === 91 && depth === 2 && key === 'requests' && arrayDepth < 0) {
        arrayDepth = depth;
        expectElement = true;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      if (depth === arrayDepth) arrayDepth = -2; // the requests array closed
      depth--;
    } else if (c === 44 /* , */ && depth === arrayDepth) {
      expectElement = true;
    }
  }
  return lines;
}
