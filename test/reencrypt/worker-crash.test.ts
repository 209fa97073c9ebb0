import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterSubmission } from '../../activities/cluster';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { ReencryptResult, reencryptSecrets } from '../../workflows/reencrypt';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';

const scenario: ScenarioInput = {
  seed: 41,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    {
      id: '11111111-2222-4333-8444-555555555555',
      resourceGroups: [{ name: 'rg-crash', location: 'eastus' }],
    },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-crash', keys: [{ name: 'k', versions: 2 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-crash' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-crash' },
  ],
  clusters: [
    {
      name: 'aks-crash',
      kubernetesVersion: '1.30',
      identity: 'id-kms',
      kms: { vault: 'kv-crash', key: 'k', version: 1, networkAccess: 'Public' },
      secrets: { count: 300, namespaces: 4, seed: 9, maxBytes: 4000 },
    },
  ],
};

let env: KmsflowTestEnv;
let dir: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-crash-'));
  await env.sandbox.writeEnvFile(path.join(dir, 'sandbox.env'));
  fs.writeFileSync(path.join(dir, 'bundle.js'), env.workflowBundle.code);
});

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await env?.teardown();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--require', require.resolve('tsx/cjs'), path.resolve('test/helpers/worker-process.ts')],
    {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.temporal.server.address,
        KMSFLOW_TASK_QUEUE: env.taskQueue,
        KMSFLOW_SANDBOX_ENV: path.join(dir, 'sandbox.env'),
        KMSFLOW_WORKFLOW_BUNDLE: path.join(dir, 'bundle.js'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  workers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('worker ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
  });
  return child;
}

const CONCURRENCY = 4;
/** Every PUT of a user Secret, whatever the sandbox answered (kmsflow's own markers left out). */
const secretPuts = () =>
  env.sandbox.oplog
    .entries({ service: 'kube', method: 'PUT' })
    .filter((e) => /\/secrets\//.test(e.path) && !e.path.includes('/namespaces/kmsflow-system/'));
const rewrites = () => secretPuts().filter((e) => e.detail?.startsWith('rewritten'));

it('a worker killed in the middle of a page is replaced and the run resumes without redoing finished work', async () => {
  const clusterId = env.clusterId('aks-crash');
  const [, newKey] = (await env.keyVersions('kv-crash', 'k')) as [string, string];
  const canary = await env.activities.writeMarker({ clusterId, name: 'kmsflow-canary', nonce: 'crash' });
  const change = { kind: 'enable-kms' as const, keyId: newKey, networkAccess: 'Public' as const };
  const activityEnv = new MockActivityEnvironment();
  const submission: ClusterSubmission = await activityEnv.run(env.activities.submitClusterChange, {
    clusterId,
    change,
    operationKey: 'crash',
  });
  await activityEnv.run(env.activities.awaitClusterChange, { clusterId, change, submission });

  const first = await startWorkerProcess();
  const handle = await env.temporal.env.client.workflow.start<typeof reencryptSecrets>('reencryptSecrets', {
    taskQueue: env.taskQueue,
    workflowId: `crash-${Date.now()}`,
    // Slow writes so the kill lands inside a page.
    args: [
      {
        clusterId,
        expect: { kms: 'enabled', keyId: newKey },
        canary,
        operationKey: 'crash',
        settings: { ...FAST_REENCRYPT, pageSize: 100, concurrency: CONCURRENCY, maxQps: 80 },
      },
    ],
  });
  // Killed from the operation log as the 150th rewrite lands: in the middle of page 2, whatever the machine's speed.
  let seqAtKill = 0;
  const stopWatching = env.sandbox.oplog.onRecord((e) => {
    if (seqAtKill || e.method !== 'PUT' || !e.detail?.startsWith('rewritten') || rewrites().length < 150)
      return;
    seqAtKill = e.seq;
    first.kill('SIGKILL');
  });
  await new Promise((resolve) => first.once('exit', resolve));
  stopWatching();
  const rewrittenByFirst = rewrites().filter((e) => e.seq <= seqAtKill).length;
  expect(rewrittenByFirst).toBeGreaterThanOrEqual(150);
  expect(rewrittenByFirst).toBeLessThan(200);

  // Writes the dead worker had sent may still land now; the replacement's writes all come after this.
  const seqAtRestart = env.sandbox.oplog.lastSeq;
  await startWorkerProcess();
  const result = await resultWithin<ReencryptResult>(handle, 90_000);
  // The replacement worker did the rest: the kill landed in a run that still had work.
  expect(rewrites().filter((e) => e.seq > seqAtRestart).length).toBeGreaterThan(CONCURRENCY);
  expect(result.proven).toBe(true);
  // Every PUT counts, whatever its answer: a second no-op update of a Secret already current is answered
  // "short-circuited" and would hide from a count of rewrites. A Secret may be written twice only if its
  // first write was in flight when the worker died: at most one per concurrent writer, among the last
  // writes the sandbox logged before the kill or the ones still landing before the replacement started.
  const puts = secretPuts();
  const perSecret = new Map<string, number[]>();
  for (const e of puts) perSecret.set(e.path, [...(perSecret.get(e.path) ?? []), e.seq]);
  const repeated = [...perSecret].filter(([, seqs]) => seqs.length > 1);
  const inFlightAtKill = new Set(
    [
      ...puts.filter((e) => e.seq <= seqAtKill).slice(-CONCURRENCY),
      ...puts.filter((e) => e.seq > seqAtKill && e.seq <= seqAtRestart),
    ].map((e) => e.path),
  );
  expect(repeated.length).toBeLessThanOrEqual(CONCURRENCY);
  expect(
    repeated
      .filter(([path, seqs]) => !inFlightAtKill.has(path) || seqs.length > 2)
      .map(([path, seqs]) => `${path} written ${seqs.length}×`),
  ).toEqual([]);
  expect(perSecret.size).toBe(300);
  const counted = Object.values(result.rewrite.counts).reduce((a, b) => a + b, 0);
  expect(result.rewrite.objects).toBeGreaterThanOrEqual(300);
  expect(counted).toBe(result.rewrite.objects);
  const stale = env.sandbox
    .kubeCluster('aks-crash')!
    .etcdView()
    .filter((e) => e.provider.type !== 'kms-v2' || e.provider.keyId !== newKey);
  expect(stale).toEqual([]);
}, 180_000);
