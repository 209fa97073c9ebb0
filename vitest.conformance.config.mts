import { defineConfig } from 'vitest/config';

// The conformance tier: real kube-apiserver + etcd + the TypeScript KMS v2 plugin (test/conformance).
// Build the binaries first with `npx tsx conformance/setup.ts`; without them the apiserver tests fail
// with the build instructions. Files run one at a time: each starts its own control plane.
export default defineConfig({
  test: {
    include: ['test/conformance/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    env: { KMSFLOW_CONFORMANCE: '1' },
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: '.cache/vitest-conformance-results.json' }]]
      : ['default'],
  },
});
