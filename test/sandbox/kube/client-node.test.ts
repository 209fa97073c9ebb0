import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { SEED_CACHE_TTL_MS, WRITE_COAST_MS } from '../../../sandbox/kube/encryption';
import { KEY, makeTls, startCluster, statusOf, TOKENS, type TestCluster, type TlsMaterial } from './helpers';

let tls: TlsMaterial;
let t: TestCluster;

beforeAll(async () => {
  tls = await makeTls();
});
beforeEach(async () => {
  t = await startCluster(tls);
});
afterEach(async () => {
  await t.close();
});

async function failure(p: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await p;
  } catch (e) {
    return statusOf(e);
  }
  throw new Error('expected the request to fail');
}

const secret = (name: string, data: Record<string, string>, namespace = 'default'): k8s.V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

describe('authentication', () => {
  it('answers 401 Unauthorized without a valid bearer token and accepts both user and admin tokens', async () => {
    expect((await failure(t.core('not-a-token').listSecretForAllNamespaces())).code).toBe(401);
    await expect(t.core(TOKENS.user).listNamespace()).resolves.toBeTruthy();
    await expect(t.core(TOKENS.admin).listNamespace()).resolves.toBeTruthy();
    for (const token of [undefined, 'wrong']) {
      const res = await rawGet(`${t.url}/api/v1/secrets`, token);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
  });
});

async function rawGet(url: string, token?: string): Promise<{ status: number; body: string }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: tls.caPem, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('paging', () => {
  it('pages all namespaces and one namespace with limit, continue and remainingItemCount', async () => {
    const summary = t.cluster.seed({ secrets: 1234, namespaces: 6, seed: 11, maxBytes: 4096 });
    expect(summary.secrets).toBe(1234);
    const core = t.core();
    const seen: string[] = [];
    const remaining: (number | undefined)[] = [];
    let token: string | undefined;
    let listRv: string | undefined;
    do {
      const page = await core.listSecretForAllNamespaces({
        limit: 500,
        ...(token ? { _continue: token } : {}),
      });
      for (const s of page.items) seen.push(`${s.metadata?.namespace}/${s.metadata?.name}`);
      remaining.push(page.metadata?.remainingItemCount);
      listRv ??= page.metadata?.resourceVersion;
      expect(page.metadata?.resourceVersion).toBe(listRv);
      token = page.metadata?._continue || undefined;
    } while (token);
    expect(remaining).toEqual([734, 234, undefined]);
    expect(seen).toHaveLength(1234);
    expect(new Set(seen).size).toBe(1234);
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen)).toEqual(new Set(t.cluster.etcdView().map((e) => `${e.namespace}/${e.name}`)));

    const biggest = [
      ...t.cluster
        .etcdView()
        .reduce((m, e) => m.set(e.namespace, (m.get(e.namespace) ?? 0) + 1), new Map<string, number>()),
    ].sort((a, b) => b[1] - a[1])[0] as [string, number];
    let inNs = 0;
    token = undefined;
    do {
      const page = await core.listNamespacedSecret({
        namespace: biggest[0],
        limit: 100,
        ...(token ? { _continue: token } : {}),
      });
      for (const s of page.items) expect(s.metadata?.namespace).toBe(biggest[0]);
      inNs += page.items.length;
      token = page.metadata?._continue || undefined;
    } while (token);
    expect(inNs).toBe(biggest[1]);
  });

  it('answers 410 Expired with an inconsistent continue token once the list is older than the TTL', async () => {
    t.cluster.seed({ secrets: 120, namespaces: 3, seed: 2, maxBytes: 2048 });
    const core = t.core();
    const first = await core.listSecretForAllNamespaces({ limit: 50 });
    t.clock.now += 5 * 60_000 + 1;
    const s = await failure(
      core.listSecretForAllNamespaces({ limit: 50, _continue: first.metadata?._continue as string }),
    );
    expect(s.code).toBe(410);
    expect(s.reason).toBe('Expired');
    expect(s.message).toMatch(
      /^The provided continue parameter is too old to display a consistent list result\./,
    );
    const offered = s.metadata?.continue;
    expect(offered).toBeTruthy();
    const names = first.items.map((x) => x.metadata?.name);
    let token: string | undefined = offered;
    while (token) {
      const page = await core.listSecretForAllNamespaces({ limit: 50, _continue: token });
      names.push(...page.items.map((x) => x.metadata?.name));
      token = page.metadata?._continue || undefined;
    }
    expect(names).toHaveLength(120);
  });

  it('expires continue tokens after N pages when the fault is set', async () => {
    t.cluster.seed({ secrets: 100, namespaces: 2, seed: 3, maxBytes: 1024 });
    t.cluster.kubeFaults.expireContinueAfterPages = 2;
    const core = t.core();
    const p1 = await core.listSecretForAllNamespaces({ limit: 10 });
    const p2 = await core.listSecretForAllNamespaces({
      limit: 10,
      _continue: p1.metadata?._continue as string,
    });
    const s = await failure(
      core.listSecretForAllNamespaces({ limit: 10, _continue: p2.metadata?._continue as string }),
    );
    expect(s).toMatchObject({ code: 410, reason: 'Expired' });
    const resumed = await core.listSecretForAllNamespaces({
      limit: 10,
      _continue: s.metadata?.continue as string,
    });
    expect(resumed.items[0]?.metadata?.name).not.toBe(p2.items[0]?.metadata?.name);
    expect(resumed.metadata?.remainingItemCount).toBe(70);
  });
});

