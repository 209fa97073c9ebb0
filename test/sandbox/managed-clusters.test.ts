import { restorePoller, type ManagedCluster } from '@azure/arm-containerservice';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import type { SandboxAzureClients } from '../../sandbox/client-options';
import { holdClusterOperations } from '../helpers/held-operations';
import { RG, testScenario, waitFor, restError } from './helpers';

const OPERATION_MS = 250;
const PROPAGATION_MS = 150;
/** How long a test waits for the emulated API server to pick up a change: only a failure waits this long. */
const PICKED_UP_WITHIN_MS = 15_000;

let sb: RunningSandbox;
let az: SandboxAzureClients;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: testScenario(),
    operationDurationMs: OPERATION_MS,
    propagationDelayMs: PROPAGATION_MS,
  });
  az = sb.clients(undefined, { retryOptions: { maxRetries: 0 } });
});
afterAll(async () => sb?.close());

const poll = { updateIntervalInMs: 40 };
const get = (name: string) => az.containerService.managedClusters.get(RG, name);
const put = (name: string, mc: ManagedCluster, opts: { ifMatch?: string } = {}) =>
  az.containerService.managedClusters.createOrUpdate(RG, name, mc, { ...poll, ...opts });

async function keyId(vault: string, key: string, index: number): Promise<string> {
  const versions = sb.context.store.vaultByName(vault)!.keys[key]!.versions;
  return `${sb.vaultUrl(vault)}/keys/${key}/${versions[index]!.version}`;
}

function kms(keyIdValue: string, access: 'Public' | 'Private' = 'Public', resourceId = '') {
  return {
    azureKeyVaultKms: {
      enabled: true,
      keyId: keyIdValue,
      keyVaultNetworkAccess: access,
      keyVaultResourceId: resourceId,
    },
  };
}

describe('managed cluster long-running operations', () => {
  it('PUT returns Updating with an Azure-AsyncOperation the poller follows to Succeeded', async () => {
    const before = await get('c-system');
    const held = holdClusterOperations(sb);
    const poller = put('c-system', { ...before, tags: { team: 'a' } });
    try {
      await poller.submitted();
      const during = await get('c-system');
      expect(during.provisioningState).toBe('Updating');
    } finally {
      held.release();
    }
    const done = await poller;
    expect(done.provisioningState).toBe('Succeeded');
    expect(done.tags).toEqual({ team: 'a' });
    expect(done.eTag).not.toBe(before.eTag);
  });

  it('answers 409 OperationNotAllowed with the real message while an operation runs', async () => {
    const mc = await get('c-system');
    const held = holdClusterOperations(sb);
    const first = put('c-system', mc);
    try {
      await first.submitted();
      const e = await restError(put('c-system', mc).submitted());
      expect(e.statusCode).toBe(409);
      expect(e.code).toBe('OperationNotAllowed');
      expect(e.message).toBe(
        'Operation is not allowed: Another operation (c-system - Updating) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details',
      );
    } finally {
      held.release();
    }
    await first;
  });

  it('honours If-Match: 412 on a stale eTag, success on the current one', async () => {
    const mc = await get('c-system');
    const stale = await restError(put('c-system', mc, { ifMatch: 'not-the-etag' }).submitted());
    expect(stale.statusCode).toBe(412);
    expect(stale.code).toBe('PreconditionFailed');
    const ok = await put('c-system', mc, { ifMatch: mc.eTag! });
    expect(ok.provisioningState).toBe('Succeeded');
  });

  it('an injected LRO failure ends Failed: the poller error carries code and message, the cluster shows provisioningError', async () => {
    const rule = sb.faults.addRule({
      service: 'arm',
      method: 'PUT',
      path: '/managedClusters/c-system$',
      count: 1,
      action: { kind: 'lroFailure', code: 'InternalOperationError', message: 'Internal server error' },
    });
    const mc = await get('c-system');
    const err = await put('c-system', mc).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      /^The long-running operation has failed\. InternalOperationError\. Internal server error/,
    );
    const after = await get('c-system');
    expect(after.provisioningState).toBe('Failed');
    expect(after.status?.provisioningError).toMatchObject({
      code: 'InternalOperationError',
      message: 'Internal server error',
    });
    sb.faults.removeRule(rule.id);
    const reconciled = await put('c-system', after);
    expect(reconciled.provisioningState).toBe('Succeeded');
    expect((await get('c-system')).status?.provisioningError).toBeUndefined();
  });

  it('restorePoller resumes a serialized poller on a brand-new client', async () => {
    const mc = await get('c-system');
    const poller = put('c-system', { ...mc, tags: { resumed: 'yes' } });
    await poller.submitted();
    const state = await poller.serialize();
    expect(JSON.parse(state).state.config.operationLocation).toContain(
      '/providers/Microsoft.ContainerService/locations/eastus/operations/',
    );
    const fresh = sb.clients(undefined, { retryOptions: { maxRetries: 0 } }).containerService;
    const resumed = restorePoller(fresh, state, fresh.managedClusters.createOrUpdate, poll);
    const result = await resumed;
    expect(result.provisioningState).toBe('Succeeded');
    expect(result.tags).toEqual({ resumed: 'yes' });
  });
});

