// Pieces every trace parser shares: the error type, one-pass line iteration, CSV fields, strict
// number checks, and the final sort-and-rebase step. Validation happens here, at the file
// boundary; everything downstream trusts a Trace.
import type { SkippedRows, Trace, TraceRequest } from './types.js';

/** A trace file that cannot be used at all; the message names the source. */
export class TraceFormatError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
    this.name = 'TraceFormatError';
  }
}

export type BadRow = Trace['badRows'][number];

const MAX_ROW_TEXT = 200;
/** Token counts above this are taken as corruption. */
export const MAX_TOKENS = 1e9;

export function badRow(line: number, reason: string, text: string): BadRow {
  return { line, reason, text: text.length > MAX_ROW_TEXT ? `${text.slice(0, MAX_ROW_TEXT)}…` : text };
}

/**
 * Calls `fn` for every line with its 1-based number, '\r' stripped. Trailing blank lines are not
 * visited (a file may end with newlines); blank lines before the end are, so a parser can report
 * them. One pass, no array of lines; `fn` returning false stops it.
 */
export function forEachLine(text: string, fn: (line: string, lineNo: number) => void | boolean): void {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c === 10 || c === 13 || c === 32 || c === 9) end--;
    else break;
  }
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte-order mark
  let lineNo = 1;
  while (start <= end && end > 0) {
    let nl = text.indexOf('\n', start);
    if (nl < 0 || nl > end) nl = end;
    let stop = nl;
    if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
    if (fn(text.slice(start, stop), lineNo) === false) return;
    lineNo++;
    start = nl + 1;
  }
}

/** The first line (BOM and '\r' stripped), or '' for an empty text. */
export function firstLine(text: string): string {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let nl = text.indexOf('\n', start);
  if (nl < 0) nl = text.length;
  let stop = nl;
  if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
  return text.slice(start, stop);
}

/** Splits a CSV line into fields (RFC 4180 quotes when the line has any). */
export function splitCsv(line: string): string[] {
  if (line.indexOf('"') < 0) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/** Throws unless `line` is the expected CSV header (fields compared after trimming). */
export function checkCsvHeader(source: string, line: string, expected: readonly string[], formatName: string): void {
  const want = expected.join(',');
  if (line.trim() === '') throw new TraceFormatError(source, `empty file or missing header: expected ${formatName} header '${want}'`);
  const got = splitCsv(line).map((f) => f.trim());
  if (got.join(',') === want) return;
  const looksLikeData = /^\s*"?\d/.test(line);
  throw new TraceFormatError(
    source,
    looksLikeData
      ? `missing header: line 1 looks like data ('${clip(line)}'); expected ${formatName} header '${want}'`
      : `wrong header '${clip(line)}'; expected ${formatName} header '${want}'`,
  );
}

/** s cut to n characters, with an ellipsis where it was cut (for messages that quote a row). */
export function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** A whole, non-negative token count, or the reason it is not one. */
export function parseCount(raw: string, name: string): number | string {
  const s = raw.trim();
  if (s === '') return `${name} is missing`;
  const v = Number(s);
  if (Number.isNaN(v) || !Number.isFinite(v)) return `${name} is not a number: '${clip(s, 40)}'`;
  return checkCount(v, name, s);
}

/**
 * The digits of line[start, end) as an integer when they are only ASCII digits (at most 15),
 * else -1: the fast path for CSV counts; callers fall back to parseCount for the reason.
 */
export function plainUint(line: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= MAX_TOKENS ? v : -1;
}

function display(v: unknown, shown: string | undefined): string {
  if (shown !== undefined) return shown;
  return clip(JSON.stringify(v) ?? String(v), 40);
}

/** The same checks for a value that is already a number (JSON); `shown` defaults to its JSON. */
export function checkCount(v: unknown, name: string, shown?: string): number | string {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TOKENS) return v; // fast path
  if (v === undefined || v === null) return `${name} is missing`;
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${name} is not a number: ${display(v, shown)}`;
  if (v < 0) return `${name} is negative: ${display(v, shown)}`;
  if (!Number.isInteger(v)) return `${name} is not a whole number: ${display(v, shown)}`;
  return `${name} is implausibly large: ${display(v, shown)}`;
}

/** A finite, non-negative time, or the reason it is not one. */
export function checkTime(v: unknown, name: string, shown?: string): number | string {
  if (typeof v === 'number' && v >= 0 && v < Infinity) return v; // fast path
  if (v === undefined || v === null) return `${name} is missing`;
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${name} is not a number: ${display(v, shown)}`;
  return `${name} is negative: ${display(v, shown)}`;
}

/** Counts rows left out on purpose, remembering the first few line numbers. */
export class SkipCounter {
  private byReason = new Map<string, SkippedRows>();
  add(reason: string, line: number): void {
    let s = this.byReason.get(reason);
    if (!s) {
      s = { reason, count: 0, firstLines: [] };
      this.byReason.set(reason, s);
    }
    s.count++;
    if (s.firstLines.length < 10) s.firstLines.push(line);
  }
  list(): SkippedRows[] {
    return [...this.byReason.values()];
  }
}

/**
 * Ends a parse: throws when nothing is usable, sorts by arrival (stably, only when the input was
 * out of order, and says so), and rebases raw arrival units so the first request is at 0 s:
 * arrival = (raw − first) / unitsPerSecond. Raw units are exact integers where the format allows
 * (Azure: 100 ns ticks), so the subtraction happens before any rounding.
 */
export function finishTrace(
  source: string,
  format: Trace['format'],
  requests: TraceRequest[],
  badRows: BadRow[],
  unitsPerSecond: number,
  extra: { skipped?: SkippedRows[]; notes?: string[]; rebase?: boolean; durationS?: number } = {},
): Trace {
  const notes = [...(extra.notes ?? [])];
  if (requests.length === 0) {
    const skippedCount = (extra.skipped ?? []).reduce((n, s) => n + s.count, 0);
    const parts = [`no usable rows`];
    if (badRows.length > 0) {
      const first = badRows.slice(0, 3).map((b) => `line ${b.line}: ${b.reason}`);
      parts.push(`${badRows.length} bad row${badRows.length === 1 ? '' : 's'} (${first.join('; ')}${badRows.length > 3 ? '; …' : ''})`);
    }
    if (skippedCount > 0) parts.push(`${skippedCount} rows left out (${(extra.skipped ?? []).map((s) => `${s.count} ${s.reason}`).join('; ')})`);
    if (badRows.length === 0 && skippedCount === 0) parts.push('the file has no data rows');
    throw new TraceFormatError(source, parts.join('; '));
  }
  let sorted = true;
  for (let i = 1; i < requests.length; i++) {
    if (requests[i]!.arrival < requests[i - 1]!.arrival) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    requests.sort((a, b) => a.arrival - b.arrival); // stable: equal arrivals keep file order
    notes.push('input was not in arrival order; sorted (ties keep file order)');
  }
  if (extra.rebase !== false) {
    const first = requests[0]!.arrival;
    for (const r of requests) r.arrival = (r.arrival - first) / unitsPerSecond;
  }
  const trace: Trace = { source, format, requests, badRows };
  if (extra.durationS !== undefined) trace.durationS = extra.durationS;
  if (extra.skipped && extra.skipped.length > 0) trace.skipped = extra.skipped;
  if (notes.length > 0) trace.notes = notes;
  return trace;
}
