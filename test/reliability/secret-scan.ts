/**
 * The Secret scan: samples of every seeded Secret value (base64 as stored in `data`, and decoded), and the
 * full text of what kmsflow leaves behind in Temporal (every run's history with payloads decoded as text,
 * queries, descriptions with heartbeat details) and in worker logs, searched for them.
 */
import type { Client } from '@temporalio/client';
import type { RunningSandbox } from '../../sandbox/sandbox';
import { progressQuery } from '../../workflows/messages';
import { kubeClient } from '../helpers/kube';

/** kmsflow's own markers (canary, watermark) hold nonces the workflows chose; they are not user Secrets. */
const KMSFLOW_NAMESPACE = 'kmsflow-system';
const SAMPLE = 24;

const printable = (text: string) => /^[\x20-\x7e]+$/.test(text);

/** Up to two samples per value: a slice of the base64 text and a printable slice of the decoded bytes. */
export async function seededSecretSamples(sandbox: RunningSandbox, clusters: readonly string[]): Promise<Set<string>> {
  const samples = new Set<string>();
  for (const cluster of clusters) {
    const kube = kubeClient(sandbox.kubeconfig(cluster, 'admin'));
    let token: string | undefined;
    do {
      const page = await kube.listSecretForAllNamespaces({ limit: 500, _continue: token });
      for (const secret of page.items) {
        if (secret.metadata?.namespace === KMSFLOW_NAMESPACE) continue;
        for (const encoded of Object.values(secret.data ?? {})) {
          if (encoded.length < SAMPLE * 2) continue;
          const middle = Math.floor(encoded.length / 2);
          samples.add(encoded.slice(middle - SAMPLE / 2, middle + SAMPLE / 2));
          const plain = Buffer.from(encoded, 'base64').toString('latin1');
          const slice = plain.slice(Math.floor(plain.length / 2) - SAMPLE / 2, Math.floor(plain.length / 2) + SAMPLE / 2);
          if (slice.length === SAMPLE && printable(slice)) samples.add(slice);
        }
      }
      token = page.metadata?._continue || undefined;
    } while (token);
  }
  return samples;
}

/** Every string in `value`, with byte arrays (payload data) decoded as UTF-8 text. */
export function textOf(value: unknown, out: string[] = []): string[] {
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) for (const item of value) textOf(item, out);
  else if (typeof value === 'object') for (const item of Object.values(value as Record<string, unknown>)) textOf(item, out);
  return out;
}

export interface TemporalCorpus {
  runs: number;
  events: number;
  text: string;
}

/**
 * The text of every workflow run in the namespace (continued-as-new runs and children included), the
 * progress query of every procedure and the description of every run (memo, search attributes, current
 * details, pending activities with their heartbeat details).
 */
export async function temporalCorpus(client: Client, options: { query?: (workflowType: string) => boolean } = {}): Promise<TemporalCorpus> {
  const parts: string[] = [];
  let runs = 0;
  let events = 0;
  for (const execution of await listRaw(client)) {
    const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
    const history = await handle.fetchHistory();
    runs++;
    events += history.events?.length ?? 0;
    textOf(history, parts);
    textOf(await client.workflowService.describeWorkflowExecution({ namespace: client.options.namespace, execution }), parts);
    if (options.query?.(execution.type)) {
      textOf(await handle.query(progressQuery).catch(() => undefined), parts);
    }
  }
  return { runs, events, text: parts.join('\n') };
}

/**
 * Every execution of the namespace, read from the raw visibility API so that encrypted memos (payload
 * codec) need no key.
 */
export async function listRaw(client: Client): Promise<{ workflowId: string; runId: string; type: string }[]> {
  const out: { workflowId: string; runId: string; type: string }[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({ namespace: client.options.namespace, nextPageToken });
    for (const e of page.executions ?? []) out.push({ workflowId: e.execution!.workflowId!, runId: e.execution!.runId!, type: e.type?.name ?? '' });
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return out;
}

/** Which samples occur in `text`, plain or base64-encoded as a whole. */
export function hits(samples: Iterable<string>, text: string): string[] {
  return [...samples].filter((s) => text.includes(s) || text.includes(Buffer.from(s, 'latin1').toString('base64')));
}
