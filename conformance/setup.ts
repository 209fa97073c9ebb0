/**
 * `npx tsx conformance/setup.ts`: builds the conformance tier's kube-apiserver and etcd into the
 * kmsflow cache when they are missing (a no-op otherwise) and prints where they are.
 */
import { ensureConformanceBinaries } from './build-binaries';

async function main(): Promise<void> {
  const report = await ensureConformanceBinaries((line) => console.log(line));
  console.log(
    report.built
      ? `Built in ${report.seconds} s: ${JSON.stringify(report.stepSeconds)}`
      : 'Conformance binaries already cached.',
  );
  console.log(`kube-apiserver: ${report.binaries.kubeApiserver}`);
  console.log(`etcd:           ${report.binaries.etcd}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
