import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Real servers, child processes and a PostgreSQL cluster on 2 cores: generous timeouts,
    // and a bounded number of test files at once so timings stay sane.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    // The default report, then every skipped test with its reason (test/skip-reasons.ts).
    reporters: ['default', './test/skip-reasons.ts'],
  },
});
