// Driving the scheduler by hand in tests: one step planned and completed at a fake time, with
// the plan copied out (the scheduler reuses its plan object).
import type { StepRecord } from '../../src/metrics/records.js';
import type { PlanEntry, Scheduler } from '../../src/engine/scheduler.js';

export interface EntrySnap {
  id: number;
  kind: 'decode' | 'prefill';
  start: number;
  n: number;
  samples: boolean;
}

export interface StepSnap {
  entries: EntrySnap[];
  preempted: number[];
  finished: number[];
  record: StepRecord;
}

/** Compact text of a step's entries, e.g. "d0 p1@0+5* p2@0+3" (d: decode, p: prefill, *: samples). */
export function describeEntries(entries: EntrySnap[]): string {
  return entries.map((e) => (e.kind === 'decode' ? `d${e.id}` : `p${e.id}@${e.start}+${e.n}${e.samples ? '*' : ''}`)).join(' ');
}

/**
 * Plans a step at `now`, completes it at now + dt (busy dt, 'model' timing) and returns a copy.
 * `stop(entry)` marks entries whose sampled token ends the request (an EOS).
 */
export function runStep(
  s: Scheduler,
  now: number,
  dt = 1,
  stop?: (e: PlanEntry) => boolean,
): StepSnap | null {
  const plan = s.nextStep(now);
  if (!plan) return null;
  const entries = plan.entries.map((e) => ({ id: e.seq.id, kind: e.kind, start: e.start, n: e.tokens, samples: e.samples }));
  const preempted = plan.preempted.map((x) => x.id);
  const stops = stop ? plan.entries.map((e) => e.samples && stop(e)) : undefined;
  const record = s.completeStep(plan, { start: now, end: now + dt, busy: dt, timing: 'model' }, stops);
  return { entries, preempted, finished: plan.finished.map((x) => x.id), record };
}

/** Runs steps until the scheduler has nothing to do; returns them (throws after `limit`). */
export function drain(s: Scheduler, t0 = 0, dt = 1, limit = 100_000): StepSnap[] {
  const steps: StepSnap[] = [];
  let now = t0;
  for (;;) {
    const st = runStep(s, now, dt);
    if (!st) return steps;
    steps.push(st);
    now += dt;
    if (steps.length > limit) throw new Error(`scheduler did not drain in ${limit} steps`);
  }
}
