/** Scenario builders shared by test files. */
import type { ScenarioInput } from '../../sandbox/scenario';

export interface ClusterPerKeyOptions {
  seed: number;
  resourceGroup: string;
  vault: string;
  /** One 1.30 cluster per name, each on KMS v2 with its own key (named like the cluster), version 1 of 2. */
  clusters: readonly string[];
  secrets: { count: number; namespaces: number; maxBytes: number; firstSeed: number };
}

/** Clusters that each have a key of their own in one vault: a test can rotate each without touching the others. */
export function clusterPerKeyScenario(o: ClusterPerKeyOptions): ScenarioInput {
  return {
    seed: o.seed,
    tenantId: '72f988bf-0000-4000-a000-00000000c0de',
    subscriptions: [
      {
        id: '11111111-2222-4333-8444-555555555555',
        resourceGroups: [{ name: o.resourceGroup, location: 'eastus' }],
      },
    ],
    principals: [{ name: 'operator', type: 'User' }],
    operator: 'operator',
    identities: [{ name: 'id-kms' }],
    vaults: [
      { name: o.vault, enablePurgeProtection: true, keys: o.clusters.map((name) => ({ name, versions: 2 })) },
    ],
    roleAssignments: [
      { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${o.vault}` },
      { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${o.vault}` },
    ],
    clusters: o.clusters.map((name, i) => ({
      name,
      kubernetesVersion: '1.30',
      identity: 'id-kms',
      kms: { vault: o.vault, key: name, version: 1, networkAccess: 'Public' as const },
      secrets: {
        count: o.secrets.count,
        namespaces: o.secrets.namespaces,
        seed: o.secrets.firstSeed + i,
        maxBytes: o.secrets.maxBytes,
      },
    })),
  };
}
