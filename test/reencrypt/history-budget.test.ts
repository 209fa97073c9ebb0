// The history a re-encryption leaves, counted on a real run: 10,000 Secrets with the production settings
// (pages of 500, batches of pages per activity, continue-as-new), a real dev server, worker and sandbox.
// Temporal's limits and the Web UI's readability need few events: at most 200 per workflow run, and at
// most 100 per 10,000 Secrets over all runs.
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterSubmission } from '../../activities/cluster';
import {
  DEFAULT_REENCRYPT_SETTINGS,
  type ReencryptResult,
  type reencryptSecrets,
} from '../../workflows/reencrypt';
import { type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { clusterPerKeyScenario } from '../helpers/scenarios';

const SECRETS = 10_000;
const MAX_EVENTS_PER_RUN = 200;
const MAX_EVENTS_PER_10K = 100;

let env: KmsflowTestEnv;

beforeAll(async () => {
  env = await startKmsflowEnv(
    clusterPerKeyScenario({
      seed: 5,
      resourceGroup: 'rg-hist',
      vault: 'kv-hist',
      clusters: ['h-10k'],
      secrets: { count: SECRETS, namespaces: 20, maxBytes: 300, firstSeed: 9 },
    }),
  );
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

/** Events of every run of a workflow, following continue-as-new. */
async function eventsPerRun(handle: WorkflowHandleWithFirstExecutionRunId): Promise<number[]> {
  const counts: number[] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const history: temporal.api.history.v1.IHistory = await env.temporal.env.client.workflow
      .getHandle(handle.workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    counts.push(events.length);
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return counts;
}

it(`re-encrypting ${SECRETS.toLocaleString('en-US')} Secrets with the production settings stays within ${MAX_EVENTS_PER_RUN} events per run and ${MAX_EVENTS_PER_10K} per 10,000 Secrets`, async () => {
  const clusterId = env.clusterId('h-10k');
  const [, newKey] = (await env.keyVersions('kv-hist', 'h-10k')) as [string, string];
  const canary = await env.activities.writeMarker({
    clusterId,
    name: 'kmsflow-canary',
    nonce: 'canary-history',
  });
  const change = { kind: 'enable-kms' as const, keyId: newKey, networkAccess: 'Public' as const };
  const activityEnv = new MockActivityEnvironment();
  const submission: ClusterSubmission = await activityEnv.run(env.activities.submitClusterChange, {
    clusterId,
    change,
    operationKey: 'history-budget',
  });
  await activityEnv.run(env.activities.awaitClusterChange, { clusterId, change, submission });

  // Production settings, except the waits that only matter for real API server replicas.
  const settings = { ...DEFAULT_REENCRYPT_SETTINGS, propagationWaitMs: 0, pollIntervalMs: 200 };
  const handle = await env.temporal.env.client.workflow.start<typeof reencryptSecrets>('reencryptSecrets', {
    taskQueue: env.taskQueue,
    workflowId: 'history-budget',
    args: [
      {
        clusterId,
        expect: { kms: 'enabled', keyId: newKey },
        canary,
        operationKey: 'history-budget',
        settings,
      },
    ],
  });
  const result = await env.withWorker(() => resultWithin<ReencryptResult>(handle, 300_000));
  expect(result.proven).toBe(true);
  expect(result.rewrite.counts.rewritten).toBeGreaterThanOrEqual(SECRETS);

  const perRun = await eventsPerRun(handle);
  const total = perRun.reduce((a, b) => a + b, 0);
  console.log(
    `history of ${SECRETS} Secrets: ${total} events in ${perRun.length} run(s) (${perRun.join(', ')})`,
  );
  expect(Math.max(...perRun)).toBeLessThanOrEqual(MAX_EVENTS_PER_RUN);
  expect(total).toBeLessThanOrEqual((MAX_EVENTS_PER_10K * SECRETS) / 10_000);
}, 420_000);
