// BurstGPT CSV (HPMLL/BurstGPT, Azure OpenAI GPT service logs):
//   Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type
//   5,ChatGPT,472,18,490,Conversation log
// Timestamp is seconds from the start of the collection. `Total tokens` is not used (it is the
// sum of the other two). BurstGPT marks failed requests with `Response tokens` 0; they are real
// arrivals whose output is unknown. Policy (`failures`):
//   'drop' (default): left out of `requests`, counted in `skipped` with their first lines;
//   'keep': kept with outputTokens 0 and `failed: true` (an engine must decide what to do).
// A `Log Type` containing "fail" is treated the same way.
import {
  SkipCounter,
  badRow,
  checkCsvHeader,
  checkTime,
  finishTrace,
  forEachLine,
  parseCount,
  plainUint,
  splitCsv,
  type BadRow,
} from './parse-common.js';
import type { Trace, TraceRequest } from './types.js';

export const BURSTGPT_HEADER = ['Timestamp', 'Model', 'Request tokens', 'Response tokens', 'Total tokens', 'Log Type'] as const;

export interface BurstGptOptions {
  /** Keep only requests to these models (exact `Model` values); others are counted in `skipped`. */
  models?: string | readonly string[];
  /** What to do with failed requests (Response tokens 0); default 'drop'. */
  failures?: 'drop' | 'keep';
}

function count(raw: string, name: string): number | string {
  const v = plainUint(raw, 0, raw.length);
  return v >= 0 ? v : parseCount(raw, name);
}

export const BURSTGPT_FAILURE_REASON = 'failed requests (Response tokens 0), dropped';

/** Parses a BurstGPT trace; arrivals relative to the first kept request, s. */
export function parseBurstGptCsv(text: string, source: string, options: BurstGptOptions = {}): Trace {
  const models = options.models === undefined ? null : new Set(typeof options.models === 'string' ? [options.models] : options.models);
  const keepFailures = options.failures === 'keep';
  const requests: TraceRequest[] = [];
  const badRows: BadRow[] = [];
  const skipped = new SkipCounter();
  const modelNames = new Map<string, string>(); // one string per model name, not one per row
  let failuresKept = 0;
  if (!/\S/.test(text)) checkCsvHeader(source, '', BURSTGPT_HEADER, 'BurstGPT');
  forEachLine(text, (line, lineNo) => {
    if (lineNo === 1) {
      checkCsvHeader(source, line, BURSTGPT_HEADER, 'BurstGPT');
      return;
    }
    if (line.trim() === '') {
      badRows.push(badRow(lineNo, 'blank line', line));
      return;
    }
    const f = splitCsv(line);
    if (f.length !== 6) {
      badRows.push(badRow(lineNo, `expected 6 fields, found ${f.length}`, line));
      return;
    }
    const tRaw = f[0]!.trim();
    const t = checkTime(tRaw === '' ? undefined : Number(tRaw), 'Timestamp', tRaw);
    if (typeof t === 'string') {
      badRows.push(badRow(lineNo, t, line));
      return;
    }
    const modelRaw = f[1]!.trim();
    if (modelRaw === '') {
      badRows.push(badRow(lineNo, 'Model is missing', line));
      return;
    }
    const prompt = count(f[2]!, 'Request tokens');
    if (typeof prompt === 'string') {
      badRows.push(badRow(lineNo, prompt, line));
      return;
    }
    const output = count(f[3]!, 'Response tokens');
    if (typeof output === 'string') {
      badRows.push(badRow(lineNo, output, line));
      return;
    }
    let model = modelNames.get(modelRaw);
    if (model === undefined) {
      model = modelRaw;
      modelNames.set(model, model);
    }
    if (models && !models.has(model)) {
      skipped.add(`requests to model '${model}' (not selected)`, lineNo);
      return;
    }
    const failed = output === 0 || /fail/i.test(f[5]!);
    if (failed && !keepFailures) {
      skipped.add(BURSTGPT_FAILURE_REASON, lineNo);
      return;
    }
    const r: TraceRequest = { arrival: t, promptTokens: prompt, outputTokens: output, model };
    if (failed) {
      r.failed = true;
      failuresKept++;
    }
    requests.push(r);
  });
  const notes: string[] = [];
  if (failuresKept > 0) notes.push(`${failuresKept} failed requests (Response tokens 0) kept with failed: true`);
  if (models) {
    const absent = [...models].filter((m) => !modelNames.has(m));
    if (absent.length > 0) notes.push(`selected model${absent.length === 1 ? '' : 's'} ${absent.map((m) => `'${m}'`).join(', ')} not in the file (models seen: ${[...modelNames.keys()].join(', ')})`);
  }
  return finishTrace(source, 'burstgpt', requests, badRows, 1, { skipped: skipped.list(), notes });
}
