import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/ops/random.js';
import { describeScaling, formatDuration, scaleTrace } from '../../src/traffic/scaling.js';
import { traceStats } from '../../src/traffic/stats.js';
import type { Trace, TraceRequest } from '../../src/traffic/types.js';

const trace = (requests: TraceRequest[], durationS?: number): Trace => {
  const t: Trace = { source: 'test', format: 'json', requests, badRows: [] };
  if (durationS !== undefined) t.durationS = durationS;
  return t;
};

describe('scaleTrace', () => {
  const hour = trace(
    [
      { arrival: 0, promptTokens: 1000, outputTokens: 10, tenant: 2 }, // → 50, 1 (0.5 rounds up)
      { arrival: 60, promptTokens: 9, outputTokens: 200 }, // 9 → 0.45 → raised to 1; 10
      { arrival: 120, promptTokens: 8000, outputTokens: 6000 }, // 400, 300: prompt clip 200, output clip 250, context
      { arrival: 1800, promptTokens: 4100, outputTokens: 0, model: 'x' }, // 205 → clipped 200; 0 stays 0
      { arrival: 3599, promptTokens: 100, outputTokens: 4000 }, // 5, 200: context 512 fine
    ],
    3600,
  );

  it('compresses time, scales and rounds tokens, and counts what changed', () => {
    const { trace: out, summary } = scaleTrace(hour, { timeScale: 60, tokenScale: 0.05 });
    expect(out.requests.map((r) => [r.arrival, r.promptTokens, r.outputTokens])).toEqual([
      [0, 50, 1],
      [1, 1, 10],
      [2, 400, 300],
      [30, 205, 0],
      [3599 / 60, 5, 200],
    ]);
    expect(out.requests[0]!.tenant).toBe(2);
    expect(out.requests[3]!.model).toBe('x');
    expect(out.durationS).toBe(60);
    expect(summary).toMatchObject({
      requests: 5,
      originalDurationS: 3600,
      scaledDurationS: 60,
      raisedToOne: 1,
      clippedRequests: 0,
      promptTokensBefore: 1000 + 9 + 8000 + 4100 + 100,
      promptTokensAfter: 50 + 1 + 400 + 205 + 5,
      outputTokensAfter: 1 + 10 + 300 + 0 + 200,
    });
    expect(hour.requests[0]!.promptTokens).toBe(1000); // input untouched
    expect(describeScaling(summary)).toBe('1 h of trace in 1 min (60× faster); token counts ×0.05 (1 request raised to 1 token); no clipping');
  });

  it('clips prompts, outputs and context (prompt trimmed first), with counts', () => {
    const { trace: out, summary } = scaleTrace(hour, { timeScale: 60, tokenScale: 0.05, clip: { maxPrompt: 200, maxOutput: 250, maxContext: 300 } });
    expect(out.requests.map((r) => [r.promptTokens, r.outputTokens])).toEqual([
      [50, 1],
      [1, 10],
      [50, 250], // 400→200 (prompt), 300→250 (output), 200+250>300 → prompt 50
      [200, 0],
      [5, 200], // 5+200 ≤ 300
    ]);
    expect(summary).toMatchObject({ promptClipped: 2, outputClipped: 1, contextClipped: 1, clippedRequests: 2 });
    expect(describeScaling(summary)).toBe(
      '1 h of trace in 1 min (60× faster); token counts ×0.05 (1 request raised to 1 token); prompts clipped at 200 tokens (2 requests), outputs clipped at 250 tokens (1 request), prompt + output clipped at 300 tokens of context (1 request)',
    );
  });

  it('trims the output too when it alone exceeds the context, keeping one prompt token', () => {
    const { trace: out, summary } = scaleTrace(trace([{ arrival: 0, promptTokens: 10, outputTokens: 600 }]), { clip: { maxContext: 512 } });
    expect(out.requests[0]).toMatchObject({ promptTokens: 1, outputTokens: 511 });
    expect(summary.contextClipped).toBe(1);
  });

  it('describes real time and slow motion; durations fall back to the last arrival', () => {
    const t = trace([
      { arrival: 0, promptTokens: 1, outputTokens: 1 },
      { arrival: 45, promptTokens: 1, outputTokens: 1 },
    ]);
    expect(describeScaling(scaleTrace(t).summary)).toBe('real time (45 s of trace); token counts unchanged; no clipping');
    expect(describeScaling(scaleTrace(t, { timeScale: 0.5 }).summary)).toBe('45 s of trace in 1.5 min (2× slower); token counts unchanged; no clipping');
    expect(formatDuration(3435.948)).toBe('57.3 min');
    expect(formatDuration(5400)).toBe('1.5 h');
  });

  it('rejects bad options', () => {
    expect(() => scaleTrace(hour, { timeScale: 0 })).toThrow('timeScale must be a finite number > 0, got 0');
    expect(() => scaleTrace(hour, { tokenScale: -1 })).toThrow('tokenScale must be a finite number > 0');
    expect(() => scaleTrace(hour, { clip: { maxContext: 1 } })).toThrow('clip.maxContext must be a whole number ≥ 2, got 1');
    expect(() => scaleTrace(hour, { clip: { maxPrompt: 2.5 } })).toThrow('clip.maxPrompt must be a whole number ≥ 1');
  });
});

