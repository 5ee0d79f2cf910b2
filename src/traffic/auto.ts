// Format detection from the header and the first rows, and one entry point that parses any
// supported trace. A CSV format is told by its header (line 1); Mooncake JSONL, which has none,
// by most of its first rows being Mooncake objects, so one bad first row is a bad row of the file
// (reported by line) rather than a reason to reject it; the project JSON names itself. When no
// format fits, the error says what line 1 and the rows after it look like.
import { AZURE_HEADER, parseAzureCsv } from './azure.js';
import { BURSTGPT_HEADER, parseBurstGptCsv, type BurstGptOptions } from './burstgpt.js';
import { parseMooncakeJsonl, type MooncakeOptions } from './mooncake.js';
import { clip, firstLine, forEachLine, splitCsv, TraceFormatError } from './parse-common.js';
import { PROJECT_FORMAT, parseProjectJson } from './project-json.js';
import type { Trace } from './types.js';

export type TraceFileFormat = Exclude<Trace['format'], 'generated'>;
export const TRACE_FILE_FORMATS: readonly TraceFileFormat[] = ['azure', 'burstgpt', 'mooncake', 'json'];

/** What each format looks like, for error messages and the UI's file picker. */
export const SUPPORTED_FORMATS: Record<TraceFileFormat, string> = {
  azure: `Azure LLM inference CSV (header '${AZURE_HEADER.join(',')}')`,
  burstgpt: `BurstGPT CSV (header '${BURSTGPT_HEADER.join(',')}')`,
  mooncake: 'Mooncake JSONL (one {"timestamp", "input_length", "output_length", "hash_ids"} object per line)',
  json: `Multiplex JSON ({"format": "${PROJECT_FORMAT}", "version": 1, "requests": [...]})`,
};

export interface ParseOptions {
  /** Parse as this format instead of detecting it (that parser then names any problem). */
  format?: TraceFileFormat;
  burstgpt?: BurstGptOptions;
  mooncake?: MooncakeOptions;
}

/** Non-blank lines detection looks at (line 1 and the rows after it). */
const SAMPLE_LINES = 4;

type RowKind = 'mooncake' | 'json-other' | 'json-bad' | 'azure-row' | 'burstgpt-row' | 'text' | `csv-${number}`;

const AZURE_TIME = /^\s*"?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}/;
const NUMBER_START = /^\s*"?-?\d/;

function classify(line: string): RowKind {
  const s = line.trim();
  if (s.startsWith('{') || s.startsWith('[')) {
    let o: unknown;
    try {
      o = JSON.parse(s);
    } catch {
      return 'json-bad';
    }
    if (typeof o === 'object' && o !== null && !Array.isArray(o) && ('input_length' in o || 'output_length' in o || 'hash_ids' in o)) return 'mooncake';
    return 'json-other';
  }
  const f = splitCsv(s);
  if (f.length === AZURE_HEADER.length && AZURE_TIME.test(f[0]!)) return 'azure-row';
  if (f.length === BURSTGPT_HEADER.length && NUMBER_START.test(f[0]!)) return 'burstgpt-row';
  return f.length === 1 ? 'text' : `csv-${f.length}`;
}

function describeKind(k: RowKind, many: boolean): string {
  const is = many ? 'are' : 'is';
  const s = many ? 's' : '';
  switch (k) {
    case 'mooncake':
      return `${is} Mooncake object${s}`;
    case 'json-other':
      return `${is} JSON object${s} without input_length or output_length`;
    case 'json-bad':
      return `${is} not valid JSON`;
    case 'azure-row':
      return `${is} Azure data row${s}: the header '${AZURE_HEADER.join(',')}' is missing`;
    case 'burstgpt-row':
      return `${is} CSV row${s} of 6 fields starting with a number (BurstGPT data?): the header '${BURSTGPT_HEADER.join(',')}' is missing`;
    case 'text':
      return `${is} text without commas`;
    default:
      return `${is} CSV row${s} of ${k.slice(4)} fields`;
  }
}

/** The first `n` non-blank lines with their 1-based numbers (BOM and '\r' stripped). */
function sampleLines(text: string, n: number): { line: string; no: number }[] {
  const out: { line: string; no: number }[] = [];
  forEachLine(text, (line, no) => {
    if (line.trim() !== '') out.push({ line, no });
    return out.length < n;
  });
  return out;
}

