// A plan's duration estimate against the measured duration, on the demo estate with the demo's sandbox pace:
// with nothing measured it says it uses AKS's typical pace; once kmsflow has timed ARM operations (on the
// cluster, or on its subscription's other clusters) and a re-encryption, it lands within 2× of what the
// procedure then takes — with propagation waits (a rotation) and without (the demo cluster's migrate-v2).
// While a re-encryption waits for its key to propagate, the step says so and until when, and its rate
// counts only the time it worked.
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_SCENARIO } from '../../sandbox/scenario';
import type { Plan, PlanRequest } from '../../workflows/plan';
import { procedureWorkflowId, progressQuery } from '../../workflows/messages';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import { type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';

const SETTINGS = { pageSize: 200, pagesPerRun: 10, pollIntervalMs: 500, concurrency: 16 };

let env: KmsflowTestEnv;
let client: Client;

beforeAll(async () => {
  // The demo's own sandbox pace (kmsflow demo): ARM operations of 1.5 s, 1 s for a key to reach the API server.
  env = await startKmsflowEnv(DEMO_SCENARIO, { operationDurationMs: 1_500, propagationDelayMs: 1_000 });
  client = env.temporal.env.client;
}, 180_000);

afterAll(async () => {
  await env?.teardown();
});

const plan = (request: PlanRequest) =>
  client.workflow.execute('planProcedure', {
    taskQueue: env.taskQueue,
    workflowId: `plan-${Date.now()}`,
    args: [request],
  }) as Promise<Plan>;

/**
 * What the re-encryption step showed while it ran: its details, and each rate it reported next to the rate
 * over the step's time so far less `waitSeconds` (minus half a second for the lag of observing it).
 */
interface Seen {
  waitSeconds: number;
  details: Set<string>;
  rates: { rate: number; withoutWait: number }[];
}

/** Runs the procedure as `kmsflow start` does (the cluster's workflow id), watching its progress; wall time in seconds. */
async function timed(workflow: string, input: Record<string, unknown>, seen?: Seen): Promise<number> {
  const started = Date.now();
  const handle = await client.workflow.start(workflow, {
    taskQueue: env.taskQueue,
    workflowId: procedureWorkflowId(input.clusterId as string),
    args: [input],
  });
  const result = resultWithin<ProcedureOutcome>(handle, 240_000);
  let done = false;
  void result.finally(() => (done = true)).catch(() => undefined);
  while (seen && !done) {
    const step = (await handle.query(progressQuery)).steps.find(
      (s) => s.id === 'reencrypt' && s.status === 'running',
    );
    if (step?.detail) seen.details.add(step.detail);
    if (step?.progress?.rate && step.startedAt) {
      const seconds = (Date.now() - Date.parse(step.startedAt)) / 1000 - (seen.waitSeconds - 0.5);
      seen.rates.push({ rate: step.progress.rate, withoutWait: step.progress.done / seconds });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect((await result).outcome).toBe('completed');
  return (Date.now() - started) / 1000;
}

const newVersion = async () =>
  (await env.sandbox.clients().keys('kv-kmsflow-demo').createRsaKey('kms-key')).id!;

it('says when it has nothing measured, then lands within 2× of the measured duration, with and without propagation waits', async () => {
  await env.withWorker(async () => {
    const modern = env.clusterId('aks-modern', 'rg-kmsflow-demo');
    const legacy = env.clusterId('aks-legacy', 'rg-kmsflow-demo');
    // Writes capped at 100/s (the default has no cap): the watched re-encryption works for seconds after its
    // wait, so its rate is sampled while it works however slowly the queries come back on a loaded machine.
    // Both rotations run at this pace, so the second one's estimate comes from a measurement of the same work
    // (a rate measured under a cap says nothing about how fast an uncapped run goes).
    const withWaits = { ...SETTINGS, propagationWaitMs: 4_000, maxQps: 100 };

    const first = await newVersion();
    const blind = await plan({
      procedure: 'rotate-key',
      input: { clusterId: modern, keyId: first, reencrypt: withWaits },
    });
    expect(blind.estimate).toMatchObject({ armBasis: 'default', rateBasis: 'default' });
    // No proof yet on this cluster: the rotation re-encrypts under the key in use first (baseline), then after the change.
    expect(blind.estimate.reencryptions).toBe(2);
    await timed('rotateKey', { clusterId: modern, keyId: first, reencrypt: withWaits, autoApprove: 'all' });

    // With propagation waits: the next rotation of the same cluster, from its own measurements.
    const second = await newVersion();
    const rotation = await plan({
      procedure: 'rotate-key',
      input: { clusterId: modern, keyId: second, reencrypt: withWaits },
    });
    // The first rotation's proof makes the baseline re-encryption a skipped step: one re-encryption to estimate.
    expect(rotation.estimate).toMatchObject({
      armBasis: 'cluster',
      rateBasis: 'measured',
      propagationWaits: 1,
      waitSeconds: 4,
      reencryptions: 1,
    });
    const seen: Seen = { waitSeconds: 4, details: new Set(), rates: [] };
    const rotationSeconds = await timed(
      'rotateKey',
      { clusterId: modern, keyId: second, reencrypt: withWaits, autoApprove: 'all' },
      seen,
    );
    expect(
      [...seen.details].some((d) =>
        /^waiting: every API server to load the new key: propagation wait of 4 s, until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(
          d,
        ),
      ),
    ).toBe(true);
    // Once it works, its rate leaves out the wait: above the step's rate even with the wait taken off.
    expect(seen.rates.length).toBeGreaterThan(0);
    for (const r of seen.rates) expect(r.rate).toBeGreaterThan(r.withoutWait);
    expect({ estimate: rotation.estimatedSeconds, measured: rotationSeconds }).toSatisfy(
      ({ estimate, measured }: { estimate: number; measured: number }) =>
        estimate >= measured / 2 && estimate <= measured * 2,
    );

    // Without: the demo cluster's migration to KMS v2, from the subscription's measured ARM pace.
    // That cluster has no measured rate, so its estimate assumes the default one: the run is capped at it.
    const noWaits = { ...SETTINGS, propagationWaitMs: 0, maxQps: 200 };
    const migration = await plan({
      procedure: 'migrate-to-kms-v2',
      input: { clusterId: legacy, targetVersion: '1.29', reencrypt: noWaits },
    });
    expect(migration.estimate).toMatchObject({
      armBasis: 'subscription',
      armOperations: { kms: 2, upgrade: 3 },
      waitSeconds: 0,
    });
    const migrationSeconds = await timed('migrateToKmsV2', {
      clusterId: legacy,
      targetVersion: '1.29',
      reencrypt: noWaits,
      autoApprove: 'all',
    });
    console.log(
      `estimates: rotation ${rotation.estimatedSeconds} s vs ${rotationSeconds.toFixed(1)} s measured; migrate-v2 ${migration.estimatedSeconds} s vs ${migrationSeconds.toFixed(1)} s`,
    );
    expect({ estimate: migration.estimatedSeconds, measured: migrationSeconds }).toSatisfy(
      ({ estimate, measured }: { estimate: number; measured: number }) =>
        estimate >= measured / 2 && estimate <= measured * 2,
    );
  });
}, 600_000);