describe('single Secret operations', () => {
  it('creates (201), reads, replaces, patches (merge, JSON, apply) and deletes', async () => {
    const core = t.core();
    const created = await core.createNamespacedSecretWithHttpInfo({
      namespace: 'default',
      body: secret('app-db', { password: 'hunter2' }),
    });
    expect(created.httpStatusCode).toBe(201);
    const rv1 = created.data.metadata?.resourceVersion as string;
    expect(created.data.type).toBe('Opaque');
    const read = await core.readNamespacedSecret({ name: 'app-db', namespace: 'default' });
    expect(Buffer.from(read.data?.password as string, 'base64').toString()).toBe('hunter2');
    expect(read.metadata?.resourceVersion).toBe(rv1);

    read.data = { password: Buffer.from('changed').toString('base64') };
    const replaced = await core.replaceNamespacedSecret({ name: 'app-db', namespace: 'default', body: read });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(rv1));

    const merged = await core.patchNamespacedSecret(
      {
        name: 'app-db',
        namespace: 'default',
        body: {
          metadata: { labels: { tier: 'db' } },
          data: { user: Buffer.from('admin').toString('base64') },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ tier: 'db' });
    expect(Object.keys(merged.data ?? {}).sort()).toEqual(['password', 'user']);

    const patched = await core.patchNamespacedSecret({
      name: 'app-db',
      namespace: 'default',
      body: [{ op: 'remove', path: '/data/user' }],
    });
    expect(Object.keys(patched.data ?? {})).toEqual(['password']);

    const applied = await core.patchNamespacedSecret(
      {
        name: 'app-db',
        namespace: 'default',
        fieldManager: 'kmsflow',
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: 'app-db',
            namespace: 'default',
            uid: patched.metadata?.uid,
            resourceVersion: patched.metadata?.resourceVersion,
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
    expect(applied.metadata?.resourceVersion).toBe(patched.metadata?.resourceVersion);

    await core.deleteNamespacedSecret({ name: 'app-db', namespace: 'default' });
    expect(await failure(core.readNamespacedSecret({ name: 'app-db', namespace: 'default' }))).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'secrets "app-db" not found',
    });
    expect(
      await failure(
        core.createNamespacedSecret({ namespace: 'nope', body: secret('x', { a: 'b' }, 'nope') }),
      ),
    ).toMatchObject({ code: 404, message: 'namespaces "nope" not found' });
  });

  it('refuses an update carrying a stale resourceVersion with the real 409 Conflict message', async () => {
    const core = t.core();
    const v1 = await core.createNamespacedSecret({ namespace: 'default', body: secret('cfg', { a: '1' }) });
    await core.replaceNamespacedSecret({
      name: 'cfg',
      namespace: 'default',
      body: { ...v1, data: { a: Buffer.from('2').toString('base64') } },
    });
    const s = await failure(
      core.replaceNamespacedSecret({
        name: 'cfg',
        namespace: 'default',
        body: { ...v1, data: { a: Buffer.from('3').toString('base64') } },
      }),
    );
    expect(s).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on secrets "cfg": the object has been modified; please apply your changes to the latest version and try again',
    });
    expect(
      await failure(core.createNamespacedSecret({ namespace: 'default', body: secret('cfg', { a: '1' }) })),
    ).toMatchObject({ code: 409, reason: 'AlreadyExists' });
  });
});

