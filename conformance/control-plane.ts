/**
 * A real local control plane for the conformance tier: etcd, the TypeScript KMS v2 plugin and
 * kube-apiserver, all on loopback, with Secrets encrypted through the plugin. Key and provider
 * changes are applied the way a cluster sees them (automatic config reload or an apiserver restart,
 * as AKS rolls its control plane) and confirmed against etcd before returning.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFORMANCE_SETUP_HINT, findConformanceBinaries, type ConformanceBinaries } from './binaries';
import {
  apiserverRequest,
  readiness,
  startApiserver,
  writeApiserverFiles,
  type ApiserverFiles,
  type ApiserverResponse,
  type Readiness,
  type RunningApiserver,
  type StartApiserverOptions,
} from './control-plane/apiserver';
import {
  encryptionConfigYaml,
  identityProvider,
  kmsProvider,
  type EncryptionProvider,
} from './control-plane/encryption-config';
import { startEtcd, type RunningEtcd } from './control-plane/etcd-server';
import { readStoredSecrets, type StoredSecret } from './etcd/stored-secrets';
import { describeStoredValue, parseStoredValue, type StoredValue } from './etcd/stored-value';
import type { KeyWrapper } from './kms-plugin/key-wrappers';
import { KmsV2Plugin, type KmsKeySlots } from './kms-plugin/plugin';

export { identityProvider, kmsProvider, type EncryptionProvider } from './control-plane/encryption-config';

/** The KMS provider name used in the EncryptionConfiguration (it appears in every etcd value's prefix). */
export const KMS_PROVIDER_NAME = 'kmsflow';

/**
 * How a change reaches the apiserver: `reload` waits for the automatic EncryptionConfiguration reload
 * and the plugin Status poll (each about once a minute); `restart` restarts kube-apiserver, which is
 * how AKS applies a KMS change and takes a few seconds here.
 */
export type ApplyVia = 'reload' | 'restart';

export interface ControlPlaneOptions {
  slots: KmsKeySlots;
  /** Default: the KMS plugin, then identity (plaintext Secrets stay readable). */
  providers?: (plugin: KmsV2Plugin) => EncryptionProvider[];
  binaries?: ConformanceBinaries;
  extraApiserverArgs?: string[];
}

const PROBE_NAMESPACE = 'default';
const PROBE_NAME = 'kmsflow-write-probe';

export class LocalControlPlane {
  private constructor(
    readonly dir: string,
    readonly binaries: ConformanceBinaries,
    readonly plugin: KmsV2Plugin,
    readonly etcd: RunningEtcd,
    private readonly files: ApiserverFiles,
    private apiserver: RunningApiserver,
    private readonly extraApiserverArgs: string[],
  ) {}

