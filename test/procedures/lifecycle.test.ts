import type { WorkflowHandle } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScenarioInput } from '../../sandbox/scenario';
import type {
  disableKms,
  migrateToKmsV2,
  planProcedure,
  retireKey,
  rotateKey,
  switchVaultMode,
} from '../../workflows';
import { ledgerQuery } from '../../workflows/ledger';
import {
  approveUpdate,
  cancelUpdate,
  ledgerWorkflowId,
  type ProcedureProgress,
  progressQuery,
  retryUpdate,
} from '../../workflows/messages';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { recordProcedureHistories } from '../helpers/record-histories';
import { waitUntil } from '../helpers/wait';

const estate = (seed: number) => ({ count: 60, namespaces: 3, seed, maxBytes: 4096 });
const kms = (key: string) => ({ vault: 'kv-life', key, version: 1, networkAccess: 'Public' as const });

const scenario: ScenarioInput = {
  seed: 21,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-life', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [
    {
      name: 'kv-life',
      enablePurgeProtection: true,
      keys: ['retire', 'disable', 'legacy', 'trap', 'shared'].map((name) => ({ name, versions: 1 })),
    },
    // The switch test makes its vault private: it gets one of its own.
    { name: 'kv-switch', enablePurgeProtection: true, keys: [{ name: 'switch', versions: 1 }] },
  ],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-life' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-life' },
    { role: 'Key Vault Contributor', principal: 'id-kms', scope: 'vault:kv-life' },
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-switch' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-switch' },
    { role: 'Key Vault Contributor', principal: 'id-kms', scope: 'vault:kv-switch' },
  ],
  clusters: [
    {
      name: 'aks-retire',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: kms('retire'),
      secrets: estate(1),
    },
    {
      name: 'aks-disable',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: kms('disable'),
      secrets: estate(2),
    },
    {
      name: 'aks-switch',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      apiServerVnetIntegration: true,
      kms: { vault: 'kv-switch', key: 'switch', version: 1, networkAccess: 'Public' },
      secrets: estate(3),
    },
    {
      name: 'aks-legacy',
      kubernetesVersion: '1.26',
      identity: 'id-kms',
      kms: kms('legacy'),
      secrets: estate(4),
    },
    { name: 'aks-trap', kubernetesVersion: '1.29', identity: 'id-kms', kms: kms('trap'), secrets: estate(5) },
    {
      name: 'aks-share-a',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: kms('shared'),
      secrets: estate(6),
    },
    {
      name: 'aks-share-b',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      kms: kms('shared'),
      secrets: estate(7),
    },
  ],
};

let env: KmsflowTestEnv;
const first = async (key: string) => (await env.keyVersions('kv-life', key))[0]!;

beforeAll(async () => {
  env = await startKmsflowEnv(scenario);
});

afterAll(async () => {
  await env?.teardown();
});

const etcd = (cluster: string) => env.sandbox.kubeCluster(cluster)!.etcdView();
const notUnder = (cluster: string, keyId: string | undefined) =>
  etcd(cluster).filter((e) =>
    keyId ? e.provider.type !== 'kms-v2' || e.provider.keyId !== keyId : e.provider.type !== 'identity',
  );

function start<T extends Workflow>(
  workflow: string,
  input: Record<string, unknown>,
): Promise<WorkflowHandle<T>> {
  return env.temporal.env.client.workflow.start(workflow, {
    taskQueue: env.taskQueue,
    workflowId: `${workflow}-${input.clusterId}-${Date.now()}`,
    args: [{ reencrypt: FAST_REENCRYPT, ...input }],
  }) as Promise<WorkflowHandle<T>>;
}

/**
 * A whole procedure end to end takes seconds here, but this file shares a loaded 2-core machine: each result
 * (or phase reached after a re-encryption) gets this long, and each test this long per such wait (plus a
 * minute), instead of the 60 s default.
 */
const PROCEDURE_MS = 180_000;
const testTimeout = (waits: number) => waits * PROCEDURE_MS + 60_000;

