/**
 * The machine-readable shapes the operator commands print with `--json` (documented in docs/cli.md).
 * Absent values are `null`, never missing keys, so scripts can rely on every key being there.
 */
import type { Phase, StepStatus } from '../../workflows/messages';

/** A procedure's status across Temporal and kmsflow: what `list --status` filters on. */
export const PROCEDURE_STATUSES = ['running', 'completed', 'cancelled', 'failed', 'terminated', 'timed-out'] as const;
export type ProcedureStatus = (typeof PROCEDURE_STATUSES)[number];

const PHASE_SET: Record<Phase, true> = {
  running: true,
  paused: true,
  'waiting-approval': true,
  blocked: true,
  completed: true,
  cancelled: true,
};
export const PHASES = Object.keys(PHASE_SET) as Phase[];

export interface StepProgressView {
  done: number;
  total: number | null;
  unit: string;
  /** Items per second over the step so far. */
  rate: number | null;
  etaSeconds: number | null;
}

export interface StepView {
  /** 1-based position in the procedure. */
  number: number;
  id: string;
  title: string;
  status: StepStatus;
  attempts: number;
  gate: { id: string; prompt: string } | null;
  /** The equivalent manual command (az / kubectl), when the procedure names one. */
  command: string | null;
  detail: string | null;
  progress: StepProgressView | null;
  blocked: { message: string; code: string | null; fix: string | null } | null;
  startedAt: string | null;
  endedAt: string | null;
}

export interface ApprovalView {
  gate: string;
  approver: string;
  at: string;
  comment: string | null;
  auto: boolean;
}

/** What an operator must do for the procedure to go on, with the exact command. */
export interface WaitingFor {
  kind: 'approval' | 'blocked' | 'paused';
  step: string | null;
  gate: string | null;
  /** One sentence: what the procedure waits for. */
  message: string;
  code: string | null;
  fix: string | null;
  command: string;
}

export interface ProcedureSnapshot {
  workflowId: string;
  runId: string;
  workflowType: string;
  status: ProcedureStatus;
  /** Temporal's own execution status, e.g. `RUNNING`, `COMPLETED`, `TERMINATED`. */
  executionStatus: string;
  /** The exit code `status` returns for this state. */
  exitCode: number;
  procedure: string | null;
  cluster: string | null;
  phase: Phase | null;
  paused: boolean;
  currentStep: string | null;
  steps: StepView[];
  approvals: ApprovalView[];
  waitingFor: WaitingFor | null;
  startedAt: string;
  endedAt: string | null;
  /** Why Temporal failed, terminated or timed out the run. */
  failure: string | null;
  /** Where the step list came from: the live `progress` query, the run's result, or only its search attributes. */
  source: 'query' | 'result' | 'search-attributes';
  /** Why the step list is missing, when it is. */
  note: string | null;
}

export interface ProcedureRow {
  workflowId: string;
  runId: string;
  procedure: string | null;
  cluster: string | null;
  phase: Phase | null;
  step: string | null;
  status: ProcedureStatus;
  executionStatus: string;
  startedAt: string;
  endedAt: string | null;
}

export interface ProcedureList {
  query: string;
  procedures: ProcedureRow[];
}

export type OperatorAction = 'approve' | 'pause' | 'resume' | 'retry' | 'cancel';

export interface ActionResult {
  workflowId: string;
  action: OperatorAction;
  /** Who asked (`--as`, else $USER). */
  requestedBy: string;
  /** The procedure's answer to an update (approval, retried step, cancellation), null for signals. */
  result: unknown;
  message: string;
}

export interface ErrorShape {
  error: { exitCode: number; message: string };
}
