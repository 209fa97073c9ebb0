import type { ScenarioInput } from '../../sandbox/scenario';

export const SUB = '11111111-2222-4333-8444-555555555555';
export const TENANT = '72f988bf-0000-4000-a000-00000000c0de';
export const RG = 'rg-test';

/** Small estate for tests: one identity with Crypto User on a public RBAC vault, and two clusters. */
export function testScenario(overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    seed: 42,
    tenantId: TENANT,
    subscriptions: [{ id: SUB, resourceGroups: [{ name: RG, location: 'eastus' }] }],
    principals: [{ name: 'operator', type: 'User' }, { name: 'outsider', type: 'User' }],
    identities: [{ name: 'id-kms' }, { name: 'id-nokeys' }],
    vaults: [
      { name: 'kv-test', keys: [{ name: 'kms', versions: 3 }, { name: 'eckey', kty: 'EC' }] },
      { name: 'kv-private', publicNetworkAccess: 'Disabled', keys: [{ name: 'kms', versions: 1 }] },
    ],
    roleAssignments: [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-test' },
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-private' },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-test' },
    ],
    clusters: [
      { name: 'c-legacy', kubernetesVersion: '1.26', identity: 'id-kms', kms: { vault: 'kv-test', key: 'kms', version: 1 }, secrets: { count: 20, namespaces: 3, seed: 1, maxBytes: 4096 } },
      { name: 'c-modern', kubernetesVersion: '1.29', identity: 'id-kms', apiServerVnetIntegration: true, secrets: { count: 10, namespaces: 2, seed: 2, maxBytes: 4096 } },
      { name: 'c-system', kubernetesVersion: '1.29' },
    ],
    ...overrides,
  };
}

export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs = 5_000, intervalMs = 25): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
