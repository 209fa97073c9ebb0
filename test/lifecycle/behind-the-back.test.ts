// The article's rules broken behind kmsflow's back, on clusters with KMS on: someone deletes the key, removes
// the cluster identity's Key Vault role, closes the vault's firewall, deletes the identity, destroys the key
// after KMS was disabled, lets a KMS v1 cluster grow past 2,000 Secrets, or scales a node pool to zero. For each: what breaks (the
// API server after its next restart, seen through readiness and the etcd view), what real `kmsflow`
// processes then say (`plan` names the finding and its fix, `keys` warns), and, where the article allows a
// repair, that following the fix clears the finding.
import type { RoleAssignment } from '@azure/arm-authorization';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FindingView, KeysResult, PlanResult } from '../../client/output/shapes';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import { readiness } from '../helpers/kube';
import { type CliWorld, startCliWorld } from './cli-world';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const GROUP = 'rg-back';
const CRYPTO_USER = '12338af0-0e69-4776-bea7-57ae8d297424';
/** Each rule breaks its own cluster, with its own vault and identity, so one test's damage stays its own. */
const RULES = ['del', 'role', 'fw', 'gone', 'off', 'v1', 'pool'] as const;
type Rule = (typeof RULES)[number];

const scenario: ScenarioInput = {
  seed: 31,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [{ id: SUBSCRIPTION, resourceGroups: [{ name: GROUP, location: 'eastus' }] }],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: RULES.map((r) => ({ name: `id-${r}` })),
  vaults: RULES.map((r) => ({
    name: `kv-${r}`,
    enablePurgeProtection: true,
    keys: [
      { name: 'inuse', versions: 1 },
      { name: 'next', versions: 1 },
    ],
  })),
  roleAssignments: RULES.flatMap((r) => [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:kv-${r}` },
    { role: 'Key Vault Crypto User', principal: `id-${r}`, scope: `vault:kv-${r}` },
  ]),
  clusters: RULES.map((r, i) => ({
    name: `aks-${r}`,
    kubernetesVersion: r === 'v1' ? '1.26' : '1.29',
    identity: `id-${r}`,
    ...(r === 'pool'
      ? {
          nodePools: [
            { name: 'system', count: 3, mode: 'System' as const },
            { name: 'batch', count: 2, mode: 'User' as const },
          ],
        }
      : {}),
    kms: { vault: `kv-${r}`, key: 'inuse', version: 1, networkAccess: 'Public' as const },
    // The KMS v1 cluster starts just under the article's 2,000 Secrets.
    secrets: {
      count: r === 'v1' ? 1_995 : 30,
      namespaces: 2,
      seed: 40 + i,
      maxBytes: r === 'v1' ? 256 : 2048,
    },
  })),
};

let sb: RunningSandbox;
let world: CliWorld;

const clusterId = (rule: Rule) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.ContainerService/managedClusters/aks-${rule}`;
const vaultScope = (rule: Rule) =>
  `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.KeyVault/vaults/kv-${rule}`;

/** The versioned id of the only version of `key` in the rule's vault. */
function keyId(rule: Rule, key: 'inuse' | 'next'): string {
  const version = sb.context.store.vaultByName(`kv-${rule}`)!.keys[key]!.versions[0]!.version;
  return `${sb.vaultUrl(`kv-${rule}`)}/keys/${key}/${version}`;
}

/** `kmsflow plan PROCEDURE --cluster … ARGS --json`: its findings by code (exit 0 clean, 2 with errors). */
async function plan(
  rule: Rule,
  procedure: string,
  args: string[],
): Promise<{ ok: boolean; findings: Map<string, FindingView> }> {
  const result = await world.kmsflowJson<PlanResult>(
    ['plan', procedure, '--cluster', clusterId(rule), ...args],
    [0, 2],
  );
  return { ok: result.ok, findings: new Map(result.findings.map((f) => [f.code, f])) };
}

const planRotate = (rule: Rule) => plan(rule, 'rotate', ['--key-id', keyId(rule, 'next')]);

/** What AKS would show after its next control-plane roll: the API server restarted, then its readiness and the etcd view. */
async function afterRestart(rule: Rule): Promise<{ ready: number; failing: string[]; unreadable: number }> {
  sb.kubeCluster(`aks-${rule}`)!.restartApiServer();
  const ready = await readiness(sb.kubeconfig(`aks-${rule}`, 'admin'));
  const view = await world.inspect(`aks-${rule}`);
  return {
    ready: ready.status,
    failing: ready.failing,
    unreadable: view.etcdEntries!.filter((e) => !e.readable).length,
  };
}

const healthy = { ready: 200, failing: [], unreadable: 0 };

beforeAll(async () => {
  sb = await startSandbox({ scenario, operationDurationMs: 200, propagationDelayMs: 100 });
  world = await startCliWorld({ sandbox: sb });
}, 180_000);

afterAll(async () => {
  await world?.teardown();
  await sb?.close();
});

describe("rules broken behind kmsflow's back: what breaks, and what kmsflow says", () => {
  it('the key in use is deleted (L24, L38): the API server cannot read Secrets; plan names NeededKeyMissing with the recovery, which clears it', async () => {
    expect((await planRotate('del')).ok).toBe(true);
    const inuse = keyId('del', 'inuse');
    const keys = sb.clients().keys('kv-del');
    await (await keys.beginDeleteKey('inuse', { intervalInMs: 50 })).pollUntilDone();
    const broken = await afterRestart('del');
    expect(broken).toMatchObject({
      ready: 500,
      failing: expect.arrayContaining([
        '[-]kms-providers failed: reason withheld',
        '[-]informer-sync failed: reason withheld',
      ]),
    });
    expect(broken.unreadable).toBe(30);

    const found = await planRotate('del');
    expect(found.ok).toBe(false);
    expect(found.findings.get('NeededKeyMissing')).toMatchObject({
      severity: 'error',
      fix: expect.stringContaining('az keyvault key recover --vault-name kv-del --name inuse'),
    });
    const seen = await world.kmsflowJson<KeysResult>(['keys', clusterId('del')]);
    expect(seen.warnings.some((w) => w.includes(inuse))).toBe(true);

    await (await keys.beginRecoverDeletedKey('inuse', { intervalInMs: 50 })).pollUntilDone();
    expect((await planRotate('del')).ok).toBe(true);
    expect(await afterRestart('del')).toEqual(healthy);
  }, 120_000);

  it('the cluster identity loses its Key Vault role (L25): the plugin fails; plan names IdentityLacksCryptoPermission with the role assignment, which clears it', async () => {
    const assignments = sb.clients().authorization.roleAssignments;
    const found: RoleAssignment[] = [];
    for await (const a of assignments.listForScope(vaultScope('role')))
      if (a.roleDefinitionId?.endsWith(CRYPTO_USER)) found.push(a);
    expect(found).toHaveLength(1);
    await assignments.delete(vaultScope('role'), found[0]!.name!);
    expect(await afterRestart('role')).toMatchObject({ ready: 500, unreadable: 30 });

    const finding = (await planRotate('role')).findings.get('IdentityLacksCryptoPermission');
    expect(finding).toMatchObject({
      severity: 'error',
      fix: expect.stringContaining(
        `az role assignment create --role "Key Vault Crypto User" --assignee-object-id ${found[0]!.principalId}`,
      ),
    });

    await assignments.create(vaultScope('role'), randomUUID(), {
      roleDefinitionId: found[0]!.roleDefinitionId!,
      principalId: found[0]!.principalId!,
      principalType: 'ServicePrincipal',
    });
    expect((await planRotate('role')).ok).toBe(true);
    expect(await afterRestart('role')).toEqual(healthy);
  }, 120_000);

  it('a firewall closes the Public vault (L26): the plugin fails; plan names PublicModeWithFirewall with the command that opens it, which clears it', async () => {
    const vaults = sb.clients().keyVaultManagement.vaults;
    await vaults.update(GROUP, 'kv-fw', {
      properties: { networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices' } },
    });
    expect(await afterRestart('fw')).toMatchObject({ ready: 500, unreadable: 30 });

    const found = await planRotate('fw');
    expect(found.findings.get('PublicModeWithFirewall')).toMatchObject({
      severity: 'error',
      fix: expect.stringContaining('kv-fw'),
    });

    await vaults.update(GROUP, 'kv-fw', {
      properties: { networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' } },
    });
    expect((await planRotate('fw')).ok).toBe(true);
    expect(await afterRestart('fw')).toEqual(healthy);
  }, 120_000);

  it('the cluster identity is deleted (L24): the plugin fails for good; plan names IdentityNotFound', async () => {
    await sb.clients().msi.userAssignedIdentities.delete(GROUP, 'id-gone');
    expect(await afterRestart('gone')).toMatchObject({ ready: 500, unreadable: 30 });
    const found = await planRotate('gone');
    expect(found.ok).toBe(false);
    expect(found.findings.get('IdentityNotFound')).toMatchObject({
      severity: 'error',
      fix: expect.any(String),
    });
  }, 120_000);

  it('the key is disabled after kmsflow disabled KMS (L32): the API server stops being ready; keys warns and plan refuses with NeededKeyDisabled, until it is enabled again', async () => {
    const disabled = await world.kmsflow([
      'start',
      'disable',
      '--cluster',
      clusterId('off'),
      '--approve',
      'all',
      '--watch',
      '--interval',
      '0.5',
      '--page-size',
      '20',
      '--propagation-wait',
      '0',
      '--poll-interval',
      '0.2',
    ]);
    expect(disabled.code, `${disabled.stdout}\n${disabled.stderr}`).toBe(0);
    expect(await afterRestart('off')).toEqual(healthy);

    const inuse = keyId('off', 'inuse');
    const [name, version] = new URL(inuse).pathname.split('/').slice(2);
    const keys = sb.clients().keys('kv-off');
    await keys.updateKeyProperties(name!, version!, { enabled: false });
    // Every Secret is plaintext now, so every one reads; the plugin still checks the key in AKS's slot.
    expect(await afterRestart('off')).toEqual({
      ready: 500,
      failing: ['[-]kms-providers failed: reason withheld'],
      unreadable: 0,
    });

    const seen = await world.kmsflowJson<KeysResult>(['keys', clusterId('off')]);
    expect(seen.warnings.some((w) => w.includes(inuse) && /disabled/.test(w))).toBe(true);
    const found = await plan('off', 'enable', ['--key-id', keyId('off', 'next')]);
    expect(found.ok).toBe(false);
    expect(found.findings.get('NeededKeyDisabled')).toMatchObject({
      message: expect.stringContaining(
        "in AKS's current key slot (kmsflow key ledger), which the KMS plugin keeps using even with KMS off",
      ),
      fix: expect.stringContaining(`--version ${version} --enabled true`),
    });

    await keys.updateKeyProperties(name!, version!, { enabled: true });
    expect((await plan('off', 'enable', ['--key-id', keyId('off', 'next')])).ok).toBe(true);
    expect(await afterRestart('off')).toEqual(healthy);
  }, 240_000);

  it('a KMS v1 cluster grows past 2,000 Secrets (L27): Key Vault throttles the plugin; plan refuses with KmsV1SecretLimit, and removing Secrets clears it', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `grown-${i}`);
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: names.map((n) => ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: n, namespace: 'default' },
        stringData: { v: n },
      })),
    };
    const created = await world.kubectl('aks-v1', ['create', '-f', '-'], JSON.stringify(list));
    expect(created.code, created.stderr).toBe(0);
    expect(await afterRestart('v1')).toMatchObject({
      ready: 500,
      failing: ['[-]kms-providers failed: reason withheld'],
      unreadable: 0,
    });

    const found = await planRotate('v1');
    expect(found.ok).toBe(false);
    expect(found.findings.get('KmsV1SecretLimit')).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('2005 Secrets'),
    });

    const removed = await world.kubectl('aks-v1', ['delete', 'secret', '-n', 'default', ...names]);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await planRotate('v1')).findings.has('KmsV1SecretLimit')).toBe(false);
    expect(await afterRestart('v1')).toEqual(healthy);
  }, 120_000);

  it('a node pool is scaled to zero (L31): plan warns with NodePoolAtZero and how to scale through AKS', async () => {
    expect((await planRotate('pool')).findings.has('NodePoolAtZero')).toBe(false);
    const pools = sb.clients().containerService.agentPools;
    await pools.beginCreateOrUpdateAndWait(
      GROUP,
      'aks-pool',
      'batch',
      { count: 0, mode: 'User' },
      { updateIntervalInMs: 50 },
    );
    const found = await planRotate('pool');
    // A warning: AKS knows the count, kmsflow cannot see a scale set emptied behind AKS's back.
    expect(found.ok).toBe(true);
    expect(found.findings.get('NodePoolAtZero')).toMatchObject({
      severity: 'warning',
      fix: expect.stringContaining(
        'az aks nodepool scale --resource-group rg-back --cluster-name aks-pool --name batch --node-count',
      ),
    });
  }, 120_000);
});
