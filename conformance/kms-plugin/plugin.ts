/**
 * A KMS v2 plugin for kube-apiserver: a gRPC server on a unix socket serving
 * /v2.KeyManagementService/{Status,Encrypt,Decrypt}. It behaves like AKS's two key slots: Status and
 * Encrypt use the current key version, Decrypt accepts the current and the previous one, anything
 * else is refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { kmsKeyIdFor, type KeyWrapper } from './key-wrappers';

export const KMS_PROTO_PATH = path.join(__dirname, 'kms-v2.proto');

export const ANNOTATION_VERSION = 'version.azure.akv.io';
export const ANNOTATION_ALGORITHM = 'algorithm.azure.akv.io';

export interface KmsKeySlots {
  /** Absent only while no EncryptionConfiguration names this plugin (a cluster without KMS yet). */
  current?: KeyWrapper;
  previous?: KeyWrapper;
}

export interface KmsCallEvent {
  method: 'Status' | 'Encrypt' | 'Decrypt';
  /** The key id answered (Status, Encrypt) or asked for (Decrypt). */
  keyId: string;
  uid?: string;
  ok: boolean;
  error?: string;
  at: number;
}

export interface KmsPluginOptions {
  /** Absolute path of the unix socket (kept short: the limit is 107 bytes). */
  socketPath: string;
  slots: KmsKeySlots;
  /** Called for every RPC; never receives plaintext or key material. */
  onCall?: (event: KmsCallEvent) => void;
}

/** The proto-loader package definition, loaded once; also used by clients in tests. */
export function loadKmsPackage(): grpc.GrpcObject {
  const definition = protoLoader.loadSync(KMS_PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition);
}

export function kmsServiceDefinition(): grpc.ServiceDefinition {
  const v2 = loadKmsPackage().v2 as grpc.GrpcObject;
  return (v2.KeyManagementService as grpc.ServiceClientConstructor).service;
}

interface EncryptRequest {
  plaintext: Buffer;
  uid: string;
}
interface DecryptRequest {
  ciphertext: Buffer;
  uid: string;
  key_id: string;
  annotations: Record<string, Buffer>;
}

