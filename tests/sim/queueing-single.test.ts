// Acceptance: with batch size 1 the simulator's mean waiting time matches M/M/1 and M/D/1
// (Pollaczek–Khinchine) within 3% at loads 0.5, 0.8 and 0.9. Request counts are set so that 3%
// is about 2.5 standard errors of the estimate at each load (the error of a mean wait grows like
// 1/(1 − ρ): 0.9 needs ~8× the requests of 0.8); seed 1 throughout, not chosen.
import { describe, it } from 'vitest';
import { checkQueue } from './queue-helpers.js';

const SIZES: Record<string, Record<number, number>> = {
  exponential: { 0.5: 400_000, 0.8: 1_200_000, 0.9: 3_000_000 },
  deterministic: { 0.5: 200_000, 0.8: 400_000, 0.9: 800_000 },
};

describe('M/M/1 and M/D/1 (S = 1 s)', () => {
  for (const service of ['exponential', 'deterministic'] as const) {
    for (const rho of [0.5, 0.8, 0.9]) {
      it(`${service === 'exponential' ? 'M/M/1' : 'M/D/1'} at ρ = ${rho}`, () => {
        checkQueue({ servers: 1, arrivalRate: rho, meanServiceS: 1, service, requests: SIZES[service]![rho]! }, 1);
      });
    }
  }
});
