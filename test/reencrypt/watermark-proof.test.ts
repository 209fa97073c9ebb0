// The proof cannot be fooled by a watermark that this run did not write after the key change: a stale one
// (an identity reused across procedures), a foreign one (rewritten by someone else during the run), or a
// key change the API server never applied. Each case leaves Secrets under the wrong key or unproven
// evidence, and each must end "not proven" with the reason.
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSubmission } from '../../activities/cluster';
import { MARKER_NAMESPACE } from '../../activities/reencrypt/markers';
import type { Marker } from '../../activities/reencrypt/types';
import { pauseSignal, resumeSignal } from '../../workflows/messages';
import {
  type ReencryptResult,
  type ReencryptState,
  reencryptStateQuery,
  type reencryptSecrets,
} from '../../workflows/reencrypt';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { kubeClient } from '../helpers/kube';
import { clusterPerKeyScenario } from '../helpers/scenarios';
import { waitUntil } from '../helpers/wait';

const CLUSTERS = ['w-reused', 'w-foreign', 'w-kept'] as const;
type ClusterName = (typeof CLUSTERS)[number];

const scenario = clusterPerKeyScenario({
  seed: 41,
  resourceGroup: 'rg-wm',
  vault: 'kv-wm',
  clusters: CLUSTERS,
  secrets: { count: 80, namespaces: 3, maxBytes: 3000, firstSeed: 200 },
});

let env: KmsflowTestEnv;
let client: Client;

/** A re-encryption takes seconds here, but on a loaded 2-core machine it gets this long, and a test that much per wait plus a minute. */
const REENCRYPT_MS = 180_000;
const testTimeout = (waits: number) => waits * REENCRYPT_MS + 60_000;

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  client = env.temporal.env.client;
});

afterAll(async () => {
  await env?.teardown();
});

const underKey = (cluster: ClusterName, keyId: string) =>
  env.sandbox
    .kubeCluster(cluster)!
    .etcdView()
    .filter((e) => e.provider.type === 'kms-v2' && e.provider.keyId === keyId);
const kube = async (cluster: ClusterName) => kubeClient(env.sandbox.kubeconfig(cluster));

async function rotateThroughArm(cluster: ClusterName, keyId: string): Promise<void> {
  const clusterId = env.clusterId(cluster);
  const change = { kind: 'enable-kms' as const, keyId, networkAccess: 'Public' as const };
  const activityEnv = new MockActivityEnvironment();
  const submission: ClusterSubmission = await activityEnv.run(env.activities.submitClusterChange, {
    clusterId,
    change,
    operationKey: `test-${cluster}-${keyId}`,
  });
  await activityEnv.run(env.activities.awaitClusterChange, { clusterId, change, submission });
}

function reencrypt(
  cluster: ClusterName,
  keyId: string,
  operationKey: string,
  canary?: Marker,
  settings = FAST_REENCRYPT,
) {
  return client.workflow.start<typeof reencryptSecrets>('reencryptSecrets', {
    taskQueue: env.taskQueue,
    workflowId: `reencrypt-${cluster}-${Date.now()}`,
    args: [
      {
        clusterId: env.clusterId(cluster),
        expect: { kms: 'enabled', keyId },
        canary,
        operationKey,
        settings,
      },
    ],
  });
}

async function createSecrets(cluster: ClusterName, prefix: string, count: number): Promise<void> {
  const core = await kube(cluster);
  for (let i = 0; i < count; i++) {
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: `${prefix}-${i}` }, stringData: { v: `${prefix}-${i}` } },
    });
  }
}

