// Format detection from the header and the first rows (a bad first row is a bad row, not a
// rejected file), messages that say what was seen, parser options forced by the caller, quoted
// CSV, and the per-trace report (rows, requests, bad rows, skips, notes).
import { describe, expect, it } from 'vitest';
import { detectTraceFormat, judgeTraceFormat, parseTraceAuto } from '../../src/traffic/auto.js';
import { parseAzureCsv } from '../../src/traffic/azure.js';
import { BURSTGPT_FAILURE_REASON } from '../../src/traffic/burstgpt.js';
import { parseError } from '../helpers/trace-errors.js';
import { formatTraceReport, traceReport } from '../../src/traffic/report.js';


const MOONCAKE_ROW = (t: number) => `{"timestamp": ${t}, "input_length": 100, "output_length": 10, "hash_ids": [1, 2]}`;

describe('format detection from the first rows', () => {
  it('a Mooncake file whose first row is bad is still Mooncake, and the row is reported by line', () => {
    const text = ['{"timestamp": 0, "input_length": 10', MOONCAKE_ROW(1000), MOONCAKE_ROW(2000), MOONCAKE_ROW(3000)].join('\n');
    expect(detectTraceFormat(text)).toBe('mooncake');
    const t = parseTraceAuto(text, 'm.jsonl');
    expect(t.format).toBe('mooncake');
    expect(t.requests).toHaveLength(3);
    expect(t.badRows.map((b) => b.line)).toEqual([1]);
    expect(t.badRows[0]!.reason).toMatch(/^not valid JSON/);
  });

  it('a Mooncake file that starts with a blank line, or whose first object lacks the lengths', () => {
    expect(detectTraceFormat(`\n${MOONCAKE_ROW(0)}\n${MOONCAKE_ROW(5)}\n`)).toBe('mooncake');
    const t = parseTraceAuto(`{"timestamp": 0}\n${MOONCAKE_ROW(5)}\n${MOONCAKE_ROW(9)}\n`, 'm2.jsonl');
    expect(t.format).toBe('mooncake');
    expect(t.badRows.map((b) => [b.line, b.reason])).toEqual([[1, 'input_length is missing']]);
  });

  it('one good Mooncake row among garbage is not enough', () => {
    expect(detectTraceFormat(`hello\nworld\n${MOONCAKE_ROW(0)}\nagain\n`)).toBeNull();
  });

  it('says what it saw when it cannot tell: line 1 and the rows after it', () => {
    const csv = parseError(() => parseTraceAuto('time,in,out\n1,2,3\n4,5,6\n7,8,9\n10,11,12\n', 'what.csv'));
    expect(csv.message).toMatch(/^what\.csv: cannot tell the trace format: line 1 'time,in,out' is neither an Azure or BurstGPT header nor a Mooncake JSON object/);
    expect(csv.message).toContain('lines 2–4 are CSV rows of 3 fields');
    const headerless = parseError(() => parseTraceAuto('2023-11-16 18:17:03.9799600,4808,10\n2023-11-16 18:17:04.0319600,3180,8\n', 'nohead.csv'));
    expect(headerless.message).toContain("lines 1–2 are Azure data rows: the header 'TIMESTAMP,ContextTokens,GeneratedTokens' is missing");
    const near = parseError(() => parseTraceAuto('Timestamp,Model,Request tokens,Response tokens\n5,ChatGPT,1,2\n', 'near.csv'));
    expect(near.message).toContain("it has 4 of the 6 BurstGPT columns (missing 'Total tokens', 'Log Type')");
    const json = parseError(() => parseTraceAuto('{"foo": 1}\n{"foo": 2}\n', 'j.jsonl'));
    expect(json.message).toContain('lines 1–2 are JSON objects without input_length or output_length');
    expect(parseError(() => parseTraceAuto('\n\n', 'e.txt')).message).toContain('the file is empty');
    const v = judgeTraceFormat('time,in,out\n');
    expect(v.format).toBeNull();
  });

  it('a forced format skips detection and lets that parser name the problem', () => {
    const burst = 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n';
    expect(parseError(() => parseTraceAuto(burst, 'b.csv', { format: 'azure' })).message).toMatch(/^b\.csv: wrong header .* expected Azure LLM trace header/);
    expect(parseTraceAuto(burst, 'b.csv', { format: 'burstgpt' }).requests).toHaveLength(1);
  });
});

describe('quoted CSV rows (RFC 4180)', () => {
  it('Azure rows with quoted fields parse like unquoted ones', () => {
    const t = parseAzureCsv(
      ['"TIMESTAMP","ContextTokens","GeneratedTokens"', '"2023-11-16 18:17:03.9799600","4808","10"', '2023-11-16 18:17:04.0319600,3180,8', '"2023-11-16 18:17:05.0","1,2",3'].join('\n'),
      'q.csv',
    );
    expect(t.requests.map((r) => [r.promptTokens, r.outputTokens])).toEqual([
      [4808, 10],
      [3180, 8],
    ]);
    expect(t.requests[1]!.arrival).toBeCloseTo(0.052, 9);
    expect(t.badRows.map((b) => [b.line, b.reason])).toEqual([[4, "ContextTokens is not a number: '1,2'"]]);
  });
});

describe('trace report', () => {
  const text = [
    'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type',
    '5,ChatGPT,472,18,490,Conversation log',
    '3,ChatGPT,300,0,300,Conversation log', // failure, and out of order
    'x,ChatGPT,1,1,2,Conversation log', // bad
    '1,GPT-4,350,20,370,API log', // out of order
  ].join('\n');

  it('counts every row: requests, bad rows (with lines), skips by reason, notes', () => {
    const r = traceReport('b.csv', parseTraceAuto(text, 'b.csv'));
    expect(r).toEqual({
      path: 'b.csv',
      format: 'burstgpt',
      rows: 4,
      requests: 2,
      badRows: 1,
      firstBadRows: [{ line: 4, reason: 'Timestamp is not a number: x' }],
      skipped: [{ reason: BURSTGPT_FAILURE_REASON, count: 1, firstLines: [3] }],
      notes: ['input was not in arrival order; sorted (ties keep file order)'],
    });
    const lines = formatTraceReport(r);
    expect(lines[0]).toBe('trace b.csv (BurstGPT CSV): 4 rows → 2 requests; 1 bad row left out (line 4: Timestamp is not a number: x); 1 skipped');
    expect(lines).toContain(`  skipped: 1 ${BURSTGPT_FAILURE_REASON} (line 3)`);
    expect(lines).toContain('  note: input was not in arrival order; sorted (ties keep file order)');
  });

  it('a clean trace reads as one line', () => {
    const r = traceReport('a.csv', parseAzureCsv('TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,4808,10\n', 'a.csv'));
    expect(formatTraceReport(r)).toEqual(['trace a.csv (Azure CSV): 1 row → 1 request; nothing left out']);
  });
});

describe('BurstGPT model filter', () => {
  it('notes a selected model that never occurs (a typo reads as a note, not as silence)', () => {
    const text = 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n6,GPT-4,4,1,5,API log\n';
    const t = parseTraceAuto(text, 'b.csv', { burstgpt: { models: ['GPT-4', 'GPT4o'] } });
    expect(t.requests).toHaveLength(1);
    expect(t.notes).toEqual(["selected model 'GPT4o' not in the file (models seen: ChatGPT, GPT-4)"]);
    expect(parseTraceAuto(text, 'b.csv', { burstgpt: { models: ['GPT-4', 'ChatGPT'] } }).notes).toBeUndefined();
  });
});