/** How close line 1 is to a CSV header: "it has 4 of the 6 BurstGPT columns (missing ...)", or null. */
function nearHeader(line: string): string | null {
  const got = new Set(splitCsv(line).map((f) => f.trim().toLowerCase()));
  let best: string | null = null;
  let bestShare = 0.5; // at least half the columns, to say anything
  for (const [name, header] of [
    ['Azure', AZURE_HEADER],
    ['BurstGPT', BURSTGPT_HEADER],
  ] as const) {
    const missing = header.filter((h) => !got.has(h.toLowerCase()));
    const share = (header.length - missing.length) / header.length;
    if (share < bestShare) continue;
    bestShare = share;
    best =
      missing.length === 0
        ? `it has the ${name} columns, but not as '${header.join(',')}' (letter case, order or extra columns differ)`
        : `it has ${header.length - missing.length} of the ${header.length} ${name} columns (missing ${missing.map((m) => `'${m}'`).join(', ')})`;
  }
  return best;
}

export type FormatJudgement = { format: TraceFileFormat } | { format: null; saw: string };

/** The format of a trace text, or what its first lines look like when no format fits. */
export function judgeTraceFormat(text: string): FormatJudgement {
  const sample = sampleLines(text, SAMPLE_LINES);
  if (sample.length === 0) return { format: null, saw: 'the file is empty' };
  const first = sample[0]!.line.trim();
  if ((first.startsWith('{') || first.startsWith('[')) && new RegExp(`"format"\\s*:\\s*"${PROJECT_FORMAT}"`).test(text.slice(0, 2000))) {
    return { format: 'json' };
  }
  const line1 = firstLine(text);
  const header = splitCsv(line1)
    .map((f) => f.trim())
    .join(',');
  if (header === AZURE_HEADER.join(',')) return { format: 'azure' };
  if (header === BURSTGPT_HEADER.join(',')) return { format: 'burstgpt' };
  const kinds = sample.map((s) => classify(s.line));
  const mooncake = kinds.filter((k) => k === 'mooncake').length;
  if (mooncake > 0 && 2 * mooncake >= kinds.length) return { format: 'mooncake' };

  // Nothing fits: describe line 1 (unless it is data like the rest) and the rows after it.
  const parts: string[] = [];
  let rows = sample;
  let rowKinds = kinds;
  const dataLike = (k: RowKind) => k === 'azure-row' || k === 'burstgpt-row' || k === 'mooncake' || k === 'json-other';
  if (line1.trim() === '') parts.push('line 1 is blank (a CSV header must be on line 1)');
  else if (!dataLike(kinds[0]!) || (kinds.length > 1 && kinds[1] !== kinds[0])) {
    const near = nearHeader(line1);
    parts.push(`line 1 '${clip(line1.trim())}' is neither an Azure or BurstGPT header nor a Mooncake JSON object${near ? `; ${near}` : ''}`);
    rows = sample.slice(1);
    rowKinds = kinds.slice(1);
  }
  for (let i = 0; i < rows.length; ) {
    let j = i;
    while (j + 1 < rows.length && rowKinds[j + 1] === rowKinds[i] && rows[j + 1]!.no === rows[j]!.no + 1) j++;
    const many = j > i;
    parts.push(`${many ? `lines ${rows[i]!.no}–${rows[j]!.no}` : `line ${rows[i]!.no}`} ${describeKind(rowKinds[i]!, many)}`);
    i = j + 1;
  }
  if (rows.length === 0) parts.push('and no other lines');
  return { format: null, saw: parts.join('; ') };
}

/** The format of a trace text, judged from its header and first rows, or null. */
export function detectTraceFormat(text: string): TraceFileFormat | null {
  return judgeTraceFormat(text).format;
}

/** Parses as options.format, or as the detected format; throws a TraceFormatError saying what it saw when it cannot tell. */
export function parseTraceAuto(text: string, source: string, options: ParseOptions = {}): Trace {
  const judged: FormatJudgement = options.format ? { format: options.format } : judgeTraceFormat(text);
  switch (judged.format) {
    case 'azure':
      return parseAzureCsv(text, source);
    case 'burstgpt':
      return parseBurstGptCsv(text, source, options.burstgpt);
    case 'mooncake':
      return parseMooncakeJsonl(text, source, options.mooncake);
    case 'json':
      return parseProjectJson(text, source);
    case null: {
      const list = Object.values(SUPPORTED_FORMATS)
        .map((s) => `  - ${s}`)
        .join('\n');
      throw new TraceFormatError(source, `cannot tell the trace format: ${judged.saw}. Supported formats:\n${list}`);
    }
  }
}
