/**
 * The Secret scan: every seeded Secret value, searched in full (and in its base64 and hex forms) in
 * everything kmsflow leaves behind, channel by channel:
 *   - history: every event of every workflow run (all runs of every chain), payloads decoded every way;
 *   - describe: every open run's description (memo, search attributes, current details, pending
 *     activities with their heartbeat details), polled every second while the procedures run;
 *   - query: every procedure's progress and every re-encryption's state, polled the same way;
 *   - worker-log: everything the workers wrote.
 * A value counts as found when any 64-byte chunk of one of its forms (or the whole form, if shorter)
 * occurs: so a leak is found whole, truncated, or cut out of a larger text, as long as it is 128 bytes or
 * the whole value.
 */
import { randomBytes } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { RunningSandbox } from '../../sandbox/sandbox';
import { progressQuery } from '../../workflows/messages';
import { reencryptStateQuery } from '../../workflows/reencrypt';
import { kubeClient } from '../helpers/kube';
import { PLANTED, SCAN_SEED_NAMESPACE } from '../helpers/leak-controls/planted';

/** kmsflow's own markers (canary, watermark) hold nonces the workflows chose; they are not user Secrets. */
const KMSFLOW_NAMESPACE = 'kmsflow-system';
const CHUNK = 64;
const ANCHOR = 8;

export interface SeededValue {
  /** `cluster namespace/name key`: names a value in a hit without showing it. */
  id: string;
  bytes: Buffer;
}

/** Every value of every Secret outside kmsflow's namespace, in full. */
export async function seededSecretValues(
  sandbox: RunningSandbox,
  clusters: readonly string[],
): Promise<SeededValue[]> {
  const values: SeededValue[] = [];
  for (const cluster of clusters) {
    const kube = kubeClient(sandbox.kubeconfig(cluster, 'admin'));
    let token: string | undefined;
    do {
      const page = await kube.listSecretForAllNamespaces({ limit: 500, _continue: token });
      for (const secret of page.items) {
        if (secret.metadata?.namespace === KMSFLOW_NAMESPACE) continue;
        // A value that repeats the Secret's own metadata is public (a service-account token's `namespace` is
        // its namespace's name, which kmsflow shows as the Secret's address), not a value to keep secret.
        const metadata = new Set([
          secret.metadata?.namespace,
          secret.metadata?.name,
          ...Object.values(secret.metadata?.labels ?? {}),
          ...Object.values(secret.metadata?.annotations ?? {}),
        ]);
        for (const [key, encoded] of Object.entries(secret.data ?? {})) {
          const bytes = Buffer.from(encoded, 'base64');
          if (metadata.has(bytes.toString('utf8'))) continue;
          values.push({
            id: `${cluster} ${secret.metadata?.namespace}/${secret.metadata?.name} ${key}`,
            bytes,
          });
        }
      }
      token = page.metadata?._continue || undefined;
    } while (token);
  }
  return values;
}

const UTF8_ALPHABET = 'ひらがなカタカナ漢字鍵暗号化秘密ключсекрет🔑🗝️émoji-äöü';

/** A value of each kind the estate lacks: random binary, multi-byte UTF-8 text, short (8–15 bytes) tokens. */
function scanSeedValue(kind: 'binary' | 'utf8' | 'short'): Buffer {
  if (kind === 'binary') return randomBytes(32 + (randomBytes(2).readUInt16BE() % 2000));
  if (kind === 'short')
    return Buffer.from(
      randomBytes(12)
        .toString('base64url')
        .slice(0, 8 + (randomBytes(1)[0]! % 8)),
    );
  const chars = [...UTF8_ALPHABET];
  const length = 12 + (randomBytes(1)[0]! % 200);
  return Buffer.from(Array.from({ length }, () => chars[randomBytes(1)[0]! % chars.length]).join(''), 'utf8');
}

/** Creates `perKind` Secrets of each extra kind in every cluster (before the procedures run, so they are re-encrypted too). */
export async function seedScanSecrets(
  sandbox: RunningSandbox,
  clusters: readonly string[],
  perKind = 10,
): Promise<void> {
  for (const cluster of clusters) {
    const kube = kubeClient(sandbox.kubeconfig(cluster, 'admin'));
    await kube.createNamespace({ body: { metadata: { name: SCAN_SEED_NAMESPACE } } }).catch(() => undefined);
    for (const kind of ['binary', 'utf8', 'short'] as const) {
      for (let i = 0; i < perKind; i++) {
        const body: V1Secret = {
          metadata: { name: `${kind}-${i}` },
          type: 'Opaque',
          data: { value: scanSeedValue(kind).toString('base64') },
        };
        await kube.createNamespacedSecret({ namespace: SCAN_SEED_NAMESPACE, body });
      }
    }
  }
}

/** The forms a value can leak in: its bytes, and its base64 and hex text. */
function forms(bytes: Buffer): Buffer[] {
  return [
    bytes,
    Buffer.from(bytes.toString('base64'), 'latin1'),
    Buffer.from(bytes.toString('hex'), 'latin1'),
  ];
}

