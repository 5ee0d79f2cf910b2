// Azure LLM inference trace CSV (Splitwise, Azure Public Dataset):
//   TIMESTAMP,ContextTokens,GeneratedTokens
//   2023-11-16 18:17:03.9799600,4808,10
// TIMESTAMP is UTC with up to 7 fractional digits (100 ns). It is parsed exactly: whole
// seconds from the date parts, the fraction as an integer count of 100 ns ticks, so arrivals
// are (ticks − first ticks) / 1e7 with a single rounding, not differences of large floats.
import { badRow, checkCsvHeader, finishTrace, forEachLine, parseCount, plainUint, splitCsv, type BadRow } from './parse-common.js';
import type { Trace, TraceRequest } from './types.js';

export const AZURE_HEADER = ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'] as const;

const TICKS_PER_SECOND = 1e7;

/** Result slot for the timestamp parser (avoids an object per row). */
const ts = { epochSeconds: 0, ticks: 0 };
let cachedDay = -1; // yyyymmdd of the last date seen, and its epoch seconds
let cachedDaySeconds = 0;

function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function badTimestamp(s: string, start: number, end: number, why: string): string {
  return `bad TIMESTAMP '${s.slice(start, end)}' (${why})`;
}

/**
 * Parses `YYYY-MM-DD HH:MM:SS[.f{1,7}]` in s[start, end) (surrounding spaces, a 'T' separator
 * and a trailing 'Z' are accepted) into `ts` as whole UTC seconds since the epoch plus 100 ns
 * ticks. Returns null, or why it failed.
 */
function parseTimestampAt(s: string, start: number, end: number): string | null {
  while (start < end && s.charCodeAt(start) === 32) start++;
  while (end > start && s.charCodeAt(end - 1) === 32) end--;
  if (start === end) return 'TIMESTAMP is missing';
  let n = end - start;
  if (s.charCodeAt(end - 1) === 90 /* Z */) n--;
  const o = start;
  const sep = s.charCodeAt(o + 10);
  if (n < 19 || s.charCodeAt(o + 4) !== 45 || s.charCodeAt(o + 7) !== 45 || (sep !== 32 && sep !== 84) || s.charCodeAt(o + 13) !== 58 || s.charCodeAt(o + 16) !== 58) {
    return badTimestamp(s, start, end, 'expected YYYY-MM-DD HH:MM:SS.fffffff');
  }
  const year = digits(s, o, 4);
  const month = digits(s, o + 5, 2);
  const day = digits(s, o + 8, 2);
  const hour = digits(s, o + 11, 2);
  const minute = digits(s, o + 14, 2);
  const second = digits(s, o + 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return badTimestamp(s, start, end, 'expected YYYY-MM-DD HH:MM:SS.fffffff');
  let ticks = 0;
  if (n > 19) {
    const fracDigits = n - 20;
    if (s.charCodeAt(o + 19) !== 46 /* . */ || fracDigits < 1) return badTimestamp(s, start, end, 'expected YYYY-MM-DD HH:MM:SS.fffffff');
    if (fracDigits > 7) return badTimestamp(s, start, end, 'more than 7 fractional digits');
    const f = digits(s, o + 20, fracDigits);
    if (f < 0) return badTimestamp(s, start, end, 'expected YYYY-MM-DD HH:MM:SS.fffffff');
    ticks = f * 10 ** (7 - fracDigits);
  }
  if (month < 1 || month > 12) return badTimestamp(s, start, end, `month ${month}`);
  if (hour > 23 || minute > 59 || second > 59) return badTimestamp(s, start, end, 'time of day out of range');
  const dayKey = year * 10000 + month * 100 + day;
  if (dayKey !== cachedDay) {
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day < 1 || day > daysInMonth) return badTimestamp(s, start, end, `day ${day} of month ${month}`);
    cachedDay = dayKey;
    cachedDaySeconds = Date.UTC(year, month - 1, day) / 1000;
  }
  ts.epochSeconds = cachedDaySeconds + hour * 3600 + minute * 60 + second;
  ts.ticks = ticks;
  return null;
}

/** An Azure TIMESTAMP as UTC epoch seconds (a float: for display, not for arrival arithmetic). */
export function azureTimestampSeconds(raw: string): number {
  const err = parseTimestampAt(raw, 0, raw.length);
  if (err) throw new RangeError(err);
  return ts.epochSeconds + ts.ticks / TICKS_PER_SECOND;
}

/** Parses an Azure LLM inference trace; arrivals relative to the first request, s. */
export function parseAzureCsv(text: string, source: string): Trace {
  const requests: TraceRequest[] = [];
  const badRows: BadRow[] = [];
  let baseSeconds = NaN; // epoch seconds of the first good row; raw arrivals are ticks from it
  if (!/\S/.test(text)) checkCsvHeader(source, '', AZURE_HEADER, 'Azure LLM trace');
  forEachLine(text, (row, lineNo) => {
    let line = row;
    if (lineNo === 1) {
      checkCsvHeader(source, line, AZURE_HEADER, 'Azure LLM trace');
      return;
    }
    if (line.trim() === '') {
      badRows.push(badRow(lineNo, 'blank line', row));
      return;
    }
    let c1: number;
    let c2: number;
    if (line.indexOf('"') >= 0) {
      // RFC 4180 quotes: the fields unquoted, joined; c1 and c2 mark the field boundaries (a
      // quoted field may hold a comma, which then fails its number check by name).
      const f = splitCsv(line);
      if (f.length !== 3) {
        badRows.push(badRow(lineNo, `expected 3 fields, found ${f.length}`, row));
        return;
      }
      line = f.join(',');
      c1 = f[0]!.length;
      c2 = c1 + 1 + f[1]!.length;
    } else {
      c1 = line.indexOf(',');
      c2 = c1 < 0 ? -1 : line.indexOf(',', c1 + 1);
      if (c2 < 0 || line.indexOf(',', c2 + 1) >= 0) {
        badRows.push(badRow(lineNo, `expected 3 fields, found ${line.split(',').length}`, row));
        return;
      }
    }
    const tsErr = parseTimestampAt(line, 0, c1);
    if (tsErr) {
      badRows.push(badRow(lineNo, tsErr, row));
      return;
    }
    let prompt: number | string = plainUint(line, c1 + 1, c2);
    if (prompt < 0) prompt = parseCount(line.slice(c1 + 1, c2), 'ContextTokens');
    if (typeof prompt === 'string') {
      badRows.push(badRow(lineNo, prompt, row));
      return;
    }
    let output: number | string = plainUint(line, c2 + 1, line.length);
    if (output < 0) output = parseCount(line.slice(c2 + 1), 'GeneratedTokens');
    if (typeof output === 'string') {
      badRows.push(badRow(lineNo, output, row));
      return;
    }
    if (Number.isNaN(baseSeconds)) baseSeconds = ts.epochSeconds;
    // Exact integer (|Δ| < 2^53 / 1e7 s ≈ 28 years).
    const raw = (ts.epochSeconds - baseSeconds) * TICKS_PER_SECOND + ts.ticks;
    requests.push({ arrival: raw, promptTokens: prompt, outputTokens: output });
  });
  return finishTrace(source, 'azure', requests, badRows, TICKS_PER_SECOND);
}
