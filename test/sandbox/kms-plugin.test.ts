// The emulated KMS plugin fails like AKS's when a rule of the article is broken behind kmsflow's back: the
// vault's firewall in Public mode, the cluster identity's lost permission or deletion, the key deleted after
// KMS was disabled, KMS v1 beyond 2,000 Secrets. At first nothing shows (the API server holds its last good
// check of the plugin and the seeds it decrypted); after a restart nothing under the key works.
import type { RoleAssignment } from '@azure/arm-authorization';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { kubeClient, readiness } from '../helpers/kube';
import type { ManagedCluster } from '@azure/arm-containerservice';
import { KMS_V1_SECRET_LIMIT } from '../../sandbox/kube/encryption';
import { waitUntil } from '../helpers/wait';

const RG = 'rg-plugin';
const CRYPTO_USER = '12338af0-0e69-4776-bea7-57ae8d297424';
let sb: RunningSandbox;
/** A Secret of the seeded estate, stored under the key. */
let seeded: { name: string; namespace: string };

beforeAll(async () => {
  sb = await startSandbox({
    scenario: {
      seed: 7,
      tenantId: '72f988bf-0000-4000-a000-00000000c0de',
      subscriptions: [
        { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: RG, location: 'eastus' }] },
      ],
      principals: [{ name: 'operator', type: 'User' }],
      operator: 'operator',
      identities: [{ name: 'id-kms' }, { name: 'id-off' }, { name: 'id-v1' }],
      vaults: [
        { name: 'kv-plugin', keys: [{ name: 'kms', versions: 1 }] },
        { name: 'kv-off', keys: [{ name: 'kms', versions: 1 }] },
        { name: 'kv-v1', keys: [{ name: 'kms', versions: 1 }] },
      ],
      roleAssignments: [
        { role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-plugin' },
        { role: 'Key Vault Crypto User', principal: 'id-off', scope: 'vault:kv-off' },
        { role: 'Key Vault Crypto Officer', principal: 'operator', scope: 'vault:kv-off' },
        { role: 'Key Vault Crypto User', principal: 'id-v1', scope: 'vault:kv-v1' },
      ],
      clusters: [
        {
          name: 'c-plugin',
          kubernetesVersion: '1.30',
          identity: 'id-kms',
          kms: { vault: 'kv-plugin', key: 'kms', version: 1 },
          secrets: { count: 5, namespaces: 1, seed: 1, maxBytes: 512 },
        },
        {
          name: 'c-off',
          kubernetesVersion: '1.30',
          identity: 'id-off',
          kms: { vault: 'kv-off', key: 'kms', version: 1 },
          secrets: { count: 5, namespaces: 1, seed: 2, maxBytes: 512 },
        },
        {
          name: 'c-v1',
          kubernetesVersion: '1.26',
          identity: 'id-v1',
          kms: { vault: 'kv-v1', key: 'kms', version: 1 },
          secrets: { count: KMS_V1_SECRET_LIMIT - 1, namespaces: 2, seed: 3, maxBytes: 256 },
        },
      ],
    },
    propagationDelayMs: 20,
    operationDurationMs: 50,
  });
  seeded = seededSecret('c-plugin');
});

afterAll(async () => {
  await sb?.close();
});

/** A Secret of the cluster's seeded estate, stored under its key. */
function seededSecret(cluster: string): { name: string; namespace: string } {
  const first = sb
    .kubeCluster(cluster)!
    .etcdView()
    .find((e) => e.provider.type !== 'identity')!;
  return { name: first.name, namespace: first.namespace };
}

/** What the API server does now: read a Secret, write one, and its readiness. */
async function apiServer(
  cluster = 'c-plugin',
  secret = seeded,
): Promise<{ read: string; write: string; ready: string }> {
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
  const ready = `${res.status} ${res.body}`;
  return { read, write, ready };
}

const healthy = {
  read: 'ok',
  write: 'ok',
  ready: expect.stringMatching(/^200 [\s\S]*\[\+\]kms-providers ok/),
};
/** After the API server restarts (AKS rolls it, or the seed cache expires): nothing under the key works. */
const broken = (why: RegExp) => ({
  read: expect.stringMatching(/^500 /),
  write: expect.stringMatching(why),
  ready: expect.stringMatching(/^500 [\s\S]*\[-\]kms-providers failed[\s\S]*\[-\]informer-sync failed/),
});

