import { describe, expect, it } from 'vitest';
import { SUPPORTED_FORMATS, detectTraceFormat, parseTraceAuto } from '../../src/traffic/auto.js';
import { parseAzureCsv } from '../../src/traffic/azure.js';
import { BURSTGPT_FAILURE_REASON, parseBurstGptCsv } from '../../src/traffic/burstgpt.js';
import { parseMooncakeJsonl } from '../../src/traffic/mooncake.js';
import { parseError } from '../helpers/trace-errors.js';
import { parseProjectJson, toProjectJson } from '../../src/traffic/project-json.js';
import type { Trace } from '../../src/traffic/types.js';


const bad = (t: Trace): [number, string][] => t.badRows.map((b) => [b.line, b.reason]);
const arrivals = (t: Trace): number[] => t.requests.map((r) => r.arrival);

describe('Azure LLM trace CSV', () => {
  const header = 'TIMESTAMP,ContextTokens,GeneratedTokens';

  it('parses rows, CRLF and a trailing blank line; arrivals are exact differences', () => {
    const text = [
      header,
      '2023-11-16 18:17:03.9799600,4808,10',
      '2023-11-16 18:17:04.0319600,3180,8',
      '2023-11-16 23:59:59.9999999,110,27',
      '2023-11-17 00:00:00.0000001,5,1',
      '',
      '',
    ].join('\r\n');
    const t = parseAzureCsv(text, 'code.csv');
    expect(t.format).toBe('azure');
    expect(t.source).toBe('code.csv');
    expect(t.badRows).toEqual([]);
    expect(t.notes).toBeUndefined();
    expect(t.requests[0]).toEqual({ arrival: 0, promptTokens: 4808, outputTokens: 10 });
    expect(t.requests[1]!.arrival).toBe(0.052);
    // 18:17:03.9799600 → 23:59:59.9999999 = 20576.0200399 s; midnight crossing is 2e-7 later.
    expect(t.requests[2]!.arrival).toBe(20576.0200399);
    expect(t.requests[3]!.arrival).toBe(20576.0200401);
    expect(t.requests[3]!.arrival - t.requests[2]!.arrival).toBeCloseTo(2e-7, 10); // ulp at 2e4 s is ~4e-12
  });

  it('accepts fewer fractional digits, none, or a T separator', () => {
    const t = parseAzureCsv(`${header}\n2023-01-31 00:00:00,1,1\n2023-01-31T00:00:01.5,2,2\n2023-02-01 00:00:00.25Z,3,3\n`, 'a.csv');
    expect(arrivals(t)).toEqual([0, 1.5, 86400.25]);
    expect(t.badRows).toEqual([]);
  });

  it('sorts out-of-order rows (stably) and says so', () => {
    const t = parseAzureCsv(`${header}\n2023-11-16 18:00:02.0,2,2\n2023-11-16 18:00:01.0,1,1\n2023-11-16 18:00:02.0,3,3\n`, 'u.csv');
    expect(t.requests.map((r) => r.promptTokens)).toEqual([1, 2, 3]);
    expect(arrivals(t)).toEqual([0, 1, 1]);
    expect(t.notes).toEqual(['input was not in arrival order; sorted (ties keep file order)']);
  });

  it('reports bad rows with their line numbers and reasons, and keeps the good ones', () => {
    const text = [
      header, // 1
      '2023-11-16 18:17:03.9799600,4808,10', // 2 good
      '2023-11-16 18:17:04.0000000,abc,8', // 3
      '2023-11-16 18:17:05.0000000,100,-3', // 4
      '2023-11-16 18:17:06.0000000,100', // 5
      '2023-13-16 18:17:07.0000000,100,5', // 6
      'yesterday,100,5', // 7
      '', // 8 (blank, not trailing)
      '2023-11-16 18:17:08.0000000,12.5,5', // 9
      '2023-02-30 18:17:09.0000000,1,5', // 10
      '2023-11-16 18:17:10.123456789,1,5', // 11
      '2023-11-16 18:17:11.0000000,1,2,3', // 12
      '2023-11-16 18:17:12.0000000,,5', // 13
      '2023-11-16 25:17:12.0000000,1,5', // 14
      '2023-11-16 18:17:13.5000000,7,9', // 15 good
    ].join('\n');
    const t = parseAzureCsv(text, 'bad.csv');
    expect(t.requests).toEqual([
      { arrival: 0, promptTokens: 4808, outputTokens: 10 },
      { arrival: 9.52004, promptTokens: 7, outputTokens: 9 },
    ]);
    expect(bad(t)).toEqual([
      [3, "ContextTokens is not a number: 'abc'"],
      [4, 'GeneratedTokens is negative: -3'],
      [5, 'expected 3 fields, found 2'],
      [6, "bad TIMESTAMP '2023-13-16 18:17:07.0000000' (month 13)"],
      [7, "bad TIMESTAMP 'yesterday' (expected YYYY-MM-DD HH:MM:SS.fffffff)"],
      [8, 'blank line'],
      [9, 'ContextTokens is not a whole number: 12.5'],
      [10, "bad TIMESTAMP '2023-02-30 18:17:09.0000000' (day 30 of month 2)"],
      [11, "bad TIMESTAMP '2023-11-16 18:17:10.123456789' (more than 7 fractional digits)"],
      [12, 'expected 3 fields, found 4'],
      [13, 'ContextTokens is missing'],
      [14, "bad TIMESTAMP '2023-11-16 25:17:12.0000000' (time of day out of range)"],
    ]);
    expect(t.badRows[0]!.text).toBe('2023-11-16 18:17:04.0000000,abc,8');
  });

  it('throws on a wrong header, a missing header, an empty file, or no usable rows', () => {
    expect(parseError(() => parseAzureCsv('time,prompt,output\n2023-11-16 18:17:03.9,1,1\n', 'w.csv')).message).toBe(
      "w.csv: wrong header 'time,prompt,output'; expected Azure LLM trace header 'TIMESTAMP,ContextTokens,GeneratedTokens'",
    );
    expect(parseError(() => parseAzureCsv('2023-11-16 18:17:03.9,1,1\n', 'm.csv')).message).toMatch(/^m\.csv: missing header: line 1 looks like data/);
    expect(parseError(() => parseAzureCsv('', 'e.csv')).message).toMatch(/^e\.csv: empty file or missing header/);
    const e = parseError(() => parseAzureCsv(`${header}\nx,1,1\n2023-11-16 18:17:03.9,-1,1\n`, 'n.csv'));
    expect(e.source).toBe('n.csv');
    expect(e.message).toBe(
      "n.csv: no usable rows; 2 bad rows (line 2: bad TIMESTAMP 'x' (expected YYYY-MM-DD HH:MM:SS.fffffff); line 3: ContextTokens is negative: -1)",
    );
    expect(parseError(() => parseAzureCsv(`${header}\n\n\n`, 'h.csv')).message).toBe('h.csv: no usable rows; the file has no data rows');
  });
});

