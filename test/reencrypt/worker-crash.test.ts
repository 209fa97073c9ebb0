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
import { waitUntil } from '../helpers/wait';

const scenario: ScenarioInput = {
  seed: 41,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-crash', location: 'eastus' }] }],
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
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.resolve('test/helpers/worker-process.ts')], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.temporal.server.address, KMSFLOW_TASK_QUEUE: env.taskQueue, KMSFLOW_SANDBOX_ENV: path.join(dir, 'sandbox.env'), KMSFLOW_WORKFLOW_BUNDLE: path.join(dir, 'bundle.js') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('worker ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
  });
  return child;
}

const rewrites = () => env.sandbox.oplog.entries({ service: 'kube', method: 'PUT' }).filter((e) => e.detail?.startsWith('rewritten'));

it('a worker killed in the middle of a page is replaced and the run resumes without redoing finished work', async () => {
  const clusterId = env.clusterId('aks-crash');
  const [, newKey] = (await env.keyVersions('kv-crash', 'k')) as [string, string];
  const canary = await env.activities.writeMarker({ clusterId, name: 'kmsflow-canary', nonce: 'crash' });
  const change = { kind: 'enable-kms' as const, keyId: newKey, networkAccess: 'Public' as const };
  const activityEnv = new MockActivityEnvironment();
  const submission: ClusterSubmission = await activityEnv.run(env.activities.submitClusterChange, { clusterId, change, operationKey: 'crash' });
  await activityEnv.run(env.activities.awaitClusterChange, { clusterId, change, submission });

  const first = await startWorkerProcess();
  const handle = await env.temporal.env.client.workflow.start<typeof reencryptSecrets>('reencryptSecrets', {
    taskQueue: env.taskQueue,
    workflowId: `crash-${Date.now()}`,
    // Slow writes so the kill lands inside a page.
    args: [{ clusterId, expect: { kms: 'enabled', keyId: newKey }, canary, operationKey: 'crash', settings: { ...FAST_REENCRYPT, pageSize: 100, concurrency: 4, maxQps: 80 } }],
  });
  const beforeKill = await waitUntil(async () => rewrites().length, (n) => n >= 130 && n % 100 !== 0, { timeoutMs: 60_000, what: 'a kill point inside page 2' });
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const afterKill = rewrites().length;
  expect(afterKill).toBeGreaterThanOrEqual(beforeKill);

  await startWorkerProcess();
  const result = await resultWithin<ReencryptResult>(handle, 90_000);
  expect(result.proven).toBe(true);
  const all = rewrites();
  const perSecret = new Map<string, number>();
  for (const e of all) perSecret.set(e.path, (perSecret.get(e.path) ?? 0) + 1);
  // Every Secret was rewritten exactly once: finished chunks were not redone after the kill.
  expect([...perSecret.values()].filter((n) => n > 1)).toEqual([]);
  const counted = Object.values(result.rewrite.counts).reduce((a, b) => a + b, 0);
  expect(result.rewrite.objects).toBeGreaterThanOrEqual(300);
  expect(counted).toBe(result.rewrite.objects);
  const stale = env.sandbox.kubeCluster('aks-crash')!.etcdView().filter((e) => e.provider.type !== 'kms-v2' || e.provider.keyId !== newKey);
  expect(stale).toEqual([]);
}, 180_000);
