/**
 * What the real kube-apiserver writes into etcd, checked against etcd itself: KMS v2 envelopes under
 * the plugin's key id, values that decrypt with the plugin's seed, no-op writes that leave etcd alone,
 * stale rewrites after a rotation, the switch to and from plaintext (disable / enable KMS), and when a
 * continue token really expires.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import {
  identityProvider,
  KMS_PROVIDER_NAME,
  kmsProvider,
  LocalControlPlane,
} from '../../conformance/control-plane';
import { decryptKmsV2Value } from '../../conformance/etcd/stored-value';
import { kmsKeyIdFor } from '../../conformance/kms-plugin/key-wrappers';
import { b64, coreApiFor, describeConformance, keyVaultKeys, type KeyVaultKeys } from './helpers';

describeConformance('real kube-apiserver semantics, checked in etcd', () => {
  let kv: KeyVaultKeys;
  let cp: LocalControlPlane;
  let core: k8s.CoreV1Api;
  const NS = 'storage';

  beforeAll(async () => {
    kv = await keyVaultKeys(3);
    cp = await LocalControlPlane.start({ slots: { current: kv.wrapper(1) } });
    core = coreApiFor(cp);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    for (const name of ['alpha', 'beta', 'gamma']) {
      await core.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name }, type: 'Opaque', data: { token: b64(`secret-value-of-${name}`) } },
      });
    }
  });
  afterAll(async () => {
    await cp?.stop();
    await kv?.close();
  });

  const etcdEntry = (name: string) => cp.etcd.client.get(`/registry/secrets/${NS}/${name}`);

  it('stores KMS v2 envelopes under the plugin key id of the Key Vault key version; resourceVersion is the etcd mod revision', async () => {
    const secrets = (await cp.storedSecrets()).filter((s) => s.namespace === NS);
    expect(secrets.map((s) => s.name)).toEqual(['alpha', 'beta', 'gamma']);
    for (const s of secrets) {
      expect(s.stored.kind).toBe('kms-v2');
      if (s.stored.kind !== 'kms-v2') continue;
      expect(s.stored.provider).toBe(KMS_PROVIDER_NAME);
      expect(s.stored.keyId).toBe(kmsKeyIdFor(kv.versions[0]!));
      expect(s.stored.envelope.encryptedDEKSourceType).toBe(1); // HKDF seed
      expect(s.stored.envelope.annotations['algorithm.azure.akv.io']?.toString()).toBe('RSA-OAEP-256');
      const api = await core.readNamespacedSecret({ namespace: NS, name: s.name });
      expect(api.metadata!.resourceVersion).toBe(String(s.modRevision));
      // The seed is wrapped by the RSA-2048 Key Vault key (RSA-OAEP-256 output), not stored in the clear.
      expect(s.stored.envelope.encryptedDEKSource.length).toBe(256);
    }
  });

  it('decrypts a stored value with the plugin-unwrapped seed (HKDF-SHA256 + AES-256-GCM, etcd key as AAD)', async () => {
    const entry = (await etcdEntry('alpha'))!;
    const stored = (await cp.storedSecrets()).find((s) => s.name === 'alpha')!.stored;
    if (stored.kind !== 'kms-v2') throw new Error('expected a KMS v2 value');
    const seed = await cp.plugin.unwrapDekSource(stored.keyId, stored.envelope.encryptedDEKSource);
    const plain = decryptKmsV2Value(stored.envelope, entry.key, seed);
    expect(plain.subarray(0, 4).toString('latin1')).toBe('k8s\0');
    expect(plain.includes(Buffer.from('secret-value-of-alpha'))).toBe(true);
    expect(entry.value.includes(Buffer.from('secret-value-of-alpha'))).toBe(false);
    // The AAD binds the value to its key: under another etcd key it does not decrypt.
    expect(() => decryptKmsV2Value(stored.envelope, `/registry/secrets/${NS}/beta`, seed)).toThrow();
  });

  it('leaves etcd untouched on a no-op PUT (same mod revision, same bytes)', async () => {
    const before = (await etcdEntry('beta'))!;
    const s = await core.readNamespacedSecret({ namespace: NS, name: 'beta' });
    const after = await core.replaceNamespacedSecret({
      namespace: NS,
      name: 'beta',
      body: { ...s, apiVersion: 'v1', kind: 'Secret' },
    });
    expect(after.metadata!.resourceVersion).toBe(s.metadata!.resourceVersion);
    const now = (await etcdEntry('beta'))!;
    expect(now.modRevision).toBe(before.modRevision);
    expect(now.value.equals(before.value)).toBe(true);
  });

  it('calls Encrypt once per key per apiserver start, not per write (one seed per key id)', async () => {
    const since = Date.now();
    await cp.rotateKey(kv.wrapper(2), 'restart');
    for (let i = 0; i < 5; i++)
      await core.createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: `burst-${i}` }, data: { v: b64(String(i)) } },
      });
    const encrypts = cp.plugin.calls.filter((c) => c.method === 'Encrypt' && c.at >= since);
    expect(encrypts.map((c) => [c.keyId, c.ok])).toEqual([[kmsKeyIdFor(kv.versions[1]!), true]]);
    const stored = (await cp.storedSecrets()).filter((s) => s.name.startsWith('burst-'));
    expect(new Set(stored.map((s) => s.stored.kind === 'kms-v2' && s.stored.keyId))).toEqual(
      new Set([kmsKeyIdFor(kv.versions[1]!)]),
    );
  });

  it('rewrites a value under the previous key on a no-op PUT, and only once', async () => {
    const before = (await etcdEntry('gamma'))!;
    const s = await core.readNamespacedSecret({ namespace: NS, name: 'gamma' });
    const put = () =>
      core.replaceNamespacedSecret({
        namespace: NS,
        name: 'gamma',
        body: {
          ...s,
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { ...s.metadata, resourceVersion: undefined },
        },
      });
    const first = await put();
    const afterFirst = (await etcdEntry('gamma'))!;
    expect(Number(first.metadata!.resourceVersion)).toBeGreaterThan(before.modRevision);
    expect(afterFirst.modRevision).toBe(Number(first.metadata!.resourceVersion));
    const parsed = (await cp.storedSecrets()).find((x) => x.name === 'gamma')!.stored;
    expect(parsed.kind === 'kms-v2' && parsed.keyId).toBe(kmsKeyIdFor(kv.versions[1]!));
    const second = await put();
    expect(second.metadata!.resourceVersion).toBe(first.metadata!.resourceVersion);
    expect((await etcdEntry('gamma'))!.modRevision).toBe(afterFirst.modRevision);
  });

  it('disabling KMS (identity first) makes no-op PUTs store plaintext; enabling it again moves them back', async () => {
    await cp.setProviders([identityProvider, kmsProvider(KMS_PROVIDER_NAME, cp.plugin.endpoint)], 'restart');
    const s = await core.readNamespacedSecret({ namespace: NS, name: 'alpha' });
    const disabled = await core.replaceNamespacedSecret({
      namespace: NS,
      name: 'alpha',
      body: { ...s, apiVersion: 'v1', kind: 'Secret' },
    });
    expect(disabled.metadata!.resourceVersion).not.toBe(s.metadata!.resourceVersion);
    const plain = (await etcdEntry('alpha'))!;
    expect(plain.value.subarray(0, 4).toString('latin1')).toBe('k8s\0');
    expect(plain.value.includes(Buffer.from('secret-value-of-alpha'))).toBe(true);

    await cp.setProviders([kmsProvider(KMS_PROVIDER_NAME, cp.plugin.endpoint), identityProvider], 'restart');
    const again = await core.replaceNamespacedSecret({
      namespace: NS,
      name: 'alpha',
      body: { ...disabled, apiVersion: 'v1', kind: 'Secret' },
    });
    expect(again.metadata!.resourceVersion).not.toBe(disabled.metadata!.resourceVersion);
    const stored = (await cp.storedSecrets()).find((x) => x.name === 'alpha')!.stored;
    expect(stored.kind === 'kms-v2' && stored.keyId).toBe(kmsKeyIdFor(kv.versions[1]!));
  });

  it('keeps serving a continue token from the watch-cache snapshot after etcd compaction; after a restart it answers 410', async () => {
    await core.createNamespace({ body: { metadata: { name: 'paging' } } });
    for (let i = 1; i <= 5; i++)
      await core.createNamespacedSecret({
        namespace: 'paging',
        body: { metadata: { name: `p${i}` }, data: { v: b64(String(i)) } },
      });
    const first = await core.listNamespacedSecret({ namespace: 'paging', limit: 2 });
    const token = first.metadata!._continue!;
    await core.createNamespacedSecret({
      namespace: 'paging',
      body: { metadata: { name: 'p6' }, data: { v: b64('6') } },
    });
    const compactedAt = await cp.compactEtcd();
    expect(compactedAt).toBeGreaterThan(Number(first.metadata!.resourceVersion));
    // 1.34 (ListFromCacheSnapshot, on by default) serves the page from the cache's snapshot at the token's revision.
    const second = await core.listNamespacedSecret({ namespace: 'paging', limit: 2, _continue: token });
    expect(second.items.map((s) => s.metadata!.name)).toEqual(['p3', 'p4']);
    // A fresh apiserver (a restart, or another replica behind the load balancer) has no snapshot: etcd says compacted.
    await cp.restartApiserver();
    const res = await cp.request(
      'GET',
      `/api/v1/namespaces/paging/secrets?limit=2&continue=${encodeURIComponent(token)}`,
    );
    expect(res.status).toBe(410);
    const status = JSON.parse(res.body) as { reason: string; metadata: { continue?: string } };
    expect(status.reason).toBe('Expired');
    const rest = await core.listNamespacedSecret({
      namespace: 'paging',
      limit: 10,
      _continue: status.metadata.continue,
    });
    // The inconsistent token resumes after p2 at the latest revision, so p6 (created later) shows up too.
    expect(rest.items.map((s) => s.metadata!.name)).toEqual(['p3', 'p4', 'p5', 'p6']);
  });
});