const untilPhase = (handle: WorkflowHandle, phase: ProcedureProgress['phase']) =>
  waitUntil(
    () => handle.query(progressQuery),
    (p) => p.phase === phase,
    { what: `phase ${phase}`, timeoutMs: PROCEDURE_MS },
  );

describe('procedures end to end on the sandbox', () => {
  it(
    'retires a key only after two proven rotations, by disabling its version',
    async () => {
      const clusterId = env.clusterId('aks-retire');
      const k1 = await first('retire');
      await env.withWorker(async () => {
        const handle = await start<typeof retireKey>('retireKey', { clusterId, autoApprove: ['retire-key'] });
        const result = await resultWithin<ProcedureOutcome>(handle, PROCEDURE_MS);
        expect(result.outcome).toBe('completed');
        await recordProcedureHistories(env.temporal.env.client, handle, 'retire-key');
        expect(result.evidence.map((e) => [e.expect.kms, e.proven])).toEqual([
          ['enabled', true],
          ['enabled', true],
          ['enabled', true],
        ]);
        expect(result.progress.steps.find((s) => s.id === 'reencrypt-baseline')?.status).toBe('done');
        const ledger = await env.temporal.env.client.workflow
          .getHandle(ledgerWorkflowId(clusterId))
          .query(ledgerQuery);
        const [, k2, k3] = ledger.keys.map((k) => k.keyId);
        expect(ledger.slots).toEqual({ current: k3, previous: k2 });
        expect(ledger.keys[0]).toMatchObject({ keyId: k1, retiredHow: 'disable' });
        expect(notUnder('aks-retire', k3)).toEqual([]);
      });
      const versions = await env.keyVersions('kv-life', 'retire');
      expect(versions.length).toBeGreaterThanOrEqual(3);
      const k1Props = await env.sandbox
        .clients()
        .keys('kv-life')
        .getKey('retire', { version: k1.split('/').pop() });
      expect(k1Props.properties.enabled).toBe(false);
      expect(etcd('aks-retire').every((e) => e.readable)).toBe(true);
    },
    testTimeout(1),
  );

  it(
    'disables KMS only after approval of the plaintext window, then stores every Secret unencrypted',
    async () => {
      const clusterId = env.clusterId('aks-disable');
      const k1 = await first('disable');
      await env.withWorker(async () => {
        const handle = await start<typeof disableKms>('disableKms', { clusterId });
        const waiting = await untilPhase(handle, 'waiting-approval');
        expect(waiting.steps.find((s) => s.id === 'disable-kms')?.gate?.prompt).toContain('UNENCRYPTED');
        expect(notUnder('aks-disable', k1)).toEqual([]);
        await handle.executeUpdate(approveUpdate, { args: [{ gate: 'disable-kms', approver: 'alice' }] });
        const result = await resultWithin<ProcedureOutcome>(handle, PROCEDURE_MS);
        expect(result.outcome).toBe('completed');
        expect(result.evidence[0]?.proven).toBe(true);
        await recordProcedureHistories(env.temporal.env.client, handle, 'disable-kms');
      });
      expect(notUnder('aks-disable', undefined)).toEqual([]);
    },
    testTimeout(2),
  );

  it(
    'switches the vault to private: disable, re-encrypt, close the vault, enable Private, re-encrypt',
    async () => {
      const clusterId = env.clusterId('aks-switch');
      const vaultResourceId = env.vaultId('kv-switch');
      const k1 = (await env.keyVersions('kv-switch', 'switch'))[0]!;
      await env.withWorker(async () => {
        const handle = await start<typeof switchVaultMode>('switchVaultMode', {
          clusterId,
          to: 'Private',
          vaultResourceId,
          autoApprove: 'all',
        });
        const result = await resultWithin<ProcedureOutcome>(handle, PROCEDURE_MS);
        expect(result.outcome).toBe('completed');
        await recordProcedureHistories(env.temporal.env.client, handle, 'switch-vault-mode');
        expect(result.evidence.map((e) => [e.expect.kms, e.proven])).toEqual([
          ['disabled', true],
          ['enabled', true],
        ]);
      });
      const inspection = env.sandbox.inspectCluster('aks-switch');
      expect(JSON.stringify(inspection)).toContain('Private');
      const vault = await env.sandbox.clients().keyVaultManagement.vaults.get('rg-life', 'kv-switch');
      expect(vault.properties.publicNetworkAccess).toBe('Disabled');
      expect(notUnder('aks-switch', k1)).toEqual([]);
    },
    testTimeout(1),
  );

  it(
    'migrates a KMS v1 cluster to v2 one minor version at a time',
    async () => {
      const clusterId = env.clusterId('aks-legacy');
      const k1 = await first('legacy');
      expect(etcd('aks-legacy').every((e) => e.provider.type === 'kms-v1')).toBe(true);
      await env.withWorker(async () => {
        const handle = await start<typeof migrateToKmsV2>('migrateToKmsV2', {
          clusterId,
          targetVersion: '1.28',
          autoApprove: 'all',
        });
        const result = await resultWithin<ProcedureOutcome>(handle, PROCEDURE_MS);
        expect(result.outcome).toBe('completed');
        await recordProcedureHistories(env.temporal.env.client, handle, 'migrate-to-kms-v2');
        expect(result.progress.steps.map((s) => s.id)).toEqual([
          'preflight',
          'canary-1',
          'disable-kms',
          'reencrypt-1',
          'upgrade-1.27',
          'upgrade-1.28',
          'canary-2',
          'enable-kms',
          'reencrypt-2',
        ]);
        expect(result.evidence.every((e) => e.proven)).toBe(true);
      });
      const digest = await env.activities.getClusterDigest(clusterId);
      expect(digest.kubernetesVersion.startsWith('1.28')).toBe(true);
      expect(digest.nodePools.every((p) => p.version.startsWith('1.28'))).toBe(true);
      expect(notUnder('aks-legacy', k1)).toEqual([]);
    },
    testTimeout(1),
  );

  it(
    'cannot be led into rotating twice without a proven re-encryption',
    async () => {
      const clusterId = env.clusterId('aks-trap');
      const cluster = env.sandbox.kubeCluster('aks-trap')!;
      const stuckNamespace = etcd('aks-trap').find(
        (e) => e.namespace !== 'kube-system' && e.namespace !== 'kmsflow-system',
      )!.namespace;
      const [k2, k3, k4] = [
        await createVersion('trap'),
        await createVersion('trap'),
        await createVersion('trap'),
      ];
      await env.withWorker(async () => {
        const proven = await start<typeof rotateKey>('rotateKey', { clusterId, keyId: k2 });
        expect((await resultWithin<ProcedureOutcome>(proven, PROCEDURE_MS)).outcome).toBe('completed');

        cluster.kubeFaults.terminatingNamespaces.add(stuckNamespace);
        try {
          const unproven = await start<typeof rotateKey>('rotateKey', { clusterId, keyId: k3 });
          const blocked = await untilPhase(unproven, 'blocked');
          expect(blocked.currentStep).toBe('reencrypt');
          const step = blocked.steps.find((s) => s.id === 'reencrypt')!;
          expect(step.blocked?.code).toBe('NotProven');
          expect(step.blocked?.message).toContain(`${stuckNamespace}/`);
          await unproven.executeUpdate(cancelUpdate, { args: [{ reason: 'test: leave it unproven' }] });
          expect((await unproven.result()).outcome).toBe('cancelled');

          // Secrets of the stuck namespace are still under k2, now in the previous slot: a third rotation
          // would push k2 out of both slots and make them unreadable. kmsflow first re-encrypts under k3 and
          // blocks there, before any key change, while the namespace still cannot be written.
          const trap = await start<typeof rotateKey>('rotateKey', { clusterId, keyId: k4 });
          const blockedFirst = await untilPhase(trap, 'blocked');
          expect(blockedFirst.currentStep).toBe('reencrypt-baseline');
          expect(blockedFirst.steps.find((s) => s.id === 'ledger-guard')?.detail).toContain('not proven');
          expect(blockedFirst.steps.find((s) => s.id === 'reencrypt-baseline')?.blocked?.code).toBe(
            'NotProven',
          );
          expect(blockedFirst.steps.find((s) => s.id === 'rotate')?.status).toBe('pending');
          expect(
            etcd('aks-trap')
              .filter((e) => e.namespace === stuckNamespace)
              .every((e) => e.provider.type === 'kms-v2' && e.provider.keyId === k2),
          ).toBe(true);
          expect(etcd('aks-trap').every((e) => e.readable)).toBe(true);

          // Once the namespace can be written again, a retry proves the baseline and only then rotates.
          cluster.kubeFaults.terminatingNamespaces.clear();
          await trap.executeUpdate(retryUpdate, { args: [{}] });
          expect((await resultWithin<ProcedureOutcome>(trap, PROCEDURE_MS)).outcome).toBe('completed');
        } finally {
          cluster.kubeFaults.terminatingNamespaces.clear();
        }
      });
      expect(etcd('aks-trap').every((e) => e.readable)).toBe(true);
      expect(etcd('aks-trap').every((e) => e.provider.type === 'kms-v2' && e.provider.keyId === k4)).toBe(
        true,
      );
    },
    testTimeout(4),
  );

  it(
    'refuses, before any change, to retire a key version another cluster still uses',
    async () => {
      const clusterId = env.clusterId('aks-share-a');
      await env.withWorker(async () => {
        const handle = await start<typeof retireKey>('retireKey', { clusterId, autoApprove: 'all' });
        const blocked = await untilPhase(handle, 'blocked');
        // Refused before any change: the version is in aks-share-b's current key slot.
        expect(blocked.currentStep, JSON.stringify(blocked.steps.find((s) => s.status === 'blocked'))).toBe(
          'preflight',
        );
        expect(blocked.steps.find((s) => s.id === 'preflight')?.blocked).toMatchObject({
          code: 'KeyHeldByOtherCluster',
        });
        expect(blocked.steps.find((s) => s.id === 'preflight')?.blocked?.message).toContain('aks-share-b');
        expect(blocked.steps.filter((s) => s.status === 'done').map((s) => s.id)).toEqual([]);
        await handle.executeUpdate(cancelUpdate, { args: [{ reason: 'test done' }] });
        await handle.result();
      });
      expect(etcd('aks-share-b').every((e) => e.readable)).toBe(true);
      const shared = await first('shared');
      expect(
        (
          await env.sandbox
            .clients()
            .keys('kv-life')
            .getKey('shared', { version: shared.split('/').pop() })
        ).properties.enabled,
      ).toBe(true);
    },
    testTimeout(1),
  );

  it('plans without writing anything', async () => {
    const clusterId = env.clusterId('aks-retire');
    const before = env.mutations();
    await env.withWorker(async () => {
      const plan = await env.temporal.env.client.workflow.execute<typeof planProcedure>('planProcedure', {
        taskQueue: env.taskQueue,
        workflowId: `plan-${Date.now()}`,
        args: [{ procedure: 'retire-key', input: { clusterId } }],
      });
      expect(plan.steps.map((s) => s.id)).toContain('retire-key');
      expect(plan.steps.find((s) => s.id === 'reencrypt-1')?.command).toBe(
        'kubectl get secrets --all-namespaces -o json | kubectl replace -f -',
      );
      expect(plan.secretsInScope).toBeGreaterThanOrEqual(60);
      expect(plan.estimatedSeconds).toBeGreaterThan(0);
      expect(plan.slots.after).toEqual({ current: '<new version 3>', previous: '<new version 2>' });
    });
    expect(env.mutations()).toBe(before);
  });
});

async function createVersion(name: string): Promise<string> {
  const key = await env.sandbox.clients().keys('kv-life').createRsaKey(name, { keySize: 2048 });
  return key.id!;
}
