import { defineConfig } from 'vitest/config';

// Tests too long for `npm test` (minutes each) that CI still runs: `npm run test:long`.
export default defineConfig({
  test: {
    include: ['test/long/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 180_000,
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.cache/vitest-long-results.json' }]]
      : ['default'],
  },
});
