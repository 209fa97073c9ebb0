// The emulated KMS plugin fails like AKS's when a rule of the article is broken behind kmsflow's back: the
// vault's firewall in Public mode, the cluster identity's lost permission, a deleted identity. Reads of
// Secrets under the key fail, writes fail, and the API server's kms-providers readiness check fails; putting
// the rule back heals all three.
import type { RoleAssignment } from '@azure/arm-authorization';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { apiserverRequest } from '../../conformance/control-plane/apiserver';
import { kubeClient } from '../helpers/kube';

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
      subscriptions: [{ id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: RG, location: 'eastus' }] }],
      principals: [{ name: 'operator', type: 'User' }],
      operator: 'operator',
      identities: [{ name: 'id-kms' }],
      vaults: [{ name: 'kv-plugin', keys: [{ name: 'kms', versions: 1 }] }],
      roleAssignments: [{ role: 'Key Vault Crypto User', principal: 'id-kms', scope: 'vault:kv-plugin' }],
      clusters: [{ name: 'c-plugin', kubernetesVersion: '1.30', identity: 'id-kms', kms: { vault: 'kv-plugin', key: 'kms', version: 1 }, secrets: { count: 5, namespaces: 1, seed: 1, maxBytes: 512 } }],
    },
  });
  const first = sb.kubeCluster('c-plugin')!.etcdView().find((e) => e.provider.type !== 'identity')!;
  seeded = { name: first.name, namespace: first.namespace };
});

afterAll(async () => {
  await sb?.close();
});

/** What the API server does now: read a Secret, write one, and its readiness. */
async function apiServer(): Promise<{ read: string; write: string; ready: string }> {
  const kube = kubeClient(sb.kubeconfig('c-plugin', 'admin'));
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: number; body?: string }) => `${e.code} ${String(e.body ?? '')}`);
  const read = await outcome(kube.readNamespacedSecret(seeded));
  const write = await outcome(kube.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: `probe-${randomUUID().slice(0, 8)}` }, stringData: { v: '1' } } }));
  const config = sb.kubeconfig('c-plugin', 'admin');
  const server = /server: (\S+)/.exec(config)![1]!;
  const caPem = Buffer.from(/certificate-authority-data: (\S+)/.exec(config)![1]!, 'base64').toString();
  const adminToken = /token: (\S+)/.exec(config)![1]!;
  const res = await apiserverRequest(server, { caPem, adminToken }, 'GET', '/readyz?verbose');
  const ready = `${res.status} ${res.body}`;
  return { read, write, ready };
}

const healthy = { read: 'ok', write: 'ok', ready: expect.stringMatching(/^200 [\s\S]*\[\+\]kms-providers ok/) };
const broken = (why: RegExp) => ({ read: expect.stringMatching(/^500 /), write: expect.stringMatching(why), ready: expect.stringMatching(/^500 [\s\S]*\[-\]kms-providers failed/) });

it('a firewall on the vault in Public mode breaks the plugin until it is lifted', async () => {
  expect(await apiServer()).toEqual(healthy);
  const vaults = sb.clients().keyVaultManagement.vaults;
  await vaults.update(RG, 'kv-plugin', { properties: { networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' } } });
  expect(await apiServer()).toEqual(broken(/^500 .*refused the KMS plugin's address/));
  await vaults.update(RG, 'kv-plugin', { properties: { networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' } } });
  expect(await apiServer()).toEqual(healthy);
});

it("the cluster identity's lost Key Vault role breaks the plugin until it is granted again", async () => {
  const assignments = sb.clients().authorization.roleAssignments;
  const scope = `/subscriptions/${sb.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.KeyVault/vaults/kv-plugin`;
  const found: RoleAssignment[] = [];
  for await (const a of assignments.listForScope(scope)) if (a.roleDefinitionId?.endsWith(CRYPTO_USER)) found.push(a);
  expect(found).toHaveLength(1);
  await assignments.delete(scope, found[0]!.name!);
  expect(await apiServer()).toEqual(broken(/^500 .*is not allowed to unwrap/));
  await assignments.create(scope, randomUUID(), { roleDefinitionId: found[0]!.roleDefinitionId!, principalId: found[0]!.principalId!, principalType: 'ServicePrincipal' });
  expect(await apiServer()).toEqual(healthy);
});

it('a deleted cluster identity breaks the plugin for good', async () => {
  await sb.clients().msi.userAssignedIdentities.delete(RG, 'id-kms');
  expect(await apiServer()).toEqual(broken(/^500 .*no longer exists/));
});
