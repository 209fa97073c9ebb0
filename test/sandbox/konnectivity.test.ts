// The article's Konnectivity exception (L14): a cluster that already runs KMS with a private vault over
// Konnectivity (no API server VNet integration) keeps it, rotations included; a new Private configuration
// without VNet integration is refused, as ARM does.
import type { ManagedCluster } from '@azure/arm-containerservice';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { restError } from './helpers';

const RG = 'rg-konn';
let sb: RunningSandbox;

beforeAll(async () => {
  sb = await startSandbox({
    scenario: {
      seed: 5,
      tenantId: '72f988bf-0000-4000-a000-00000000c0de',
      subscriptions: [
        { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: RG, location: 'eastus' }] },
      ],
      principals: [{ name: 'operator', type: 'User' }],
      operator: 'operator',
      identities: [{ name: 'id-kms' }],
      vaults: [{ name: 'kv-konn', keys: [{ name: 'kms', versions: 2 }] }],
      roleAssignments: [{ role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-konn' }],
      clusters: [
        {
          name: 'c-konn',
          kubernetesVersion: '1.29',
          identity: 'id-kms',
          kms: { vault: 'kv-konn', key: 'kms', version: 1, networkAccess: 'Private' },
        },
        { name: 'c-new', kubernetesVersion: '1.29', identity: 'id-kms' },
      ],
    },
    operationDurationMs: 50,
  });
});

afterAll(async () => {
  await sb?.close();
});

it('rotates a cluster that already uses a private vault over Konnectivity, and refuses a new Private configuration without VNet integration', async () => {
  const clusters = sb.clients().containerService.managedClusters;
  const vaultId = `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-konn`;
  const record = sb.context.store.vaultByName('kv-konn')!.keys.kms!;
  const k2 = `${sb.vaultUrl('kv-konn')}/keys/kms/${record.versions[1]!.version}`;
  const privateKms = {
    azureKeyVaultKms: {
      enabled: true,
      keyId: k2,
      keyVaultNetworkAccess: 'Private',
      keyVaultResourceId: vaultId,
    },
  };

  const konn = await clusters.get(RG, 'c-konn');
  expect(konn.apiServerAccessProfile?.enableVnetIntegration ?? false).toBe(false);
  const rotated = await clusters.beginCreateOrUpdateAndWait(
    RG,
    'c-konn',
    { ...konn, securityProfile: privateKms } as ManagedCluster,
    { updateIntervalInMs: 20 },
  );
  expect(rotated.securityProfile?.azureKeyVaultKms).toMatchObject({
    keyId: k2,
    keyVaultNetworkAccess: 'Private',
  });

  const fresh = await clusters.get(RG, 'c-new');
  const refused = await restError(
    clusters.beginCreateOrUpdate(RG, 'c-new', { ...fresh, securityProfile: privateKms } as ManagedCluster),
  );
  expect(refused.message).toBe('Vnet integration should be enabled when KeyVault network access is Private.');
});
