/** A small etcd v3 KV client over gRPC (plain loopback, no auth): range by prefix, put, compact. */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface EtcdEntry {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
}

export interface RangeOptions {
  /** Read at this store revision instead of the latest (fails once compacted). */
  revision?: number;
  limit?: number;
  keysOnly?: boolean;
}

export interface RangeResult {
  entries: EtcdEntry[];
  more: boolean;
  count: number;
  /** The store revision the read was served at. */
  revision: number;
}

interface RawKeyValue {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
}
interface RawRangeResponse {
  header: { revision: string };
  kvs: RawKeyValue[];
  more: boolean;
  count: string;
}
type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** The exclusive end of a prefix range: the prefix with its last byte incremented. */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Room for a page of 100 Secrets at the API server's 1.5 MiB request limit each. */
const MAX_RESPONSE_BYTES = 160 * 2 ** 20;

let kvConstructor: grpc.ServiceClientConstructor | undefined;
function kvClientConstructor(): grpc.ServiceClientConstructor {
  if (!kvConstructor) {
    const def = protoLoader.loadSync(path.join(__dirname, 'etcd-kv.proto'), {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
    });
    kvConstructor = (grpc.loadPackageDefinition(def).etcdserverpb as grpc.GrpcObject)
      .KV as grpc.ServiceClientConstructor;
  }
  return kvConstructor;
}

export class EtcdClient {
  private readonly kv: grpc.Client & Record<string, Unary>;

  /** `endpoint` is `host:port`, e.g. `127.0.0.1:2379`. */
  constructor(readonly endpoint: string) {
    const Ctor = kvClientConstructor();
    // A page of realistic Secrets (Helm releases approach 1 MiB each) is far beyond gRPC's default 4 MiB.
    this.kv = new Ctor(endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
    }) as unknown as grpc.Client & Record<string, Unary>;
  }

  private call<T>(method: string, req: object): Promise<T> {
    return new Promise((resolve, reject) =>
      this.kv[method]!(req, (err, res) =>
        err ? reject(new Error(`etcd ${method}: ${err.details || err.message}`)) : resolve(res as T),
      ),
    );
  }

  async rangePrefix(prefix: string, options: RangeOptions = {}): Promise<RangeResult> {
    return this.range(Buffer.from(prefix), prefixRangeEnd(prefix), options);
  }

  async get(key: string, options: RangeOptions = {}): Promise<EtcdEntry | undefined> {
    // No range end: this one key. (An empty range end, as encoded here, read every key from `key` on.)
    return (await this.range(Buffer.from(key), undefined, { ...options, limit: 1 })).entries.find(
      (e) => e.key === key,
    );
  }

  /** Every key under `prefix`, read page by page at one revision so the result is a consistent snapshot. */
  async getAllWithPrefix(
    prefix: string,
    pageSize = 100,
  ): Promise<{ entries: EtcdEntry[]; revision: number }> {
    const entries: EtcdEntry[] = [];
    const end = prefixRangeEnd(prefix);
    let start = Buffer.from(prefix);
    let revision: number | undefined;
    for (;;) {
      const page = await this.range(start, end, { limit: pageSize, revision });
      revision ??= page.revision;
      entries.push(...page.entries);
      if (!page.more || page.entries.length === 0) return { entries, revision };
      start = Buffer.concat([Buffer.from(page.entries[page.entries.length - 1]!.key), Buffer.from([0])]);
    }
  }

  async put(key: string, value: Buffer): Promise<number> {
    const res = await this.call<{ header: { revision: string } }>('Put', { key: Buffer.from(key), value });
    return Number(res.header.revision);
  }

  /** Compacts the key-value history up to `revision` (older revisions become unreadable). */
  async compact(revision: number): Promise<void> {
    await this.call('Compact', { revision: String(revision), physical: true });
  }

  async currentRevision(): Promise<number> {
    return (await this.range(Buffer.from('\0'), Buffer.from([0]), { keysOnly: true, limit: 1 })).revision;
  }

  close(): void {
    this.kv.close();
  }

  private async range(
    key: Buffer,
    rangeEnd: Buffer | undefined,
    options: RangeOptions,
  ): Promise<RangeResult> {
    const res = await this.call<RawRangeResponse>('Range', {
      key,
      ...(rangeEnd ? { range_end: rangeEnd } : {}),
      limit: String(options.limit ?? 0),
      revision: String(options.revision ?? 0),
      keys_only: options.keysOnly ?? false,
    });
    return {
      entries: res.kvs.map((kv) => ({
        key: kv.key.toString('utf8'),
        value: kv.value,
        createRevision: Number(kv.create_revision),
        modRevision: Number(kv.mod_revision),
        version: Number(kv.version),
      })),
      more: res.more,
      count: Number(res.count),
      revision: Number(res.header.revision),
    };
  }
}
