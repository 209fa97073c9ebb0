/**
 * The contract between a procedure and its operators: the messages every procedure understands
 * (progress, approve, retry, cancel, pause, resume), the progress the re-encryption child signals to its
 * procedure, the search attributes, and the workflow ids. Shared by the workflows, the worker and the CLI.
 * The key ledger's update and query live with it (ledger.ts), the re-encryption's state query with it
 * (reencrypt.ts).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const TASK_QUEUE = 'kmsflow';

export const ClusterAttribute = defineSearchAttributeKey('KmsCluster', SearchAttributeType.KEYWORD);
export const ProcedureAttribute = defineSearchAttributeKey('KmsProcedure', SearchAttributeType.KEYWORD);
export const PhaseAttribute = defineSearchAttributeKey('KmsPhase', SearchAttributeType.KEYWORD);
export const StepAttribute = defineSearchAttributeKey('KmsStep', SearchAttributeType.KEYWORD);
/** On a campaign and on every procedure it started: the campaign's id. */
export const CampaignAttribute = defineSearchAttributeKey('KmsCampaign', SearchAttributeType.KEYWORD);

/**
 * A visibility-query string literal (for search attributes and WorkflowId): the value can never end the
 * literal or add a condition. Used by the CLI's queries and the worker's.
 */
export function quoteValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Registered on every Temporal namespace kmsflow uses (dev server flags, or the operator API). */
export const SEARCH_ATTRIBUTES = [
  ClusterAttribute,
  ProcedureAttribute,
  PhaseAttribute,
  StepAttribute,
  CampaignAttribute,
] as const;

export type StepStatus =
  'pending' | 'running' | 'waiting-approval' | 'blocked' | 'done' | 'skipped' | 'cancelled';

/** Where a whole procedure stands; the value of the KmsPhase search attribute. */
export type Phase = 'running' | 'paused' | 'waiting-approval' | 'blocked' | 'completed' | 'cancelled';

export interface StepProgress {
  done: number;
  total?: number;
  unit: string;
  /** Items per second over the step so far. */
  rate?: number;
}

export interface BlockedReason {
  message: string;
  /** Error type, e.g. an Azure or Kubernetes error code. */
  code?: string;
  /** One sentence that says how to unblock, when known. */
  fix?: string;
}

export interface StepState {
  id: string;
  title: string;
  status: StepStatus;
  gate?: { id: string; prompt: string };
  command?: string;
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  detail?: string;
  progress?: StepProgress;
  blocked?: BlockedReason;
}

export interface Approval {
  gate: string;
  approver: string;
  at: string;
  comment?: string;
  auto: boolean;
}

export interface ProcedureProgress {
  procedure: string;
  cluster: string;
  phase: Phase;
  paused: boolean;
  currentStep?: string;
  steps: StepState[];
  approvals: Approval[];
  startedAt: string;
  endedAt?: string;
}

export interface ApproveRequest {
  gate: string;
  approver: string;
  comment?: string;
}

export interface CancelRequest {
  reason: string;
  requestedBy?: string;
}

export const progressQuery = defineQuery<ProcedureProgress>('progress');
export const approveUpdate = defineUpdate<Approval, [ApproveRequest]>('approve');
export interface OperatorRequest {
  requestedBy?: string;
}

export const retryUpdate = defineUpdate<{ step: string; attempt: number }, [OperatorRequest]>('retry');
export const cancelUpdate = defineUpdate<{ cancelled: boolean }, [CancelRequest]>('cancel');
export const pauseSignal = defineSignal<[OperatorRequest]>('pause');
export const resumeSignal = defineSignal<[OperatorRequest]>('resume');

/**
 * What activities attach as the first detail of a non-retryable ApplicationFailure, so a blocked step
 * can tell the operator what to do.
 */
export interface FailureDetails {
  /** The Azure or Kubernetes error code, e.g. `AzureKeyVaultKmsValidateIdentityPermissionCustomerError`. */
  code?: string;
  /** One sentence naming the fix. */
  fix?: string;
}

/** Sent by a re-encryption child to its parent procedure, a few times per pass. */
export interface ReencryptProgress {
  pass: 'key-active' | 'rewrite' | 'verify' | 'done';
  done: number;
  total?: number;
  /** Before the passes: what the re-encryption waits for (ARM, the propagation wait and until when, the canary). */
  waitingFor?: string;
}

export const reencryptProgressSignal = defineSignal<[ReencryptProgress]>('reencryptProgress');

/** Sent by a procedure a campaign started to the campaign, whenever its phase changes (blocked, waiting-approval, …). */
export interface ProcedurePhaseChange {
  workflowId: string;
  phase: Phase;
  step: string;
}

export const procedurePhaseSignal = defineSignal<[ProcedurePhaseChange]>('procedurePhase');

/**
 * Workflow ids: one procedure per cluster at a time, one key ledger per cluster. Every procedure ever run on a
 * cluster shares its workflow id; each is a run of it, with its own run id.
 */
export const PROCEDURE_WORKFLOW_PREFIX = 'kmsflow:';
export const procedureWorkflowId = (clusterId: string) =>
  `${PROCEDURE_WORKFLOW_PREFIX}${clusterId.toLowerCase()}`;
export const ledgerWorkflowId = (clusterId: string) => `kmsflow-ledger:${clusterId.toLowerCase()}`;
