// Format detection from the first line, and one entry point that parses any supported trace.
import { AZURE_HEADER, parseAzureCsv } from './azure.js';
import { BURSTGPT_HEADER, parseBurstGptCsv, type BurstGptOptions } from './burstgpt.js';
import { parseMooncakeJsonl, type MooncakeOptions } from './mooncake.js';
import { firstLine, splitCsv, TraceFormatError } from './parse-common.js';
import { PROJECT_FORMAT, parseProjectJson } from './project-json.js';
import type { Trace } from './types.js';

export type TraceFileFormat = Exclude<Trace['format'], 'generated'>;

/** What each format looks like, for error messages and the UI's file picker. */
export const SUPPORTED_FORMATS: Record<TraceFileFormat, string> = {
  azure: `Azure LLM inference CSV (header '${AZURE_HEADER.join(',')}')`,
  burstgpt: `BurstGPT CSV (header '${BURSTGPT_HEADER.join(',')}')`,
  mooncake: 'Mooncake JSONL (one {"timestamp", "input_length", "output_length", "hash_ids"} object per line)',
  json: `Multiplex JSON ({"format": "${PROJECT_FORMAT}", "version": 1, "requests": [...]})`,
};

export interface ParseOptions {
  burstgpt?: BurstGptOptions;
  mooncake?: MooncakeOptions;
}

/** The format of a trace text, judged from its first line (and the project JSON marker), or null. */
export function detectTraceFormat(text: string): TraceFileFormat | null {
  const line = firstLine(text).trim();
  if (line.startsWith('{') || line.startsWith('[')) {
    // The project format names itself near the top (pretty-printed or not).
    const head = text.slice(0, 2000);
    if (/"format"\s*:\s*"multiplex-trace"/.test(head)) return 'json';
    try {
      const o: unknown = JSON.parse(line);
      if (typeof o === 'object' && o !== null && !Array.isArray(o) && ('input_length' in o || 'output_length' in o || 'hash_ids' in o)) {
        return 'mooncake';
      }
    } catch {
      // not a one-object line
    }
    return null;
  }
  const header = splitCsv(line)
    .map((f) => f.trim())
    .join(',');
  if (header === AZURE_HEADER.join(',')) return 'azure';
  if (header === BURSTGPT_HEADER.join(',')) return 'burstgpt';
  return null;
}

/** Detects the format and parses; throws a TraceFormatError listing the formats when unknown. */
export function parseTraceAuto(text: string, source: string, options: ParseOptions = {}): Trace {
  const format = detectTraceFormat(text);
  switch (format) {
    case 'azure':
      return parseAzureCsv(text, source);
    case 'burstgpt':
      return parseBurstGptCsv(text, source, options.burstgpt);
    case 'mooncake':
      return parseMooncakeJsonl(text, source, options.mooncake);
    case 'json':
      return parseProjectJson(text, source);
    case null: {
      const line = firstLine(text).trim();
      const shown = line === '' ? 'the file is empty' : `first line '${line.length > 80 ? `${line.slice(0, 80)}…` : line}'`;
      const list = Object.values(SUPPORTED_FORMATS)
        .map((s) => `  - ${s}`)
        .join('\n');
      throw new TraceFormatError(source, `unrecognised trace format (${shown}). Supported formats:\n${list}`);
    }
  }
}