describe('upgrades', () => {
  it('lists allowed targets in the upgrade profile and refuses skipping a minor with the real 400', async () => {
    const profile = await az.containerService.managedClusters.getUpgradeProfile(RG, 'c-system');
    expect(profile.controlPlaneProfile.kubernetesVersion).toBe('1.29.14');
    expect(profile.controlPlaneProfile.upgrades?.map((u) => u.kubernetesVersion)).toEqual(['1.30.13']);
    const mc = await get('c-system');
    const e = await restError(put('c-system', { ...mc, kubernetesVersion: '1.31' }).submitted());
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe('OperationNotAllowed');
    expect(e.message).toBe(
      'Upgrading Kubernetes version 1.29.14 to 1.31.9 is not allowed. Available upgrades: [1.30.13]. Please see https://aka.ms/aks-supported-k8s-ver for version details.',
    );
  });

  it('upgrades control plane and node pools one minor at a time (az aks upgrade shape) and the API server follows', async () => {
    const mc = await get('c-system');
    const up = await put('c-system', {
      ...mc,
      kubernetesVersion: '1.30',
      agentPoolProfiles: mc.agentPoolProfiles!.map((p) => ({ ...p, orchestratorVersion: '1.30' })),
      servicePrincipalProfile: undefined,
    });
    expect(up.currentKubernetesVersion).toBe('1.30.13');
    expect(up.agentPoolProfiles?.[0]?.currentOrchestratorVersion).toBe('1.30.13');
    await waitFor(
      () => sb.kubeCluster('c-system')!.getKubernetesVersion() === '1.30.13',
      PICKED_UP_WITHIN_MS,
    );
  });

  it('serves agent pools: list, get, upgrade profile, and a pool PUT as its own operation', async () => {
    const pools = [];
    for await (const p of az.containerService.agentPools.list(RG, 'c-system')) pools.push(p);
    expect(pools.map((p) => p.name)).toEqual(['nodepool1']);
    const pool = await az.containerService.agentPools.get(RG, 'c-system', 'nodepool1');
    expect(pool.currentOrchestratorVersion).toBe('1.30.13');
    const profile = await az.containerService.agentPools.getUpgradeProfile(RG, 'c-system', 'nodepool1');
    expect(profile.kubernetesVersion).toBe('1.30.13');
    const newer = await az.containerService.agentPools.createOrUpdate(
      RG,
      'c-system',
      'nodepool1',
      { ...pool, count: 5 },
      poll,
    );
    expect(newer.count).toBe(5);
    expect(newer.provisioningState).toBe('Succeeded');
  });
});

