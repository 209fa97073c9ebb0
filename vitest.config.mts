import { defineConfig } from 'vitest/config';

// Temporal test files each start one dev server and one workflow bundle; on a 2-core machine
// they run one file at a time so startup never races the 5 s-class timeouts of the SDK.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The conformance tier (real kube-apiserver + etcd) has its own config: npm run test:conformance; tests of
    // several minutes each run with npm run test:long.
    exclude: ['test/conformance/**', 'test/long/**', 'node_modules/**'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.cache/vitest-results.json' }]]
      : ['default'],
  },
});
