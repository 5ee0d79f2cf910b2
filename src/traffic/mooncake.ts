// Mooncake JSONL (kvcache-ai/Mooncake traces): one JSON object per line,
//   {"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, ...]}
// timestamp in ms from the start of the trace; hash_ids lists the prompt's KV-cache block
// hashes (prefix sharing); only its length is kept (as `hashBlocks`), and only on request.
import { badRow, checkCount, checkTime, finishTrace, forEachLine, TraceFormatError, type BadRow } from './parse-common.js';
import type { Trace, TraceRequest } from './types.js';

export interface MooncakeOptions {
  /** Keep hash_ids' length as `hashBlocks` (default false). */
  hashBlocks?: boolean;
}

/** Parses a Mooncake trace; arrivals relative to the first request, s. */
export function parseMooncakeJsonl(text: string, source: string, options: MooncakeOptions = {}): Trace {
  const requests: TraceRequest[] = [];
  const badRows: BadRow[] = [];
  if (!/\S/.test(text)) {
    throw new TraceFormatError(source, 'empty file; expected Mooncake JSONL (one {"timestamp", "input_length", "output_length", "hash_ids"} object per line)');
  }
  forEachLine(text, (line, lineNo) => {
    if (line.trim() === '') {
      badRows.push(badRow(lineNo, 'blank line', line));
      return;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      badRows.push(badRow(lineNo, `not valid JSON (${(e as Error).message})`, line));
      return;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      badRows.push(badRow(lineNo, 'not a JSON object', line));
      return;
    }
    const o = obj as Record<string, unknown>;
    const t = checkTime(o.timestamp, 'timestamp');
    if (typeof t === 'string') {
      badRows.push(badRow(lineNo, t, line));
      return;
    }
    const prompt = checkCount(o.input_length, 'input_length');
    if (typeof prompt === 'string') {
      badRows.push(badRow(lineNo, prompt, line));
      return;
    }
    const output = checkCount(o.output_length, 'output_length');
    if (typeof output === 'string') {
      badRows.push(badRow(lineNo, output, line));
      return;
    }
    if (o.hash_ids !== undefined && !Array.isArray(o.hash_ids)) {
      badRows.push(badRow(lineNo, 'hash_ids is not an array', line));
      return;
    }
    const r: TraceRequest = { arrival: t, promptTokens: prompt, outputTokens: output };
    if (options.hashBlocks && Array.isArray(o.hash_ids)) r.hashBlocks = o.hash_ids.length;
    requests.push(r);
  });
  return finishTrace(source, 'mooncake', requests, badRows, 1000);
}