describe('KMS rules', () => {
  it('refuses a system-assigned identity', async () => {
    const mc = await get('c-system');
    const e = await restError(
      put('c-system', { ...mc, securityProfile: kms(await keyId('kv-test', 'kms', 0)) }).submitted(),
    );
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe(
      "AzureKeyVaultKms feature does not support cluster identity type SystemAssigned, supported value is 'UserAssigned'",
    );
  });

  it('requires the network access', async () => {
    const mc = await get('c-modern');
    const key = await keyId('kv-test', 'kms', 0);
    const e = await restError(
      put('c-modern', {
        ...mc,
        securityProfile: { azureKeyVaultKms: { enabled: true, keyId: key } },
      }).submitted(),
    );
    expect(e.code).toBe('BadRequest');
    expect(e.message).toBe('KeyVault network access is unspecified for Azure Key Vault KMS.');
  });

  it('Private needs a vault resource id and API server VNet integration', async () => {
    const key = await keyId('kv-private', 'kms', 0);
    const modern = await get('c-modern');
    const noId = await restError(
      put('c-modern', { ...modern, securityProfile: kms(key, 'Private') }).submitted(),
    );
    expect(noId.message).toBe('KeyVault resource ID is empty when KeyVault network access is Private.');
    const vaultId = `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-private`;
    const withoutVnet = { ...modern, apiServerAccessProfile: { enableVnetIntegration: false } };
    const noVnet = await restError(
      put('c-modern', { ...withoutVnet, securityProfile: kms(key, 'Private', vaultId) }).submitted(),
    );
    expect(noVnet.message).toBe(
      'Vnet integration should be enabled when KeyVault network access is Private.',
    );
  });

  it('checks the identity permission on a public vault', async () => {
    const mc = await get('c-modern');
    const identityId = `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-nokeys`;
    const e = await restError(
      put('c-modern', {
        ...mc,
        identity: { type: 'UserAssigned', userAssignedIdentities: { [identityId]: {} } },
        securityProfile: kms(await keyId('kv-test', 'kms', 0)),
      }).submitted(),
    );
    expect(e.code).toBe('AzureKeyVaultKmsValidateIdentityPermissionCustomerError');
    expect(e.message).toBe(
      'The identity does not have keys encrypt/decrypt permission on key vault "https://kv-test.vault.azure.net"',
    );
  });

  it("refuses to change the attached vault's mode while KMS is on; a key of another vault may come in the other mode", async () => {
    const mc = await get('c-legacy');
    expect(mc.securityProfile?.azureKeyVaultKms?.keyVaultNetworkAccess).toBe('Public');
    const vault = (name: string) =>
      `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/${name}`;
    const same = await restError(
      put('c-legacy', {
        ...mc,
        securityProfile: kms(await keyId('kv-test', 'kms', 1), 'Private', vault('kv-test')),
      }).submitted(),
    );
    expect(same.message).toMatch(
      /^Changing KeyVault network access of Azure Key Vault KMS from Public to Private is not allowed while KMS is enabled/,
    );
    // The article: moving to another vault in the other mode is one update; here it meets Private's own rule.
    const other = await restError(
      put('c-legacy', {
        ...mc,
        securityProfile: kms(await keyId('kv-private', 'kms', 0), 'Private', vault('kv-private')),
      }).submitted(),
    );
    expect(other.message).toBe('Vnet integration should be enabled when KeyVault network access is Private.');
  });

  it('refuses upgrading a KMS v1 cluster below 1.27 to 1.27', async () => {
    const mc = await get('c-legacy');
    const e = await restError(put('c-legacy', { ...mc, kubernetesVersion: '1.27' }).submitted());
    expect(e.statusCode).toBe(400);
    expect(e.message).toMatch(/KMS v1 clusters below 1.27 cannot upgrade to 1.27 or later/);
  });
});

