import { type Client, type WorkflowHandle } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSubmission } from '../../activities/cluster';
import type { ReencryptResult, reencryptSecrets } from '../../workflows/reencrypt';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { kubeClient } from '../helpers/kube';
import { clusterPerKeyScenario } from '../helpers/scenarios';
import { LeakMatcher, LeakScan, seededSecretValues } from '../reliability/secret-scan';

const CLUSTERS = ['r-410', 'r-429', 'r-conflict', 'r-churn', 'r-stuck', 'r-history'] as const;
type ClusterName = (typeof CLUSTERS)[number];

const scenario = clusterPerKeyScenario({
  seed: 31,
  resourceGroup: 'rg-re',
  vault: 'kv-re',
  clusters: CLUSTERS,
  secrets: { count: 150, namespaces: 4, maxBytes: 6000, firstSeed: 100 },
});

let env: KmsflowTestEnv;
let client: Client;

/** A re-encryption under faults takes seconds here, but on a loaded 2-core machine it gets this long, and its test a minute more. */
const REENCRYPT_MS = 180_000;
const TEST_MS = REENCRYPT_MS + 60_000;

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  client = env.temporal.env.client;
});

afterAll(async () => {
  await env?.teardown();
});

const etcd = (cluster: ClusterName) => env.sandbox.kubeCluster(cluster)!.etcdView();

/** Writes the canary, rotates the cluster to its key's second version through ARM, starts the re-encryption. */
async function rotateAndStart(
  cluster: ClusterName,
): Promise<{ handle: WorkflowHandle<typeof reencryptSecrets>; newKey: string }> {
  const clusterId = env.clusterId(cluster);
  const [, newKey] = (await env.keyVersions('kv-re', cluster)) as [string, string];
  const canary = await env.activities.writeMarker({
    clusterId,
    name: 'kmsflow-canary',
    nonce: `canary-${Date.now()}`,
  });
  const change = { kind: 'enable-kms' as const, keyId: newKey, networkAccess: 'Public' as const };
  const activityEnv = new MockActivityEnvironment();
  const submission: ClusterSubmission = await activityEnv.run(env.activities.submitClusterChange, {
    clusterId,
    change,
    operationKey: `test-${cluster}`,
  });
  await activityEnv.run(env.activities.awaitClusterChange, { clusterId, change, submission });
  const handle = await client.workflow.start<typeof reencryptSecrets>('reencryptSecrets', {
    taskQueue: env.taskQueue,
    workflowId: `reencrypt-${cluster}-${Date.now()}`,
    args: [
      {
        clusterId,
        expect: { kms: 'enabled', keyId: newKey },
        canary,
        operationKey: `op-${cluster}`,
        settings: FAST_REENCRYPT,
      },
    ],
  });
  return { handle, newKey };
}

const staleOrUnreadable = (cluster: ClusterName, key: string) =>
  etcd(cluster).filter((e) => !e.readable || e.provider.type !== 'kms-v2' || e.provider.keyId !== key);

