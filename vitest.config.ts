import { defineConfig } from 'vitest/config';

// GPU tests run on SwiftShader in CI (slow, CPU-bound): generous timeouts, and at most two
// files at once on the two-core test machine.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