/** Fixed-size pieces of a form: the whole form up to CHUNK bytes, else every aligned chunk and the last CHUNK bytes. */
function chunks(form: Buffer): Buffer[] {
  if (form.length <= CHUNK) return [form];
  const out: Buffer[] = [];
  for (let at = 0; at + CHUNK <= form.length; at += CHUNK) out.push(form.subarray(at, at + CHUNK));
  out.push(form.subarray(form.length - CHUNK));
  return out;
}

const anchorHash = (bytes: Uint8Array, at: number) => {
  let h = 0;
  for (let i = 0; i < ANCHOR; i++) h = (Math.imul(h, 257) + bytes[at + i]!) | 0;
  return h;
};

/**
 * A multi-pattern matcher (Rabin–Karp over an 8-byte anchor, then a full comparison): one pass over a text
 * finds every value with a chunk in it, however many values there are.
 */
export class LeakMatcher {
  private readonly byAnchor = new Map<number, { pattern: Buffer; id: string }[]>();
  /** 257^ANCHOR, to drop the byte leaving the window. */
  private readonly drop: number;
  readonly patterns: number;
  readonly values: number;

  constructor(values: readonly SeededValue[]) {
    this.values = values.length;
    let count = 0;
    for (const v of values) {
      if (v.bytes.length < ANCHOR)
        throw new Error(`${v.id}: values under ${ANCHOR} bytes cannot be told from chance`);
      for (const form of forms(v.bytes)) {
        for (const pattern of chunks(form)) {
          const h = anchorHash(pattern, 0);
          const list = this.byAnchor.get(h) ?? [];
          list.push({ pattern, id: v.id });
          this.byAnchor.set(h, list);
          count++;
        }
      }
    }
    this.patterns = count;
    let d = 1;
    for (let i = 0; i < ANCHOR; i++) d = Math.imul(d, 257);
    this.drop = d;
  }

  /** The ids of the values found in `text`. */
  scan(text: Uint8Array, found = new Set<string>()): Set<string> {
    if (text.length < ANCHOR) return found;
    let h = anchorHash(text, 0);
    for (let at = 0; ; at++) {
      const candidates = this.byAnchor.get(h);
      if (candidates) {
        for (const c of candidates) {
          if (
            !found.has(c.id) &&
            at + c.pattern.length <= text.length &&
            Buffer.compare(c.pattern, text.subarray(at, at + c.pattern.length)) === 0
          )
            found.add(c.id);
        }
      }
      if (at + ANCHOR >= text.length) return found;
      h = (Math.imul(h, 257) - Math.imul(this.drop, text[at]!) + text[at + ANCHOR]!) | 0;
    }
  }
}

const BASE64ISH = /^[A-Za-z0-9+/_-]{12,}={0,2}$/;
const HEXISH = /^(?:[0-9a-fA-F]{2}){8,}$/;

/**
 * Every byte string `value` holds, decoded every way it can be: strings as UTF-8 and Latin-1, base64 and
 * hex text decoded, JSON text parsed and walked, byte arrays as they are and as text, Node Buffers
 * serialised as `{ type: 'Buffer', data: [...] }`, arrays of byte values.
 */
export function decodings(value: unknown, out: Buffer[] = [], depth = 0): Buffer[] {
  if (value === null || value === undefined || depth > 24) return out;
  if (typeof value === 'string') {
    if (value.length === 0) return out;
    out.push(Buffer.from(value, 'utf8'));
    // Text that only Latin-1 can hold byte for byte (a value decoded as 'latin1' somewhere).
    if (/[\u0080-\u00ff]/.test(value) && Buffer.from(value, 'latin1').toString('latin1') === value)
      out.push(Buffer.from(value, 'latin1'));
    if (BASE64ISH.test(value))
      decodings(
        Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64'),
        out,
        depth + 1,
      );
    if (HEXISH.test(value)) decodings(Buffer.from(value, 'hex'), out, depth + 1);
    const first = value.trimStart()[0];
    if (first === '{' || first === '[' || first === '"') {
      try {
        decodings(JSON.parse(value), out, depth + 1);
      } catch {
        // not JSON after all
      }
    }
    return out;
  }
  if (value instanceof Uint8Array) {
    out.push(Buffer.from(value));
    decodings(Buffer.from(value).toString('utf8'), out, depth + 1);
    return out;
  }
  if (Array.isArray(value)) {
    if (value.length >= ANCHOR && value.every((n) => Number.isInteger(n) && n >= 0 && n <= 255))
      out.push(Buffer.from(value as number[]));
    else for (const item of value) decodings(item, out, depth + 1);
    return out;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (o.type === 'Buffer' && Array.isArray(o.data)) return decodings(o.data, out, depth + 1);
    for (const [k, v] of Object.entries(o)) {
      decodings(k, out, depth + 1);
      decodings(v, out, depth + 1);
    }
  }
  return out;
}