describe('encryption at rest', () => {
  it('rewrites a no-op update only when the stored value is stale, and short-circuits otherwise', async () => {
    const core = t.core();
    const s = await core.createNamespacedSecret({ namespace: 'default', body: secret('tls-a', { k: 'v' }) });
    const rv = s.metadata?.resourceVersion;
    const same = await core.replaceNamespacedSecret({ name: 'tls-a', namespace: 'default', body: s });
    expect(same.metadata?.resourceVersion).toBe(rv);
    expect(t.records.at(-1)).toMatchObject({
      method: 'PUT',
      status: 200,
      detail: 'short-circuited (already current)',
    });

    t.rotateTo(2);
    expect(t.cluster.etcdView()[0]?.provider).toEqual({ type: 'kms-v2', keyId: KEY(1) });
    const rewritten = await core.replaceNamespacedSecret({ name: 'tls-a', namespace: 'default', body: same });
    expect(Number(rewritten.metadata?.resourceVersion)).toBeGreaterThan(Number(rv));
    expect(t.cluster.etcdView()[0]?.provider).toEqual({ type: 'kms-v2', keyId: KEY(2) });
    const again = await core.replaceNamespacedSecret({
      name: 'tls-a',
      namespace: 'default',
      body: rewritten,
    });
    expect(again.metadata?.resourceVersion).toBe(rewritten.metadata?.resourceVersion);

    t.cluster.setEncryption({ write: { type: 'identity' }, slots: { current: KEY(2) } });
    const plain = await core.patchNamespacedSecret(
      { name: 'tls-a', namespace: 'default', body: {} },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(Number(plain.metadata?.resourceVersion)).toBeGreaterThan(Number(again.metadata?.resourceVersion));
    expect(t.cluster.etcdView()[0]?.provider).toEqual({ type: 'identity' });
  });

  it('cannot read a Secret whose key left both slots (rotating twice without re-encrypting), and a list containing it fails', async () => {
    const core = t.core();
    await core.createNamespacedSecret({ namespace: 'default', body: secret('old', { k: 'v' }) });
    t.rotateTo(2);
    await core.createNamespacedSecret({ namespace: 'default', body: secret('newer', { k: 'v' }) });
    await expect(core.readNamespacedSecret({ name: 'old', namespace: 'default' })).resolves.toBeTruthy();
    t.rotateTo(3);
    const s = await failure(core.readNamespacedSecret({ name: 'old', namespace: 'default' }));
    expect(s.code).toBe(500);
    expect(s.reason).toBe('InternalError');
    expect(s.message).toMatch(/^Internal error occurred: failed to decrypt DEK, error: /);
    expect((await failure(core.listSecretForAllNamespaces({ limit: 100 }))).message).toMatch(
      /^Internal error occurred: unable to transform key "\/registry\/secrets\/default\/old": failed to decrypt DEK/,
    );
    expect((await failure(core.listSecretForAllNamespaces())).code).toBe(429);
    expect(
      (
        await failure(
          core.replaceNamespacedSecret({
            name: 'old',
            namespace: 'default',
            body: secret('old', { k: 'v' }),
          }),
        )
      ).code,
    ).toBe(500);
    await expect(core.readNamespacedSecret({ name: 'newer', namespace: 'default' })).resolves.toBeTruthy();
    const view = Object.fromEntries(t.cluster.etcdView().map((e) => [e.name, e.readable]));
    expect(view).toEqual({ old: false, newer: true });
  });

  it('cannot read a Secret whose key version Key Vault no longer lets the plugin use; identity values stay readable', async () => {
    const core = t.core();
    await core.createNamespacedSecret({ namespace: 'default', body: secret('kms', { k: 'v' }) });
    t.cluster.setEncryption({ write: { type: 'identity' }, slots: { current: KEY(1) } });
    await core.createNamespacedSecret({ namespace: 'default', body: secret('plain', { k: 'v' }) });
    t.unusableKeys.add(KEY(1));
    // The running API server still holds the seed it decrypted; a restart forgets it.
    await expect(core.readNamespacedSecret({ name: 'kms', namespace: 'default' })).resolves.toBeTruthy();
    t.cluster.restartApiServer();
    expect((await failure(core.readNamespacedSecret({ name: 'kms', namespace: 'default' }))).message).toMatch(
      /^Internal error occurred: failed to decrypt DEK, error: .*disabled, expired or no longer exists/,
    );
    await expect(core.readNamespacedSecret({ name: 'plain', namespace: 'default' })).resolves.toBeTruthy();
    t.unusableKeys.clear();
    await expect(core.readNamespacedSecret({ name: 'kms', namespace: 'default' })).resolves.toBeTruthy();
  });
});

describe('what the API server process holds', () => {
  it('reads on the cached seed for 24 hours and writes on the write seed for 3 minutes after the plugin last worked; a restart forgets both', async () => {
    const core = t.core();
    await core.createNamespacedSecret({ namespace: 'default', body: secret('a', { k: 'v' }) });
    t.unusableKeys.add(KEY(1));
    await expect(core.readNamespacedSecret({ name: 'a', namespace: 'default' })).resolves.toBeTruthy();
    await expect(
      core.createNamespacedSecret({ namespace: 'default', body: secret('b', { k: 'v' }) }),
    ).resolves.toBeTruthy();
    t.clock.now += WRITE_COAST_MS + 1;
    expect(
      (await failure(core.createNamespacedSecret({ namespace: 'default', body: secret('c', { k: 'v' }) })))
        .message,
    ).toMatch(/failed to encrypt with the KMS plugin/);
    await expect(core.readNamespacedSecret({ name: 'a', namespace: 'default' })).resolves.toBeTruthy();
    t.clock.now += SEED_CACHE_TTL_MS;
    expect((await failure(core.readNamespacedSecret({ name: 'a', namespace: 'default' }))).code).toBe(500);
    // The key works again: the next read caches its seed afresh, and a restart with the key unusable forgets it.
    t.unusableKeys.clear();
    await expect(core.readNamespacedSecret({ name: 'a', namespace: 'default' })).resolves.toBeTruthy();
    t.unusableKeys.add(KEY(1));
    await expect(core.readNamespacedSecret({ name: 'a', namespace: 'default' })).resolves.toBeTruthy();
    t.cluster.restartApiServer();
    expect((await failure(core.readNamespacedSecret({ name: 'a', namespace: 'default' }))).code).toBe(500);
    expect(
      (await failure(core.createNamespacedSecret({ namespace: 'default', body: secret('d', { k: 'v' }) })))
        .code,
    ).toBe(500);
  });
});

describe('namespaces and faults', () => {
  it('refuses writes into a terminating namespace with 403 and deletes a namespace with its Secrets', async () => {
    const core = t.core();
    await core.createNamespace({ body: { metadata: { name: 'team-a' } } });
    await core.createNamespacedSecret({ namespace: 'team-a', body: secret('s1', { k: 'v' }, 'team-a') });
    t.cluster.kubeFaults.terminatingNamespaces.add('team-a');
    const s = await failure(
      core.createNamespacedSecret({ namespace: 'team-a', body: secret('s2', { k: 'v' }, 'team-a') }),
    );
    expect(s).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'secrets "s2" is forbidden: unable to create new content in namespace team-a because it is being terminated',
    });
    expect((await core.readNamespace({ name: 'team-a' })).status?.phase).toBe('Terminating');
    t.cluster.kubeFaults.terminatingNamespaces.clear();

    const deleted = await core.deleteNamespace({ name: 'team-a' });
    expect((deleted as k8s.V1Namespace).status?.phase).toBe('Terminating');
    expect((await failure(core.readNamespace({ name: 'team-a' }))).code).toBe(404);
    expect(t.cluster.etcdView()).toHaveLength(0);
    expect((await failure(core.deleteNamespace({ name: 'kube-system' }))).code).toBe(403);
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  });

  it('answers a seeded share of updates with 409 Conflict, reproducibly', async () => {
    t.cluster.seed({ secrets: 200, namespaces: 2, seed: 5, maxBytes: 1024 });
    const pattern = async (): Promise<string> => {
      const core = t.core();
      let out = '';
      for (const e of t.cluster.etcdView().slice(0, 100)) {
        try {
          await core.patchNamespacedSecret(
            { name: e.name, namespace: e.namespace, body: {} },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          );
          out += '.';
        } catch (err) {
          expect(statusOf(err)).toMatchObject({ code: 409, reason: 'Conflict' });
          out += 'C';
        }
      }
      return out;
    };
    t.cluster.kubeFaults.conflictShare = 0.3;
    t.cluster.kubeFaults.seed = 42;
    const first = await pattern();
    const conflicts = [...first].filter((c) => c === 'C').length;
    expect(conflicts).toBeGreaterThan(15);
    expect(conflicts).toBeLessThan(45);
    // The first attempts are over; the same objects' second attempts are judged afresh.
    expect(await pattern()).not.toBe(first);
    const other = await startCluster(tls);
    other.cluster.seed({ secrets: 200, namespaces: 2, seed: 5, maxBytes: 1024 });
    Object.assign(other.cluster.kubeFaults, { conflictShare: 0.3, seed: 42 });
    const [main, copy] = [t, other];
    t = copy;
    try {
      expect(await pattern()).toBe(first);
    } finally {
      t = main;
      await other.close();
    }
  });

  it('calls the generic fault hook first and records its answer', async () => {
    await t.close();
    let calls = 0;
    t = await startCluster(tls, {
      faults: {
        intercept: async (ctx, _req, res) => {
          calls++;
          if (ctx.method !== 'PUT') return false;
          expect(ctx).toMatchObject({
            service: 'kube',
            cluster: 'aks-test',
            path: '/api/v1/namespaces/default/secrets/x',
          });
          res
            .writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' })
            .end(
              '{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}',
            );
          return true;
        },
      },
    });
    const core = t.core();
    const s = await core.createNamespacedSecret({ namespace: 'default', body: secret('x', { k: 'v' }) });
    expect(
      (await failure(core.replaceNamespacedSecret({ name: 'x', namespace: 'default', body: s }))).code,
    ).toBe(429);
    expect(calls).toBe(2);
    expect(t.records.map((r) => [r.method, r.status])).toEqual([
      ['POST', 201],
      ['PUT', 429],
    ]);
  });
});

