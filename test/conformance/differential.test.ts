/**
 * Differential conformance: one scenario, run step by step against the real kube-apiserver (+ etcd +
 * KMS plugin wrapping with sandbox Key Vault keys) and against the sandbox's emulated API, through
 * the official client and kubectl. Each step asserts what the real apiserver does (the semantics the
 * engine relies on) and that the emulator observes exactly the same.
 */
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statusOf } from '../sandbox/kube/helpers';
import { startApiserverBackend, startEmulatorBackend, type KubeBackend } from './backends';
import { b64, describeConformance } from './helpers';

interface Failure {
  code: number;
  reason?: string;
  message?: string;
  hasContinue?: boolean;
}

async function failureOf(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    const s = statusOf(e);
    return {
      code: s.code,
      reason: s.reason,
      message: s.message,
      ...(s.metadata?.continue !== undefined ? { hasContinue: s.metadata.continue !== '' } : {}),
    };
  }
  throw new Error('expected the request to fail');
}

/**
 * Where the emulator deliberately answers differently from this tier's control plane. The emulator's
 * answers are pinned here, so a change makes the comparison fail: then update the entry (and docs/conformance.md).
 */
const KNOWN_EMULATOR_DIFFERENCES = {
  disabledPreviousKey: {
    // AKS runs one plugin per key slot and each Status round-trips its own key, so a disabled previous key
    // fails kms-providers too (reference/kubernetes.md §6.1); this tier's plugin serves both slots as one
    // provider whose Status probes the current key only.
    readyz: {
      status: 500,
      failing: ['[-]kms-providers failed: reason withheld', '[-]informer-sync failed: reason withheld'],
    },
  },
};

/** The plugin's own error text is not part of the contract: compare messages up to the gRPC status. */
const shapeOf = (f: Failure): Failure => ({
  ...f,
  message: f.message?.replace(/rpc error: code = .*$/s, 'rpc error: code = …'),
});

const NS = ['conf-a', 'conf-b'];
const secretBody = (name: string, n: number): k8s.V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name,
    labels: { 'app.kubernetes.io/name': `app-${n % 3}` },
    annotations: { 'kmsflow.test/n': String(n) },
  },
  type: 'Opaque',
  data: { password: b64(`value-${name}`), config: b64(JSON.stringify({ n })) },
});

