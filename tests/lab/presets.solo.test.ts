// Each preset's lesson, through `lab run` (finding 8), on this machine's GPU in Node: Dawn
// (SwiftShader where there is no GPU), or the CPU reference when Dawn finds no adapter (the output
// says which). Fixed SLOs (TTFT 2 s, TPOT 0.5 s) and wide margins, short runs; one calibration
// serves all three runs (the command reuses a calibration that covers the next run: it anchors
// max batch 1 as well as 16). 'solo'
// project: nothing else shares the cores while it measures.
// - pooled-8 (ρ 0.4 in total): the queue stays bounded and the SLO is met;
// - overload (ρ 1.6): capacity utilization passes 85%, and p99 TTFT (the waiting requests at their
//   age) at the end is well above its value a third of the way in;
// - no-batching: the same requests as pooled-8, and it falls behind.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLabRun, type LabRunDeps } from '../../src/cli/lab-run.js';
import { openModel, type OpenedModel } from '../../src/cli/model-files.js';
import type { RunExport } from '../../src/lab/export.js';
import type { RequestRecord } from '../../src/metrics/records.js';

const SECONDS = 12;
const SLO = ['--set', 'ttft=2', '--set', 'tpot=0.5'];

let opened: OpenedModel;
let dir: string;
const deps: LabRunDeps & { cache: NonNullable<LabRunDeps['cache']> } = { cache: {}, stderr: () => {} };
const runs = new Map<string, RunExport>();

/** `lab run --preset id --seconds SECONDS` with the fixed SLOs; the export it wrote. */
async function labRun(id: string): Promise<RunExport> {
  const have = runs.get(id);
  if (have) return have;
  const out = join(dir, `${id}.json`);
  let summary = '';
  expect(await runLabRun(['--preset', id, '--seconds', String(SECONDS), ...SLO, '--out', out], { ...deps, stdout: (s) => (summary += s) })).toBe(0);
  console.log(summary);
  const e = JSON.parse(readFileSync(out, 'utf8')) as RunExport;
  runs.set(id, e);
  return e;
}

/** Failure messages carry the calibration's verdict: a device whose speed changed while it was
 * calibrated (a busy machine) cannot hold a lesson set against its capacity, and says so. */
function why(e: RunExport, what: string): string {
  const cal = e.calibration as { stability: { verdict: string } };
  return `${what} (calibration: ${cal.stability.verdict})`;
}

/** The chart's p99 TTFT with the waiting requests (10 s window) at the bucket that ends at or after t, s. */
function p99WithWaitingAt(e: RunExport, t: number): number {
  const s = e.series!;
  const k = s.t.findIndex((t0) => t0 + s.interval >= t - 1e-9);
  return (s.ttftP99WithWaiting[k < 0 ? s.t.length - 1 : k] ?? NaN) / 1000;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lab-presets-'));
  try {
    opened = await openModel({}, 'gpu', { maxSequences: 32 });
  } catch (e) {
    console.log(`no WebGPU adapter (${(e as Error).message}): the presets run on the CPU reference`);
    opened = await openModel({}, 'cpu', { maxSequences: 32 });
  }
  console.log(`presets on ${opened.backend.kind === 'gpu' ? `Dawn: ${opened.label}` : opened.label}`);
  deps.open = async () => opened;
}, 120_000);

afterAll(() => {
  opened?.backend.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('preset lessons through lab run', () => {
  it('pooled-8: the queue stays bounded and the SLO is met', async () => {
    const e = await labRun('pooled-8');
    const run = e.figures!.run;
    const m = e.metrics!;
    expect(m.completed).toBeGreaterThan(20);
    // Bounded: a short queue on average, and at the end at most two batches still in the engine
    // (overload ends with well over a hundred).
    expect(run.meanQueueDepth, why(e, 'mean queue')).toBeLessThan(4);
    expect(m.pending, why(e, 'pending at the end')).toBeLessThanOrEqual(32);
    expect(m.slo_attainment_with_waiting, why(e, 'SLO attainment with the waiting requests')).toBeGreaterThanOrEqual(0.9);
    expect(run.capacityUtilization, why(e, 'capacity utilization')).toBeLessThan(0.75);
  });

  it('overload: capacity utilization passes 85% and p99 TTFT grows', async () => {
    const e = await labRun('overload');
    const run = e.figures!.run;
    const m = e.metrics!;
    expect(run.capacityUtilization, why(e, 'capacity utilization')).toBeGreaterThan(0.85);
    // The queue grows all along: p99 TTFT over the last 10 s, waiting requests at their age, at the
    // end against a third of the way in (it grows about in proportion to the time elapsed).
    const early = p99WithWaitingAt(e, SECONDS / 3);
    const late = p99WithWaitingAt(e, SECONDS);
    console.log(`overload: p99 TTFT with the waiting requests at ${SECONDS / 3} s ${early.toFixed(2)} s, at ${SECONDS} s ${late.toFixed(2)} s`);
    expect(late, why(e, 'p99 TTFT with the waiting requests at the end')).toBeGreaterThan(2 * early);
    // The tail is counted: waiting requests raise p99 and lower attainment.
    expect(m.p99_ttft_ms_with_waiting).toBeGreaterThanOrEqual(m.p99_ttft_ms);
    expect(m.max_pending_age_ms).toBeGreaterThan(0);
    expect(m.slo_attainment_with_waiting).toBeLessThan(m.slo_attainment);
  });

  it('no-batching: the same traffic as pooled-8, and it falls behind', async () => {
    const p8 = await labRun('pooled-8');
    const nb = await labRun('no-batching');
    // Same requests offered: per tenant the same prompts and outputs in the same order, arriving
    // at the same times (up to the timers' jitter; one may fall on either side of the end).
    const byTenant = (e: RunExport) => {
      const m = new Map<number, RequestRecord[]>();
      for (const r of (e.requests as RequestRecord[]).sort((x, y) => x.arrival - y.arrival)) m.set(r.tenant, [...(m.get(r.tenant) ?? []), r]);
      return m;
    };
    const A = byTenant(p8);
    const B = byTenant(nb);
    expect([...B.keys()].sort()).toEqual([...A.keys()].sort());
    for (const [t, as] of A) {
      const bs = B.get(t)!;
      expect(Math.abs(as.length - bs.length), `tenant ${t}`).toBeLessThanOrEqual(1);
      for (let i = 0; i < Math.min(as.length, bs.length); i++) {
        expect([bs[i]!.promptTokens, bs[i]!.maxOutputTokens]).toEqual([as[i]!.promptTokens, as[i]!.maxOutputTokens]);
        expect(Math.abs(bs[i]!.arrival - as[i]!.arrival)).toBeLessThan(0.3);
      }
    }
    // The same traffic is more than a batch-1 server can serve: it offers over its capacity,
    // completes fewer of the same requests, leaves more waiting, and their TTFT is longer.
    expect(nb.figures!.run.offeredLoad, why(nb, 'no-batching offered load')).toBeGreaterThan(1);
    expect(p8.figures!.run.offeredLoad).toBeLessThan(0.6);
    const a = p8.metrics!;
    const b = nb.metrics!;
    expect(b.completed).toBeLessThan(a.completed);
    expect(b.pending).toBeGreaterThan(a.pending);
    expect(b.p99_ttft_ms_with_waiting).toBeGreaterThan(1.5 * a.p99_ttft_ms_with_waiting);
  });
});