describe('traceStats', () => {
  it('computes rate, inter-arrival CV, token percentiles and offered load', () => {
    const t = trace([
      { arrival: 0, promptTokens: 10, outputTokens: 1, tenant: 1 },
      { arrival: 1, promptTokens: 20, outputTokens: 2, tenant: 1 },
      { arrival: 3, promptTokens: 30, outputTokens: 3, tenant: 4 },
      { arrival: 6, promptTokens: 40, outputTokens: 100 },
    ]);
    const s = traceStats(t);
    expect(s.count).toBe(4);
    expect(s.tenants).toBe(2);
    expect(s.durationS).toBe(6);
    expect(s.meanRate).toBeCloseTo(4 / 6, 12);
    expect(s.interArrivalCv).toBeCloseTo(Math.sqrt(2 / 3) / 2, 12); // gaps 1, 2, 3
    expect(s.prompt).toEqual({ mean: 25, p50: 20, p99: 40, max: 40, total: 100 });
    expect(s.output).toEqual({ mean: 26.5, p50: 2, p99: 100, max: 100, total: 106 });
    expect(s.offeredTokensPerS).toBeCloseTo(206 / 6, 12);
    expect(s.outputTokensPerS).toBeCloseTo(106 / 6, 12);
    // A declared window is used for rates.
    expect(traceStats({ ...t, durationS: 10 }).meanRate).toBeCloseTo(0.4, 12);
  });

  it('percentiles match a full sort on many duplicates (nearest rank)', () => {
    const rng = new Rng(4);
    const requests: TraceRequest[] = [];
    for (let i = 0; i < 20_001; i++) requests.push({ arrival: i, promptTokens: rng.int(1, 50), outputTokens: Math.floor(1 / (1 - rng.next())) });
    const s = traceStats(trace(requests));
    for (const [key, st] of [['promptTokens', s.prompt], ['outputTokens', s.output]] as const) {
      const sorted = requests.map((r) => r[key]).sort((a, b) => a - b);
      expect(st.p50).toBe(sorted[Math.ceil(0.5 * sorted.length) - 1]);
      expect(st.p99).toBe(sorted[Math.ceil(0.99 * sorted.length) - 1]);
      expect(st.max).toBe(sorted[sorted.length - 1]);
    }
    expect(s.interArrivalCv).toBe(0);
  });

  it('handles tiny traces', () => {
    const one = traceStats(trace([{ arrival: 0, promptTokens: 5, outputTokens: 5 }]));
    expect(one).toMatchObject({ count: 1, durationS: 0, meanRate: 0, offeredTokensPerS: 0 });
    expect(one.interArrivalCv).toBeNaN();
  });
});
