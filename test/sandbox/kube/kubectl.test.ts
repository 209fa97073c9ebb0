/**
 * The article's own commands, run with the real kubectl binary against the emulated API server.
 *
 * Each server version is driven by a kubectl client of the same minor (1.29 sends JSON, 1.32 protobuf, so
 * both wire formats of the emulated API server are exercised), and what is asserted about kubectl's output is
 * what those clients print. Which binary a bare `kubectl` runs differs between machines: gcloud's kubectl
 * dispatcher (`kubectl version --client` says `v1.32.4-dispatcher`) runs the `kubectl.1.<minor>` installed
 * next to it that matches the server it talks to, while an ordinary install runs its own version whatever
 * the server. So these tests never rely on that choice: they pin `kubectl` to a `kubectl.1.<minor>` (on
 * PATH, or next to the `kubectl` on PATH) or to a kubectl whose own client version has that minor, and a
 * test whose client is not on the machine is skipped, saying which one is missing.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { KEY, KubectlEnv, makeTls, startCluster, type TestCluster, type TlsMaterial } from './helpers';

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** What `kubectl version --client` says about `binary`: its client minor, or that it is a dispatcher. */
function clientOf(binary: string): { minor?: string; gitVersion?: string; dispatcher: boolean } | undefined {
  try {
    const out = execFileSync(binary, ['version', '--client', '-o', 'json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    const client = (JSON.parse(out) as { clientVersion?: { minor?: string; gitVersion?: string } })
      .clientVersion;
    return {
      minor: client?.minor?.replace('+', ''),
      gitVersion: client?.gitVersion,
      dispatcher: client?.gitVersion?.includes('dispatcher') ?? false,
    };
  } catch {
    return undefined;
  }
}

const pinned = new Map<string, { binary?: string; missing: string }>();

/** A kubectl binary whose own client is `1.<minor>`: never a dispatcher, which picks a binary per server. */
function kubectlClient(minor: string): { binary?: string; missing: string } {
  let found = pinned.get(minor);
  if (!found) {
    const kubectl = onPath('kubectl');
    const candidates = [
      onPath(`kubectl.1.${minor}`),
      kubectl && join(dirname(realpathSync(kubectl)), `kubectl.1.${minor}`),
      kubectl,
    ];
    const binary = candidates.find((c): c is string => {
      if (!c) return false;
      const client = clientOf(c);
      return client !== undefined && !client.dispatcher && client.minor === minor;
    });
    const own = kubectl ? clientOf(kubectl) : undefined;
    const machine = !kubectl
      ? 'there is no kubectl on PATH'
      : `the kubectl on PATH is ${own?.gitVersion ?? 'one whose version cannot be read'}`;
    const missing = `needs a kubectl 1.${minor} client (kubectl.1.${minor} on PATH or next to kubectl, as gcloud's dispatcher installs them, or a kubectl 1.${minor}); ${machine}`;
    found = { binary, missing };
    pinned.set(minor, found);
  }
  return found;
}

let tls: TlsMaterial;
const open: { cluster: TestCluster; env: KubectlEnv }[] = [];

beforeAll(async () => {
  tls = await makeTls();
});
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.cluster.close();
    o.env.cleanup();
  }
});

/** A cluster of `kubernetesVersion` and `kubectl` pinned to a client of its minor; skips the test without one. */
async function setup(
  skip: TestContext['skip'],
  kubernetesVersion = '1.32.4',
): Promise<{ t: TestCluster; kubectl: KubectlEnv }> {
  const client = kubectlClient(kubernetesVersion.split('.')[1]!);
  if (!client.binary) skip(client.missing);
  const t = await startCluster(tls, { kubernetesVersion });
  const kubectl = new KubectlEnv(t.url, tls.caPem, undefined, client.binary);
  open.push({ cluster: t, env: kubectl });
  return { t, kubectl };
}

const MIGRATE = 'set -o pipefail; kubectl get secrets --all-namespaces -o json | kubectl replace -f -';

const rvs = (t: TestCluster) =>
  new Map(t.cluster.etcdView().map((e) => [`${e.namespace}/${e.name}`, e.resourceVersion]));