  static async start(options: ControlPlaneOptions): Promise<LocalControlPlane> {
    const binaries = options.binaries ?? findConformanceBinaries();
    if (!binaries) throw new Error(CONFORMANCE_SETUP_HINT);
    // Short path: a unix socket path must stay under 108 bytes.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-cp-'));
    const cleanup: (() => Promise<void>)[] = [];
    try {
      const plugin = await KmsV2Plugin.start({
        socketPath: path.join(dir, 'kms.sock'),
        slots: options.slots,
      });
      cleanup.push(() => plugin.close());
      const files = await writeApiserverFiles(path.join(dir, 'apiserver'));
      const providers = options.providers?.(plugin) ?? [
        kmsProvider(KMS_PROVIDER_NAME, plugin.endpoint),
        identityProvider,
      ];
      fs.writeFileSync(files.encryptionConfigPath, encryptionConfigYaml(providers));
      const etcd = await startEtcd(binaries.etcd, dir);
      cleanup.push(() => etcd.stop());
      const extra = options.extraApiserverArgs ?? [];
      const apiserver = await startApiserver(binaries.kubeApiserver, files, etcd.url, { extraArgs: extra });
      return new LocalControlPlane(dir, binaries, plugin, etcd, files, apiserver, extra);
    } catch (e) {
      for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get url(): string {
    return this.apiserver.url;
  }

  get caPem(): string {
    return this.files.caPem;
  }

  get adminToken(): string {
    return this.files.adminToken;
  }

  /** Changes on every restart; lets tests tell a reload from a restart. */
  get apiserverPid(): number | undefined {
    return this.apiserver.process.pid;
  }

  get apiserverLog(): string {
    return this.apiserver.process.logFile;
  }

  /** A kubeconfig for kubectl and `@kubernetes/client-node` (admin token over TLS). */
  kubeconfigYaml(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: conformance',
      '  cluster:',
      `    server: ${this.url}`,
      `    certificate-authority-data: ${Buffer.from(this.caPem).toString('base64')}`,
      'users:',
      '- name: admin',
      '  user:',
      `    token: ${this.adminToken}`,
      'contexts:',
      '- name: conformance',
      '  context: {cluster: conformance, user: admin}',
      'current-context: conformance',
      '',
    ].join('\n');
  }

  request(method: string, pathAndQuery: string, body?: unknown): Promise<ApiserverResponse> {
    return apiserverRequest(this.url, this.files, method, pathAndQuery, body);
  }

  /** Every Secret as stored in etcd, with its provider and KMS key id. */
  async storedSecrets(): Promise<StoredSecret[]> {
    return (await readStoredSecrets(this.etcd.client)).secrets;
  }

  async storedSecret(namespace: string, name: string): Promise<StoredValue | undefined> {
    const entry = await this.etcd.client.get(`/registry/secrets/${namespace}/${name}`);
    return entry && parseStoredValue(entry.value);
  }

  /** Compacts etcd's history up to now, as the apiserver's periodic compaction would. */
  async compactEtcd(): Promise<number> {
    const revision = await this.etcd.client.currentRevision();
    await this.etcd.client.compact(revision);
    return revision;
  }

  /**
   * Stops and starts kube-apiserver on the same port with the same files and etcd data. By default it
   * waits for /readyz; `waitFor: 'live'` returns once it serves, ready or not.
   */
  async restartApiserver(options: Pick<StartApiserverOptions, 'waitFor' | 'timeoutMs'> = {}): Promise<void> {
    const port = this.apiserver.port;
    await this.apiserver.stop();
    this.apiserver = await startApiserver(this.binaries.kubeApiserver, this.files, this.etcd.url, {
      port,
      extraArgs: this.extraApiserverArgs,
      ...options,
    });
  }

  /** /readyz with its failing checks. */
  readiness(): Promise<Readiness> {
    return readiness(this.url, this.files);
  }

  /**
   * AKS-style rotation: `next` becomes the plugin's current key and the old current key the previous
   * one; returns once new writes land in etcd under the new key id.
   */
  async rotateKey(
    next: KeyWrapper,
    via: ApplyVia,
    restart: Pick<StartApiserverOptions, 'waitFor'> = {},
  ): Promise<void> {
    this.plugin.rotateTo(next);
    const keyId = this.plugin.currentKeyId;
    await this.apply(via, (v) => v.kind === 'kms-v2' && v.keyId === keyId, `kms-v2/*/${keyId}`, restart);
  }

  /** Rewrites the EncryptionConfiguration; returns once new writes use its first provider. */
  async setProviders(providers: EncryptionProvider[], via: ApplyVia): Promise<void> {
    fs.writeFileSync(this.files.encryptionConfigPath, encryptionConfigYaml(providers));
    const { expected, label } = this.writesOf(providers);
    await this.apply(via, expected, label);
  }

  /**
   * Sets the plugin's key slots and the EncryptionConfiguration together and restarts kube-apiserver
   * once, as AKS rolls its control plane for a KMS change; returns once new writes use the first
   * provider. Readiness is awaited for at most `readyTimeoutMs` and reported, not required: a
   * configuration that leaves a Secret undecryptable never becomes ready, like a stuck AKS cluster.
   */
  async reconfigure(
    slots: KmsKeySlots,
    providers: EncryptionProvider[],
    readyTimeoutMs = 30_000,
  ): Promise<{ ready: boolean }> {
    this.plugin.setSlots(slots);
    fs.writeFileSync(this.files.encryptionConfigPath, encryptionConfigYaml(providers));
    await this.restartApiserver({ waitFor: 'live' });
    const deadline = Date.now() + readyTimeoutMs;
    let ready = false;
    while (!(ready = (await this.readiness().catch(() => ({ ready: false }))).ready) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    const { expected, label } = this.writesOf(providers);
    await this.waitUntilWritesUse(expected, label, 30_000);
    return { ready };
  }

  /** What a new write looks like in etcd under `providers` (the first one writes). */
  private writesOf(providers: EncryptionProvider[]): {
    expected: (v: StoredValue) => boolean;
    label: string;
  } {
    const first = providers[0];
    if (!first) throw new Error('an EncryptionConfiguration needs at least one provider');
    if (!('kms' in first)) return { expected: (v) => v.kind === 'identity', label: 'identity' };
    const keyId = this.plugin.currentKeyId;
    return {
      expected: (v) => v.kind === 'kms-v2' && v.provider === first.kms.name && v.keyId === keyId,
      label: `kms-v2/${first.kms.name}/${keyId}`,
    };
  }

  private async apply(
    via: ApplyVia,
    expected: (v: StoredValue) => boolean,
    label: string,
    restart: Pick<StartApiserverOptions, 'waitFor'> = {},
  ): Promise<void> {
    if (via === 'restart') await this.restartApiserver(restart);
    // Reload: the config file and the plugin's Status are each polled about once a minute.
    await this.waitUntilWritesUse(expected, label, via === 'restart' ? 30_000 : 150_000);
  }

  /**
   * Writes a short-lived probe Secret until etcd shows it stored as `expected`, then deletes it:
   * the only proof that the apiserver really writes with the new key or provider.
   */
  async waitUntilWritesUse(
    expected: (v: StoredValue) => boolean,
    label: string,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'nothing written';
    for (;;) {
      const created = await this.request('POST', `/api/v1/namespaces/${PROBE_NAMESPACE}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: PROBE_NAME },
        data: { probe: Buffer.from(String(Date.now())).toString('base64') },
      });
      if (created.status === 201) {
        const stored = await this.storedSecret(PROBE_NAMESPACE, PROBE_NAME);
        await this.request('DELETE', `/api/v1/namespaces/${PROBE_NAMESPACE}/secrets/${PROBE_NAME}`);
        if (stored && expected(stored)) return;
        last = stored ? describeStoredValue(stored) : 'missing from etcd';
      } else {
        last = `create answered ${created.status}`;
      }
      if (Date.now() > deadline)
        throw new Error(`kube-apiserver still writes ${last}, expected ${label} (after ${timeoutMs} ms)`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  async stop(): Promise<void> {
    await this.apiserver.stop().catch(() => undefined);
    await this.etcd.stop().catch(() => undefined);
    await this.plugin.close().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
