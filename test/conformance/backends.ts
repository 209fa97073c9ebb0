/**
 * The same Kubernetes-with-KMS cluster behind one interface, twice: the real kube-apiserver + etcd +
 * KMS plugin, and the sandbox's emulated API. Differential tests drive both through the official
 * client and kubectl and compare what they observe.
 */
import type * as k8s from '@kubernetes/client-node';
import { KMS_PROVIDER_NAME, LocalControlPlane } from '../../conformance/control-plane';
import { apiserverRequest } from '../../conformance/control-plane/apiserver';
import { kmsKeyIdFor } from '../../conformance/kms-plugin/key-wrappers';
import { KEY, KubectlEnv, makeTls, startCluster, TOKENS, type TestCluster } from '../sandbox/kube/helpers';
import { VaultKeyUsability } from '../../sandbox/keyvault/usability';
import { identityArmId } from '../../sandbox/store';
import { RG } from '../sandbox/helpers';
import { coreApiFor, keyVaultKeys, type KeyVaultKeys } from './helpers';

export interface KubeBackend {
  kind: 'apiserver' | 'emulator';
  core: k8s.CoreV1Api;
  kubectl: KubectlEnv;
  /** Key number (1-based) new writes use. */
  readonly currentKey: number;
  /**
   * AKS-style rotation to the next key number (current becomes previous); returns once writes use it.
   * `expectUnready`: the real apiserver will not become ready afterwards (a Secret it can no longer decrypt).
   */
  rotateKey(options?: { expectUnready?: boolean }): Promise<void>;
  /** Makes every continue token handed out so far expire (etcd compaction / the emulator's token TTL). */
  expireContinueTokens(): Promise<void>;
  /** Enables or disables key version `n` in Key Vault (the emulator: its key-usability view). */
  setKeyUsable(n: number, usable: boolean): Promise<void>;
  /** Restarts kube-apiserver: it forgets the seeds it decrypted and its write seed. */
  restart(options?: { expectUnready?: boolean }): Promise<void>;
  /** GET /readyz?verbose with the admin token: status and failing checks. */
  readyz(): Promise<{ status: number; failing: string[] }>;
  /** `ns/name` -> `key<n>` or `identity`, from the storage ground truth (etcd, or the emulator's etcd view). */
  storage(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

async function readyzOf(url: string, caPem: string, adminToken: string) {
  const res = await apiserverRequest(url, { caPem, adminToken }, 'GET', '/readyz?verbose');
  return { status: res.status, failing: res.body.split('\n').filter((l) => l.startsWith('[-]')) };
}

export async function startApiserverBackend(): Promise<
  KubeBackend & { cp: LocalControlPlane; kv: KeyVaultKeys }
> {
  const kv = await keyVaultKeys(4);
  let cp: LocalControlPlane;
  try {
    cp = await LocalControlPlane.start({ slots: { current: kv.wrapper(1) } });
  } catch (e) {
    await kv.close();
    throw e;
  }
  const keyNumbers = new Map(kv.versions.map((id, i) => [kmsKeyIdFor(id), i + 1]));
  const kubectl = new KubectlEnv(cp.url, cp.caPem, cp.adminToken);
  let currentKey = 1;
  return {
    kind: 'apiserver',
    cp,
    kv,
    core: coreApiFor(cp),
    kubectl,
    get currentKey() {
      return currentKey;
    },
    async rotateKey(options = {}) {
      await cp.rotateKey(kv.wrapper(currentKey + 1), 'restart', {
        waitFor: options.expectUnready ? 'live' : 'ready',
      });
      currentKey++;
    },
    async setKeyUsable(n, usable) {
      const [name, version] = new URL(kv.versions[n - 1]!).pathname.split('/').slice(2);
      await kv.sandbox.clients().keys('kv-test').updateKeyProperties(name!, version!, { enabled: usable });
    },
    restart: (options = {}) => cp.restartApiserver({ waitFor: options.expectUnready ? 'live' : 'ready' }),
    readyz: () => readyzOf(cp.url, cp.caPem, cp.adminToken),
    async expireContinueTokens() {
      // Compaction alone is not enough on 1.34: a continue token is served from the watch cache's
      // snapshot while it is retained. A restart (or another replica) has no snapshot and goes to etcd.
      await cp.compactEtcd();
      await cp.restartApiserver();
    },
    async storage() {
      const out = new Map<string, string>();
      for (const s of await cp.storedSecrets()) {
        const v = s.stored;
        const label =
          v.kind === 'kms-v2' && v.provider === KMS_PROVIDER_NAME
            ? `key${keyNumbers.get(v.keyId) ?? '?'}`
            : v.kind;
        out.set(`${s.namespace}/${s.name}`, label);
      }
      return out;
    },
    async close() {
      kubectl.cleanup();
      await cp.stop();
      await kv.close();
    },
  };
}

/**
 * The emulated API server. With `keyVault` (the real backend's), its plugin judges key versions as the
 * real plugin does: against that sandbox Key Vault, as `id-kms`, from the internet (Public mode); key
 * number n is version n of the vault's key.
 */
const keyNumberOf = (keyId: string): number | undefined => [1, 2, 3, 4, 5].find((n) => KEY(n) === keyId);

export async function startEmulatorBackend(
  options: { keyVault?: KeyVaultKeys } = {},
): Promise<KubeBackend & { tc: TestCluster }> {
  const unusable = new Set<string>();
  const vault = options.keyVault;
  const usability = vault && new VaultKeyUsability(vault.sandbox.context.store);
  const plugin = vault && {
    identityArmId: identityArmId({
      subscriptionId: vault.sandbox.subscriptionId,
      resourceGroup: RG,
      name: 'id-kms',
    }),
    privateLink: false,
  };
  const keyProblem = (k: string): string | undefined => {
    if (unusable.has(k))
      return `failed to unwrap the data encryption key with ${k}: the key version is disabled, expired or no longer exists in Key Vault`;
    const n = keyNumberOf(k);
    return usability && n !== undefined ? usability.pluginProblem(vault.versions[n - 1]!, plugin) : undefined;
  };
  const tc = await startCluster(await makeTls(), { keys: { keyProblem } });
  const kubectl = new KubectlEnv(tc.url, tc.tls.caPem);
  const keyNumbers = new Map([1, 2, 3, 4, 5].map((n) => [KEY(n), n]));
  let currentKey = 1;
  return {
    kind: 'emulator',
    tc,
    core: tc.core(),
    kubectl,
    get currentKey() {
      return currentKey;
    },
    async rotateKey() {
      currentKey++;
      tc.rotateTo(currentKey);
    },
    async setKeyUsable(n, usable) {
      if (usable) unusable.delete(KEY(n));
      else unusable.add(KEY(n));
    },
    async restart() {
      tc.cluster.restartApiServer();
    },
    readyz: () => readyzOf(tc.url, tc.tls.caPem, TOKENS.admin),
    async expireContinueTokens() {
      tc.clock.now += 10 * 60_000;
    },
    async storage() {
      const out = new Map<string, string>();
      for (const e of tc.cluster.etcdView()) {
        out.set(
          `${e.namespace}/${e.name}`,
          e.provider.type === 'identity' ? 'identity' : `key${keyNumbers.get(e.provider.keyId) ?? '?'}`,
        );
      }
      return out;
    },
    async close() {
      kubectl.cleanup();
      await tc.close();
    },
  };
}
