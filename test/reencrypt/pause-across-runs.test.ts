// A pause must hold across continue-as-new: a re-encryption continues as new every `pagesPerRun` pages, and
// a pause received while the last page of a run was in flight used to be dropped with that run.
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterSubmission } from '../../activities/cluster';
import { pauseSignal, resumeSignal } from '../../workflows/messages';
import {
  type ReencryptResult,
  type ReencryptState,
  reencryptStateQuery,
  type reencryptSecrets,
} from '../../workflows/reencrypt';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { clusterPerKeyScenario } from '../helpers/scenarios';
import { waitUntil } from '../helpers/wait';

const scenario = clusterPerKeyScenario({
  seed: 43,
  resourceGroup: 'rg-pause',
  vault: 'kv-pause',
  clusters: ['p-runs'],
  secrets: { count: 120, namespaces: 2, maxBytes: 2000, firstSeed: 300 },
});

let env: KmsflowTestEnv;
let client: Client;
const REENCRYPT_MS = 180_000;

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  client = env.temporal.env.client;
});

afterAll(async () => {
  await env?.teardown();
});

it('a pause sent while a run ends holds in the run that continues it', async () => {
  const clusterId = env.clusterId('p-runs');
  const [, k2] = (await env.keyVersions('kv-pause', 'p-runs')) as [string, string];
  const change = { kind: 'enable-kms' as const, keyId: k2, networkAccess: 'Public' as const };
  const activityEnv = new MockActivityEnvironment();
  const submission: ClusterSubmission = await activityEnv.run(env.activities.submitClusterChange, {
    clusterId,
    change,
    operationKey: 'pause-runs',
  });
  await activityEnv.run(env.activities.awaitClusterChange, { clusterId, change, submission });

  await env.withWorker(async () => {
    // Every page ends a run, so a pause sent during any page arrives in a run that then continues as new.
    const handle = await client.workflow.start<typeof reencryptSecrets>('reencryptSecrets', {
      taskQueue: env.taskQueue,
      workflowId: `pause-runs-${Date.now()}`,
      args: [
        {
          clusterId,
          expect: { kms: 'enabled', keyId: k2 },
          operationKey: 'pause-runs',
          settings: { ...FAST_REENCRYPT, pageSize: 20, pagesPerRun: 1, maxQps: 20 },
        },
      ],
    });
    const state = () => client.workflow.getHandle(handle.workflowId).query(reencryptStateQuery);
    await waitUntil(state, (s: ReencryptState) => s.stage === 'rewrite' && s.runs >= 2, {
      what: 'the rewrite pass, in its second run',
      timeoutMs: REENCRYPT_MS,
    });
    await handle.signal(pauseSignal, {});
    // The run that received the pause continues as new; the next run must start paused and say so.
    const paused = await waitUntil(
      async () => ({
        s: await state(),
        details: (
          await client.workflow
            .getHandle(handle.workflowId)
            .query<{ currentDetails: string }>('__temporal_workflow_metadata')
        ).currentDetails,
      }),
      ({ s, details }: { s: ReencryptState; details: string }) => {
        if (s.stage !== 'rewrite') throw new Error(`the run went on to ${s.stage} although it was paused`);
        return details.includes('(paused)');
      },
      { what: 'the re-encryption to show it is paused', timeoutMs: REENCRYPT_MS },
    );
    expect(paused.s.stage).toBe('rewrite');
    await handle.signal(resumeSignal, {});
    const result = await resultWithin<ReencryptResult>(handle, REENCRYPT_MS);
    expect(result.proven).toBe(true);
    expect(result.runs).toBeGreaterThan(3);
  });
}, 420_000);
