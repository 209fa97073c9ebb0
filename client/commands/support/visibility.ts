/** Finding kmsflow procedures through Temporal visibility: the query built from filters, and the rows. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import {
  ClusterAttribute,
  type Phase,
  PhaseAttribute,
  ProcedureAttribute,
  procedureWorkflowId,
  quoteValue,
  StepAttribute,
} from '../../../workflows/messages';
import { clusterId, parseClusterId } from '../../../model/ids';
import { PHASES, type ProcedureRow, type ProcedureStatus } from '../../output/shapes';
import { procedureStatusOf, statusCondition } from './procedure-status';
import { listedWorkerVersionOf } from './worker-version';

export interface ProcedureFilters {
  /** A cluster's name (KmsCluster), or its resource id: then exactly that cluster's procedure workflow id. */
  cluster?: string;
  procedure?: string;
  phase?: Phase;
  status?: ProcedureStatus;
}

/** Every kmsflow procedure sets KmsProcedure, so that is what separates them from other workflows. */
export function visibilityQuery(filters: ProcedureFilters): string {
  const conditions = [`${ProcedureAttribute.name} IS NOT NULL`];
  if (filters.procedure !== undefined)
    conditions.push(`${ProcedureAttribute.name} = ${quoteValue(filters.procedure)}`);
  if (filters.cluster !== undefined) {
    const id = clusterResourceId(filters.cluster);
    conditions.push(
      id
        ? `WorkflowId = ${quoteValue(procedureWorkflowId(id))}`
        : `${ClusterAttribute.name} = ${quoteValue(filters.cluster)}`,
    );
  }
  if (filters.phase !== undefined) conditions.push(`${PhaseAttribute.name} = ${quoteValue(filters.phase)}`);
  if (filters.status !== undefined) conditions.push(statusCondition(filters.status));
  return conditions.join(' AND ');
}

export function procedureRow(info: WorkflowExecutionInfo): ProcedureRow {
  const attrs = info.typedSearchAttributes;
  const rawPhase = attrs.get(PhaseAttribute);
  const phase = PHASES.includes(rawPhase as Phase) ? (rawPhase as Phase) : null;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    firstRunId: info.raw.firstRunId || info.runId,
    procedure: attrs.get(ProcedureAttribute) ?? null,
    cluster: attrs.get(ClusterAttribute) ?? null,
    phase,
    step: attrs.get(StepAttribute) || null,
    status: procedureStatusOf(info.status.name, phase),
    executionStatus: info.status.name,
    startedAt: info.startTime.toISOString(),
    endedAt: info.closeTime?.toISOString() ?? null,
    proof: null,
    workerVersion: listedWorkerVersionOf(info),
  };
}

/** The cluster resource id a `--cluster` value names, or undefined for a plain cluster name. */
function clusterResourceId(value: string): string | undefined {
  try {
    return clusterId(parseClusterId(value));
  } catch {
    return undefined;
  }
}

/** The newest procedures first (Temporal's visibility order), at most `limit`. */
export async function listProcedures(
  client: Client,
  filters: ProcedureFilters,
  limit: number,
): Promise<{ query: string; rows: ProcedureRow[] }> {
  const query = visibilityQuery(filters);
  const rows: ProcedureRow[] = [];
  for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    rows.push(procedureRow(info));
    if (rows.length >= limit) break;
  }
  return { query, rows };
}
