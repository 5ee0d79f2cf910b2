// Shared by the queueing-theory tests: run the textbook queue shorthand and print the simulated
// mean wait beside the closed form.
import { expect } from 'vitest';
import { runSimulation, type QueueSpec } from '../../src/sim/index.js';

/** Relative tolerance of the acceptance criterion on the mean waiting time. */
export const TOLERANCE = 0.03;

export function checkQueue(q: QueueSpec, seed: number): void {
  const t0 = performance.now();
  const r = runSimulation({ seed, queue: q });
  const check = r.queueing!;
  const { theory, simulated, relativeError } = check;
  const ms = performance.now() - t0;
  console.log(
    `${theory.model} ρ=${theory.utilization.toFixed(2)} n=${q.requests}: Wq simulated ${simulated.waitS.toFixed(4)} s, ` +
      `theory ${theory.waitS.toFixed(4)} s (${(100 * relativeError.waitS).toFixed(2)}%); W ${simulated.timeInSystemS.toFixed(4)} vs ` +
      `${theory.timeInSystemS.toFixed(4)} s; utilization ${simulated.utilization.toFixed(4)} vs ${theory.utilization.toFixed(4)} ` +
      `(${(ms / 1000).toFixed(1)} s)`,
  );
  expect(theory.exact).toBe(true);
  expect(simulated.requests).toBe(q.requests);
  expect(Math.abs(relativeError.waitS)).toBeLessThan(TOLERANCE);
  expect(Math.abs(relativeError.timeInSystemS)).toBeLessThan(TOLERANCE);
  expect(Math.abs(relativeError.utilization)).toBeLessThan(0.01);
}
