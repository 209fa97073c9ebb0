/**
 * The re-encryption evidence of a procedure: from its result once it completed, otherwise from its
 * `reencryptSecrets` children (finished ones give their result, a running one its state so far).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import {
  ClusterAttribute,
  type Phase,
  PhaseAttribute,
  ProcedureAttribute,
  quoteValue,
} from '../../../workflows/messages';
import type { ProcedureOutcome } from '../../../workflows/procedures/common';
import {
  type PassTotals,
  type ReencryptResult,
  type ReencryptState,
  reencryptStateQuery,
} from '../../../workflows/reencrypt';
import { ExitCode } from '../../exit-codes';
import type { PassView, ReencryptionView, ReportResult } from '../../output/shapes';
import { procedureStatusOf } from './procedure-status';

const QUERY_TIMEOUT_MS = 5_000;

function passView(p: PassTotals): PassView {
  return {
    counts: { ...p.counts },
    objects: p.objects,
    pages: p.pages,
    expiredListings: p.expiredListings,
    throttled: p.throttled,
    digest: p.digest,
    keptDespiteKeyChange: p.keptDespiteKeyChange ?? 0,
  };
}

function expectedOf(expect: ReencryptResult['expect']): string {
  return expect.kms === 'enabled' ? expect.keyId : 'identity';
}

export function reencryptionView(
  result: ReencryptResult,
  child?: { workflowId: string; step: string | null },
): ReencryptionView {
  return {
    workflowId: child?.workflowId ?? null,
    step: child?.step ?? result.step ?? null,
    state: 'completed',
    expected: expectedOf(result.expect),
    proven: result.proven,
    notProven: result.notProven,
    notes: result.notes ?? [],
    watermark: result.watermark,
    rewrite: passView(result.rewrite),
    verify: passView(result.verify),
    failures: result.failures.map((f) => ({
      namespace: f.namespace,
      name: f.name,
      reason: f.reason,
      code: f.code ?? null,
    })),
    startedAt: result.startedAt,
    endedAt: result.endedAt,
    durationSeconds: result.durationMs / 1000,
    secretsPerSecond: result.secretsPerSecond,
  };
}

function runningView(
  state: ReencryptState,
  expected: string,
  child: { workflowId: string; step: string | null },
): ReencryptionView {
  return {
    workflowId: child.workflowId,
    step: child.step,
    state: 'running',
    expected,
    proven: false,
    notProven: [`Still running (${state.stage} pass): there is no proof until its verification pass ends.`],
    notes: [],
    watermark: state.watermark ?? null,
    rewrite: passView(state.rewrite),
    verify: passView(state.verify),
    failures: state.failures.map((f) => ({
      namespace: f.namespace,
      name: f.name,
      reason: f.reason,
      code: f.code ?? null,
    })),
    startedAt: state.startedAt,
    endedAt: null,
    durationSeconds: null,
    secretsPerSecond: null,
  };
}

/** Child ids are `<procedure id>/<run id>/<step>/<attempt>` (`<procedure id>/<step>/<attempt>` in older runs). */
function stepOf(parentId: string, childId: string): string | null {
  if (!childId.startsWith(`${parentId}/`)) return null;
  const parts = childId.slice(parentId.length + 1).split('/');
  return (parts.length >= 3 ? parts[1] : parts[0]) ?? null;
}

export async function childEvidence(
  client: Client,
  parent: { workflowId: string; runId: string },
): Promise<{ views: ReencryptionView[]; failed: number }> {
  const query = `ParentWorkflowId = ${quoteValue(parent.workflowId)} AND ParentRunId = ${quoteValue(parent.runId)} AND WorkflowType = 'reencryptSecrets'`;
  const executions: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) executions.push(info);
  executions.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const views: ReencryptionView[] = [];
  let failed = 0;
  // One chain per child id: continue-as-new leaves earlier runs behind; the last run holds the outcome.
  const seen = new Set<string>();
  for (const info of [...executions].reverse()) {
    if (seen.has(info.workflowId)) continue;
    const status = info.status.name;
    if (status === 'CONTINUED_AS_NEW') continue;
    seen.add(info.workflowId);
    const child = { workflowId: info.workflowId, step: stepOf(parent.workflowId, info.workflowId) };
    const handle = client.workflow.getHandle(info.workflowId, info.runId);
    if (status === 'COMPLETED') {
      views.push(reencryptionView((await handle.result()) as ReencryptResult, child));
    } else if (status === 'RUNNING') {
      const state = await client.connection
        .withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(reencryptStateQuery))
        .catch(() => undefined);
      if (state) views.push(runningView(state, '?', child));
    } else {
      failed += 1;
    }
  }
  return { views: views.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '')), failed };
}

function verdictOf(views: ReencryptionView[]): ReportResult['verdict'] {
  const completed = views.filter((v) => v.state === 'completed');
  if (completed.some((v) => !v.proven)) return 'not-proven';
  if (completed.length > 0 && completed.length === views.length) return 'proven';
  return 'unknown';
}

const VERDICT_EXIT: Record<ReportResult['verdict'], number> = {
  proven: ExitCode.success,
  'not-proven': ExitCode.failed,
  unknown: ExitCode.notFound,
};

/** The evidence of the procedure with this workflow id (its latest run, or run `runId`); throws WorkflowNotFoundError. */
export async function readEvidence(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<ReportResult> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const description = await handle.describe();
  const attrs = description.typedSearchAttributes;
  const execution = description.status.name;
  let views: ReencryptionView[] = [];
  let source: ReportResult['source'] = 'children';
  let note: string | null = null;
  let phase = attrs.get(PhaseAttribute) as Phase | undefined;

  const outcome =
    execution === 'COMPLETED'
      ? ((await handle.result()) as Partial<ProcedureOutcome> | undefined)
      : undefined;
  if (outcome && Array.isArray(outcome.evidence)) {
    source = 'result';
    phase = outcome.progress?.phase ?? phase;
    views = outcome.evidence.map((r) => reencryptionView(r));
  }
  // A cancelled procedure's result holds only the re-encryptions that finished: its children also tell of
  // the one the cancel stopped.
  if (source === 'children' || phase === 'cancelled') {
    const children = await childEvidence(client, { workflowId, runId: description.runId });
    if (source === 'children') views = children.views;
    if (children.failed > 0)
      note = `${children.failed} re-encryption(s) failed, were cancelled or abandoned before their proof; they prove nothing.`;
  }
  const status = procedureStatusOf(execution, phase ?? null);
  const verdict = verdictOf(views);
  if (views.length === 0) {
    note = [
      note,
      status === 'running' ? 'No re-encryption has run yet.' : 'This procedure ran no re-encryption.',
    ]
      .filter(Boolean)
      .join(' ');
  } else if (status !== 'completed' && status !== 'running') {
    note = [note, `The procedure ended ${status}; the evidence covers the re-encryptions that ran.`]
      .filter(Boolean)
      .join(' ');
  }
  return {
    workflowId,
    runId: description.runId,
    procedure: outcome?.progress?.procedure ?? attrs.get(ProcedureAttribute) ?? null,
    cluster: outcome?.progress?.cluster ?? attrs.get(ClusterAttribute) ?? null,
    status,
    verdict,
    exitCode: VERDICT_EXIT[verdict],
    source,
    reencryptions: views,
    note,
  };
}
