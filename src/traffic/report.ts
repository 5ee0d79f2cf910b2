// What a parse did to a trace file, as data (for result JSON and the page) and as text (for the
// CLI): every data row is a request, a bad row (line and reason) or a skipped row (filter or
// policy, by reason), so rows = requests + badRows + skipped; notes say what else was done.
import type { SkippedRows, Trace } from './types.js';

export interface TraceReport {
  /** The path as the config names it. */
  path: string;
  format: Trace['format'];
  /** Data rows (entries) read: requests + badRows + the skipped counts. */
  rows: number;
  requests: number;
  badRows: number;
  /** The first few bad rows (line numbers 1-based, header included). */
  firstBadRows: { line: number; reason: string }[];
  skipped: SkippedRows[];
  notes: string[];
}

export const FORMAT_NAMES: Record<Trace['format'], string> = {
  azure: 'Azure CSV',
  burstgpt: 'BurstGPT CSV',
  mooncake: 'Mooncake JSONL',
  json: 'Multiplex JSON',
  generated: 'generated',
};

const FIRST_BAD = 5;

export function traceReport(path: string, trace: Trace): TraceReport {
  const skipped = (trace.skipped ?? []).map((s) => ({ reason: s.reason, count: s.count, firstLines: [...s.firstLines] }));
  const skippedCount = skipped.reduce((n, s) => n + s.count, 0);
  return {
    path,
    format: trace.format,
    rows: trace.requests.length + trace.badRows.length + skippedCount,
    requests: trace.requests.length,
    badRows: trace.badRows.length,
    firstBadRows: trace.badRows.slice(0, FIRST_BAD).map((b) => ({ line: b.line, reason: b.reason })),
    skipped,
    notes: [...(trace.notes ?? [])],
  };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** "line 5" / "lines 5, 6, …": the lines listed, with an ellipsis when there are more. */
function lineList(lines: readonly number[], total: number): string {
  return `${lines.length === 1 && total === 1 ? 'line' : 'lines'} ${lines.join(', ')}${total > lines.length ? ', …' : ''}`;
}

/** The report as text: one summary line, then one indented line per skip reason and per note. */
export function formatTraceReport(r: TraceReport): string[] {
  const skippedCount = r.skipped.reduce((n, s) => n + s.count, 0);
  const parts = [`${plural(r.rows, 'row')} → ${plural(r.requests, 'request')}`];
  if (r.badRows > 0) {
    const first = r.firstBadRows.slice(0, 3).map((b) => `line ${b.line}: ${b.reason}`);
    parts.push(`${plural(r.badRows, 'bad row')} left out (${first.join('; ')}${r.badRows > first.length ? '; …' : ''})`);
  }
  if (skippedCount > 0) parts.push(`${skippedCount.toLocaleString('en-US')} skipped`);
  if (r.badRows === 0 && skippedCount === 0) parts.push('nothing left out');
  const out = [`trace ${r.path} (${FORMAT_NAMES[r.format]}): ${parts.join('; ')}`];
  for (const s of r.skipped) out.push(`  skipped: ${s.count.toLocaleString('en-US')} ${s.reason} (${lineList(s.firstLines, s.count)})`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  return out;
}