describe('Mooncake JSONL', () => {
  const good = [
    '{"timestamp": 0, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 48]}',
    '{"timestamp": 27482, "input_length": 6472, "output_length": 26, "hash_ids": [46, 47]}',
    '{"timestamp": 30535, "input_length": 6593, "output_length": 14, "hash_ids": []}',
  ];

  it('parses ms timestamps to seconds and keeps hash_ids length on request', () => {
    const t = parseMooncakeJsonl(`${good.join('\n')}\n`, 'mc.jsonl');
    expect(t.format).toBe('mooncake');
    expect(t.requests).toEqual([
      { arrival: 0, promptTokens: 6955, outputTokens: 52 },
      { arrival: 27.482, promptTokens: 6472, outputTokens: 26 },
      { arrival: 30.535, promptTokens: 6593, outputTokens: 14 },
    ]);
    const h = parseMooncakeJsonl(good.join('\n'), 'mc.jsonl', { hashBlocks: true });
    expect(h.requests.map((r) => r.hashBlocks)).toEqual([3, 2, 0]);
  });

  it('rebases to the first request', () => {
    const t = parseMooncakeJsonl('{"timestamp":5000,"input_length":1,"output_length":1,"hash_ids":[]}\n{"timestamp":6500,"input_length":1,"output_length":1,"hash_ids":[]}', 'x');
    expect(arrivals(t)).toEqual([0, 1.5]);
  });

  it('reports bad lines with numbers and reasons', () => {
    const lines = [
      good[0], // 1
      '{"timestamp": 100, "input_length": 5, "output_length": 1', // 2 truncated JSON
      '{"timestamp": "soon", "input_length": 5, "output_length": 1, "hash_ids": []}', // 3
      '{"timestamp": 200, "output_length": 1, "hash_ids": []}', // 4
      '{"timestamp": 300, "input_length": 5, "output_length": -2, "hash_ids": []}', // 5
      '{"timestamp": 400, "input_length": 5, "output_length": 2, "hash_ids": 7}', // 6
      '[1, 2, 3]', // 7
      '{"timestamp": -1, "input_length": 5, "output_length": 2}', // 8
      '{"timestamp": 500, "input_length": 5.5, "output_length": 2}', // 9
      '', // 10
      good[1], // 11
    ];
    const t = parseMooncakeJsonl(lines.join('\n'), 'bad.jsonl');
    expect(t.requests.map((r) => r.promptTokens)).toEqual([6955, 6472]);
    const reasons = bad(t);
    expect(reasons.map(([l]) => l)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(reasons[0]![1]).toMatch(/^not valid JSON \(/);
    expect(reasons.slice(1)).toEqual([
      [3, 'timestamp is not a number: "soon"'],
      [4, 'input_length is missing'],
      [5, 'output_length is negative: -2'],
      [6, 'hash_ids is not an array'],
      [7, 'not a JSON object'],
      [8, 'timestamp is negative: -1'],
      [9, 'input_length is not a whole number: 5.5'],
      [10, 'blank line'],
    ]);
  });

  it('throws when nothing is usable or the file is empty', () => {
    expect(parseError(() => parseMooncakeJsonl('TIMESTAMP,ContextTokens,GeneratedTokens\n', 'c.csv')).message).toMatch(
      /^c\.csv: no usable rows; 1 bad row \(line 1: not valid JSON/,
    );
    expect(parseError(() => parseMooncakeJsonl('\n', 'e.jsonl')).message).toMatch(/^e\.jsonl: empty file/);
  });
});

describe('BurstGPT CSV', () => {
  const header = 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type';
  const text = [
    header, // 1
    '5,ChatGPT,472,18,490,Conversation log', // 2
    '45,ChatGPT,1087,230,1317,Conversation log', // 3
    '118,GPT-4,417,276,693,Conversation log', // 4
    '120,ChatGPT,300,0,300,Conversation log', // 5 failure
    '130,GPT-4,350,0,350,API log', // 6 failure
    '140,ChatGPT,20,40,60,API log', // 7
  ].join('\n');

  it('keeps Model, drops failed requests by default and counts them with their lines', () => {
    const t = parseBurstGptCsv(text, 'b.csv');
    expect(t.format).toBe('burstgpt');
    expect(t.requests).toEqual([
      { arrival: 0, promptTokens: 472, outputTokens: 18, model: 'ChatGPT' },
      { arrival: 40, promptTokens: 1087, outputTokens: 230, model: 'ChatGPT' },
      { arrival: 113, promptTokens: 417, outputTokens: 276, model: 'GPT-4' },
      { arrival: 135, promptTokens: 20, outputTokens: 40, model: 'ChatGPT' },
    ]);
    expect(t.badRows).toEqual([]);
    expect(t.skipped).toEqual([{ reason: BURSTGPT_FAILURE_REASON, count: 2, firstLines: [5, 6] }]);
  });

  it('keeps failed requests marked failed when asked', () => {
    const t = parseBurstGptCsv(text, 'b.csv', { failures: 'keep' });
    expect(t.requests).toHaveLength(6);
    expect(t.requests.filter((r) => r.failed).map((r) => [r.arrival, r.outputTokens])).toEqual([
      [115, 0],
      [125, 0],
    ]);
    expect(t.skipped).toBeUndefined();
    expect(t.notes).toEqual(['2 failed requests (Response tokens 0) kept with failed: true']);
  });

  it('filters by model, counting the rows of other models', () => {
    const t = parseBurstGptCsv(text, 'b.csv', { models: 'GPT-4' });
    expect(t.requests).toEqual([{ arrival: 0, promptTokens: 417, outputTokens: 276, model: 'GPT-4' }]);
    expect(t.skipped).toEqual([
      { reason: "requests to model 'ChatGPT' (not selected)", count: 4, firstLines: [2, 3, 5, 7] },
      { reason: BURSTGPT_FAILURE_REASON, count: 1, firstLines: [6] },
    ]);
    const both = parseBurstGptCsv(text, 'b.csv', { models: ['GPT-4', 'ChatGPT'] });
    expect(both.requests).toHaveLength(4);
    expect(parseError(() => parseBurstGptCsv(text, 'b.csv', { models: 'Llama' })).message).toBe(
      `b.csv: no usable rows; 6 rows left out (4 requests to model 'ChatGPT' (not selected); 2 requests to model 'GPT-4' (not selected))`,
    );
  });

  it('reports bad rows with line numbers and reasons', () => {
    const t = parseBurstGptCsv(
      [
        header,
        '5,ChatGPT,472,18,490,Conversation log', // 2 good
        'x,ChatGPT,1,1,2,Conversation log', // 3
        '6,ChatGPT,-4,1,2,Conversation log', // 4
        '7,ChatGPT,4,1', // 5
        '8,,4,1,5,API log', // 6
        '-9,ChatGPT,4,1,5,API log', // 7
        '10,"GPT-4",4,seven,5,API log', // 8
        '11,"GPT-4",4,7,11,"API log"', // 9 good (quoted fields)
      ].join('\n'),
      'bad.csv',
    );
    expect(t.requests.map((r) => r.model)).toEqual(['ChatGPT', 'GPT-4']);
    expect(bad(t)).toEqual([
      [3, "Timestamp is not a number: x"],
      [4, 'Request tokens is negative: -4'],
      [5, 'expected 6 fields, found 4'],
      [6, 'Model is missing'],
      [7, 'Timestamp is negative: -9'],
      [8, "Response tokens is not a number: 'seven'"],
    ]);
  });

  it('throws on a wrong header', () => {
    expect(parseError(() => parseBurstGptCsv('Timestamp,Model,Request tokens,Response tokens\n', 'w.csv')).message).toBe(
      "w.csv: wrong header 'Timestamp,Model,Request tokens,Response tokens'; expected BurstGPT header 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type'",
    );
  });
});

describe('project JSON', () => {
  const trace: Trace = {
    source: 'mix',
    format: 'generated',
    durationS: 10,
    badRows: [],
    requests: [
      { arrival: 0.1 + 0.2, promptTokens: 12, outputTokens: 5, tenant: 3 },
      { arrival: 1 / 3, promptTokens: 7, outputTokens: 1, tenant: 0, model: 'GPT-4', hashBlocks: 2, failed: true },
      { arrival: 9.999999999999998, promptTokens: 1, outputTokens: 0 },
    ],
  };

  it('round-trips a trace exactly, one request per line', () => {
    const text = toProjectJson(trace);
    expect(text.split('\n')).toHaveLength(trace.requests.length + 3); // head, requests, "]}", ""
    const back = parseProjectJson(text, 'mix.json');
    expect(back.format).toBe('json');
    expect(back.requests).toEqual(trace.requests);
    expect(back.durationS).toBe(10);
    expect(back.badRows).toEqual([]);
    expect(JSON.parse(text)).toMatchObject({ format: 'multiplex-trace', version: 1, source: 'mix' });
  });

  it('reports bad entries by line, also in pretty-printed files', () => {
    const compact = toProjectJson(trace).replace('"in":7', '"in":-7').replace('"t":9.999999999999998', '"t":"late"');
    const t = parseProjectJson(compact, 'c.json');
    expect(bad(t)).toEqual([
      [3, 'request 1: in is negative: -7'],
      [4, 'request 2: t is not a number: "late"'],
    ]);
    const pretty = JSON.stringify({ format: 'multiplex-trace', version: 1, requests: [{ t: 0, in: 1, out: 1 }, { t: 1, in: 1 }, 5] }, null, 2);
    const p = parseProjectJson(pretty, 'p.json');
    expect(p.requests).toHaveLength(1);
    expect(bad(p)).toEqual([
      [10, 'request 1: out is missing'],
      [14, 'request 2: not a JSON object'],
    ]);
  });

  it('throws on invalid JSON, another format, a newer version, or no requests', () => {
    expect(parseError(() => parseProjectJson('{"format":', 'x.json')).message).toMatch(/^x\.json: not valid JSON \(/);
    expect(parseError(() => parseProjectJson('{"format":"other","requests":[]}', 'o.json')).message).toBe(
      'o.json: not a Multiplex trace: expected a JSON object with "format": "multiplex-trace"',
    );
    expect(parseError(() => parseProjectJson('{"format":"multiplex-trace","version":2,"requests":[]}', 'v.json')).message).toBe(
      'v.json: version 2 is newer than this reader (1)',
    );
    expect(parseError(() => parseProjectJson('{"format":"multiplex-trace","version":1,"requests":[]}', 'z.json')).message).toBe(
      'z.json: no usable rows; the file has no data rows',
    );
  });
});

describe('format detection', () => {
  const samples: Record<string, string> = {
    azure: '\uFEFFTIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:17:03.9799600,4808,10\r\n',
    burstgpt: 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n',
    mooncake: '{"timestamp": 0, "input_length": 6955, "output_length": 52, "hash_ids": [46]}\n',
    json: '{"format":"multiplex-trace","version":1,"source":"s","requests":[\n{"t":0,"in":1,"out":1}\n]}\n',
  };

  it('detects each format and parses it', () => {
    for (const [format, text] of Object.entries(samples)) {
      expect(detectTraceFormat(text)).toBe(format);
      const t = parseTraceAuto(text, `${format}.txt`);
      expect(t.format).toBe(format);
      expect(t.requests).toHaveLength(1);
    }
    const pretty = JSON.stringify({ format: 'multiplex-trace', version: 1, requests: [{ t: 0, in: 1, out: 1 }] }, null, 2);
    expect(detectTraceFormat(pretty)).toBe('json');
  });

  it('passes options through', () => {
    const t = parseTraceAuto(samples.mooncake!, 'm', { mooncake: { hashBlocks: true } });
    expect(t.requests[0]!.hashBlocks).toBe(1);
  });

  it('names the supported formats when it cannot tell', () => {
    for (const text of ['time,in,out\n1,2,3\n', '', '{"foo": 1}\n']) {
      const e = parseError(() => parseTraceAuto(text, 'what.txt'));
      expect(e.message).toMatch(/^what\.txt: cannot tell the trace format: /);
      for (const s of Object.values(SUPPORTED_FORMATS)) expect(e.message).toContain(s);
    }
    expect(parseError(() => parseTraceAuto('time,in,out\n', 'w')).message).toContain("line 1 'time,in,out' is neither");
  });
});
