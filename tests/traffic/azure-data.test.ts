// The published Azure LLM inference traces (../shared/data; skipped when absent).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAzureCsv } from '../../src/traffic/azure.js';
import { parseTraceAuto } from '../../src/traffic/auto.js';
import { describeScaling, scaleTrace } from '../../src/traffic/scaling.js';
import { traceStats } from '../../src/traffic/stats.js';
import { AZURE_TRACES } from '../helpers/data.js';

const CODE = `${AZURE_TRACES}AzureLLMInferenceTrace_code.csv`;
const CONV = `${AZURE_TRACES}AzureLLMInferenceTrace_conv.csv`;
const HAVE_AZURE = existsSync(CODE) && existsSync(CONV);
const MISSING_AZURE = 'skipped: ../shared/data/traces/azure-llm-2023 is absent';

if (!HAVE_AZURE) it.skip(MISSING_AZURE, () => {});

const within = (value: number, target: number, rel: number): void => {
  expect(Math.abs(value - target) / target, `${value} vs ${target}`).toBeLessThanOrEqual(rel);
};

describe.skipIf(!HAVE_AZURE)('Azure LLM inference traces (2023)', () => {
  const cases = [
    { name: 'code', path: CODE, count: 8819, rate: 2.57, context: 2048, generated: 28, cv: [5, Infinity] },
    { name: 'conv', path: CONV, count: 19366, rate: 5.53, context: 1155, generated: 211, cv: [0.8, 1.5] },
  ] as const;

  for (const c of cases) {
    it(`${c.name}: ${c.count} requests, published rate, burstiness and lengths`, () => {
      const text = readFileSync(c.path, 'utf8');
      const t0 = performance.now();
      const trace = parseAzureCsv(text, c.path);
      const ms = performance.now() - t0;
      console.log(`parsed ${c.name} trace (${(text.length / 1e6).toFixed(2)} MB) in ${ms.toFixed(1)} ms`);
      expect(trace.requests).toHaveLength(c.count);
      expect(trace.badRows).toEqual([]);
      expect(trace.notes).toBeUndefined(); // already in arrival order
      expect(trace.requests[0]!.arrival).toBe(0);
      const s = traceStats(trace);
      console.log(c.name, JSON.stringify(s));
      within(s.meanRate, c.rate, 0.02);
      expect(s.interArrivalCv).toBeGreaterThan(c.cv[0]);
      expect(s.interArrivalCv).toBeLessThan(c.cv[1]);
      within(s.prompt.mean, c.context, 0.05);
      within(s.output.mean, c.generated, 0.05);
      expect(s.durationS).toBeGreaterThan(3300);
      expect(s.durationS).toBeLessThan(3600);
      expect(parseTraceAuto(text, c.path).requests).toEqual(trace.requests);
    });
  }

  it('code trace: first arrivals are exact, and scaling to a tiny model is described', () => {
    const trace = parseAzureCsv(readFileSync(CODE, 'utf8'), 'code');
    // 18:17:03.9799600, 18:17:04.0319600, 18:17:04.0781490
    expect(trace.requests.slice(0, 2).map((r) => r.arrival)).toEqual([0, 0.052]);
    const { trace: small, summary } = scaleTrace(trace, { timeScale: 60, tokenScale: 0.05, clip: { maxContext: 512 } });
    expect(small.requests).toHaveLength(8819);
    expect(Math.max(...small.requests.map((r) => r.promptTokens + r.outputTokens))).toBeLessThanOrEqual(512);
    expect(summary.scaledDurationS).toBeCloseTo(summary.originalDurationS / 60, 9);
    console.log(describeScaling(summary));
  });
});
