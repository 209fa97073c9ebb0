/**
 * kmsflow's procedures against the real kube-apiserver: a sandbox cluster backed by the real control
 * plane (ARM KMS changes restart the apiserver with the new key slots and EncryptionConfiguration),
 * a real Temporal dev server and worker running the workflow bundle. After each procedure, etcd itself
 * must show every Secret under the expected key version (or plaintext), and the engine's proof must
 * agree with it: what it counted as rewritten is exactly what etcd shows rewritten.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StoredSecret } from '../../conformance/etcd/stored-secrets';
import { KMS_PROVIDER_NAME } from '../../conformance/control-plane';
import { kmsKeyIdFor } from '../../conformance/kms-plugin/key-wrappers';
import { RealBackedCluster } from '../../conformance/sandbox-cluster';
import type { ScenarioInput } from '../../sandbox/scenario';
import type { disableKms, enableKms, retireKey, rotateKey } from '../../workflows';
import type { ProcedureOutcome } from '../../workflows/procedures/common';
import type { ExpectedEncryption, ReencryptResult } from '../../workflows/reencrypt';
import { FAST_REENCRYPT, type KmsflowTestEnv, resultWithin, startKmsflowEnv } from '../helpers/kmsflow-env';
import { describeConformance } from './helpers';

const CLUSTER = 'aks-real';
const VAULT = 'kv-real';
const SECRETS = 300;
const MARKER_NAMESPACE = 'kmsflow-system';

const scenario: ScenarioInput = {
  seed: 34,
  tenantId: '72f988bf-0000-4000-a000-00000000c0de',
  subscriptions: [
    { id: '11111111-2222-4333-8444-555555555555', resourceGroups: [{ name: 'rg-real', location: 'eastus' }] },
  ],
  principals: [{ name: 'operator', type: 'User' }],
  operator: 'operator',
  identities: [{ name: 'id-kms' }],
  vaults: [{ name: VAULT, enablePurgeProtection: true, keys: [{ name: 'kms', versions: 2 }] }],
  roleAssignments: [
    { role: 'Key Vault Crypto Officer', principal: 'operator', scope: `vault:${VAULT}` },
    { role: 'Key Vault Crypto User', principal: 'id-kms', scope: `vault:${VAULT}` },
    { role: 'Key Vault Contributor', principal: 'id-kms', scope: `vault:${VAULT}` },
  ],
  // KMS off, no emulated Secrets: the real apiserver is seeded instead. ARM's newest version is 1.33;
  // the apiserver binary is 1.34 (kmsflow reads the version from ARM).
  clusters: [{ name: CLUSTER, kubernetesVersion: '1.33', identity: 'id-kms' }],
};

/** What etcd holds for one Secret, with the Key Vault version its KMS key id stands for. */
type Stored = { under: string; modRevision: number };
type EtcdState = Map<string, Stored>;

let env: KmsflowTestEnv;
let real: RealBackedCluster;

/** `identity`, `kms:<versioned key id>`, or `kms:?<plugin key id>` for a key id no Key Vault version hashes to. */
async function etcdState(): Promise<EtcdState> {
  const versions = await env.keyVersions(VAULT, 'kms');
  const byPluginKeyId = new Map(versions.map((v) => [kmsKeyIdFor(v), v]));
  const label = (s: StoredSecret): string => {
    const v = s.stored;
    if (v.kind === 'identity') return 'identity';
    if (v.kind === 'kms-v2' && v.provider === KMS_PROVIDER_NAME)
      return `kms:${byPluginKeyId.get(v.keyId) ?? `?${v.keyId}`}`;
    return v.kind;
  };
  return new Map(
    (await real.cp.storedSecrets()).map((s) => [
      `${s.namespace}/${s.name}`,
      { under: label(s), modRevision: s.modRevision },
    ]),
  );
}

const labelOf = (e: ExpectedEncryption): string => (e.kms === 'enabled' ? `kms:${e.keyId}` : 'identity');
const userSecrets = (state: EtcdState) =>
  [...state].filter(([key]) => !key.startsWith(`${MARKER_NAMESPACE}/`));

