/**
 * Contender (b), client side: start `reencryptSecrets` on a real Temporal dev server for a worker in
 * its own process, wait for the result, then read the history of every run (continue-as-new included).
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import {
  type ReencryptInput,
  type ReencryptResult,
  type ReencryptSettings,
  reencryptSecrets,
} from '../../workflows/reencrypt';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface HistoryStats {
  runs: number;
  /** Events per run, in run order. */
  eventsPerRun: number[];
  totalEvents: number;
  /** Milliseconds from the first run's start to the first page of each pass (from event times). */
  firstRewritePageMs?: number;
  firstVerifyPageMs?: number;
}

export interface EngineRun {
  wallMs: number;
  result: ReencryptResult;
  history: HistoryStats;
}

export interface EngineTarget {
  client: Client;
  taskQueue: string;
}

export async function connectTemporal(address: string, namespace: string): Promise<Client> {
  return new Client({ connection: await Connection.connect({ address }), namespace });
}

const eventMs = (e: HistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);

/** The pass named in a page activity's input (names and counters only, never Secret data). */
function pageInputPass(e: HistoryEvent): string | undefined {
  const a = e.activityTaskScheduledEventAttributes;
  if (a?.activityType?.name !== 'reencryptPage' && a?.activityType?.name !== 'reencryptPages')
    return undefined;
  const data = a.input?.payloads?.[0]?.data;
  if (!data) return undefined;
  return (JSON.parse(Buffer.from(data).toString('utf8')) as { pass?: string }).pass;
}

export async function historyOf(
  client: Client,
  workflowId: string,
  firstRunId: string,
): Promise<HistoryStats> {
  const stats: HistoryStats = { runs: 0, eventsPerRun: [], totalEvents: 0 };
  let startMs: number | undefined;
  for (let runId: string | undefined = firstRunId; runId;) {
    const history: temporal.api.history.v1.IHistory = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    stats.runs++;
    stats.eventsPerRun.push(events.length);
    stats.totalEvents += events.length;
    for (const e of events) {
      startMs ??= eventMs(e);
      const pass = pageInputPass(e);
      if (pass === 'rewrite' && stats.firstRewritePageMs === undefined)
        stats.firstRewritePageMs = eventMs(e) - startMs;
      if (pass === 'verify' && stats.firstVerifyPageMs === undefined)
        stats.firstVerifyPageMs = eventMs(e) - startMs;
    }
    runId =
      events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
      undefined;
  }
  return stats;
}

export async function runEngine(
  target: EngineTarget,
  input: Omit<ReencryptInput, 'operationKey' | 'settings'>,
  settings: Partial<ReencryptSettings>,
): Promise<EngineRun> {
  const workflowId = `bench-reencrypt-${randomUUID()}`;
  const t0 = performance.now();
  const handle = await target.client.workflow.start(reencryptSecrets, {
    taskQueue: target.taskQueue,
    workflowId,
    args: [{ ...input, operationKey: workflowId, settings }],
  });
  const result = await handle.result();
  const wallMs = performance.now() - t0;
  return { wallMs, result, history: await historyOf(target.client, workflowId, handle.firstExecutionRunId) };
}
