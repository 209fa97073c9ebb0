// The emulated KMS plugin's path to each key, as AKS's: each key slot keeps the network path it was configured
// with until its key leaves the slot, so the article's one-step move from a private vault to a key of a public
// vault (L218) leaves the old key reachable through the old vault's private link while Secrets still need it; a
// Public slot is cut off when its vault closes public access; and the plugin needs encrypt and decrypt (L90).
import type { ManagedCluster } from '@azure/arm-containerservice';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultKeyUsability } from '../../sandbox/keyvault/usability';
import type { PersistedSandbox } from '../../sandbox/persistence';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { vaultArmId } from '../../sandbox/store';
import { kubeClient, readiness } from '../helpers/kube';
import { waitUntil } from '../helpers/wait';
import { keyVersionIds, SUB, TENANT } from './helpers';

const RG = 'rg-paths';
let sb: RunningSandbox;
const stateDir = mkdtempSync(join(tmpdir(), 'kmsflow-paths-'));

beforeAll(async () => {
  sb = await startSandbox({
    scenario: {
      seed: 218,
      tenantId: TENANT,
      subscriptions: [{ id: SUB, resourceGroups: [{ name: RG, location: 'eastus' }] }],
      principals: [{ name: 'operator', type: 'User' }],
      identities: [{ name: 'id-kms' }, { name: 'id-wrap' }, { name: 'id-ap' }],
      vaults: [
        // truly private: public access disabled and a firewall that denies
        {
          name: 'kv-priv',
          publicNetworkAccess: 'Disabled',
          networkAcls: { defaultAction: 'Deny' },
          keys: [{ name: 'kms' }],
        },
        { name: 'kv-pub', keys: [{ name: 'kms' }] },
        { name: 'kv-closing', keys: [{ name: 'kms' }] },
        {
          name: 'kv-policies',
          enableRbacAuthorization: false,
          accessPolicies: [
            { principal: 'id-wrap', keys: ['get', 'wrapKey', 'unwrapKey'] },
            { principal: 'id-ap', keys: ['get', 'encrypt', 'decrypt'] },
          ],
          keys: [{ name: 'kms' }],
        },
      ],
      roleAssignments: [
        { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-priv' },
        { role: 'Key Vault Contributor', principal: 'id-kms', scope: 'vault:kv-priv' },
        { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-pub' },
        { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-closing' },
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-pub' },
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-closing' },
        { role: 'Key Vault Crypto Service Encryption User', principal: 'id-wrap', scope: 'vault:kv-pub' },
      ],
      clusters: [
        {
          name: 'aks-move',
          kubernetesVersion: '1.30',
          identity: 'id-kms',
          apiServerVnetIntegration: true,
          kms: { vault: 'kv-priv', key: 'kms', networkAccess: 'Private' },
          secrets: { count: 8, namespaces: 2, seed: 1, maxBytes: 512 },
        },
        {
          name: 'aks-public',
          kubernetesVersion: '1.30',
          identity: 'id-kms',
          kms: { vault: 'kv-closing', key: 'kms', networkAccess: 'Public' },
          secrets: { count: 4, namespaces: 1, seed: 2, maxBytes: 512 },
        },
        { name: 'aks-wrap', kubernetesVersion: '1.30', identity: 'id-wrap' },
        { name: 'aks-ap', kubernetesVersion: '1.30', identity: 'id-ap' },
      ],
    },
    stateDir,
    propagationDelayMs: 20,
    operationDurationMs: 50,
  });
});

afterAll(async () => {
  await sb?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

/** A Secret of the cluster's seeded estate and the key it is stored under. */
function seededSecret(cluster: string): { name: string; namespace: string; keyId: string } {
  const e = sb
    .kubeCluster(cluster)!
    .etcdView()
    .find((x) => x.provider.type !== 'identity')!;
  return { name: e.name, namespace: e.namespace, keyId: (e.provider as { keyId: string }).keyId };
}

/** What the API server does now: read a Secret, write one, and its readiness (through the /k8s/<cluster> URL). */
async function apiServer(cluster: string, secret: { name: string; namespace: string }) {
  const kube = kubeClient(sb.kubeconfig(cluster, 'admin'));
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: { code?: number; body?: string }) => `${e.code} ${String(e.body ?? '')}`,
    );
  const read = await outcome(kube.readNamespacedSecret(secret));
  const write = await outcome(
    kube.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: `probe-${randomUUID().slice(0, 8)}` }, stringData: { v: '1' } },
    }),
  );
  const res = await readiness(sb.kubeconfig(cluster, 'admin'));
  return { read, write, ready: `${res.status} ${res.body}` };
}

const healthy = {
  read: 'ok',
  write: 'ok',
  ready: expect.stringMatching(/^200 [\s\S]*\[\+\]kms-providers ok/),
};

