import { describe, expect, it } from 'vitest';
import { fromColumns, mergeColumnStreams, toColumns } from '../../src/traffic/columns.js';
import { Rng } from '../../src/ops/random.js';

const stream = (arrival: number[], base: number) => ({
  arrival,
  prompt: arrival.map((_, i) => base + i),
  output: arrival.map((_, i) => 100 + base + i),
});

describe('mergeColumnStreams', () => {
  it('merges by arrival, ties to the lower stream, with tenant ids and a limit', () => {
    const s = [stream([0.5, 2, 2, 7], 10), stream([], 20), stream([0.1, 2, 9], 30)];
    const all = mergeColumnStreams(s, { tenantIds: [7, 8, 9] });
    expect([...all.arrival]).toEqual([0.1, 0.5, 2, 2, 2, 7, 9]);
    expect([...all.tenant]).toEqual([9, 7, 7, 7, 9, 7, 9]);
    expect([...all.promptTokens]).toEqual([30, 10, 11, 12, 31, 13, 32]);
    expect([...all.outputTokens]).toEqual([130, 110, 111, 112, 131, 113, 132]);
    const first = mergeColumnStreams(s, { limit: 3 });
    expect([...first.tenant]).toEqual([2, 0, 0]);
    expect(mergeColumnStreams([]).arrival.length).toBe(0);
  });

  it('equals a stable sort of the concatenated streams on random input', () => {
    const rng = new Rng(3);
    const streams = Array.from({ length: 37 }, (_, t) => {
      const a: number[] = [];
      let x = 0;
      for (let i = rng.int(0, 40); i > 0; i--) a.push((x += Math.floor(rng.next() * 4) / 2));
      return stream(a, 1000 * t);
    });
    const merged = fromColumns(mergeColumnStreams(streams));
    const want = streams
      .flatMap((s, t) => s.arrival.map((arrival, i) => ({ arrival, promptTokens: s.prompt[i]!, outputTokens: s.output[i]!, tenant: t })))
      .sort((p, q) => p.arrival - q.arrival || p.tenant - q.tenant || p.promptTokens - q.promptTokens);
    expect(merged).toEqual(fromColumns(toColumns(want)));
  });
});
