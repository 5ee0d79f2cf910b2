import { defineConfig } from 'vitest/config';

// GPU tests run on SwiftShader in CI (slow, CPU-bound): generous timeouts, and at most two
// files at once on the two-core test machine.
//
// Two projects. 'main': every suite, two files at a time. 'solo': the tests that compare timings
// measured on this machine (files named *.solo.test.ts: the live-vs-simulated fidelity check),
// run one file at a time after 'main' (scripts/test.mjs runs them as two phases), so that no other
// test file shares the two cores with them.
const shared = { environment: 'node' as const, pool: 'forks' as const, testTimeout: 120_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { ...shared, name: 'main', include: ['tests/**/*.test.ts'], exclude: ['tests/**/*.solo.test.ts', '**/node_modules/**'], maxWorkers: 2 } },
      { test: { ...shared, name: 'solo', include: ['tests/**/*.solo.test.ts'], maxWorkers: 1, fileParallelism: false } },
    ],
  },
});