describe.each(['1.32.4', '1.29.7'])('kubectl against a %s cluster', (version) => {
  it('re-encrypts every Secret with the storage-migration pipeline, and a second pass rewrites nothing', async ({
    skip,
  }) => {
    const { t, kubectl } = await setup(skip, version);
    const seeded = t.cluster.seed({ secrets: 1100, namespaces: 7, seed: 21, maxBytes: 16_384 });
    t.rotateTo(2);
    expect(
      t.cluster.etcdView().every((e) => e.provider.type === 'kms-v2' && e.provider.keyId === KEY(1)),
    ).toBe(true);
    const before = rvs(t);

    const first = await kubectl.sh(MIGRATE);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(seeded.secrets);
    const view = t.cluster.etcdView();
    expect(view.filter((e) => e.provider.type !== 'kms-v2' || e.provider.keyId !== KEY(2))).toEqual([]);
    expect(
      view.every((e) => Number(e.resourceVersion) > Number(before.get(`${e.namespace}/${e.name}`))),
    ).toBe(true);
    expect(t.records.filter((r) => r.method === 'PUT' && r.detail?.startsWith('rewritten'))).toHaveLength(
      seeded.secrets,
    );

    const after = rvs(t);
    const second = await kubectl.sh(MIGRATE);
    expect(second.code).toBe(0);
    expect(rvs(t)).toEqual(after);
    expect(t.records.filter((r) => r.detail === 'short-circuited (already current)')).toHaveLength(
      seeded.secrets,
    );
  });

  it('creates, reads and deletes a Secret', async ({ skip }) => {
    const { t, kubectl } = await setup(skip, version);
    // The pinned client has the server's minor (1.29 sends JSON, 1.32 protobuf).
    const versions = JSON.parse((await kubectl.sh('kubectl version -o json')).stdout) as Record<
      string,
      { minor: string; gitVersion: string }
    >;
    expect(versions.serverVersion?.gitVersion).toBe(`v${version}`);
    expect(versions.clientVersion?.minor.replace('+', '')).toBe(version.split('.')[1]);
    const created = await kubectl.sh(
      'kubectl create secret generic app-creds -n default --from-literal=password=s3cr3t --from-literal=user=admin',
    );
    expect(created).toMatchObject({ code: 0, stdout: 'secret/app-creds created\n' });
    expect(t.records.at(-1)).toMatchObject({ method: 'POST', status: 201 });
    const got = await kubectl.sh('kubectl get secret app-creds -n default -o json');
    expect(got.code).toBe(0);
    const obj = JSON.parse(got.stdout) as { type: string; data: Record<string, string> };
    expect(obj.type).toBe('Opaque');
    expect(Buffer.from(obj.data.password as string, 'base64').toString()).toBe('s3cr3t');
    expect(Buffer.from(obj.data.user as string, 'base64').toString()).toBe('admin');
    expect(t.cluster.etcdView()).toMatchObject([{ name: 'app-creds', provider: { keyId: KEY(1) } }]);

    const deleted = await kubectl.sh('kubectl delete secret app-creds -n default');
    expect(deleted).toMatchObject({ code: 0, stdout: 'secret "app-creds" deleted\n' });
    expect(t.cluster.etcdView()).toEqual([]);
    const missing = await kubectl.sh('kubectl get secret app-creds -n default');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): secrets "app-creds" not found');
  });
});

describe('the pipefail trap', () => {
  it('a 410 mid-listing makes kubectl get exit non-zero while printing a partial List', async ({ skip }) => {
    const { t, kubectl } = await setup(skip);
    t.cluster.seed({ secrets: 1200, namespaces: 5, seed: 4, maxBytes: 4096 });
    t.rotateTo(2);
    t.cluster.kubeFaults.expireContinueAfterPages = 1;

    const get = await kubectl.sh('kubectl get secrets --all-namespaces -o json');
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('Error from server (Expired): The provided continue parameter is too old');
    expect((JSON.parse(get.stdout) as { items: unknown[] }).items).toHaveLength(500);

    const withoutPipefail = await kubectl.sh(
      'kubectl get secrets --all-namespaces -o json | kubectl replace -f -',
    );
    expect(withoutPipefail.code).toBe(0);
    const underNewKey = () =>
      t.cluster.etcdView().filter((e) => e.provider.type === 'kms-v2' && e.provider.keyId === KEY(2)).length;
    expect(underNewKey()).toBe(500);

    const withPipefail = await kubectl.sh(MIGRATE);
    expect(withPipefail.code).not.toBe(0);
  });
});