interface Served<Res> {
  response: Res;
  keyId: string;
}

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export class KmsV2Plugin {
  private slots: KmsKeySlots;
  private readonly server = new grpc.Server();
  /** Every RPC so far, oldest first (tests assert on these). */
  readonly calls: KmsCallEvent[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly options: KmsPluginOptions) {
    this.slots = options.slots;
  }

  static async start(options: KmsPluginOptions): Promise<KmsV2Plugin> {
    const plugin = new KmsV2Plugin(options);
    await plugin.listen();
    return plugin;
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** `unix://` endpoint for an EncryptionConfiguration. */
  get endpoint(): string {
    return `unix://${this.options.socketPath}`;
  }

  /** The key id Status reports, i.e. the one new writes are encrypted under. */
  get currentKeyId(): string {
    return kmsKeyIdFor(this.currentKey().versionedKeyId);
  }

  get previousKeyId(): string | undefined {
    return this.slots.previous && kmsKeyIdFor(this.slots.previous.versionedKeyId);
  }

  /** A rotation as AKS does it: the new version becomes current, the old current becomes previous. */
  rotateTo(next: KeyWrapper): void {
    this.setSlots({ current: next, ...(this.slots.current ? { previous: this.slots.current } : {}) });
  }

  get keySlots(): KmsKeySlots {
    return { ...this.slots };
  }

  private currentKey(): KeyWrapper {
    if (!this.slots.current)
      throw new RpcError(grpc.status.FAILED_PRECONDITION, 'this plugin has no current key');
    return this.slots.current;
  }

  setSlots(slots: KmsKeySlots): void {
    this.slots = slots;
  }

  /** Resolves once an RPC matching `predicate` has been served (including ones already recorded after `since`). */
  waitForCall(predicate: (e: KmsCallEvent) => boolean, timeoutMs: number, since = 0): Promise<KmsCallEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.calls.find((e) => e.at >= since && predicate(e));
        if (!hit) return false;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(hit);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`KMS plugin: no matching call within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.waiters.add(wake);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    fs.rmSync(this.options.socketPath, { force: true });
  }

  private async listen(): Promise<void> {
    fs.rmSync(this.options.socketPath, { force: true });
    this.server.addService(kmsServiceDefinition(), {
      Status: this.handler('Status', async () => this.status()),
      Encrypt: this.handler('Encrypt', async (req: EncryptRequest) => this.encrypt(req)),
      Decrypt: this.handler('Decrypt', async (req: DecryptRequest) => this.decrypt(req)),
    });
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(
        `unix://${this.options.socketPath}`,
        grpc.ServerCredentials.createInsecure(),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }

  /** Wraps one RPC: records it (key id, never payloads) and maps failures to gRPC statuses. */
  private handler<Req, Res>(method: KmsCallEvent['method'], fn: (req: Req) => Promise<Served<Res>>) {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      const req = call.request;
      const uid = (req as { uid?: string }).uid || undefined;
      fn(req).then(
        ({ response, keyId }) => {
          this.record({ method, keyId, uid, ok: true, at: Date.now() });
          callback(null, response);
        },
        (e: unknown) => {
          const err =
            e instanceof RpcError
              ? e
              : new RpcError(grpc.status.INTERNAL, e instanceof Error ? e.message : String(e));
          const current = this.slots.current;
          const keyId =
            method === 'Decrypt'
              ? (req as DecryptRequest).key_id
              : current
                ? kmsKeyIdFor(current.versionedKeyId)
                : '';
          this.record({ method, keyId, uid, ok: false, error: err.message, at: Date.now() });
          callback({ code: err.code, details: err.message });
        },
      );
    };
  }

  private record(event: KmsCallEvent): void {
    this.calls.push(event);
    this.options.onCall?.(event);
    for (const wake of [...this.waiters]) wake();
  }

  /** Like the Azure plugin, Status proves the current key still works with a wrap/unwrap round trip. */
  private async status(): Promise<Served<object>> {
    const current = this.currentKey();
    const keyId = kmsKeyIdFor(current.versionedKeyId);
    const probe = Buffer.from('kmsflow-healthz-probe-0123456789');
    let healthz = 'ok';
    try {
      const back = await current.unwrap(await current.wrap(probe));
      if (!back.equals(probe)) healthz = 'round trip returned different bytes';
    } catch (e) {
      healthz = `key ${current.versionedKeyId} unusable: ${e instanceof Error ? e.message : String(e)}`;
    }
    return { response: { version: 'v2', healthz, key_id: keyId }, keyId };
  }

  private async encrypt(req: EncryptRequest): Promise<Served<object>> {
    const current = this.currentKey();
    const keyId = kmsKeyIdFor(current.versionedKeyId);
    const ciphertext = await current.wrap(req.plaintext);
    const annotations = {
      [ANNOTATION_VERSION]: Buffer.from('1'),
      [ANNOTATION_ALGORITHM]: Buffer.from(current.algorithm),
    };
    return { response: { ciphertext, key_id: keyId, annotations }, keyId };
  }

  private slotFor(keyId: string): KeyWrapper {
    const slot = [this.slots.current, this.slots.previous].find(
      (s) => s && kmsKeyIdFor(s.versionedKeyId) === keyId,
    );
    if (!slot)
      throw new RpcError(
        grpc.status.NOT_FOUND,
        `key_id ${keyId} is neither the current nor the previous key of this plugin`,
      );
    return slot;
  }

  /** Unwraps an `encryptedDEKSource` read from etcd, so tests can decrypt stored values themselves. */
  unwrapDekSource(keyId: string, encryptedDEKSource: Buffer): Promise<Buffer> {
    return this.slotFor(keyId).unwrap(encryptedDEKSource);
  }

  private async decrypt(req: DecryptRequest): Promise<Served<object>> {
    const slot = this.slotFor(req.key_id);
    const version = req.annotations[ANNOTATION_VERSION]?.toString();
    const algorithm = req.annotations[ANNOTATION_ALGORITHM]?.toString();
    if (version !== '1' || algorithm !== slot.algorithm) {
      throw new RpcError(
        grpc.status.INVALID_ARGUMENT,
        `annotations do not match: version=${version ?? '<none>'} algorithm=${algorithm ?? '<none>'}, expected 1/${slot.algorithm}`,
      );
    }
    return { response: { plaintext: await slot.unwrap(req.ciphertext) }, keyId: req.key_id };
  }
}
