import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { RG, restError, testScenario, waitFor } from './helpers';

const run = promisify(execFile);
let sb: RunningSandbox;
let dir: string;

beforeAll(async () => {
  sb = await startSandbox({ scenario: testScenario(), operationDurationMs: 100, propagationDelayMs: 50 });
  dir = mkdtempSync(join(tmpdir(), 'kmsflow-cred-'));
});
afterAll(async () => {
  await sb?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function kubeconfigOf(cluster: string, kind: 'user' | 'admin'): Promise<string> {
  const cs = sb.clients(undefined, { retryOptions: { maxRetries: 0 } }).containerService;
  const result =
    kind === 'user'
      ? await cs.managedClusters.listClusterUserCredentials(RG, cluster)
      : await cs.managedClusters.listClusterAdminCredentials(RG, cluster);
  const value = result.kubeconfigs?.[0]?.value;
  expect(value).toBeInstanceOf(Uint8Array);
  return Buffer.from(value!).toString('utf8');
}

describe('cluster credentials', () => {
  it('returns a kubeconfig for the emulated API server with the sandbox CA and distinct user/admin tokens', async () => {
    const user = parseYaml(await kubeconfigOf('c-legacy', 'user'));
    const adminCfg = parseYaml(await kubeconfigOf('c-legacy', 'admin'));
    expect(user.clusters[0].cluster.server).toBe(`https://127.0.0.1:${sb.port}/k8s/c-legacy`);
    expect(Buffer.from(user.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(
      sb.caPem,
    );
    expect(user.users[0].name).toBe(`clusterUser_${RG}_c-legacy`);
    expect(adminCfg['current-context']).toBe('c-legacy-admin');
    expect(user.users[0].user.token).not.toBe(adminCfg.users[0].user.token);
    // Reading credentials is a POST in ARM but changes nothing: it is not in the log of mutations.
    expect(
      sb.oplog.entries({ service: 'arm', method: 'POST', path: '/listClusterUserCredential' }),
    ).toHaveLength(0);
  });

  it('@kubernetes/client-node lists the seeded Secrets with the user kubeconfig; a wrong token gets 401', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(await kubeconfigOf('c-legacy', 'user'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const list = await core.listSecretForAllNamespaces({ limit: 500 });
    expect(list.items).toHaveLength(sb.kubeCluster('c-legacy')!.etcdView().length);
    expect(list.items.length).toBeGreaterThanOrEqual(20);

    const bad = new k8s.KubeConfig();
    bad.loadFromString((await kubeconfigOf('c-legacy', 'user')).replace(/token: .*/, 'token: not-a-token'));
    const e = await bad
      .makeApiClient(k8s.CoreV1Api)
      .listSecretForAllNamespaces({ limit: 1 })
      .then(
        () => undefined,
        (err: unknown) => err as k8s.ApiException<unknown>,
      );
    expect(e?.code).toBe(401);
  });

  it('real kubectl gets and replaces Secrets; the rewrite lands under the current KMS key', async () => {
    const file = join(dir, 'admin.kubeconfig');
    writeFileSync(file, await kubeconfigOf('c-legacy', 'admin'));
    const env = { ...process.env, KUBECONFIG: file, KUBECACHEDIR: join(dir, 'cache') };
    const got = await run('kubectl', ['get', 'secrets', '-A', '-o', 'json'], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const items = (JSON.parse(got.stdout) as { items: unknown[] }).items;
    expect(items).toHaveLength(sb.kubeCluster('c-legacy')!.etcdView().length);

    // rotate the cluster's KMS key through ARM, wait for the API server to pick it up, then run the storage migration
    const cs = sb.clients(undefined, { retryOptions: { maxRetries: 0 } }).containerService;
    const mc = await cs.managedClusters.get(RG, 'c-legacy');
    const v2 = sb.context.store.vaultByName('kv-test')!.keys.kms!.versions[1]!.version;
    const k2 = `${sb.vaultUrl('kv-test')}/keys/kms/${v2}`;
    await cs.managedClusters.createOrUpdate(
      RG,
      'c-legacy',
      {
        ...mc,
        securityProfile: { azureKeyVaultKms: { ...mc.securityProfile!.azureKeyVaultKms, keyId: k2 } },
      },
      { updateIntervalInMs: 30 },
    );
    const kube = sb.kubeCluster('c-legacy')!;
    // The 50 ms propagation delay, with room for a loaded machine (only a failure waits this long).
    await waitFor(() => kube.getEncryption().slots.current === k2, 15_000);
    expect(kube.etcdView().every((e) => e.provider.type === 'kms-v1' && e.provider.keyId !== k2)).toBe(true);

    const listFile = join(dir, 'list.json');
    writeFileSync(listFile, got.stdout);
    await run('kubectl', ['replace', '-f', listFile], { env, maxBuffer: 64 * 1024 * 1024 });
    expect(sb.oplog.count({ service: 'kube', method: 'PUT', path: '/k8s/c-legacy/' })).toBe(items.length);
    expect(kube.etcdView().every((e) => e.provider.type === 'kms-v1' && e.provider.keyId === k2)).toBe(true);
  }, 60_000);

  it('refuses admin credentials when local accounts are disabled', async () => {
    const cs = sb.clients(undefined, { retryOptions: { maxRetries: 0 } }).containerService;
    const mc = await cs.managedClusters.get(RG, 'c-system');
    await cs.managedClusters.createOrUpdate(
      RG,
      'c-system',
      { ...mc, disableLocalAccounts: true },
      { updateIntervalInMs: 30 },
    );
    const e = await restError(cs.managedClusters.listClusterAdminCredentials(RG, 'c-system'));
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe(
      'Getting static credential is not allowed because this cluster is set to disable local accounts.',
    );
  });
});