describe('operation log, snapshots and estates', () => {
  it('records every mutating request without Secret data', async () => {
    const core = t.core();
    const value = 'very-secret-value-42';
    await core.createNamespacedSecret({ namespace: 'default', body: secret('logged', { k: value }) });
    await core.readNamespacedSecret({ name: 'logged', namespace: 'default' });
    await failure(
      core.createNamespacedSecret({ namespace: 'default', body: secret('logged', { k: value }) }),
    );
    await core.deleteNamespacedSecret({ name: 'logged', namespace: 'default' });
    expect(t.records.map((r) => [r.service, r.method, r.path, r.status])).toEqual([
      ['kube', 'POST', '/k8s/aks-test/api/v1/namespaces/default/secrets', 201],
      ['kube', 'POST', '/k8s/aks-test/api/v1/namespaces/default/secrets', 409],
      ['kube', 'DELETE', '/k8s/aks-test/api/v1/namespaces/default/secrets/logged', 200],
    ]);
    const text = JSON.stringify(t.records);
    expect(text).not.toContain(value);
    expect(text).not.toContain(Buffer.from(value).toString('base64'));
  });

  it('round-trips through a JSON snapshot', async () => {
    t.cluster.seed({ secrets: 300, namespaces: 4, seed: 9, maxBytes: 8192 });
    t.rotateTo(2);
    t.cluster.kubeFaults.terminatingNamespaces.add('default');
    const snap = JSON.parse(JSON.stringify(t.cluster.toSnapshot()));
    const { EmulatedKubeCluster } = await import('../../../sandbox/kube/cluster');
    const copy = EmulatedKubeCluster.fromSnapshot(snap, {
      keys: { keyProblem: () => undefined },
      recorder: { record() {} },
      tokens: TOKENS,
    });
    expect(copy.etcdView()).toEqual(t.cluster.etcdView());
    expect(copy.getEncryption()).toEqual(t.cluster.getEncryption());
    expect(copy.kubeFaults.terminatingNamespaces.has('default')).toBe(true);
    expect(copy.toSnapshot()).toEqual(snap);
  });

  it('seeds a deterministic, realistic mix', () => {
    const a = t.cluster.seed({ secrets: 5000, namespaces: 12, seed: 77 });
    const view = t.cluster.etcdView();
    expect(a.secrets).toBe(5000);
    expect(a.byKind.opaque! / 5000).toBeCloseTo(0.45, 1);
    expect(a.byKind.helm! / 5000).toBeCloseTo(0.2, 1);
    const perNs = [
      ...view
        .reduce((m, e) => m.set(e.namespace, (m.get(e.namespace) ?? 0) + 1), new Map<string, number>())
        .values(),
    ].sort((x, y) => y - x);
    expect(perNs[0]!).toBeGreaterThan(perNs[perNs.length - 1]! * 5);
    const helm = view.filter((e) => e.name.startsWith('sh.helm.release.v1.'));
    expect(Math.max(...helm.map((e) => e.bytes))).toBeGreaterThan(200_000);
    expect(Math.min(...helm.map((e) => e.bytes))).toBeGreaterThan(9_000);
    const again = startCluster(tls).then((t2) => {
      const b = t2.cluster.seed({ secrets: 5000, namespaces: 12, seed: 77 });
      expect(b).toEqual(a);
      expect(t2.cluster.etcdView().map((e) => [e.namespace, e.name, e.bytes])).toEqual(
        view.map((e) => [e.namespace, e.name, e.bytes]),
      );
      return t2.close();
    });
    return again;
  });
});
