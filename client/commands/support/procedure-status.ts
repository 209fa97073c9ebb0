/** How Temporal's execution status and kmsflow's phase combine into one status and one exit code. */
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { Phase } from '../../../workflows/messages';
import { ExitCode } from '../../exit-codes';
import type { ProcedureStatus } from '../../output/shapes';

/** Phases in which the procedure waits for an operator. */
export const WAITING_PHASES: readonly Phase[] = ['waiting-approval', 'blocked', 'paused'];

export function procedureStatusOf(
  execution: WorkflowExecutionStatusName,
  phase: Phase | null,
): ProcedureStatus {
  switch (execution) {
    case 'COMPLETED':
      // `kmsflow cancel` ends the workflow normally with the phase `cancelled`.
      return phase === 'cancelled' ? 'cancelled' : 'completed';
    case 'CANCELLED':
      return 'cancelled';
    case 'FAILED':
      return 'failed';
    case 'TERMINATED':
      return 'terminated';
    case 'TIMED_OUT':
      return 'timed-out';
    default:
      return 'running';
  }
}

export function exitCodeFor(status: ProcedureStatus, phase: Phase | null): number {
  if (status === 'running')
    return phase && WAITING_PHASES.includes(phase) ? ExitCode.waiting : ExitCode.success;
  return status === 'completed' ? ExitCode.success : ExitCode.failed;
}

/** The visibility-query condition that selects one status (Temporal spells its values `Running`, `Canceled`, …). */
export function statusCondition(status: ProcedureStatus): string {
  switch (status) {
    case 'running':
      return `ExecutionStatus = 'Running'`;
    case 'completed':
      return `(ExecutionStatus = 'Completed' AND KmsPhase != 'cancelled')`;
    case 'cancelled':
      return `(ExecutionStatus = 'Canceled' OR (ExecutionStatus = 'Completed' AND KmsPhase = 'cancelled'))`;
    case 'failed':
      return `ExecutionStatus = 'Failed'`;
    case 'terminated':
      return `ExecutionStatus = 'Terminated'`;
    case 'timed-out':
      return `ExecutionStatus = 'TimedOut'`;
  }
}