/** Breaks a rule, shows the API server before and after a restart, heals it and shows it healthy again after a restart. */
async function breakAndHeal(
  breakRule: () => Promise<void>,
  heal: (() => Promise<void>) | undefined,
  why: RegExp,
): Promise<void> {
  expect(await apiServer()).toEqual(healthy);
  await breakRule();
  // Right after: nothing shows. The API server reuses its last good check of the plugin for a minute and
  // holds the seeds it decrypted (reads) and its write seed (writes, for 3 minutes).
  expect(await apiServer()).toEqual(healthy);
  sb.kubeCluster('c-plugin')!.restartApiServer();
  expect(await apiServer()).toEqual(broken(why));
  if (!heal) return;
  await heal();
  sb.kubeCluster('c-plugin')!.restartApiServer();
  expect(await apiServer()).toEqual(healthy);
}

it('a firewall on the vault in Public mode breaks the plugin until it is lifted', async () => {
  const vaults = sb.clients().keyVaultManagement.vaults;
  await breakAndHeal(
    () =>
      vaults
        .update(RG, 'kv-plugin', {
          properties: { networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' } },
        })
        .then(() => undefined),
    () =>
      vaults
        .update(RG, 'kv-plugin', {
          properties: { networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' } },
        })
        .then(() => undefined),
    /^500 .*refused the KMS plugin's address/,
  );
});

it("the cluster identity's lost Key Vault role breaks the plugin until it is granted again", async () => {
  const assignments = sb.clients().authorization.roleAssignments;
  const scope = `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-plugin`;
  const found: RoleAssignment[] = [];
  for await (const a of assignments.listForScope(scope))
    if (a.roleDefinitionId?.endsWith(CRYPTO_USER)) found.push(a);
  expect(found).toHaveLength(1);
  await breakAndHeal(
    () => assignments.delete(scope, found[0]!.name!).then(() => undefined),
    () =>
      assignments
        .create(scope, randomUUID(), {
          roleDefinitionId: found[0]!.roleDefinitionId!,
          principalId: found[0]!.principalId!,
          principalType: 'ServicePrincipal',
        })
        .then(() => undefined),
    /^500 .*is not allowed to encrypt and decrypt/,
  );
});

it('deleting the key after KMS was disabled breaks the API server: it still needs the key for what is encrypted (L32)', async () => {
  const clusters = sb.clients().containerService.managedClusters;
  const cluster = await clusters.get(RG, 'c-off');
  await clusters.beginCreateOrUpdateAndWait(
    RG,
    'c-off',
    { ...cluster, securityProfile: { azureKeyVaultKms: { enabled: false } } } as ManagedCluster,
    { updateIntervalInMs: 20 },
  );
  await waitUntil(
    async () => sb.kubeCluster('c-off')!.getEncryption().write.type,
    (t) => t === 'identity',
    { what: 'the API server to write plaintext' },
  );
  const stillEncrypted = seededSecret('c-off');
  expect(await apiServer('c-off', stillEncrypted)).toEqual(healthy);

  const keys = sb.clients().keys('kv-off');
  await (await keys.beginDeleteKey('kms', { intervalInMs: 20 })).pollUntilDone();
  expect(await apiServer('c-off', stillEncrypted)).toEqual(healthy);
  sb.kubeCluster('c-off')!.restartApiServer();
  expect(await apiServer('c-off', stillEncrypted)).toEqual({ ...broken(/./), write: 'ok' });

  await (await keys.beginRecoverDeletedKey('kms', { intervalInMs: 20 })).pollUntilDone();
  sb.kubeCluster('c-off')!.restartApiServer();
  expect(await apiServer('c-off', stillEncrypted)).toEqual(healthy);
});

it('KMS v1 beyond 2,000 Secrets: Key Vault throttles the plugin and its health check fails (L27)', async () => {
  const secret = seededSecret('c-v1');
  // The probe write of each look adds one Secret: at the limit, then one over it (a restart checks the plugin again).
  expect((await apiServer('c-v1', secret)).ready).toMatch(/^200 /);
  sb.kubeCluster('c-v1')!.restartApiServer();
  expect((await apiServer('c-v1', secret)).ready).toMatch(/^200 /);
  sb.kubeCluster('c-v1')!.restartApiServer();
  // Reads and writes go on (slowly, in AKS); the plugin's health check fails.
  expect(await apiServer('c-v1', secret)).toEqual({
    read: 'ok',
    write: 'ok',
    ready: expect.stringMatching(/^500 [\s\S]*\[-\]kms-providers failed/),
  });
  expect(sb.kubeCluster('c-v1')!.kmsPluginCheck()).toMatch(/throttles the KMS v1 plugin: 2001 Secrets/);
});

it('a deleted cluster identity breaks the plugin for good', async () => {
  await breakAndHeal(
    () =>
      sb
        .clients()
        .msi.userAssignedIdentities.delete(RG, 'id-kms')
        .then(() => undefined),
    undefined,
    /^500 .*no longer exists/,
  );
});