describe('the watermark proof', () => {
  it(
    'a watermark left by an earlier run with the same identity is not newer than the canary: not proven',
    async () => {
      const [k1, k2] = (await env.keyVersions('kv-wm', 'w-reused')) as [string, string];
      await env.withWorker(async () => {
        // An earlier procedure's re-encryption under k1, with the identity the next one will (wrongly) reuse.
        const first = await resultWithin<ReencryptResult>(
          await reencrypt('w-reused', k1, 'kmsflow/reused/reencrypt/1'),
          REENCRYPT_MS,
        );
        expect(first.proven).toBe(true);
        // Secrets written after that watermark, then a rotation, with its canary written before the change.
        await createSecrets('w-reused', 'after-first', 30);
        const canary = await env.activities.writeMarker({
          clusterId: env.clusterId('w-reused'),
          name: 'kmsflow-canary',
          nonce: 'canary-reused',
        });
        await rotateThroughArm('w-reused', k2);
        const second = await resultWithin<ReencryptResult>(
          await reencrypt('w-reused', k2, 'kmsflow/reused/reencrypt/1', canary),
          REENCRYPT_MS,
        );
        // The stale watermark made the rewrite pass skip the 30 Secrets written after it: they are still under k1.
        expect(
          underKey('w-reused', k1)
            .map((e) => e.name)
            .filter((n) => n.startsWith('after-first')),
        ).toHaveLength(30);
        expect(second.proven).toBe(false);
        expect(second.notProven.join(' ')).toMatch(
          /The watermark \(\d+\) is not newer than the canary written before the key change/,
        );
      });
    },
    testTimeout(2),
  );

  it(
    'a watermark rewritten by someone else during the run no longer holds its nonce: not proven',
    async () => {
      const [, k2] = (await env.keyVersions('kv-wm', 'w-foreign')) as [string, string];
      const canary = await env.activities.writeMarker({
        clusterId: env.clusterId('w-foreign'),
        name: 'kmsflow-canary',
        nonce: 'canary-foreign',
      });
      await rotateThroughArm('w-foreign', k2);
      await env.withWorker(async () => {
        const handle = await reencrypt('w-foreign', k2, 'kmsflow/foreign/reencrypt/1', canary, {
          ...FAST_REENCRYPT,
          pageSize: 10,
        });
        // Paused as it starts, the run stops at the top of its page loop, after it wrote its watermark and long
        // before its end: the other writer takes the watermark while the run is surely not over (waiting only
        // for the rewrite pass to start, it could already be over on a loaded machine).
        await handle.signal(pauseSignal, {});
        await waitUntil(
          async () => ({
            state: await handle.query(reencryptStateQuery),
            details: (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata'))
              .currentDetails,
          }),
          ({ state, details }: { state: ReencryptState; details: string }) =>
            state.stage === 'rewrite' && details.includes('(paused)'),
          { what: 'the rewrite pass, paused', timeoutMs: REENCRYPT_MS },
        );
        // Another writer (e.g. a second kmsflow deployment on the same cluster) takes the watermark Secret.
        const core = await kube('w-foreign');
        const watermark = await core.readNamespacedSecret({
          name: 'kmsflow-watermark',
          namespace: MARKER_NAMESPACE,
        });
        await core.replaceNamespacedSecret({
          name: 'kmsflow-watermark',
          namespace: MARKER_NAMESPACE,
          body: {
            ...watermark,
            data: { nonce: Buffer.from('kmsflow/someone-else/reencrypt/1').toString('base64') },
          },
        });
        await handle.signal(resumeSignal, {});
        const result = await resultWithin<ReencryptResult>(handle, REENCRYPT_MS);
        expect(result.proven).toBe(false);
        expect(result.notProven.join(' ')).toMatch(/does not hold this run's nonce/);
      });
    },
    testTimeout(2),
  );

  it(
    'Secrets written before the key change that a no-op update leaves alone: not proven, counted',
    async () => {
      const [k1] = (await env.keyVersions('kv-wm', 'w-kept')) as [string, string];
      const clusterId = env.clusterId('w-kept');
      // A canary that "moved" although the key never changed (someone else wrote it): the API server still
      // writes under k1, so every Secret from before the canary survives a no-op update unchanged.
      const canary = await env.activities.writeMarker({
        clusterId,
        name: 'kmsflow-canary',
        nonce: 'canary-kept',
      });
      await env.activities.writeMarker({ clusterId, name: 'kmsflow-canary', nonce: 'moved-by-someone-else' });
      await env.withWorker(async () => {
        const result = await resultWithin<ReencryptResult>(
          await reencrypt('w-kept', k1, 'kmsflow/kept/reencrypt/1', canary),
          REENCRYPT_MS,
        );
        expect(result.rewrite.counts.rewritten).toBe(0);
        expect(result.rewrite.keptDespiteKeyChange).toBeGreaterThanOrEqual(80);
        expect(result.proven).toBe(false);
        expect(result.notProven.join(' ')).toMatch(
          /\d+ Secret\(s\) written before the key change were not rewritten by a no-op update/,
        );
      });
    },
    testTimeout(1),
  );
});
