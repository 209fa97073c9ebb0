// Every preflight rule as a pure function: one fixture where it stays silent and one where it fires, no server.
// A rule added to the registry without its two cases fails the last test.
import { describe, expect, it } from 'vitest';
import type { KeyDigest, VaultDigest } from '../../model/azure-digests';
import type { ClusterDigest } from '../../model/cluster-model';
import type { EstateCluster } from '../../model/estate';
import { emptyLedger, ledgerView, type LedgerView } from '../../model/ledger-model';
import type { PreflightInput } from '../../model/preflight';
import type { PreflightFacts, Read } from '../../model/preflight-facts';
import { evaluateRules, RULES, type RuleCode } from '../../model/rules';

const SUB = '11111111-1111-4111-8111-111111111111';
const OTHER_SUB = '22222222-2222-4222-8222-222222222222';
const CLUSTER = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-h`;
const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-shared`;
const key = (version: string, vault = 'kv-shared', name = 'shared') =>
  `https://${vault}.vault.azure.net/keys/${name}/${version}`;
const K1 = key('v1');
const K2 = key('v2');
const NOW = '2026-12-07T12:00:00.000Z';
const inDays = (days: number) => new Date(Date.parse(NOW) + days * 86_400_000).toISOString();

function cluster(over: Partial<ClusterDigest> = {}): ClusterDigest {
  return {
    id: CLUSTER,
    name: 'aks-h',
    location: 'eastus',
    kubernetesVersion: '1.29.2',
    provisioningState: 'Succeeded',
    identity: {
      type: 'UserAssigned',
      userAssigned: [
        {
          id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-kms`,
          principalId: 'p-1',
        },
      ],
    },
    kms: { enabled: true, keyId: K1, networkAccess: 'Public' },
    apiServerVnetIntegration: true,
    powerState: 'Running',
    nodePools: [{ name: 'system', version: '1.29.2', count: 3 }],
    ...over,
  };
}

function keyDigest(keyId: string, over: Partial<KeyDigest> = {}): Read<KeyDigest> {
  const version = keyId.split('/').pop()!;
  return {
    value: { id: keyId, name: 'shared', version, enabled: true, keyType: 'RSA', keyOps: [], ...over },
  };
}

function vault(over: Partial<VaultDigest> = {}): Read<VaultDigest> {
  return {
    value: {
      id: VAULT_ID,
      name: 'kv-shared',
      tenantId: 't-1',
      publicNetworkAccess: 'Enabled',
      firewallDefaultAction: 'Allow',
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
      accessPolicyCryptoPrincipals: [],
      ...over,
    },
  };
}

function other(name: string, over: Partial<EstateCluster> = {}): EstateCluster {
  return {
    id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/${name}`,
    name,
    subscriptionId: SUB,
    kms: { enabled: true, keyId: K2, networkAccess: 'Public' },
    slots: { current: K2, previous: key('v0') },
    stillNeeded: [],
    ...over,
  };
}

function ledgerWith(events: (l: ReturnType<typeof emptyLedger>) => void = () => undefined): LedgerView {
  const state = emptyLedger(CLUSTER);
  events(state);
  return ledgerView(state);
}

/** A healthy rotation of aks-h from v1 to v2 in Public mode: every rule stays silent on it. */
function facts(
  over: { input?: Partial<PreflightInput> } & Partial<Omit<PreflightFacts, 'input'>> = {},
): PreflightFacts {
  const { input, ...rest } = over;
  return {
    input: { clusterId: CLUSTER, keyId: K2, networkAccess: 'Public', ...input },
    now: NOW,
    cluster: cluster(),
    ledger: ledgerWith(),
    keys: [
      { keyId: K1, read: keyDigest(K1) },
      { keyId: K2, read: keyDigest(K2) },
    ],
    vault: { id: VAULT_ID, read: vault() },
    identityTenant: { value: 't-1' },
    permissions: { principalId: 'p-1', crypto: 'rbac-role', contributor: true },
    secretCount: 100,
    upgrade: { hop: '1.30.1', hops: 1 },
    estate: { subscriptions: [SUB], clusters: [other('aks-b')], unreadable: [] },
    ...rest,
  };
}

const notFound: Read<never> = { problem: { kind: 'not-found', message: 'KeyNotFound' } };
const forbidden: Read<never> = { problem: { kind: 'forbidden', message: 'Forbidden' } };
const unreachable: Read<never> = { problem: { kind: 'unreachable', message: 'ForbiddenByFirewall' } };
const retiring = { input: { keyId: undefined, networkAccess: undefined, retiresKeyId: K1 } };

interface Case {
  pass: PreflightFacts;
  fail: PreflightFacts;
  /** A text the failing finding must contain (a name it must give). */
  says?: string;
  /** The failing facts with the operator's override: a warning, never silence. */
  vouched?: PreflightFacts;
}

const CASES: Record<RuleCode, Case> = {
  ClusterFailed: { pass: facts(), fail: facts({ cluster: cluster({ provisioningState: 'Failed' }) }) },
  OperationInProgress: {
    pass: facts(),
    fail: facts({ cluster: cluster({ provisioningState: 'Updating' }) }),
  },
  ClusterStopped: { pass: facts(), fail: facts({ cluster: cluster({ powerState: 'Stopped' }) }) },
  NodePoolAtZero: {
    pass: facts(),
    fail: facts({ cluster: cluster({ nodePools: [{ name: 'batch', version: '1.29.2', count: 0 }] }) }),
    says: 'az aks nodepool scale --resource-group rg --cluster-name aks-h --name batch --node-count',
  },
  SystemAssignedIdentity: {
    pass: facts(),
    fail: facts({ cluster: cluster({ identity: { type: 'SystemAssigned', userAssigned: [] } }) }),
  },
  AlreadyEnabled: { pass: facts(), fail: facts({ input: { keyId: K1 } }) },
  ModeChangeWhileEnabled: { pass: facts(), fail: facts({ input: { networkAccess: 'Private' } }) },
  UseRotate: {
    pass: facts({ cluster: cluster({ kms: { enabled: false } }) }),
    fail: facts(),
  },
  KmsNotEnabled: { pass: facts(), fail: facts({ cluster: cluster({ kms: { enabled: false } }) }) },
  SameKey: { pass: facts(), fail: facts({ input: { keyId: K1 } }) },
  SameKeyUnproven: {
    pass: facts({ input: { keyId: K1 } }),
    fail: facts({
      input: { keyId: K1 },
      ledger: ledgerWith((l) => {
        l.lastReencryption = {
          keyId: K1,
          proven: false,
          at: NOW,
          workflowId: 'w',
          watermark: '',
          digest: '',
          objects: 0,
        };
      }),
    }),
  },
  MovesVault: { pass: facts(), fail: facts({ input: { keyId: key('v1', 'kv-other') } }), says: 'kv-other' },
  SameMode: { pass: facts({ input: { networkAccess: 'Private' } }), fail: facts() },
  AlreadyDisabled: { pass: facts(), fail: facts({ cluster: cluster({ kms: { enabled: false } }) }) },
  PlaintextWindow: { pass: facts({ cluster: cluster({ kms: { enabled: false } }) }), fail: facts() },
  KeyIdRequired: { pass: facts(), fail: facts({ input: { keyId: undefined } }) },
  KeyNotRsa: {
    pass: facts(),
    fail: facts({ keys: [{ keyId: K2, read: keyDigest(K2, { keyType: 'EC' }) }] }),
  },
  KeyDisabled: {
    pass: facts(),
    fail: facts({ keys: [{ keyId: K2, read: keyDigest(K2, { enabled: false }) }] }),
  },
  KeyExpired: {
    pass: facts(),
    fail: facts({ keys: [{ keyId: K2, read: keyDigest(K2, { expiresOn: inDays(-1) }) }] }),
  },
  KeyExpiringSoon: {
    pass: facts({ keys: [{ keyId: K2, read: keyDigest(K2, { expiresOn: inDays(90) }) }] }),
    fail: facts({ keys: [{ keyId: K2, read: keyDigest(K2, { expiresOn: inDays(10) }) }] }),
  },
  KeyNotFound: { pass: facts(), fail: facts({ keys: [{ keyId: K2, read: notFound }] }) },
  VaultUnreachable: {
    // In Public mode a closed vault is PublicModeWithFirewall's finding; in Private mode the worker needs a path.
    pass: facts({
      keys: [{ keyId: K2, read: unreachable }],
      vault: { id: VAULT_ID, read: vault({ firewallDefaultAction: 'Deny' }) },
    }),
    fail: facts({ input: { networkAccess: 'Private' }, keys: [{ keyId: K2, read: unreachable }] }),
    // A switch to Public opens the vault's public access itself: the worker's refusal until then is expected.
    vouched: facts({
      input: { opensVaultPublicAccess: true },
      keys: [{ keyId: K2, read: unreachable }],
      vault: { id: VAULT_ID, read: vault({ publicNetworkAccess: 'Disabled' }) },
    }),
  },
  KeyUnreadable: {
    pass: facts(),
    fail: facts({
      keys: [
        { keyId: K1, read: forbidden },
        { keyId: K2, read: keyDigest(K2) },
      ],
    }),
  },
  NeededKeyMissing: {
    pass: facts(),
    fail: facts({
      keys: [
        { keyId: K1, read: notFound },
        { keyId: K2, read: keyDigest(K2) },
      ],
    }),
    says: 'az keyvault key recover',
  },
  NeededKeyDisabled: {
    pass: facts(),
    fail: facts({
      keys: [
        { keyId: K1, read: keyDigest(K1, { enabled: false }) },
        { keyId: K2, read: keyDigest(K2) },
      ],
    }),
    says: 'the key in use',
  },
  NeededKeyExpired: {
    pass: facts(),
    fail: facts({
      keys: [
        { keyId: K1, read: keyDigest(K1, { expiresOn: inDays(-2) }) },
        { keyId: K2, read: keyDigest(K2) },
      ],
    }),
  },
  NeededKeyExpiringSoon: {
    pass: facts(),
    fail: facts({
      keys: [
        { keyId: K1, read: keyDigest(K1, { expiresOn: inDays(3) }) },
        { keyId: K2, read: keyDigest(K2) },
      ],
    }),
  },
  KeyNotInVault: {
    pass: facts({ input: { vaultResourceId: VAULT_ID } }),
    fail: facts({ input: { vaultResourceId: VAULT_ID.replace('kv-shared', 'kv-other') } }),
    says: 'kv-other',
  },
  PrivateNeedsVaultId: {
    pass: facts({ input: { networkAccess: 'Private', vaultResourceId: VAULT_ID } }),
    fail: facts({ input: { networkAccess: 'Private' } }),
  },
  VaultIdRequired: { pass: facts(), fail: facts({ vault: undefined }) },
  VaultNotFound: { pass: facts(), fail: facts({ vault: { id: VAULT_ID, read: notFound } }) },
  VaultUnreadable: { pass: facts(), fail: facts({ vault: { id: VAULT_ID, read: forbidden } }) },
  VaultUnverified: {
    pass: facts(),
    fail: facts({ vault: undefined, vaultNotFound: { vaultName: 'kv-far', subscriptions: [SUB] } }),
    says: 'kv-far',
  },
  ForeignTenantVault: { pass: facts(), fail: facts({ identityTenant: { value: 't-2' } }) },
  PublicModeWithFirewall: {
    pass: facts({
      input: { opensVaultPublicAccess: true },
      vault: { id: VAULT_ID, read: vault({ publicNetworkAccess: 'Disabled' }) },
    }),
    fail: facts({ vault: { id: VAULT_ID, read: vault({ publicNetworkAccess: 'Disabled' }) } }),
  },
  PrivateNeedsVnetIntegration: {
    // A cluster already on a private vault over Konnectivity keeps it for a rotation (the warning below)...
    pass: facts({
      input: { networkAccess: 'Private' },
      cluster: cluster({
        apiServerVnetIntegration: false,
        kms: { enabled: true, keyId: K1, networkAccess: 'Private' },
      }),
    }),
    // ...but a procedure that disables KMS first (migrate-v2, switch) makes a new configuration AKS refuses.
    fail: facts({
      input: { networkAccess: 'Private', disablesKms: true },
      cluster: cluster({
        apiServerVnetIntegration: false,
        kms: { enabled: true, keyId: K1, networkAccess: 'Private' },
      }),
    }),
  },
  KonnectivityPrivateVault: {
    pass: facts(),
    fail: facts({
      input: { networkAccess: 'Private' },
      cluster: cluster({
        apiServerVnetIntegration: false,
        kms: { enabled: true, keyId: K1, networkAccess: 'Private' },
      }),
    }),
  },
  LeavingVaultUnreachable: {
    // The article's L218 move: from kv-shared (Private) to a key of kv-other in Public mode, one update.
    pass: facts({
      input: { keyId: key('v1', 'kv-other') },
      cluster: cluster({
        kms: { enabled: true, keyId: K1, networkAccess: 'Private', vaultResourceId: VAULT_ID },
      }),
      leavingVault: {
        vaultName: 'kv-shared',
        id: VAULT_ID,
        read: vault({ publicNetworkAccess: 'Disabled' }),
        permissions: { principalId: 'p-1', crypto: 'rbac-role', contributor: true },
      },
    }),
    fail: facts({
      input: { keyId: key('v1', 'kv-other') },
      cluster: cluster({
        kms: { enabled: true, keyId: K1, networkAccess: 'Private', vaultResourceId: VAULT_ID },
      }),
      leavingVault: { vaultName: 'kv-shared', id: VAULT_ID, read: notFound },
    }),
    says: 'az keyvault recover --name kv-shared',
  },
  VaultRecoverability: {
    pass: facts(),
    fail: facts({ vault: { id: VAULT_ID, read: vault({ enablePurgeProtection: false }) } }),
  },
  IdentityNotFound: { pass: facts(), fail: facts({ identityTenant: notFound }) },
  IdentityLacksCryptoPermission: {
    pass: facts(),
    fail: facts({ permissions: { principalId: 'p-1', crypto: 'missing', contributor: true } }),
    says: 'Key Vault Crypto User',
  },
  PrivateNeedsContributor: {
    pass: facts({ input: { networkAccess: 'Private', vaultResourceId: VAULT_ID } }),
    fail: facts({
      input: { networkAccess: 'Private', vaultResourceId: VAULT_ID },
      permissions: { principalId: 'p-1', crypto: 'rbac-role', contributor: false },
    }),
  },
  AlreadyKmsV2: { pass: facts({ cluster: cluster({ kubernetesVersion: '1.26.3' }) }), fail: facts() },
  TargetVersionRequired: { pass: facts({ input: { targetVersion: '1.29' } }), fail: facts() },
  TargetBelowKmsV2: {
    pass: facts({ input: { targetVersion: '1.29' } }),
    fail: facts({ input: { targetVersion: '1.26' } }),
  },
  TargetVersionTooOld: {
    pass: facts({ input: { targetVersion: '1.29' } }),
    fail: facts({ input: { targetVersion: '1.28' } }),
  },
  UpgradePath: { pass: facts({ upgrade: undefined }), fail: facts() },
  NoUpgradePath: { pass: facts(), fail: facts({ upgrade: { problem: 'no upgrade to 1.30' } }) },
  KmsV1SecretLimit: {
    pass: facts({ cluster: cluster({ kubernetesVersion: '1.26.3' }), secretCount: 2000 }),
    fail: facts({ cluster: cluster({ kubernetesVersion: '1.26.3' }), secretCount: 2001 }),
  },
  KeyHeldByOtherCluster: {
    pass: facts({ ...retiring }),
    // aks-b rotated v1 → v2: v1 sits in its previous slot, which AKS keeps using.
    fail: facts({
      ...retiring,
      estate: {
        subscriptions: [SUB, OTHER_SUB],
        clusters: [
          other('aks-b', { slots: { current: K2, previous: K1 } }),
          other('aks-x', {
            subscriptionId: OTHER_SUB,
            kms: { enabled: true, keyId: K1 },
            slots: { current: K1, previous: key('v0') },
          }),
        ],
        unreadable: [],
      },
    }),
    says: 'aks-b',
  },
  PreviousSlotUnknown: {
    pass: facts({ ...retiring }),
    vouched: facts({
      input: { ...retiring.input, estate: { assumeUnused: ['aks-x'] } },
      estate: {
        subscriptions: [SUB],
        clusters: [other('aks-x', { previousUnknown: 'kmsflow holds no key ledger for it' })],
        unreadable: [],
      },
    }),
    fail: facts({
      ...retiring,
      estate: {
        subscriptions: [SUB],
        clusters: [other('aks-x', { previousUnknown: 'kmsflow holds no key ledger for it' })],
        unreadable: [],
      },
    }),
    says: '--assume-unused aks-x',
  },
  EstateUnverified: {
    pass: facts(),
    vouched: facts({
      input: { estate: { acceptUnverified: true } },
      estate: {
        subscriptions: [SUB],
        clusters: [],
        unreadable: [{ what: 'the clusters of subscription S', reason: 'Forbidden' }],
      },
    }),
    fail: facts({
      estate: {
        subscriptions: [SUB],
        clusters: [],
        unreadable: [{ what: 'the clusters of subscription S', reason: 'Forbidden' }],
      },
    }),
    says: 'Cannot verify the clusters of subscription S',
  },
  VaultInPublicUse: {
    pass: facts({
      input: { closesVaultPublicAccess: true, vaultResourceId: VAULT_ID },
      estate: {
        subscriptions: [SUB],
        clusters: [other('aks-b', { kms: { enabled: true, keyId: K2, networkAccess: 'Private' } })],
        unreadable: [],
      },
    }),
    fail: facts({ input: { closesVaultPublicAccess: true, vaultResourceId: VAULT_ID } }),
    says: 'aks-b',
  },
};

describe('preflight rules, each on its own', () => {
  it.each(RULES.map((r) => r.code))(
    '%s is silent on its passing fixture and fires on its failing one',
    (code) => {
      const c = CASES[code as RuleCode];
      expect(evaluateRules([code], c.pass), 'passing fixture').toEqual([]);
      const fired = evaluateRules([code], c.fail);
      expect(fired.length, 'failing fixture').toBeGreaterThan(0);
      for (const finding of fired) {
        expect(finding.code).toBe(code);
        expect(finding.message.length).toBeGreaterThan(10);
        if (finding.severity === 'error') expect(finding.fix, `${code} names its fix`).toBeTruthy();
      }
      if (c.says) expect(fired.map((f) => `${f.message} ${f.fix ?? ''}`).join(' ')).toContain(c.says);
    },
  );

  it('every rule has a source, a sentence for the docs and a unique code', () => {
    const codes = RULES.map((r) => r.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const rule of RULES) {
      expect(rule.source).toMatch(/^(L\d+|kmsflow|DESIGN: .+)$/);
      expect(rule.when.length).toBeGreaterThan(20);
    }
    expect(Object.keys(CASES).sort()).toEqual([...codes].sort());
  });

  it('an operator override turns a refusal into a warning, never into silence', () => {
    const unknown = CASES.PreviousSlotUnknown.vouched!;
    const findings = evaluateRules(['PreviousSlotUnknown'], unknown);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe('warning');
    expect(findings[0]!.message).toContain('aks-x');
    const unverified = evaluateRules(['EstateUnverified'], CASES.EstateUnverified.vouched!);
    expect(unverified.map((f) => f.severity)).toEqual(['warning']);
  });

  it('an unknown previous slot refuses on a cluster of the same key, and is reported on a cluster of another key', () => {
    const unknown = (current: string) =>
      facts({
        ...retiring,
        estate: {
          subscriptions: [SUB],
          clusters: [
            other('aks-y', { slots: { current }, previousUnknown: 'kmsflow holds no key ledger for it' }),
          ],
          unreadable: [],
        },
      });
    expect(evaluateRules(['PreviousSlotUnknown'], unknown(K2)).map((f) => f.severity)).toEqual(['error']);
    const elsewhere = evaluateRules(['PreviousSlotUnknown'], unknown(key('v1', 'kv-shared', 'own')));
    expect(elsewhere.map((f) => f.severity)).toEqual(['warning']);
    expect(elsewhere[0]!.message).toContain('aks-y');
  });

  it('a switch to Public does not refuse a worker that only the closed public access keeps out', () => {
    expect(evaluateRules(['VaultUnreachable'], CASES.VaultUnreachable.vouched!)).toEqual([]);
    const walled = CASES.VaultUnreachable.vouched!;
    const withFirewall = {
      ...walled,
      vault: {
        id: VAULT_ID,
        read: vault({ publicNetworkAccess: 'Disabled', firewallDefaultAction: 'Deny' }),
      },
    };
    // With a firewall too, the switch cannot open it: PublicModeWithFirewall says so (the worker's refusal is the same wall).
    expect(evaluateRules(['PublicModeWithFirewall'], withFirewall).map((x) => x.code)).toEqual([
      'PublicModeWithFirewall',
    ]);
  });

  it('a cluster holding the version is refused even when the operator vouches for it', () => {
    const f = CASES.KeyHeldByOtherCluster.fail;
    const vouched = { ...f, input: { ...f.input, estate: { assumeUnused: ['aks-b', 'aks-x'] } } };
    const findings = evaluateRules(['KeyHeldByOtherCluster'], vouched);
    expect(findings.map((x) => x.severity)).toEqual(['error', 'error']);
    expect(findings.map((x) => x.message).join(' ')).toMatch(/aks-b.*previous key slot/);
    expect(findings.map((x) => x.message).join(' ')).toContain(`aks-x (subscription ${OTHER_SUB})`);
  });
});