describeConformance('real kube-apiserver vs emulated API: the semantics re-encryption relies on', () => {
  const backends: KubeBackend[] = [];
  let real: KubeBackend;
  let emu: KubeBackend;

  beforeAll(async () => {
    real = await startApiserverBackend();
    backends.push(real);
    emu = await startEmulatorBackend();
    backends.push(emu);
    for (const b of backends) {
      for (const ns of NS) await b.core.createNamespace({ body: { metadata: { name: ns } } });
      for (let i = 1; i <= 7; i++)
        await b.core.createNamespacedSecret({ namespace: 'conf-a', body: secretBody(`s${i}`, i) });
      for (let i = 1; i <= 2; i++)
        await b.core.createNamespacedSecret({ namespace: 'conf-b', body: secretBody(`t${i}`, i) });
    }
  });
  afterAll(async () => {
    for (const b of backends) await b.close();
  });

  /** Runs `step` on both backends (real first) and returns both observations. */
  async function both<T>(step: (b: KubeBackend) => Promise<T>): Promise<{ real: T; emu: T }> {
    return { real: await step(real), emu: await step(emu) };
  }

  /** A no-op PUT exactly as the engine sends it: the object as read, with apiVersion/kind. */
  async function noopPut(b: KubeBackend, namespace: string, name: string) {
    const before = await b.core.readNamespacedSecret({ namespace, name });
    const after = await b.core.replaceNamespacedSecret({
      namespace,
      name,
      body: { ...before, apiVersion: 'v1', kind: 'Secret' },
    });
    const storage = await b.storage();
    return {
      rvChanged: after.metadata!.resourceVersion !== before.metadata!.resourceVersion,
      storedUnder: storage.get(`${namespace}/${name}`),
    };
  }

  it('stores every created Secret under the current key', async () => {
    const obs = await both(async (b) =>
      [...(await b.storage()).entries()].filter(([k]) => NS.some((ns) => k.startsWith(`${ns}/`))).sort(),
    );
    expect(obs.real).toHaveLength(9);
    expect(new Set(obs.real.map(([, v]) => v))).toEqual(new Set(['key1']));
    expect(obs.emu).toEqual(obs.real);
  });

  it('short-circuits a no-op PUT of a Secret already under the current key (resourceVersion unchanged)', async () => {
    const obs = await both((b) => noopPut(b, 'conf-a', 's1'));
    expect(obs.real).toEqual({ rvChanged: false, storedUnder: 'key1' });
    expect(obs.emu).toEqual(obs.real);
  });

  it('short-circuits no-op PUTs of listed items (client-node list, then PUT each item back as the engine does)', async () => {
    const obs = await both(async (b) => {
      const list = await b.core.listNamespacedSecret({ namespace: 'conf-b' });
      const changed: string[] = [];
      for (const item of list.items) {
        const written = await b.core.replaceNamespacedSecret({
          namespace: 'conf-b',
          name: item.metadata!.name!,
          body: { ...item, apiVersion: 'v1', kind: 'Secret' },
        });
        if (written.metadata!.resourceVersion !== item.metadata!.resourceVersion)
          changed.push(item.metadata!.name!);
      }
      return { items: list.items.length, changed };
    });
    expect(obs.real).toEqual({ items: 2, changed: [] });
    expect(obs.emu).toEqual(obs.real);
  });

  it('answers 409 Conflict to a PUT carrying a stale resourceVersion', async () => {
    const obs = await both(async (b) => {
      const old = await b.core.readNamespacedSecret({ namespace: 'conf-a', name: 's2' });
      const changed = await b.core.replaceNamespacedSecret({
        namespace: 'conf-a',
        name: 's2',
        body: { ...old, metadata: { ...old.metadata, labels: { ...old.metadata!.labels, touched: 'yes' } } },
      });
      const stale = await failureOf(
        b.core.replaceNamespacedSecret({ namespace: 'conf-a', name: 's2', body: old }),
      );
      return { rvChanged: changed.metadata!.resourceVersion !== old.metadata!.resourceVersion, stale };
    });
    expect(obs.real).toEqual({
      rvChanged: true,
      stale: {
        code: 409,
        reason: 'Conflict',
        message:
          'Operation cannot be fulfilled on secrets "s2": the object has been modified; please apply your changes to the latest version and try again',
      },
    });
    expect(obs.emu).toEqual(obs.real);
  });

  it('answers 404 to a PUT of a missing Secret and 409 AlreadyExists to a duplicate create', async () => {
    const obs = await both(async (b) => ({
      missing: await failureOf(
        b.core.replaceNamespacedSecret({ namespace: 'conf-a', name: 'nope', body: secretBody('nope', 0) }),
      ),
      duplicate: await failureOf(
        b.core.createNamespacedSecret({ namespace: 'conf-a', body: secretBody('s1', 1) }),
      ),
    }));
    expect(obs.real).toEqual({
      missing: { code: 404, reason: 'NotFound', message: 'secrets "nope" not found' },
      duplicate: { code: 409, reason: 'AlreadyExists', message: 'secrets "s1" already exists' },
    });
    expect(obs.emu).toEqual(obs.real);
  });

  it('pages with limit/continue and reports remainingItemCount', async () => {
    const obs = await both(async (b) => {
      const pages: { names: string[]; remaining?: number; more: boolean }[] = [];
      let token: string | undefined;
      do {
        const page = await b.core.listNamespacedSecret({ namespace: 'conf-a', limit: 3, _continue: token });
        token = page.metadata?._continue || undefined;
        pages.push({
          names: page.items.map((s) => s.metadata!.name!),
          remaining: page.metadata?.remainingItemCount,
          more: token !== undefined,
        });
      } while (token);
      const all = await b.core.listSecretForAllNamespaces({ limit: 4 });
      return {
        pages,
        allFirstPage: { count: all.items.length, remaining: all.metadata?.remainingItemCount },
      };
    });
    expect(obs.real.pages).toEqual([
      { names: ['s1', 's2', 's3'], remaining: 4, more: true },
      { names: ['s4', 's5', 's6'], remaining: 1, more: true },
      { names: ['s7'], remaining: undefined, more: false },
    ]);
    expect(obs.emu).toEqual(obs.real);
  });

  it('answers 410 Expired to an outdated continue token and offers an inconsistent token that finishes the list', async () => {
    const obs = await both(async (b) => {
      const first = await b.core.listNamespacedSecret({ namespace: 'conf-a', limit: 3 });
      // Move the store on, then compact / age the tokens.
      await b.core.createNamespacedSecret({ namespace: 'conf-b', body: secretBody('t3', 3) });
      await b.expireContinueTokens();
      const expired = await failureOf(
        b.core.listNamespacedSecret({ namespace: 'conf-a', limit: 3, _continue: first.metadata!._continue! }),
      );
      let offered: string | undefined;
      try {
        await b.core.listNamespacedSecret({
          namespace: 'conf-a',
          limit: 3,
          _continue: first.metadata!._continue!,
        });
      } catch (e) {
        offered = statusOf(e).metadata?.continue;
      }
      const rest: string[] = [];
      let token = offered;
      while (token) {
        const page = await b.core.listNamespacedSecret({ namespace: 'conf-a', limit: 3, _continue: token });
        rest.push(...page.items.map((s) => s.metadata!.name!));
        token = page.metadata?._continue || undefined;
      }
      return { expired, rest };
    });
    expect(obs.real.expired).toMatchObject({ code: 410, reason: 'Expired', hasContinue: true });
    expect(obs.real.rest).toEqual(['s4', 's5', 's6', 's7']);
    expect(obs.emu).toEqual(obs.real);
  });

  it('after a key rotation, a no-op PUT rewrites a stale Secret under the new key exactly once', async () => {
    await real.rotateKey();
    await emu.rotateKey();
    const obs = await both(async (b) => {
      const before = (await b.storage()).get('conf-a/s3');
      const first = await noopPut(b, 'conf-a', 's3');
      const second = await noopPut(b, 'conf-a', 's3');
      return { before, first, second };
    });
    expect(obs.real).toEqual({
      before: 'key1',
      first: { rvChanged: true, storedUnder: 'key2' },
      second: { rvChanged: false, storedUnder: 'key2' },
    });
    expect(obs.emu).toEqual(obs.real);
  });

  it('disabling the previous key version in Key Vault breaks reads of what it protects once the apiserver restarts', async () => {
    // conf-a/s1 is still under key1, now the previous key.
    const obs = await both(async (b) => {
      expect((await b.storage()).get('conf-a/s1')).toBe('key1');
      await b.restart();
      await b.setKeyUsable(1, false);
      const readWhileRunning = await b.core.readNamespacedSecret({ namespace: 'conf-a', name: 's1' }).then(
        () => 200,
        (e: unknown) => statusOf(e).code,
      );
      await b.restart({ expectUnready: true });
      const afterRestart = shapeOf(
        await failureOf(b.core.readNamespacedSecret({ namespace: 'conf-a', name: 's1' })),
      );
      const readyz = await b.readyz();
      await b.setKeyUsable(1, true);
      await b.restart();
      const reEnabled = (await b.core.readNamespacedSecret({ namespace: 'conf-a', name: 's1' })).metadata!
        .name;
      return { readWhileRunning, afterRestart, readyz, reEnabled };
    });
    expect(obs.real).toEqual({
      // The running apiserver still holds the decrypted seed (cached for hours), so nothing breaks yet.
      readWhileRunning: 200,
      afterRestart: {
        code: 500,
        reason: 'InternalError',
        message: 'Internal error occurred: failed to decrypt DEK, error: rpc error: code = …',
      },
      readyz: { status: 500, failing: ['[-]informer-sync failed: reason withheld'] },
      reEnabled: 's1',
    });
    expect(obs.emu).toEqual({ ...obs.real, ...KNOWN_EMULATOR_DIFFERENCES.disabledPreviousKey });
  });

  it('the doc pipeline (set -o pipefail; kubectl get -A -o json | kubectl replace -f -) moves every Secret to the new key; a second run changes nothing', async () => {
    const obs = await both(async (b) => {
      const pipeline = 'set -o pipefail; kubectl get secrets -A -o json | kubectl replace -f -';
      const first = await b.kubectl.sh(pipeline);
      const storage = await b.storage();
      const rvsBefore = (await b.core.listSecretForAllNamespaces()).items.map(
        (s) => `${s.metadata!.namespace}/${s.metadata!.name}@${s.metadata!.resourceVersion}`,
      );
      const second = await b.kubectl.sh(pipeline);
      const rvsAfter = (await b.core.listSecretForAllNamespaces()).items.map(
        (s) => `${s.metadata!.namespace}/${s.metadata!.name}@${s.metadata!.resourceVersion}`,
      );
      return {
        exit: [first.code, second.code],
        replaced: first.stdout
          .trim()
          .split('\n')
          .filter((l) => / replaced$/.test(l)).length,
        storedUnder: [...new Set(storage.values())],
        secondRunChangedRvs: rvsAfter.filter((rv) => !rvsBefore.includes(rv)),
      };
    });
    expect(obs.real).toEqual({ exit: [0, 0], replaced: 10, storedUnder: ['key2'], secondRunChangedRvs: [] });
    expect(obs.emu).toEqual(obs.real);
  });

  it('after two rotations without re-encryption, Secrets under the dropped key break reads, lists, deletes and readiness', async () => {
    // Leave the Secrets under key2 except t1, then rotate twice (key2 -> previous -> dropped), as in Azure/kubernetes-kms#291.
    await real.rotateKey();
    await emu.rotateKey();
    for (const b of backends) {
      const s = await b.core.readNamespacedSecret({ namespace: 'conf-b', name: 't1' });
      await b.core.replaceNamespacedSecret({
        namespace: 'conf-b',
        name: 't1',
        body: { ...s, apiVersion: 'v1', kind: 'Secret' },
      });
    }
    await real.rotateKey({ expectUnready: true });
    await emu.rotateKey({ expectUnready: true });
    const obs = await both(async (b) => {
      return {
        readyz: await b.readyz(),
        rewrittenStillReadable: (await b.core.readNamespacedSecret({ namespace: 'conf-b', name: 't1' }))
          .metadata!.name,
        get: shapeOf(await failureOf(b.core.readNamespacedSecret({ namespace: 'conf-a', name: 's1' }))),
        pagedList: shapeOf(await failureOf(b.core.listSecretForAllNamespaces({ limit: 500 }))),
        unpagedList: shapeOf(await failureOf(b.core.listSecretForAllNamespaces())),
        unpagedListOfReadableNamespace: (
          await failureOf(b.core.listNamespacedSecret({ namespace: 'default' }))
        ).code,
        delete: {
          code: (await failureOf(b.core.deleteNamespacedSecret({ namespace: 'conf-a', name: 's1' }))).code,
        },
        create: (await b.core.createNamespacedSecret({ namespace: 'conf-b', body: secretBody('after', 9) }))
          .metadata!.name,
      };
    });
    expect(obs.real).toEqual({
      // kube-apiserver's own Secret informer cannot sync: it never becomes ready (AKS: cluster stuck updating).
      readyz: { status: 500, failing: ['[-]informer-sync failed: reason withheld'] },
      rewrittenStillReadable: 't1',
      get: {
        code: 500,
        reason: 'InternalError',
        message: 'Internal error occurred: failed to decrypt DEK, error: rpc error: code = …',
      },
      pagedList: {
        code: 500,
        reason: 'InternalError',
        message:
          'Internal error occurred: unable to transform key "/registry/secrets/conf-a/s1": failed to decrypt DEK, error: rpc error: code = …',
      },
      // The watch cache cannot initialize, so a list it would serve answers "storage is (re)initializing".
      unpagedList: {
        code: 429,
        reason: 'TooManyRequests',
        message:
          'storage is (re)initializing: failed to list *core.Secret: unable to transform key "/registry/secrets/conf-a/s1": failed to decrypt DEK, error: rpc error: code = …',
      },
      // The watch cache serves the whole resource: a namespace without any (unreadable) Secret answers 429 too.
      unpagedListOfReadableNamespace: 429,
      delete: { code: 500 },
      create: 'after',
    });
    expect(obs.emu).toEqual(obs.real);
  });
});
