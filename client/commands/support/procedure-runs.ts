/**
 * Planning and starting a procedure: the calls behind `kmsflow plan` and `kmsflow start` (and the demo).
 * A plan is a read-only workflow; a start creates the cluster's one procedure workflow.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import {
  ClusterAttribute,
  PhaseAttribute,
  ProcedureAttribute,
  procedureWorkflowId,
  StepAttribute,
} from '../../../workflows/messages';
import { type Plan, planProcedure } from '../../../workflows/plan';
import { ExitCode } from '../../exit-codes';
import type { PlanResult, StartResult } from '../../output/shapes';
import { CliError, usageError } from './errors';
import { shellWord } from '../../../workflows/engine/details';
import { describeInputs, type ProcedureRequest } from './procedure-request';

/** A plan reads the cluster, its vault and the ledger: seconds. The bound only matters without a worker. */
const PLAN_TIMEOUT = '5 minutes';

/** Whether any worker polled the task queue recently (the server remembers pollers for a few minutes). */
export async function workerSeen(client: Client, taskQueue: string): Promise<boolean> {
  const response = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (response.pollers?.length ?? 0) > 0;
}

function noWorker(taskQueue: string): CliError {
  return new CliError(
    ExitCode.error,
    `No kmsflow worker polls task queue "${taskQueue}": start one with \`kmsflow worker\` (or \`kmsflow dev\`), then plan again.`,
  );
}

/** The innermost failure message of a failed workflow, and whether it was a "not found". */
function failureOf(err: WorkflowFailedError): { message: string; notFound: boolean } {
  let cause: unknown = err.cause;
  while (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  const message = cause instanceof Error ? cause.message : err.message;
  const notFound = cause instanceof ApplicationFailure && /notfound/i.test(cause.type ?? '');
  return { message: message.replace(/\.?$/, '.'), notFound };
}

/** Runs `planProcedure` for the request and waits for the plan; nothing is changed. */
export async function runPlan(
  client: Client,
  request: ProcedureRequest,
  taskQueue: string,
): Promise<{ plan: Plan; workflowId: string }> {
  if (!(await workerSeen(client, taskQueue))) throw noWorker(taskQueue);
  const workflowId = `kmsflow-plan:${request.clusterId.toLowerCase()}:${new Date().toISOString()}`;
  try {
    const plan = await client.workflow.execute(planProcedure, {
      taskQueue,
      workflowId,
      args: [request.plan],
      workflowExecutionTimeout: PLAN_TIMEOUT,
      staticSummary: `Plan ${request.plan.procedure} on ${request.clusterName} (read-only)`,
    });
    return { plan, workflowId };
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const failure = failureOf(err);
      throw new CliError(
        failure.notFound ? ExitCode.notFound : ExitCode.error,
        `The plan of ${request.key} on ${request.clusterName} failed: ${failure.message}`,
      );
    }
    throw err;
  }
}

export function planResult(plan: Plan, workflowId: string): PlanResult {
  const slot = (s: { current?: string; previous?: string }) => ({
    current: s.current ?? null,
    previous: s.previous ?? null,
  });
  return {
    procedure: plan.procedure,
    clusterId: plan.clusterId,
    cluster: plan.cluster.name,
    kubernetesVersion: plan.cluster.kubernetesVersion,
    kms: {
      enabled: plan.cluster.kms.enabled,
      keyId: plan.cluster.kms.keyId ?? null,
      networkAccess: plan.cluster.kms.networkAccess ?? null,
    },
    ok: plan.ok,
    findings: plan.findings.map((f) => ({
      severity: f.severity,
      code: f.code,
      message: f.message,
      fix: f.fix ?? null,
    })),
    steps: plan.steps.map((s, i) => ({
      number: i + 1,
      id: s.id,
      title: s.title,
      gate: s.gate ?? null,
      command: s.command ?? null,
    })),
    secretsInScope: plan.secretsInScope ?? null,
    estimatedSeconds: plan.estimatedSeconds,
    estimate: plan.estimate,
    secretsPerSecond: plan.secretsPerSecond,
    slots: { before: slot(plan.slots.before), after: slot(plan.slots.after) },
    workflowId,
  };
}