describe('re-encryption under faults ends proven, or not proven naming why', () => {
  it(
    'survives expired continue tokens (410) without counting a partial listing as done',
    async () => {
      env.sandbox.kubeCluster('r-410')!.kubeFaults.expireContinueAfterPages = 2;
      await env.withWorker(async () => {
        const { handle, newKey } = await rotateAndStart('r-410');
        const result = await resultWithin<ReencryptResult>(handle, REENCRYPT_MS);
        expect(result.proven).toBe(true);
        expect(result.rewrite.expiredListings + result.verify.expiredListings).toBeGreaterThan(0);
        expect(staleOrUnreadable('r-410', newKey)).toEqual([]);
      });
    },
    TEST_MS,
  );

  it(
    'backs off under a 429 and 503 storm and still rewrites everything',
    async () => {
      const rules = [
        env.sandbox.faults.addRule({
          service: 'kube',
          cluster: 'r-429',
          method: 'PUT',
          probability: 0.2,
          action: { kind: 'throttle', retryAfterSeconds: 0 },
        }),
        env.sandbox.faults.addRule({
          service: 'kube',
          cluster: 'r-429',
          method: 'PUT',
          probability: 0.05,
          action: { kind: 'error', status: 503 },
        }),
      ];
      try {
        await env.withWorker(async () => {
          const { handle, newKey } = await rotateAndStart('r-429');
          const result = await resultWithin<ReencryptResult>(handle, REENCRYPT_MS);
          expect(result.proven).toBe(true);
          expect(result.rewrite.throttled).toBeGreaterThan(10);
          expect(staleOrUnreadable('r-429', newKey)).toEqual([]);
        });
      } finally {
        for (const rule of rules) env.sandbox.faults.removeRule(rule.id);
      }
    },
    TEST_MS,
  );

  it(
    'resolves write conflicts by re-reading',
    async () => {
      env.sandbox.kubeCluster('r-conflict')!.kubeFaults.conflictShare = 0.3;
      await env.withWorker(async () => {
        const { handle, newKey } = await rotateAndStart('r-conflict');
        const result = await resultWithin<ReencryptResult>(handle, REENCRYPT_MS);
        expect(result.proven).toBe(true);
        expect(result.rewrite.counts.failed).toBe(0);
        expect(staleOrUnreadable('r-conflict', newKey)).toEqual([]);
      });
      env.sandbox.kubeCluster('r-conflict')!.kubeFaults.conflictShare = 0;
    },
    TEST_MS,
  );

  it(
    'stays correct while Secrets are created and deleted during the run',
    async () => {
      const kube = kubeClient(env.sandbox.kubeconfig('r-churn', 'admin'));
      const victims = etcd('r-churn')
        .filter((e) => e.namespace !== 'kmsflow-system')
        .slice(0, 40);
      await env.withWorker(async () => {
        const { handle, newKey } = await rotateAndStart('r-churn');
        let created = 0;
        let done = false;
        const churn = (async () => {
          for (const victim of victims) {
            if (done) break;
            await kube
              .deleteNamespacedSecret({ name: victim.name, namespace: victim.namespace })
              .catch(() => undefined);
            await kube.createNamespacedSecret({
              namespace: victim.namespace,
              body: {
                metadata: { name: `churn-${created++}` },
                data: { v: Buffer.from('x').toString('base64') },
              },
            });
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })();
        const result = await resultWithin<ReencryptResult>(handle, REENCRYPT_MS);
        done = true;
        await churn;
        expect(result.proven).toBe(true);
        expect(created).toBeGreaterThan(0);
        expect(staleOrUnreadable('r-churn', newKey)).toEqual([]);
      });
    },
    TEST_MS,
  );

  it(
    'is not proven when a Secret cannot be written, and names it',
    async () => {
      const cluster = env.sandbox.kubeCluster('r-stuck')!;
      const stuck = etcd('r-stuck').find(
        (e) => e.namespace !== 'kmsflow-system' && e.namespace !== 'kube-system',
      )!.namespace;
      cluster.kubeFaults.terminatingNamespaces.add(stuck);
      try {
        await env.withWorker(async () => {
          const { handle } = await rotateAndStart('r-stuck');
          const result = await resultWithin<ReencryptResult>(handle, REENCRYPT_MS);
          expect(result.proven).toBe(false);
          expect(result.notProven.join(' ')).toMatch(/could not be verified/);
          expect(result.failures.length).toBeGreaterThan(0);
          expect(result.failures.every((f) => f.namespace === stuck)).toBe(true);
          expect(result.failures[0]?.reason).toContain('being terminated');
        });
      } finally {
        cluster.kubeFaults.terminatingNamespaces.clear();
      }
    },
    TEST_MS,
  );

  it(
    'never writes a Secret value into workflow history',
    async () => {
      const scan = new LeakScan(new LeakMatcher(await seededSecretValues(env.sandbox, ['r-history'])));
      expect(scan.matcher.values).toBeGreaterThan(100);
      let events = 0;
      await env.withWorker(async () => {
        const { handle } = await rotateAndStart('r-history');
        expect((await resultWithin<ReencryptResult>(handle, REENCRYPT_MS)).proven).toBe(true);
        for await (const run of client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
          const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
          for (const event of history.events ?? []) {
            events++;
            scan.add('history', event);
          }
        }
      });
      expect(events).toBeGreaterThan(20);
      expect(scan.found('history')).toEqual([]);
    },
    TEST_MS,
  );
});