function start<T extends Workflow>(
  workflow: string,
  input: Record<string, unknown>,
): Promise<WorkflowHandle<T>> {
  return env.temporal.env.client.workflow.start(workflow, {
    taskQueue: env.taskQueue,
    workflowId: `${workflow}-${CLUSTER}-${Date.now()}`,
    args: [{ clusterId: env.clusterId(CLUSTER), reencrypt: FAST_REENCRYPT, autoApprove: 'all', ...input }],
  }) as Promise<WorkflowHandle<T>>;
}

/** Runs a procedure on a worker, with etcd read before and after. */
async function run<T extends Workflow>(workflow: string, input: Record<string, unknown> = {}) {
  const before = await etcdState();
  const startedAt = Date.now();
  const result = await env.withWorker(async () =>
    resultWithin<ProcedureOutcome>(await start<T>(workflow, input), 180_000),
  );
  const seconds = (Date.now() - startedAt) / 1000;
  await real.settled();
  const after = await etcdState();
  console.log(
    `${workflow}: ${seconds.toFixed(1)} s, ${result.evidence.length} re-encryption(s), apiserver restarts so far: ${real.history.length}`,
  );
  return { result, before, after };
}

/**
 * The engine's proof against etcd. Each re-encryption must be proven; the last one's key must hold
 * every Secret in etcd; each pass saw every Secret etcd holds; and the engine rewrote exactly the
 * Secrets that were not yet under its key (the first one: per etcd before the procedure; later ones:
 * all of them, since the previous proof put them under the previous key).
 */
function expectProofAgreesWithEtcd(evidence: ReencryptResult[], before: EtcdState, after: EtcdState): void {
  expect(evidence.length).toBeGreaterThan(0);
  for (const e of evidence) {
    expect({ proven: e.proven, notProven: e.notProven, failures: e.failures }).toEqual({
      proven: true,
      notProven: [],
      failures: [],
    });
    expect({ stale: e.verify.counts.stale, failed: e.verify.counts.failed }).toEqual({ stale: 0, failed: 0 });
    // Every Secret etcd holds was verified; at most one more was listed: the control plane's own write probe
    // (kmsflow-write-probe), which a key switch creates and deletes, can be listed by a pass and gone from etcd after.
    expect(e.verify.objects).toBeGreaterThanOrEqual(after.size);
    expect(e.verify.objects - after.size).toBeLessThanOrEqual(1);
    expect(e.rewrite.counts.failed).toBe(0);
  }
  const last = evidence[evidence.length - 1]!;
  const wrong = [...after]
    .filter(([, s]) => s.under !== labelOf(last.expect))
    .map(([key, s]) => `${key}: ${s.under}`);
  expect(wrong, `Secrets in etcd not under ${labelOf(last.expect)}`).toEqual([]);

  const users = userSecrets(before);
  expect(users).toHaveLength(SECRETS);
  evidence.forEach((e, i) => {
    const prior = i === 0 ? undefined : labelOf(evidence[i - 1]!.expect);
    const stale = users.filter(([, s]) => (prior ?? s.under) !== labelOf(e.expect)).length;
    expect(
      e.rewrite.counts.rewritten,
      `re-encryption ${i + 1} (${labelOf(e.expect)}): rewritten vs stale in etcd`,
    ).toBe(stale);
  });
  // The last re-encryption wrote exactly what was stale before it, after its watermark, and nothing else.
  const watermark = Number(last.watermark);
  const prior = evidence.length === 1 ? undefined : labelOf(evidence[evidence.length - 2]!.expect);
  for (const [key, s] of users) {
    const wasStale = (prior ?? s.under) !== labelOf(last.expect);
    const now = after.get(key)!;
    if (wasStale) expect(now.modRevision, `${key} rewritten after the watermark`).toBeGreaterThan(watermark);
    else expect(now.modRevision, `${key} left alone`).toBe(s.modRevision);
  }
}

