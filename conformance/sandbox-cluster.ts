/**
 * A sandbox managed cluster backed by the real control plane (kube-apiserver + etcd + the TS KMS v2
 * plugin) instead of the emulated Kubernetes API. The sandbox's ARM keeps deciding (enable, rotate,
 * disable KMS, and which two key versions the slots hold); every decision becomes the plugin's key
 * slots plus an EncryptionConfiguration, applied with one apiserver restart (how AKS rolls its control
 * plane). The plugin wraps with the sandbox's Key Vault as the cluster's KMS identity, so disabling a
 * key version there really stops it. kmsflow reaches the apiserver through ARM's credentials, as usual.
 */
import * as k8s from '@kubernetes/client-node';
import type { ClusterEncryption, StorageProvider } from '../sandbox/contracts';
import type { ExternalApiServer, ExternalApiServerConnection } from '../sandbox/external-cluster';
import { generateEstate, type EstateSpec, type SeedSummary } from '../sandbox/kube/estate';
import type { EtcdViewEntry } from '../sandbox/kube/types';
import type { RunningSandbox } from '../sandbox/sandbox';
import type { ConformanceBinaries } from './binaries';
import {
  identityProvider,
  KMS_PROVIDER_NAME,
  kmsProvider,
  LocalControlPlane,
  type EncryptionProvider,
} from './control-plane';
import type { StoredSecret } from './etcd/stored-secrets';
import { KeyVaultKeyWrapper, kmsKeyIdFor } from './kms-plugin/key-wrappers';
import type { KmsKeySlots } from './kms-plugin/plugin';

export interface RealBackedClusterOptions {
  sandbox: RunningSandbox;
  /** A cluster of the sandbox's scenario, with no Secrets of its own (seed this one instead). */
  cluster: string;
  /** The user-assigned identity the KMS plugin acts as (needs Key Vault Crypto User on the vault). */
  kmsIdentity: string;
  binaries?: ConformanceBinaries;
}

/** One applied configuration, for tests and failure messages. */
export interface AppliedEncryption {
  encryption: ClusterEncryption;
  /** Whether /readyz passed after the restart (false: a Secret could not be decrypted). */
  ready: boolean;
  at: number;
  durationMs: number;
}

/** Plugin key wrappers for the cluster's key versions, acting as its KMS identity in the sandbox's Key Vault. */
class ClusterKeyWrappers {
  private readonly wrappers = new Map<string, KeyVaultKeyWrapper>();
  /** Versioned key id by plugin key id (hex sha256), for every key this cluster has held. */
  private readonly byHash = new Map<string, string>();

  constructor(
    private readonly sandbox: RunningSandbox,
    private readonly kmsIdentity: string,
  ) {}

  wrapper(versionedKeyId: string): KeyVaultKeyWrapper {
    let w = this.wrappers.get(versionedKeyId);
    if (!w) {
      const crypto = this.sandbox
        .clients(this.kmsIdentity, { retryOptions: { maxRetries: 0 } })
        .crypto(versionedKeyId);
      w = new KeyVaultKeyWrapper(versionedKeyId, crypto);
      this.wrappers.set(versionedKeyId, w);
      this.byHash.set(kmsKeyIdFor(versionedKeyId), versionedKeyId);
    }
    return w;
  }

  versionedKeyId(pluginKeyId: string): string | undefined {
    return this.byHash.get(pluginKeyId);
  }

  slotsFor(encryption: ClusterEncryption): KmsKeySlots {
    if (encryption.write.type === 'kms-v1')
      throw new Error('the real control plane runs KMS v2 only (kube-apiserver 1.34)');
    const { current, previous } = encryption.slots;
    if (encryption.write.type === 'kms-v2' && encryption.write.keyId !== current) {
      throw new Error(
        `writes under ${encryption.write.keyId} but the current key slot holds ${current ?? 'nothing'}`,
      );
    }
    return {
      ...(current ? { current: this.wrapper(current) } : {}),
      ...(previous ? { previous: this.wrapper(previous) } : {}),
    };
  }
}

/**
 * AKS's provider order for an encryption state: KMS first while enabled (identity still reads
 * plaintext), identity first once disabled, the KMS provider kept for reading what it encrypted.
 */
function providersFor(encryption: ClusterEncryption, pluginEndpoint: string): EncryptionProvider[] {
  const kms = kmsProvider(KMS_PROVIDER_NAME, pluginEndpoint);
  if (encryption.write.type !== 'identity') return [kms, identityProvider];
  return encryption.slots.current ? [identityProvider, kms] : [identityProvider];
}

/** Two encryption states with the same signature need no restart. */
function signatureOf(encryption: ClusterEncryption): string {
  return JSON.stringify({
    write: encryption.write.type,
    current: encryption.slots.current,
    previous: encryption.slots.previous,
  });
}

export class RealBackedCluster implements ExternalApiServer {
  private encryption: ClusterEncryption;
  private appliedSignature: string;
  private applying: Promise<void> = Promise.resolve();
  readonly history: AppliedEncryption[] = [];

