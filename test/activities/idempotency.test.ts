// Every "ensure" activity against the sandbox: the first run acts, a second run is a no-op, and a submit
// whose worker died before it could await never sends a second PUT (all shown by the operation log).
import { keyVersionIds } from '../sandbox/helpers';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSubmission } from '../../activities/cluster';
import { type Activities, createActivities } from '../../activities';
import { createSandboxClients } from '../../worker/sandbox-clients';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import { clusterId as formatClusterId } from '../../model/ids';
import { holdClusterOperations } from '../helpers/held-operations';

const scenario: ScenarioInput = {
  seed: 61,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-idem', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: 'kv-idem', enablePurgeProtection: true, keys: [{ name: 'kms', versions: 2 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-idem' },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-idem' },
  ],
  clusters: [
    {
      name: 'aks-idem',
      kubernetesVersion: '1.29',
      identity: 'id-kms',
      secrets: { count: 10, namespaces: 2, seed: 1, maxBytes: 2000 },
    },
  ],
};

let sandbox: RunningSandbox;
let activities: Activities;
let clusterId: string;
let vaultId: string;
const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment().run(fn, ...args) as Promise<R>;
const writes = (service: 'arm' | 'keyvault' | 'kube', path?: string) =>
  sandbox.oplog.entries({ service, ...(path ? { path } : {}) }).length;

beforeAll(async () => {
  sandbox = await startSandbox({ scenario, operationDurationMs: 300, propagationDelayMs: 100 });
  activities = createActivities({
    clients: createSandboxClients(sandbox.endpoints, sandbox.operator),
    pollIntervalMs: 50,
  });
  clusterId = formatClusterId({
    subscriptionId: sandbox.subscriptionId,
    resourceGroup: 'rg-idem',
    name: 'aks-idem',
  });
  vaultId = `/subscriptions/${sandbox.subscriptionId}/resourceGroups/rg-idem/providers/Microsoft.KeyVault/vaults/kv-idem`;
});

afterAll(async () => {
  await sandbox?.close();
});

const keyVersions = () => keyVersionIds(sandbox, 'kv-idem', 'kms');

describe('ensure activities on the sandbox', () => {
  it('a KMS change whose worker died after the PUT is awaited, never sent twice; then it is a no-op', async () => {
    const [keyId] = await keyVersions();
    const change = { kind: 'enable-kms' as const, keyId: keyId!, networkAccess: 'Public' as const };
    const before = writes('arm');
    // The operation runs until the retried submit has looked at it, however long getting there takes.
    const held = holdClusterOperations(sandbox);
    let retried: ClusterSubmission;
    try {
      const first: ClusterSubmission = await run(activities.submitClusterChange, {
        clusterId,
        change,
        operationKey: 'wf/enable/1',
      });
      expect(first.kind).toBe('submitted');
      // The worker dies here: the retried submit of the same attempt finds its own operation.
      retried = await run(activities.submitClusterChange, { clusterId, change, operationKey: 'wf/enable/1' });
      expect(retried).toEqual({ kind: 'in-flight', by: 'kmsflow' });
    } finally {
      held.release();
    }
    const digest = await run(activities.awaitClusterChange, { clusterId, change, submission: retried });
    expect(digest.kms).toMatchObject({ enabled: true, keyId, networkAccess: 'Public' });
    expect(writes('arm') - before).toBe(1);

    const again: ClusterSubmission = await run(activities.submitClusterChange, {
      clusterId,
      change,
      operationKey: 'wf2/enable/1',
    });
    expect(again).toEqual({ kind: 'already-done' });
    expect(writes('arm') - before).toBe(1);
  });

  it('upgrades one hop, then reports no further hop', async () => {
    expect(await run(activities.nextUpgradeHop, { clusterId, targetVersion: '1.30' })).toMatch(/^1\.30/);
    const change = { kind: 'upgrade' as const, version: '1.30' };
    const submission: ClusterSubmission = await run(activities.submitClusterChange, {
      clusterId,
      change,
      operationKey: 'wf/up/1',
    });
    await run(activities.awaitClusterChange, { clusterId, change, submission });
    expect(await run(activities.nextUpgradeHop, { clusterId, targetVersion: '1.30' })).toBeUndefined();
  });

  it("sets a vault's public network access once", async () => {
    const before = writes('arm');
    const first = await run(activities.ensureVaultPublicNetworkAccess, {
      vaultResourceId: vaultId,
      publicNetworkAccess: 'Disabled',
    });
    const second = await run(activities.ensureVaultPublicNetworkAccess, {
      vaultResourceId: vaultId,
      publicNetworkAccess: 'Disabled',
    });
    expect([first.changed, second.changed]).toEqual([true, false]);
    expect(writes('arm') - before).toBe(1);
    await run(activities.ensureVaultPublicNetworkAccess, {
      vaultResourceId: vaultId,
      publicNetworkAccess: 'Enabled',
    });
  });

  it('creates a key version once per operation key, and retires a version once', async () => {
    const vaultUrl = sandbox.vaultUrl('kv-idem');
    const before = await keyVersions();
    const created = await run(activities.createKeyVersion, {
      vaultUrl,
      name: 'kms',
      operationKey: 'wf/new-version-2',
    });
    const again = await run(activities.createKeyVersion, {
      vaultUrl,
      name: 'kms',
      operationKey: 'wf/new-version-2',
    });
    expect(again.id).toBe(created.id);
    expect((await keyVersions()).length).toBe(before.length + 1);

    const kvWrites = writes('keyvault');
    const retired = await run(activities.retireKeyVersion, { keyId: created.id, how: 'disable' });
    const retiredAgain = await run(activities.retireKeyVersion, { keyId: created.id, how: 'disable' });
    expect([retired.enabled, retiredAgain.enabled]).toEqual([false, false]);
    expect(writes('keyvault') - kvWrites).toBe(1);
  });

  it('writes a marker Secret once per nonce', async () => {
    const before = writes('kube');
    const first = await activities.writeMarker({ clusterId, name: 'kmsflow-watermark', nonce: 'n1' });
    const second = await activities.writeMarker({ clusterId, name: 'kmsflow-watermark', nonce: 'n1' });
    expect(second.resourceVersion).toBe(first.resourceVersion);
    // namespace + the Secret
    expect(writes('kube') - before).toBe(2);
  });

  it('reads what preflight and plans need without writing', async () => {
    const before = sandbox.oplog.count();
    expect(await activities.countSecrets(clusterId)).toBeGreaterThanOrEqual(10);
    expect(await activities.getApiServerVersion(clusterId)).toMatch(/^v1\.30/);
    const vault = await activities.getVaultDigest(vaultId);
    expect(vault).toMatchObject({
      name: 'kv-idem',
      enableRbacAuthorization: true,
      publicNetworkAccess: 'Enabled',
    });
    const digest = await activities.getClusterDigest(clusterId);
    const permissions = await activities.checkKmsPermissions({
      vaultResourceId: vaultId,
      principalId: digest.identity.userAssigned[0]!.principalId!,
      enableRbacAuthorization: true,
      accessPolicyCryptoPrincipals: [],
    });
    expect(permissions).toMatchObject({ crypto: 'rbac-role', contributor: false });
    expect(sandbox.oplog.count()).toBe(before);
  });
});