describe('encryption hand-over to the emulated API server', () => {
  it('enabling KMS on 1.29 switches writes to kms-v2 after the propagation delay; rotating shifts the slots', async () => {
    const k1 = await keyId('kv-test', 'kms', 0);
    const k2 = await keyId('kv-test', 'kms', 1);
    const k3 = await keyId('kv-test', 'kms', 2);
    const kube = sb.kubeCluster('c-modern')!;
    expect(kube.getEncryption().write).toEqual({ type: 'identity' });

    // When the API server takes the change, timed in the sandbox itself: what the client sees after the
    // poller returns depends on how late it polled, which a loaded machine can push past the delay.
    const applied: { at: number; write: string }[] = [];
    const setEncryption = kube.setEncryption.bind(kube);
    const spy = vi.spyOn(kube, 'setEncryption').mockImplementation((encryption) => {
      applied.push({ at: Date.now(), write: encryption.write.type });
      setEncryption(encryption);
    });
    try {
      const mc = await get('c-modern');
      const enabled = await put('c-modern', { ...mc, securityProfile: kms(k1) });
      expect(enabled.securityProfile?.azureKeyVaultKms?.keyId).toBe(k1);
      await waitFor(() => kube.getEncryption().write.type === 'kms-v2', PICKED_UP_WITHIN_MS, 5);
    } finally {
      spy.mockRestore();
    }
    const operation = sb.context.store.state.operations.filter((op) => op.clusterName === 'c-modern').at(-1)!;
    expect(operation.status).toBe('Succeeded');
    // Writes stayed identity until the propagation delay after the operation succeeded, then switched once.
    expect(applied.map((a) => a.write)).toEqual(['kms-v2']);
    expect(applied[0]!.at - Date.parse(operation.endTime!)).toBeGreaterThanOrEqual(PROPAGATION_MS - 5);
    expect(kube.getEncryption()).toEqual({ write: { type: 'kms-v2', keyId: k1 }, slots: { current: k1 } });

    await put('c-modern', { ...(await get('c-modern')), securityProfile: kms(k2) });
    await waitFor(() => kube.getEncryption().slots.current === k2, PICKED_UP_WITHIN_MS);
    expect(kube.getEncryption().slots).toEqual({ current: k2, previous: k1 });

    await put('c-modern', { ...(await get('c-modern')), securityProfile: kms(k3) });
    await waitFor(() => kube.getEncryption().slots.current === k3, PICKED_UP_WITHIN_MS);
    expect(kube.getEncryption().slots).toEqual({ current: k3, previous: k2 });
    expect(sb.inspectCluster('c-modern')?.keySlots).toEqual({ current: k3, previous: k2 });
  });

  it('a 1.26 cluster writes kms-v1; disabling keeps the slots and writes identity', async () => {
    const k1 = await keyId('kv-test', 'kms', 0);
    const kube = sb.kubeCluster('c-legacy')!;
    expect(kube.getEncryption().write).toEqual({ type: 'kms-v1', keyId: k1 });
    const mc = await get('c-legacy');
    const off = await put('c-legacy', {
      ...mc,
      securityProfile: { azureKeyVaultKms: { ...mc.securityProfile!.azureKeyVaultKms, enabled: false } },
    });
    expect(off.securityProfile?.azureKeyVaultKms?.enabled).toBe(false);
    await waitFor(() => kube.getEncryption().write.type === 'identity', PICKED_UP_WITHIN_MS);
    expect(kube.getEncryption().slots).toEqual({ current: k1 });
    // with KMS off, the v1 -> v2 upgrade path opens
    const up = await put('c-legacy', {
      ...off,
      kubernetesVersion: '1.27',
      agentPoolProfiles: off.agentPoolProfiles!.map((p) => ({ ...p, orchestratorVersion: '1.27' })),
    });
    expect(up.currentKubernetesVersion).toBe('1.27.16');
    const on = await put('c-legacy', { ...up, securityProfile: kms(k1) });
    expect(on.provisioningState).toBe('Succeeded');
    await waitFor(() => kube.getEncryption().write.type === 'kms-v2', PICKED_UP_WITHIN_MS);
    expect(kube.getEncryption().write).toEqual({ type: 'kms-v2', keyId: k1 });
  });

  it('switches a cluster from a public to a private vault through disable -> enable (Private needs no permission check)', async () => {
    const kube = sb.kubeCluster('c-modern')!;
    const mc = await get('c-modern');
    const off = await put('c-modern', {
      ...mc,
      securityProfile: { azureKeyVaultKms: { ...mc.securityProfile!.azureKeyVaultKms, enabled: false } },
    });
    expect(off.securityProfile?.azureKeyVaultKms?.enabled).toBe(false);
    const privateKey = await keyId('kv-private', 'kms', 0);
    const vaultId = `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-private`;
    const on = await put('c-modern', { ...off, securityProfile: kms(privateKey, 'Private', vaultId) });
    expect(on.securityProfile?.azureKeyVaultKms).toMatchObject({
      enabled: true,
      keyVaultNetworkAccess: 'Private',
      keyVaultResourceId: vaultId,
    });
    await waitFor(() => kube.getEncryption().slots.current === privateKey, PICKED_UP_WITHIN_MS);
    expect(kube.getEncryption().write).toEqual({ type: 'kms-v2', keyId: privateKey });
  });

  it('records every cluster PUT in the operation log with a description', () => {
    const entries = sb.oplog.entries({ service: 'arm', method: 'PUT', path: '/managedClusters/c-modern' });
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(entries.some((e) => e.status === 200 && (e.detail ?? '').includes('kms enabled key='))).toBe(true);
  });
});
