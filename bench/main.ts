/**
 * `npm run bench -- <name> [options]`: the benchmarks of kmsflow.
 *   reencrypt   the storage migration: kubectl pipeline vs kmsflow's engine vs a raw client (docs/benchmarks.md)
 *   client-overhead   cost of one no-op PUT through @kubernetes/client-node vs a keep-alive pool
 *   kube-noop   throughput of the emulated Kubernetes API server alone
 *   campaign    a rotate campaign over a sandbox fleet on several worker processes (docs/benchmarks.md)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const [name, ...rest] = process.argv.slice(2);

async function run(): Promise<void> {
  switch (name) {
    case 'reencrypt':
      return (await import('./reencrypt/run')).main(rest);
    case 'campaign':
      return (await import('./campaign/run')).main(rest);
    case 'client-overhead':
      return (await import('./reencrypt/client-overhead')).main();
    case 'kube-noop': {
      // That script runs its own main on load; keep it a separate process.
      const child = spawn(process.execPath, [...process.execArgv, join(__dirname, 'kube-noop.ts'), ...rest], {
        stdio: 'inherit',
      });
      const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
      process.exitCode = code;
      return;
    }
    default:
      console.error(
        'usage: npm run bench -- <reencrypt|campaign|client-overhead|kube-noop> [options]   (reencrypt --help for its options)',
      );
      process.exitCode = 2;
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