  private constructor(
    readonly cp: LocalControlPlane,
    private readonly keys: ClusterKeyWrappers,
    initial: ClusterEncryption,
  ) {
    this.encryption = initial;
    this.appliedSignature = signatureOf(initial);
  }

  /** Starts the control plane in the cluster's current encryption state and attaches it to the sandbox. */
  static async attach(options: RealBackedClusterOptions): Promise<RealBackedCluster> {
    const initial = options.sandbox.inspectCluster(options.cluster)?.encryption;
    if (!initial) throw new Error(`sandbox cluster '${options.cluster}' has no API server to replace`);
    const keys = new ClusterKeyWrappers(options.sandbox, options.kmsIdentity);
    const cp = await LocalControlPlane.start({
      slots: keys.slotsFor(initial),
      providers: (plugin) => providersFor(initial, plugin.endpoint),
      ...(options.binaries ? { binaries: options.binaries } : {}),
    });
    const real = new RealBackedCluster(cp, keys, initial);
    try {
      await options.sandbox.attachExternalCluster(options.cluster, real);
    } catch (e) {
      await cp.stop();
      throw e;
    }
    return real;
  }

  connection(): ExternalApiServerConnection {
    return { server: this.cp.url, caPem: this.cp.caPem, token: this.cp.adminToken };
  }

  getEncryption(): ClusterEncryption {
    return this.encryption;
  }

  /** Changes are applied one after the other; each resolves once writes use the new configuration. */
  setEncryption(encryption: ClusterEncryption): Promise<void> {
    this.encryption = encryption;
    const run = this.applying.then(() => this.apply(encryption));
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every change handed over so far has been applied (or failed). */
  settled(): Promise<void> {
    return this.applying;
  }

  async etcdView(): Promise<EtcdViewEntry[]> {
    const { current, previous } = this.cp.plugin.keySlots;
    const held = new Set(
      [current, previous].filter((w) => w !== undefined).map((w) => kmsKeyIdFor(w.versionedKeyId)),
    );
    return (await this.cp.storedSecrets()).map((s) => ({
      namespace: s.namespace,
      name: s.name,
      resourceVersion: String(s.modRevision),
      provider: this.providerOf(s),
      // As far as the slots go; a key version disabled in Key Vault is not checked here.
      readable: s.stored.kind === 'identity' || (s.stored.kind === 'kms-v2' && held.has(s.stored.keyId)),
      bytes: s.bytes,
    }));
  }

  /** etcd's Secrets with the versioned Key Vault key id (or identity) each one is stored under. */
  async storedSecrets(): Promise<(StoredSecret & { provider: StorageProvider })[]> {
    return (await this.cp.storedSecrets()).map((s) => ({ ...s, provider: this.providerOf(s) }));
  }

  /** Creates a realistic estate (the sandbox's generator) through the API, under the current configuration. */
  async seed(spec: EstateSpec, concurrency = 8): Promise<SeedSummary> {
    const estate = generateEstate(spec, Date.now());
    const kc = new k8s.KubeConfig();
    kc.loadFromString(this.cp.kubeconfigYaml());
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const existing = new Set((await core.listNamespace()).items.map((n) => n.metadata!.name!));
    for (const ns of estate.namespaces)
      if (!existing.has(ns)) await core.createNamespace({ body: { metadata: { name: ns } } });
    const queue = [...estate.secrets];
    const worker = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) {
        const data: Record<string, string> = {};
        for (const [k, v] of g.content.data) data[k] = v.toString('base64');
        await core.createNamespacedSecret({
          namespace: g.namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: {
              name: g.name,
              namespace: g.namespace,
              labels: g.content.labels,
              annotations: g.content.annotations,
            },
            type: g.content.type,
            immutable: g.content.immutable,
            data,
          },
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return estate.summary;
  }

  async stop(): Promise<void> {
    await this.applying;
    await this.cp.stop();
  }

  private async apply(encryption: ClusterEncryption): Promise<void> {
    const signature = signatureOf(encryption);
    if (signature === this.appliedSignature) return;
    const started = Date.now();
    const { ready } = await this.cp.reconfigure(
      this.keys.slotsFor(encryption),
      providersFor(encryption, this.cp.plugin.endpoint),
    );
    this.appliedSignature = signature;
    this.history.push({ encryption, ready, at: started, durationMs: Date.now() - started });
  }

  private providerOf(s: StoredSecret): StorageProvider {
    const v = s.stored;
    if (v.kind === 'identity') return { type: 'identity' };
    if (v.kind === 'kms-v2' && v.provider === KMS_PROVIDER_NAME) {
      return { type: 'kms-v2', keyId: this.keys.versionedKeyId(v.keyId) ?? `unknown-key-sha256:${v.keyId}` };
    }
    throw new Error(`${s.namespace}/${s.name} is stored in an unexpected form (${v.kind})`);
  }
}