describeConformance('kmsflow procedures against the real kube-apiserver, checked in etcd', () => {
  let keys: string[];

  beforeAll(async () => {
    env = await startKmsflowEnv(scenario, { propagationDelayMs: 1_000 });
    real = await RealBackedCluster.attach({ sandbox: env.sandbox, cluster: CLUSTER, kmsIdentity: 'id-kms' });
    await real.seed({ secrets: SECRETS, namespaces: 5, seed: 9, maxBytes: 8_192 });
    keys = await env.keyVersions(VAULT, 'kms');
  });

  afterAll(async () => {
    await real?.stop();
    await env?.teardown();
  });

  it('hands out the real apiserver through ARM credentials, with Secrets stored in plaintext before KMS', async () => {
    const azure = env.sandbox.clients();
    for (const kind of ['user', 'admin'] as const) {
      const creds =
        kind === 'user'
          ? await azure.containerService.managedClusters.listClusterUserCredentials('rg-real', CLUSTER)
          : await azure.containerService.managedClusters.listClusterAdminCredentials('rg-real', CLUSTER);
      const kubeconfig = Buffer.from(creds.kubeconfigs![0]!.value!).toString('utf8');
      expect(kubeconfig).toContain(`server: ${real.cp.url}`);
    }
    expect(await env.activities.countSecrets(env.clusterId(CLUSTER))).toBe(SECRETS);
    const state = await etcdState();
    expect(new Set([...state.values()].map((s) => s.under))).toEqual(new Set(['identity']));
  });

  it('enableKms: every Secret under key version 1 in etcd, as the proof says', async () => {
    const { result, before, after } = await run<typeof enableKms>('enableKms', {
      keyId: keys[0],
      networkAccess: 'Public',
    });
    expect(result.outcome).toBe('completed');
    expectProofAgreesWithEtcd(result.evidence, before, after);
    expect(result.evidence.at(-1)!.rewrite.counts.rewritten).toBe(SECRETS);
    // The sandbox's inspection of the real-backed cluster reads the same etcd, in the emulated clusters' shape.
    expect(env.sandbox.inspectCluster(CLUSTER)).toMatchObject({
      externalApiServer: real.cp.url,
      encryption: { write: { type: 'kms-v2', keyId: keys[0] } },
    });
    const view = await real.etcdView();
    expect(view).toHaveLength(after.size);
    expect(
      view.filter((e) => !e.readable || e.provider.type !== 'kms-v2' || e.provider.keyId !== keys[0]),
    ).toEqual([]);
  });

  it('rotateKey: every Secret under key version 2; version 1 stays in the previous slot', async () => {
    const { result, before, after } = await run<typeof rotateKey>('rotateKey', { keyId: keys[1] });
    expect(result.outcome).toBe('completed');
    expectProofAgreesWithEtcd(result.evidence, before, after);
    expect(real.cp.plugin.keySlots.previous?.versionedKeyId).toBe(keys[0]);
  });

  it('retireKey: two proven rotations, then version 2 disabled in Key Vault; a restarted apiserver is ready', async () => {
    const { result, before, after } = await run<typeof retireKey>('retireKey');
    expect(result.outcome).toBe('completed');
    expectProofAgreesWithEtcd(result.evidence, before, after);
    const versions = await env.keyVersions(VAULT, 'kms');
    expect(versions).toHaveLength(4);
    const newest = versions[3]!;
    expect(result.evidence.at(-1)!.expect).toEqual({ kms: 'enabled', keyId: newest });
    const retired = await env.sandbox
      .clients()
      .keys(VAULT)
      .getKey('kms', { version: keys[1]!.split('/').pop() });
    expect(retired.properties.enabled).toBe(false);
    // Nothing in etcd needs the retired version or the one that left both slots: a fresh apiserver
    // (no cached seeds) lists every Secret and becomes ready.
    await real.cp.restartApiserver();
    expect(await real.cp.readiness()).toEqual({ ready: true, failing: [] });
  });

  it('disableKms: every Secret stored in plaintext in etcd, as the proof says; the key stays enabled', async () => {
    const { result, before, after } = await run<typeof disableKms>('disableKms');
    expect(result.outcome).toBe('completed');
    expectProofAgreesWithEtcd(result.evidence, before, after);
    expect(result.evidence.at(-1)!.expect).toEqual({ kms: 'disabled' });
    const last = (await env.keyVersions(VAULT, 'kms'))[3]!;
    expect(
      (
        await env.sandbox
          .clients()
          .keys(VAULT)
          .getKey('kms', { version: last.split('/').pop() })
      ).properties.enabled,
    ).toBe(true);
    expect(real.history.every((h) => h.ready)).toBe(true);
  });
});
