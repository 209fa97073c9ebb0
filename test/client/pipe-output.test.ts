// Piped output arrives whole: a multi-megabyte `--json` answer of a real `kmsflow` process, read through a
// pipe by a reader slower than the writer. An exit before stdout drained used to cut it at 128 KiB.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterInspection } from '../../sandbox/inspect';
import { type RunningSandbox, startSandbox } from '../../sandbox/sandbox';

let sandbox: RunningSandbox;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-pipe-'));
  sandbox = await startSandbox({
    scenario: {
      tenantId: '72f988bf-0000-4000-a000-00000000c0de',
      subscriptions: [
        {
          id: '11111111-2222-4333-8444-555555555555',
          resourceGroups: [{ name: 'rg-pipe', location: 'eastus' }],
        },
      ],
      principals: [{ name: 'operator', type: 'User' }],
      operator: 'operator',
      clusters: [
        {
          name: 'aks-big',
          kubernetesVersion: '1.30',
          secrets: { count: 12_000, namespaces: 8, seed: 9, maxBytes: 512 },
        },
      ],
    },
  });
  await sandbox.writeEnvFile(path.join(dir, 'sandbox.env'));
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `kmsflow ARGS`, reading its stdout in small bites with pauses, as `| slow-consumer` would. */
function readSlowly(args: string[]): Promise<{ code: number | null; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.resolve('bin/kmsflow'), args, {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 3);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, bytes: Buffer.concat(chunks) }));
  });
}

it('delivers a multi-megabyte --json answer whole through a pipe read slowly', async () => {
  const expected = sandbox.kubeCluster('aks-big')!.etcdView().length;
  const { code, bytes } = await readSlowly([
    'sandbox',
    'inspect',
    '--cluster',
    'aks-big',
    '--json',
    '--entries',
    '--sandbox-env',
    path.join(dir, 'sandbox.env'),
  ]);
  expect(code).toBe(0);
  expect(bytes.length).toBeGreaterThan(2 * 1024 * 1024);
  const inspection = JSON.parse(bytes.toString('utf8')) as ClusterInspection;
  expect(inspection.etcdEntries).toHaveLength(expected);
}, 120_000);
