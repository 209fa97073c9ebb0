// `kmsflow status` says what the procedure is doing right now beyond its step: an activity that retries
// (its last failure and when the next attempt starts, as throttling or a 5xx leaves it) and, during a
// cluster change, the state ARM reports for the operation.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ProcedureSnapshot } from '../../client/output/shapes';
import type { ScenarioInput } from '../../sandbox/scenario';
import { procedureWorkflowId } from '../../workflows/messages';
import { holdClusterOperations } from '../helpers/held-operations';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { waitUntil } from '../helpers/wait';
import { parseJson, runCli } from './cli-harness';

const scenario: ScenarioInput = {
  seed: 61,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-now', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-now', enablePurgeProtection: true, keys: [{ name: 'kms', versions: 1 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-now' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-now' },
  ],
  clusters: [
    {
      name: 'aks-now',
      kubernetesVersion: '1.30',
      identity: 'id-kms',
      secrets: { count: 20, namespaces: 2, seed: 2, maxBytes: 1024 },
    },
  ],
};

let env: KmsflowTestEnv;

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
}, 180_000);

afterAll(async () => {
  await env?.teardown();
});

it('shows a retrying activity with its last failure and next attempt, then the ARM operation in progress', async () => {
  const clusterId = env.clusterId('aks-now');
  const id = procedureWorkflowId(clusterId);
  const status = async () =>
    parseJson<ProcedureSnapshot>(
      (
        await runCli([
          'status',
          id,
          '--json',
          '--address',
          env.temporal.server.address,
          '--namespace',
          env.temporal.server.namespace,
        ])
      ).stdout,
    );
  // ARM answers the cluster's reads with 503 until the test has seen the first read of the procedure retry,
  // and the cluster change stays in progress until the test has seen it: each state lasts until observed,
  // not for a time that a loaded machine may need just to run `kmsflow status`.
  const unavailable = env.sandbox.faults.addRule({
    service: 'arm',
    method: 'GET',
    path: 'managed[Cc]lusters/aks-now$',
    action: { kind: 'error', status: 503 },
  });
  const held = holdClusterOperations(env.sandbox);
  const [keyId] = await env.keyVersions('kv-now', 'kms');
  try {
    await env.withWorker(async () => {
      const handle = await env.temporal.env.client.workflow.start('enableKms', {
        taskQueue: env.taskQueue,
        workflowId: id,
        args: [{ clusterId, keyId, networkAccess: 'Public', autoApprove: 'all', reencrypt: FAST_REENCRYPT }],
      });
      const retrying = await waitUntil(
        status,
        (s) => s.activity?.lastFailure !== null && s.activity?.lastFailure !== undefined,
        {
          what: 'a retrying activity',
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
      env.sandbox.faults.removeRule(unavailable.id);
      expect(retrying.activity).toMatchObject({ type: 'getClusterDigest', armState: null });
      expect(retrying.activity!.attempt).toBeGreaterThan(1);
      expect(retrying.activity!.lastFailure).toBe('Read cluster aks-now: Injected sandbox fault.');
      expect(Date.parse(retrying.activity!.nextAttemptAt ?? '')).not.toBeNaN();

      const changing = await waitUntil(
        status,
        (s) => s.activity?.type === 'awaitClusterChange' && s.activity.armState !== null,
        {
          what: 'the ARM operation in progress',
          timeoutMs: 90_000,
          intervalMs: 200,
        },
      );
      expect(changing.currentStep).toBe('enable-kms');
      expect(changing.activity!.armState).toMatch(/^(Updating|InProgress|running)$/i);
      const text = await runCli([
        'status',
        id,
        '--address',
        env.temporal.server.address,
        '--namespace',
        env.temporal.server.namespace,
      ]);
      expect(text.stdout).toMatch(/Now: (awaitClusterChange|getClusterDigest|\w+), attempt \d/);
      expect(held.running()).toHaveLength(1);
      held.release();
      await resultWithin(handle, 120_000);
    });
  } finally {
    env.sandbox.faults.removeRule(unavailable.id);
    held.release();
  }
}, 300_000);
