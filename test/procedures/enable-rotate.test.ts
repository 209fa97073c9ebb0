import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../sandbox/scenario';
import { ledgerQuery } from '../../workflows/ledger';
import { ledgerWorkflowId } from '../../workflows/messages';
import type { enableKms, rotateKey } from '../../workflows';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { recordProcedureHistories } from '../helpers/record-histories';

const scenario: ScenarioInput = {
  seed: 11,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-e2e', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-e2e', enablePurgeProtection: true, keys: [{ name: 'kms', versions: 3 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-e2e' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-e2e' },
  ],
  clusters: [
    {
      name: 'aks-e2e',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      secrets: { count: 180, namespaces: 4, seed: 3, maxBytes: 8192 },
    },
  ],
};

let env: KmsflowTestEnv;
let keys: string[];

/** A whole procedure takes seconds here, but on a loaded 2-core machine it gets this long, and its test a minute more. */
const PROCEDURE_MS = 180_000;

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
  keys = await env.keyVersions('kv-e2e', 'kms');
});

afterAll(async () => {
  await env?.teardown();
});

function etcd() {
  return env.sandbox.kubeCluster('aks-e2e')!.etcdView();
}

describe('enable then rotate, end to end on the sandbox', () => {
  it(
    'enables KMS and proves every Secret is under the key',
    async () => {
      const clusterId = env.clusterId('aks-e2e');
      await env.withWorker(async () => {
        const handle = await env.temporal.env.client.workflow.start<typeof enableKms>('enableKms', {
          taskQueue: env.taskQueue,
          workflowId: `enable-${Date.now()}`,
          args: [
            {
              clusterId,
              keyId: keys[0]!,
              networkAccess: 'Public',
              reencrypt: FAST_REENCRYPT,
              autoApprove: 'all',
            },
          ],
        });
        const result = await resultWithin<ProcedureOutcome>(handle, PROCEDURE_MS);
        expect(result.outcome).toBe('completed');
        expect(result.evidence).toHaveLength(1);
        const proof = result.evidence[0]!;
        expect(proof.proven).toBe(true);
        expect(proof.rewrite.counts.rewritten).toBeGreaterThanOrEqual(180);
        expect(proof.verify.counts.stale).toBe(0);
        expect(proof.runs).toBeGreaterThan(1);
        await recordProcedureHistories(env.temporal.env.client, handle, 'enable-kms');
      });
      const view = etcd();
      expect(view.length).toBeGreaterThanOrEqual(182);
      expect(view.filter((e) => e.provider.type !== 'kms-v2' || e.provider.keyId !== keys[0])).toEqual([]);
    },
    PROCEDURE_MS + 60_000,
  );

  it(
    'rotates to a new version, keeps the old one in the previous slot, and records the proof',
    async () => {
      const clusterId = env.clusterId('aks-e2e');
      await env.withWorker(async () => {
        const handle = await env.temporal.env.client.workflow.start<typeof rotateKey>('rotateKey', {
          taskQueue: env.taskQueue,
          workflowId: `rotate-${Date.now()}`,
          args: [{ clusterId, keyId: keys[1]!, reencrypt: FAST_REENCRYPT }],
        });
        const result = await resultWithin<ProcedureOutcome>(handle, PROCEDURE_MS);
        expect(result.outcome).toBe('completed');
        expect(result.evidence[0]?.proven).toBe(true);
        const ledger = await env.temporal.env.client.workflow
          .getHandle(ledgerWorkflowId(clusterId))
          .query(ledgerQuery);
        expect(ledger.slots).toEqual({ current: keys[1], previous: keys[0] });
        expect(ledger.stillNeeded.sort()).toEqual([keys[0], keys[1]].sort());
        expect(ledger.retirable).toEqual([]);
        expect(ledger.lastReencryption).toMatchObject({ keyId: keys[1], proven: true });
        await recordProcedureHistories(env.temporal.env.client, handle, 'rotate-key');
      });
      expect(etcd().filter((e) => e.provider.type !== 'kms-v2' || e.provider.keyId !== keys[1])).toEqual([]);
      expect(etcd().every((e) => e.readable)).toBe(true);
    },
    PROCEDURE_MS + 60_000,
  );
});