export type Channel = 'history' | 'describe' | 'query' | 'worker-log';

/** What one scan saw per channel: bytes searched and the values found. */
export class LeakScan {
  readonly channels = new Map<Channel, { bytes: number; samples: number; found: Set<string> }>();

  constructor(readonly matcher: LeakMatcher) {}

  add(channel: Channel, value: unknown): void {
    const entry = this.channels.get(channel) ?? { bytes: 0, samples: 0, found: new Set<string>() };
    this.channels.set(channel, entry);
    entry.samples++;
    for (const bytes of decodings(value)) {
      entry.bytes += bytes.length;
      this.matcher.scan(bytes, entry.found);
    }
  }

  found(channel: Channel): string[] {
    return [...(this.channels.get(channel)?.found ?? [])].sort();
  }

  /** Per channel: bytes searched and how many values were found, for the figures. */
  summary(): Record<string, { bytes: number; samples: number; found: number }> {
    return Object.fromEntries(
      [...this.channels].map(([channel, e]) => [
        channel,
        { bytes: e.bytes, samples: e.samples, found: e.found.size },
      ]),
    );
  }
}

/** Every run of every workflow (continued-as-new runs and children included), each event with its payloads. */
export async function scanHistories(
  client: Client,
  scan: LeakScan,
): Promise<{ runs: number; events: number }> {
  let runs = 0;
  let events = 0;
  for (const execution of await listRaw(client)) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    runs++;
    for (const event of history.events ?? []) {
      events++;
      scan.add('history', event);
    }
  }
  return { runs, events };
}

const PROCEDURE_TYPES = new Set([
  'enableKms',
  'disableKms',
  'rotateKey',
  'retireKey',
  'switchVaultMode',
  'migrateToKmsV2',
]);

/**
 * Polls every open run once a second until stopped: its description, and the query a user or the UI
 * would read (a procedure's progress, a re-encryption's state; `extraQueries` names one per other workflow type). Failures while a server or worker is
 * down are expected; those samples are skipped.
 */
export function pollLiveViews(
  client: Client,
  scan: LeakScan,
  options: { extraQueries?: Record<string, string> } = {},
): { stop(): Promise<{ polls: number }> } {
  let stopped = false;
  let polls = 0;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      const open = await listRaw(client, 'ExecutionStatus = "Running"').catch(() => []);
      await Promise.all(
        open.map(async (execution) => {
          const described = await client.workflowService
            .describeWorkflowExecution({ namespace: client.options.namespace, execution })
            .catch(() => undefined);
          if (described) scan.add('describe', described);
          const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
          const query = PROCEDURE_TYPES.has(execution.type)
            ? progressQuery.name
            : execution.type === 'reencryptSecrets'
              ? reencryptStateQuery.name
              : options.extraQueries?.[execution.type];
          if (query) {
            const answer = await handle.query(query).catch(() => undefined);
            if (answer !== undefined) scan.add('query', answer);
          }
        }),
      );
      polls++;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 - (Date.now() - started))));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { polls };
    },
  };
}

/**
 * Executions of the namespace (every run), read from the raw visibility API so that encrypted memos
 * (payload codec) need no key.
 */
export async function listRaw(
  client: Client,
  query?: string,
): Promise<{ workflowId: string; runId: string; type: string }[]> {
  const out: { workflowId: string; runId: string; type: string }[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      nextPageToken,
      query,
    });
    for (const e of page.executions ?? [])
      out.push({
        workflowId: e.execution!.workflowId!,
        runId: e.execution!.runId!,
        type: e.type?.name ?? '',
      });
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return out;
}

/** The id of each channel's planted control value (see test/helpers/leak-controls/) in `cluster`. */
export function plantedIds(cluster: string): Record<Channel, string> {
  const id = (name: string) => `${cluster} ${SCAN_SEED_NAMESPACE}/${name} value`;
  return {
    history: id(PLANTED.history),
    describe: id(PLANTED.describe),
    query: id(PLANTED.query),
    'worker-log': id(PLANTED.workerLog),
  };
}

/** What each channel must have found (its planted control, if any) next to what it found. */
export function findingsByChannel(
  scan: LeakScan,
  planted?: Record<Channel, string>,
): {
  found: Record<Channel, string[]>;
  expected: Record<Channel, string[]>;
  counts: { planted: number; other: number };
} {
  const channels: Channel[] = ['history', 'describe', 'query', 'worker-log'];
  const found = Object.fromEntries(channels.map((c) => [c, scan.found(c)])) as Record<Channel, string[]>;
  const expected = Object.fromEntries(channels.map((c) => [c, planted ? [planted[c]] : []])) as Record<
    Channel,
    string[]
  >;
  const inPlace = channels.flatMap((c) => found[c].filter((id) => expected[c].includes(id)));
  return {
    found,
    expected,
    counts: { planted: inPlace.length, other: channels.flatMap((c) => found[c]).length - inPlace.length },
  };
}