describe('a slot keeps the network path it was configured with', () => {
  it('moving KMS from a truly private vault to a key of a public vault keeps the old key readable (L218)', async () => {
    const before = seededSecret('aks-move');
    const oldKey = sb.context.store.clusterByName('aks-move')!.keySlots.current!;
    expect(before.keyId).toBe(oldKey);
    expect(await apiServer('aks-move', before)).toEqual(healthy);

    const [newKey] = await keyVersionIds(sb, 'kv-pub', 'kms');
    const clusters = sb.clients().containerService.managedClusters;
    const cluster = await clusters.get(RG, 'aks-move');
    await clusters.beginCreateOrUpdateAndWait(
      RG,
      'aks-move',
      {
        ...cluster,
        securityProfile: {
          azureKeyVaultKms: {
            enabled: true,
            keyId: newKey,
            keyVaultNetworkAccess: 'Public',
            keyVaultResourceId: '',
          },
        },
      } as ManagedCluster,
      { updateIntervalInMs: 20 },
    );
    await waitUntil(
      async () => {
        const w = sb.kubeCluster('aks-move')!.getEncryption().write;
        return w.type === 'identity' ? undefined : w.keyId;
      },
      (k) => k === newKey,
      { what: 'the API server to write under the new key' },
    );
    const record = sb.context.store.clusterByName('aks-move')!;
    expect(record.keySlots).toEqual({ current: newKey, previous: oldKey });
    expect(record.slotPaths).toEqual({
      current: { networkAccess: 'Public' },
      previous: {
        networkAccess: 'Private',
        vaultResourceId: vaultArmId(sb.context.store.vaultByName('kv-priv')!),
      },
    });

    // No cached seed or health check helps: a restarted API server reaches the old key by its private link.
    sb.kubeCluster('aks-move')!.restartApiServer();
    expect(await apiServer('aks-move', before)).toEqual(healthy);
    expect(seededSecret('aks-move')).toMatchObject({ name: before.name, keyId: oldKey });

    // Re-encrypted, the Secret moves to the new key.
    const kube = kubeClient(sb.kubeconfig('aks-move', 'admin'));
    const secret = await kube.readNamespacedSecret(before);
    await kube.replaceNamespacedSecret({ name: before.name, namespace: before.namespace, body: secret });
    const moved = sb
      .kubeCluster('aks-move')!
      .etcdView()
      .find((e) => e.name === before.name && e.namespace === before.namespace)!;
    expect((moved.provider as { keyId: string }).keyId).toBe(newKey);
  });

  it('a Public-mode cluster fails kms-providers once its vault disables public access', async () => {
    const secret = seededSecret('aks-public');
    expect(await apiServer('aks-public', secret)).toEqual(healthy);
    await sb.clients().keyVaultManagement.vaults.update(RG, 'kv-closing', {
      properties: { publicNetworkAccess: 'Disabled' },
    });
    sb.kubeCluster('aks-public')!.restartApiServer();
    const after = await apiServer('aks-public', secret);
    expect(after.ready).toMatch(/^500 [\s\S]*\[-\]kms-providers failed/);
    expect(after.read).toMatch(/^500 /);
    expect(new VaultKeyUsability(sb.context.store).keyProblem(secret.keyId, 'aks-public')).toMatch(
      /refused the KMS plugin's address/,
    );
  });
});

describe("the plugin's permission is encrypt and decrypt, as AKS's plugin uses", () => {
  it('wrap/unwrap alone (a role or an access policy) is not enough; encrypt and decrypt are', async () => {
    const usability = new VaultKeyUsability(sb.context.store);
    const [pubKey] = await keyVersionIds(sb, 'kv-pub', 'kms');
    const policyKey = `${sb.vaultUrl('kv-policies')}/keys/kms/${sb.context.store.vaultByName('kv-policies')!.keys.kms!.versions[0]!.version}`;
    // Key Vault Crypto Service Encryption User: read, wrap, unwrap
    expect(usability.keyProblem(pubKey!, 'aks-wrap')).toMatch(
      /not allowed to encrypt and decrypt with kms \(Forbidden\)/,
    );
    expect(usability.keyProblem(policyKey, 'aks-wrap')).toMatch(/not allowed to encrypt and decrypt/);
    expect(usability.keyProblem(policyKey, 'aks-ap')).toBeUndefined();
  });
});

describe('persisted state from before slots had their own path', () => {
  it('loads, and judges each slot by the cluster mode until a change records the paths', async () => {
    const oldKey = sb.context.store.clusterByName('aks-move')!.keySlots.previous!;
    await sb.snapshot();
    await sb.close();
    const file = join(stateDir, 'state.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as PersistedSandbox;
    for (const c of saved.azure.clusters) delete c.slotPaths;
    writeFileSync(file, JSON.stringify(saved));

    sb = await startSandbox({ stateDir, propagationDelayMs: 20, operationDurationMs: 50 });
    const record = sb.context.store.clusterByName('aks-move')!;
    expect(record.slotPaths).toBeUndefined();
    // the cluster is in Public mode now, so its previous slot is judged Public: the private vault refuses it
    expect(new VaultKeyUsability(sb.context.store).keyProblem(oldKey, 'aks-move')).toMatch(
      /refused the KMS plugin's address/,
    );
    const [current] = await keyVersionIds(sb, 'kv-pub', 'kms');
    expect(new VaultKeyUsability(sb.context.store).keyProblem(current!, 'aks-move')).toBeUndefined();
  });
});