/** Markdown for the Web UI's workflow details: the inputs, and the planned steps when a plan was made. */
export function startDetails(request: ProcedureRequest, requestedBy: string, plan?: PlanResult): string {
  const lines = [
    `**${request.plan.procedure}** on \`${request.clusterName}\`, requested by ${requestedBy}`,
    '',
    `Cluster: \`${request.clusterId}\``,
    '',
    '| input | value |',
    '|---|---|',
    ...describeInputs(request).map(([name, value]) => `| ${name} | \`${value.replace(/\|/g, '\\|')}\` |`),
  ];
  if (plan) {
    lines.push(
      '',
      `**Planned steps** (preflight: ${plan.ok ? 'ok' : 'errors'}, ${plan.secretsInScope ?? '?'} Secrets in scope)`,
      '',
    );
    for (const step of plan.steps) {
      const gate = step.gate ? ` — gate \`${step.gate.id}\`` : '';
      const command = step.command ? `: \`${step.command}\`` : '';
      lines.push(`${step.number}. ${step.title}${gate}${command}`);
    }
  } else {
    lines.push('', 'The steps and their progress are in the current details and the `progress` query.');
  }
  return lines.join('\n');
}

export function uiLink(uiUrl: string | undefined, namespace: string, workflowId: string): string | null {
  if (!uiUrl) return null;
  return `${uiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export interface StartOptions {
  taskQueue: string;
  requestedBy: string;
  /** A plan fetched first: its steps go into the workflow details, its gates into the next commands. */
  plan?: PlanResult;
  uiUrl?: string;
}

async function alreadyRunning(
  client: Client,
  request: ProcedureRequest,
  workflowId: string,
): Promise<CliError> {
  const running = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => ({
      what: d.typedSearchAttributes.get(ProcedureAttribute) ?? d.type,
      run: d.runId,
      step: d.typedSearchAttributes.get(StepAttribute) || undefined,
    }))
    .catch(() => ({ what: 'a procedure', run: undefined, step: undefined }));
  const id = shellWord(workflowId);
  const where = [running.run ? `run ${running.run}` : '', running.step ? `at step ${running.step}` : '']
    .filter(Boolean)
    .join(', ');
  return usageError(
    `${request.clusterName} already runs ${running.what} as ${workflowId}${where ? ` (${where})` : ''}; one procedure per cluster at a time: follow it with \`kmsflow status ${id}\`, or stop it with \`kmsflow cancel ${id} --reason "..."\`.`,
  );
}

/**
 * Starts the cluster's procedure workflow. A second start while one runs on the same cluster is refused
 * (the workflow id is the cluster's); after it ended, the id is reused.
 */
export async function startProcedure(
  client: Client,
  request: ProcedureRequest,
  options: StartOptions,
): Promise<StartResult> {
  const workflowId = procedureWorkflowId(request.clusterId);
  const seen = await workerSeen(client, options.taskQueue);
  let handle;
  try {
    handle = await client.workflow.start(request.workflow, {
      taskQueue: options.taskQueue,
      workflowId,
      args: [request.plan.input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: ClusterAttribute, value: request.clusterName },
        { key: ProcedureAttribute, value: request.plan.procedure },
        { key: PhaseAttribute, value: 'running' },
      ],
      memo: { requestedBy: options.requestedBy },
      staticSummary: `${request.plan.procedure} on ${request.clusterName}`,
      staticDetails: startDetails(request, options.requestedBy, options.plan),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw await alreadyRunning(client, request, workflowId);
    throw err;
  }
  const id = shellWord(workflowId);
  const next = [`kmsflow watch ${id}`, `kmsflow status ${id}`];
  const approved = request.plan.input.autoApprove;
  for (const step of options.plan?.steps ?? []) {
    if (step.gate && approved !== 'all' && !approved?.includes(step.gate.id))
      next.push(`kmsflow approve ${id} ${shellWord(step.gate.id)}`);
  }
  next.push(`kmsflow report ${id}`);
  return {
    workflowId,
    runId: handle.firstExecutionRunId,
    workflowType: request.workflow.name,
    procedure: request.plan.procedure,
    cluster: request.clusterName,
    clusterId: request.clusterId,
    taskQueue: options.taskQueue,
    requestedBy: options.requestedBy,
    input: request.plan.input,
    uiUrl: uiLink(options.uiUrl, client.options.namespace, workflowId),
    workerSeen: seen,
    next,
  };
}
