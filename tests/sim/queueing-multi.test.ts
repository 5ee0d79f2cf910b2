// Acceptance: with batch size 1 and c = 4 servers behind one FIFO, the simulator's mean waiting
// time matches M/M/c (Erlang C) within 3% at loads 0.5, 0.8 and 0.9 (sizes as in
// queueing-single.test.ts: 3% is about 2.5 standard errors; seed 1).
import { describe, it } from 'vitest';
import { checkQueue } from './queue-helpers.js';

const SIZES: Record<number, number> = { 0.5: 500_000, 0.8: 1_500_000, 0.9: 5_000_000 };

describe('M/M/4 (S = 1 s)', () => {
  for (const rho of [0.5, 0.8, 0.9]) {
    it(`M/M/4 at ρ = ${rho}`, () => {
      checkQueue({ servers: 4, arrivalRate: 4 * rho, meanServiceS: 1, service: 'exponential', requests: SIZES[rho]! }, 1);
    });
  }
});
