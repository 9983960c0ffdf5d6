import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The default output, then the list of skipped tests and missing prerequisites.
    reporters: ['default', './test/helpers/skip-reporter.ts'],
  },
});
