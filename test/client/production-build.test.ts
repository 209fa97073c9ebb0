// The production build the README promises: `npm run build` writes dist/ with the compiled code and the
// prebuilt workflow bundle, and `KMSFLOW_USE_BUILD=1 kmsflow worker` runs from it (no bundling at start)
// and serves a plan made by `KMSFLOW_USE_BUILD=1 kmsflow plan`. A build without its bundle is refused.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DevServer, freePort, startDevServer } from '../../client/dev-server';
import type { PlanResult } from '../../client/output/shapes';
import { type RunningSandbox, startSandbox } from '../../sandbox/sandbox';
import { waitUntil } from '../helpers/wait';
import { runBinary } from './cli-harness';

const BUNDLE = path.resolve('dist/workflow-bundle.js');

let server: DevServer;
let sandbox: RunningSandbox;
let worker: ChildProcess | undefined;
let dir: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-build-'));
  server = await startDevServer();
  sandbox = await startSandbox({
    scenario: {
      tenantId: '72f988bf-0000-4000-a000-00000000c0de',
      subscriptions: [
        {
          id: '11111111-2222-4333-8444-555555555555',
          resourceGroups: [{ name: 'rg-build', location: 'eastus' }],
        },
      ],
      principals: [{ name: 'operator', type: 'User' }],
      operator: 'operator',
      identities: [{ name: 'id-kms' }],
      vaults: [{ name: 'kv-build', enablePurgeProtection: true, keys: [{ name: 'kms', versions: 1 }] }],
      roleAssignments: [
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-build' },
        { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-build' },
      ],
      clusters: [
        {
          name: 'aks-build',
          kubernetesVersion: '1.30',
          identity: 'id-kms',
          secrets: { count: 20, namespaces: 2, seed: 3, maxBytes: 1024 },
        },
      ],
    },
  });
  await sandbox.writeEnvFile(path.join(dir, 'sandbox.env'));
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NO_COLOR: '1',
    KMSFLOW_USE_BUILD: '1',
    TEMPORAL_ADDRESS: server.address,
    KMSFLOW_SANDBOX_ENV: path.join(dir, 'sandbox.env'),
  };
}, 300_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    // A pod's stop: SIGTERM, then the worker drains and exits by itself.
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
  await sandbox?.close();
  await server?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('npm run build writes the compiled CLI and the prebuilt workflow bundle', () => {
  expect(fs.existsSync('dist/client/cli.js')).toBe(true);
  expect(fs.statSync(BUNDLE).size).toBeGreaterThan(100_000);
});

it('KMSFLOW_USE_BUILD=1 kmsflow worker runs from the build, answers its health probe and serves a plan', async () => {
  const healthPort = await freePort();
  worker = spawn(path.resolve('bin/kmsflow'), ['worker', '--health-listen', `127.0.0.1:${healthPort}`], {
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  worker.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  worker.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  await waitUntil(
    async () => log,
    (l) => l.includes('polling task queue') || worker!.exitCode !== null,
    { what: 'the worker to poll', timeoutMs: 60_000 },
  );
  expect(log).toContain(`workflow bundle prebuilt ${BUNDLE}`);
  const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
  expect({ status: health.status, body: await health.json() }).toEqual({
    status: 200,
    body: { state: 'RUNNING' },
  });

  const keyId = (await sandbox.clients().keys('kv-build').getKey('kms')).id!;
  const clusterId = `/subscriptions/${sandbox.subscriptionId}/resourceGroups/rg-build/providers/Microsoft.ContainerService/managedClusters/aks-build`;
  const plan = await runBinary(['plan', 'enable', '--cluster', clusterId, '--key-id', keyId, '--json'], env);
  expect(plan.code, plan.stderr).toBe(0);
  expect(JSON.parse(plan.stdout) as PlanResult).toMatchObject({
    procedure: 'enable-kms',
    ok: true,
    secretsInScope: 20,
  });
}, 120_000);

it('refuses to run a build whose workflow bundle is missing, and names the fix', async () => {
  fs.renameSync(BUNDLE, `${BUNDLE}.away`);
  try {
    const r = await runBinary(['worker'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('KMSFLOW_USE_BUILD=1 but there is no complete build');
    expect(r.stderr).toContain('npm run build');
  } finally {
    fs.renameSync(`${BUNDLE}.away`, BUNDLE);
  }
});
