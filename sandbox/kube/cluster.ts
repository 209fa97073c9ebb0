/**
 * One emulated Kubernetes API server (Secrets and Namespaces only) whose storage behaves like etcd
 * behind kube-apiserver with encryption at rest. Mounted by the sandbox at https://<sandbox>/k8s/<name>.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterEncryption, StorageProvider } from '../contracts';
import { generateEstate, type EstateSpec, type SeedSummary } from './estate';
import { addNamespace } from './namespaces-api';
import { SYSTEM_NAMESPACES } from './namespaces';
import { header, type ApiRequest, type Reply } from './reply';
import { route } from './router';
import { contentBytes, type StoredSecret } from './secret-record';
import { KubeState } from './state';
import { internalError, KubeError, unauthorized } from './status';
import type { EtcdViewEntry, KubeClusterOptions, KubeClusterSnapshot, KubeFaults } from './types';

export type { EtcdViewEntry, KubeClusterOptions, KubeClusterSnapshot, KubeFaults } from './types';
export type { EstateSpec, SeedSummary, SecretKind } from './estate';

const DEFAULT_CONTINUE_TTL_MS = 5 * 60_000;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class EmulatedKubeCluster {
  readonly name: string;
  private kubernetesVersion: string;
  private readonly state: KubeState;
  private readonly opts: KubeClusterOptions;

  constructor(opts: KubeClusterOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.kubernetesVersion = opts.kubernetesVersion;
    // The plugin of this cluster: its identity, mode and vault decide whether it can use a key.
    const keys = { keyProblem: (keyId: string) => opts.keys.keyProblem(keyId, opts.name) };
    this.state = new KubeState(
      opts.encryption,
      keys,
      opts.now ?? Date.now,
      opts.continueTokenTtlMs ?? DEFAULT_CONTINUE_TTL_MS,
      opts.seedCacheTtlMs,
    );
    for (const ns of SYSTEM_NAMESPACES) addNamespace(this.state, ns);
    this.state.restartApiServer();
  }

  /** Why the KMS plugin's health check fails, as the API server last checked it. */
  kmsPluginCheck(): string | undefined {
    return this.state.kmsPluginCheck();
  }

  /** Restarts the API server process: it forgets the seeds it decrypted and must ask the plugin again. */
  restartApiServer(): void {
    this.state.restartApiServer();
  }

  get kubeFaults(): KubeFaults {
    return this.state.faults;
  }

  get kubeFaultHits(): Readonly<KubeState['faultHits']> {
    return this.state.faultHits;
  }

  /** Serves one request; `path` is the request path after the cluster's URL prefix, query string included. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    const q = path.indexOf('?');
    const pathname = q < 0 ? path : path.slice(0, q);
    const loggedPath = (req.url ?? path).split('?')[0] ?? pathname;
    if (
      this.opts.faults &&
      (await this.opts.faults.intercept(
        { service: 'kube', method, path: pathname, cluster: this.name },
        req,
        res,
      ))
    ) {
      if (MUTATING.has(method))
        this.record(method, loggedPath, res.statusCode, 'answered by an injected fault');
      return;
    }
    const body = MUTATING.has(method) ? await readBody(req) : EMPTY;
    const request: ApiRequest = {
      method,
      pathname,
      query: new URLSearchParams(q < 0 ? '' : path.slice(q + 1)),
      headers: req.headers,
      body,
    };
    let reply: Reply;
    let retryAfterSeconds: number | undefined;
    try {
      if (!this.authorized(request)) throw unauthorized();
      reply = route(this.state, this.kubernetesVersion, request);
    } catch (e) {
      // A bug in the emulator still answers like an apiserver would (500 InternalError), never hangs the client.
      const err = e instanceof KubeError ? e : internalError(e instanceof Error ? e.message : String(e));
      retryAfterSeconds = err.status.details?.retryAfterSeconds;
      reply = {
        status: err.code,
        body: JSON.stringify(err.status),
        contentType: 'application/json',
        detail: err.status.reason ?? 'Failure',
      };
    }
    if (MUTATING.has(method)) this.record(method, loggedPath, reply.status, reply.detail);
    res.writeHead(reply.status, {
      'Content-Type': reply.contentType ?? 'application/json',
      'Content-Length': Buffer.byteLength(reply.body),
      'Cache-Control': 'no-cache, private',
      ...(retryAfterSeconds !== undefined ? { 'Retry-After': String(retryAfterSeconds) } : {}),
    });
    res.end(reply.body);
  }

  /** AKS applies an encryption change by rolling the API server, so a change restarts it. */
  setEncryption(encryption: ClusterEncryption): void {
    const changed = JSON.stringify(encryption) !== JSON.stringify(this.state.encryption);
    this.state.encryption = encryption;
    if (changed) this.state.restartApiServer();
  }

  getEncryption(): ClusterEncryption {
    return this.state.encryption;
  }

  setKubernetesVersion(version: string): void {
    this.kubernetesVersion = version;
  }

  getKubernetesVersion(): string {
    return this.kubernetesVersion;
  }

  /** Adds a realistic estate of Secrets, each written under the current write provider. */
  seed(spec: EstateSpec): SeedSummary {
    const estate = generateEstate(spec, this.state.now());
    for (const ns of estate.namespaces) if (!this.state.namespaces.has(ns)) addNamespace(this.state, ns);
    const provider = this.state.encryption.write;
    const records: StoredSecret[] = [];
    for (const g of estate.secrets) {
      if (this.state.secrets.get(g.namespace, g.name)) continue;
      records.push({
        ...g.content,
        namespace: g.namespace,
        name: g.name,
        uid: g.uid,
        creationTimestamp: g.creationTimestamp,
        managedFields: g.managedFields,
        resourceVersion: this.state.nextRevision(),
        provider,
      });
    }
    this.state.secrets.putMany(records);
    return estate.summary;
  }

  /** Per Secret, what etcd holds: provider and key, resourceVersion, size, and whether it can be read now. */
  etcdView(): EtcdViewEntry[] {
    const check = this.state.readability();
    const out: EtcdViewEntry[] = [];
    for (const s of this.state.secrets.values()) {
      out.push({
        namespace: s.namespace,
        name: s.name,
        resourceVersion: String(s.resourceVersion),
        provider: s.provider,
        readable: check.failure(s.provider) === undefined,
        bytes: contentBytes(s),
      });
    }
    return out;
  }

  toSnapshot(): KubeClusterSnapshot {
    const f = this.state.faults;
    const faults: KubeClusterSnapshot['faults'] = { terminatingNamespaces: [...f.terminatingNamespaces] };
    if (f.expireContinueAfterPages !== undefined)
      faults.expireContinueAfterPages = f.expireContinueAfterPages;
    if (f.conflictShare !== undefined) faults.conflictShare = f.conflictShare;
    if (f.seed !== undefined) faults.seed = f.seed;
    return {
      version: 1,
      name: this.name,
      kubernetesVersion: this.kubernetesVersion,
      encryption: this.state.encryption,
      revision: this.state.revision,
      namespaces: [...this.state.namespaces.values()].map((ns) => ({
        name: ns.name,
        uid: ns.uid,
        resourceVersion: ns.resourceVersion,
        creationTimestamp: ns.creationTimestamp,
        ...(ns.labels ? { labels: ns.labels } : {}),
      })),
      secrets: [...this.state.secrets.values()].map((s) => {
        const data: Record<string, string> = {};
        for (const [k, v] of s.data) data[k] = v.toString('base64');
        return {
          namespace: s.namespace,
          name: s.name,
          uid: s.uid,
          resourceVersion: s.resourceVersion,
          creationTimestamp: s.creationTimestamp,
          type: s.type,
          ...(s.labels ? { labels: s.labels } : {}),
          ...(s.annotations ? { annotations: s.annotations } : {}),
          ...(s.immutable !== undefined ? { immutable: s.immutable } : {}),
          ...(s.managedFields ? { managedFields: s.managedFields } : {}),
          data,
          provider: s.provider,
        };
      }),
      faults,
    };
  }

  static fromSnapshot(
    s: KubeClusterSnapshot,
    opts: Omit<KubeClusterOptions, 'encryption' | 'kubernetesVersion' | 'name'>,
  ): EmulatedKubeCluster {
    const cluster = new EmulatedKubeCluster({
      ...opts,
      name: s.name,
      kubernetesVersion: s.kubernetesVersion,
      encryption: s.encryption,
    });
    const state = cluster.state;
    state.namespaces.clear();
    for (const ns of s.namespaces) state.namespaces.set(ns.name, { ...ns });
    state.secrets.putMany(
      s.secrets.map((x) => {
        const data = new Map<string, Buffer>();
        for (const k of Object.keys(x.data).sort()) data.set(k, Buffer.from(x.data[k] as string, 'base64'));
        const rec: StoredSecret = {
          namespace: x.namespace,
          name: x.name,
          uid: x.uid,
          resourceVersion: x.resourceVersion,
          creationTimestamp: x.creationTimestamp,
          type: x.type,
          data,
          provider: x.provider as StorageProvider,
        };
        if (x.labels) rec.labels = x.labels;
        if (x.annotations) rec.annotations = x.annotations;
        if (x.immutable !== undefined) rec.immutable = x.immutable;
        if (x.managedFields) rec.managedFields = x.managedFields as StoredSecret['managedFields'];
        return rec;
      }),
    );
    state.revision = s.revision;
    state.restartApiServer();
    const f = state.faults;
    f.terminatingNamespaces = new Set(s.faults.terminatingNamespaces);
    if (s.faults.expireContinueAfterPages !== undefined)
      f.expireContinueAfterPages = s.faults.expireContinueAfterPages;
    if (s.faults.conflictShare !== undefined) f.conflictShare = s.faults.conflictShare;
    if (s.faults.seed !== undefined) f.seed = s.faults.seed;
    return cluster;
  }

  private authorized(req: ApiRequest): boolean {
    const auth = header(req, 'authorization');
    if (!auth.startsWith('Bearer ')) return false;
    const token = auth.slice(7).trim();
    return token === this.opts.tokens.user || token === this.opts.tokens.admin;
  }

  private record(method: string, path: string, status: number, detail?: string): void {
    const entry: { service: 'kube'; method: string; path: string; status: number; detail?: string } = {
      service: 'kube',
      method,
      path,
      status,
    };
    if (detail !== undefined) entry.detail = detail;
    this.opts.recorder.record(entry);
  }
}

const EMPTY = Buffer.alloc(0);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
