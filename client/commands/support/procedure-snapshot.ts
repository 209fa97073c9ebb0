/**
 * Reads one procedure's state: Temporal's view from `describe()`, the steps from the `progress` query
 * (or, for a finished run, from its result, which needs no worker), and falls back to the search
 * attributes when no worker answers.
 */
import {
  type Client,
  QueryNotRegisteredError,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import {
  ClusterAttribute,
  type Phase,
  PhaseAttribute,
  type ProcedureProgress,
  ProcedureAttribute,
  progressQuery,
  StepAttribute,
} from '../../../workflows/messages';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/codec-helpers';
import { waitingFor } from '../../../workflows/engine/details';
import type { ApprovalView, PendingActivityView, ProcedureSnapshot, StepView } from '../../output/shapes';
import { PHASES } from '../../output/shapes';
import { exitCodeFor, procedureStatusOf } from './procedure-status';
import { workerVersionOf } from './worker-version';

/** A running procedure's worker answers in milliseconds; this only bounds the wait when none is polling. */
const QUERY_TIMEOUT_MS = 5_000;
const CLOSED_QUERY_TIMEOUT_MS = 2_000;

function stepViews(progress: ProcedureProgress): StepView[] {
  return progress.steps.map((s, index) => ({
    number: index + 1,
    id: s.id,
    title: s.title,
    status: s.status,
    attempts: s.attempts,
    gate: s.gate ? { id: s.gate.id, prompt: s.gate.prompt } : null,
    command: s.command ?? null,
    detail: s.detail ?? null,
    progress: s.progress
      ? {
          done: s.progress.done,
          total: s.progress.total ?? null,
          unit: s.progress.unit,
          rate: s.progress.rate ?? null,
          etaSeconds:
            s.progress.total !== undefined && s.progress.rate && s.progress.rate > 0
              ? Math.max(0, (s.progress.total - s.progress.done) / s.progress.rate)
              : null,
        }
      : null,
    blocked: s.blocked
      ? { message: s.blocked.message, code: s.blocked.code ?? null, fix: s.blocked.fix ?? null }
      : null,
    startedAt: s.startedAt ?? null,
    endedAt: s.endedAt ?? null,
  }));
}

function approvalViews(progress: ProcedureProgress): ApprovalView[] {
  return progress.approvals.map((a) => ({
    gate: a.gate,
    approver: a.approver,
    at: a.at,
    comment: a.comment ?? null,
    auto: a.auto,
  }));
}

function isProgress(value: unknown): value is ProcedureProgress {
  const v = value as Partial<ProcedureProgress> | undefined;
  return typeof v === 'object' && v !== null && Array.isArray(v.steps) && typeof v.phase === 'string';
}

async function queryProgress(
  client: Client,
  handle: WorkflowHandle,
  timeoutMs: number,
): Promise<ProcedureProgress> {
  return client.connection.withDeadline(Date.now() + timeoutMs, () => handle.query(progressQuery));
}

interface ProgressRead {
  progress?: ProcedureProgress;
  source: ProcedureSnapshot['source'];
  note: string | null;
}

async function readProgress(client: Client, handle: WorkflowHandle, running: boolean): Promise<ProgressRead> {
  try {
    return {
      progress: await queryProgress(client, handle, running ? QUERY_TIMEOUT_MS : CLOSED_QUERY_TIMEOUT_MS),
      source: 'query',
      note: null,
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw err;
    if (err instanceof QueryNotRegisteredError) {
      return {
        source: 'search-attributes',
        note: 'This workflow does not answer the progress query: it is not a kmsflow procedure.',
      };
    }
    const note = running
      ? `No worker answered the progress query within ${QUERY_TIMEOUT_MS / 1000} s; the steps are not shown. Is a kmsflow worker running (\`kmsflow worker\`)?`
      : 'The steps of this ended run are not available (no worker answered the progress query).';
    return { source: 'search-attributes', note };
  }
}

type Description = Awaited<ReturnType<WorkflowHandle['describe']>>;

const isoOf = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null =>
  t?.seconds === undefined || t.seconds === null
    ? null
    : new Date(Number(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6)).toISOString();

/**
 * The procedure's pending activity, from Temporal's description: for a cluster change, the ARM state its last
 * heartbeat carried; for a retrying one, the last failure and the next attempt's time. Only those fields of a
 * heartbeat are read (kmsflow's heartbeats carry names, counts and states, never Secret data).
 */
async function pendingActivityOf(
  client: Client,
  description: Description,
): Promise<PendingActivityView | null> {
  const pending = description.raw.pendingActivities?.[0];
  if (!pending) return null;
  let armState: string | null = null;
  try {
    const [beat] = await decodeArrayFromPayloads(
      client.options.loadedDataConverter,
      pending.heartbeatDetails?.payloads ?? [],
    );
    const b = beat as { provisioningState?: unknown; status?: unknown } | undefined;
    const state = b?.provisioningState ?? b?.status;
    if (typeof state === 'string') armState = state;
  } catch {
    // A heartbeat this CLI cannot decode (e.g. no codec key): the rest still shows.
  }
  return {
    type: pending.activityType?.name ?? 'unknown',
    attempt: pending.attempt ?? 1,
    armState,
    lastFailure: pending.lastFailure?.message ?? null,
    nextAttemptAt: isoOf(pending.nextAttemptScheduleTime),
  };
}

/** The procedure's state (its latest run, or run `runId`); throws WorkflowNotFoundError for an unknown id. */
export async function readSnapshot(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<ProcedureSnapshot> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const description = await handle.describe();
  const execution = description.status.name;
  let failure: string | null = null;
  let read: ProgressRead | undefined;

  if (execution === 'COMPLETED') {
    const result = (await handle.result()) as { progress?: unknown } | undefined;
    if (isProgress(result?.progress)) read = { progress: result.progress, source: 'result', note: null };
  } else if (execution !== 'RUNNING') {
    failure = await failureOf(handle);
  }
  read ??= await readProgress(client, handle, execution === 'RUNNING');
  const workerVersion = workerVersionOf(description.raw.workflowExecutionInfo?.versioningInfo);
  if (
    read.source === 'search-attributes' &&
    execution === 'RUNNING' &&
    workerVersion?.behavior === 'pinned'
  ) {
    // A pinned run is served by workers of its own version only: name it, since other versions' workers may be running.
    const label = `${workerVersion.deploymentName}/${workerVersion.buildId}`;
    read = {
      ...read,
      note: `No worker of version ${label} answered: this procedure is pinned to that version and waits until a worker of it runs again (start the kmsflow release it began on; newer workers do not take it over).`,
    };
  }

  const attrs = description.typedSearchAttributes;
  const progress = read.progress;
  const attrPhase = attrs.get(PhaseAttribute);
  const phase: Phase | null =
    progress?.phase ?? (PHASES.includes(attrPhase as Phase) ? (attrPhase as Phase) : null);
  const status = procedureStatusOf(execution, phase);
  return {
    workflowId: description.workflowId,
    runId: description.runId,
    workflowType: description.type,
    status,
    executionStatus: execution,
    exitCode: exitCodeFor(status, phase),
    procedure: progress?.procedure ?? attrs.get(ProcedureAttribute) ?? null,
    cluster: progress?.cluster ?? attrs.get(ClusterAttribute) ?? null,
    phase,
    paused: progress?.paused ?? phase === 'paused',
    currentStep: (progress ? progress.currentStep : attrs.get(StepAttribute)) || null,
    steps: progress ? stepViews(progress) : [],
    approvals: progress ? approvalViews(progress) : [],
    waitingFor: progress && status === 'running' ? waitingFor(progress, description.workflowId) : null,
    activity: execution === 'RUNNING' ? await pendingActivityOf(client, description) : null,
    startedAt: progress?.startedAt ?? description.startTime.toISOString(),
    endedAt: progress?.endedAt ?? description.closeTime?.toISOString() ?? null,
    failure,
    source: read.source,
    note: read.note,
    workerVersion,
  };
}

/** Why Temporal ended a run without completing it (failure, termination reason, timeout). */
async function failureOf(handle: WorkflowHandle): Promise<string | null> {
  try {
    await handle.result();
    return null;
  } catch (err) {
    if (err instanceof WorkflowFailedError) return err.cause?.message || err.message;
    return (err as Error).message;
  }
}
