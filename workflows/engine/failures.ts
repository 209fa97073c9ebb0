import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  TemporalFailure,
} from '@temporalio/workflow';
import type { BlockedReason, FailureDetails } from '../messages';

/** True for the failures that block a step (and wait for `retry`) instead of failing the workflow. */
export function isStepFailure(err: unknown): err is TemporalFailure {
  return err instanceof TemporalFailure;
}

/** The innermost ApplicationFailure of an activity or child-workflow failure, which carries the real reason. */
function rootApplicationFailure(err: TemporalFailure): TemporalFailure {
  let current: TemporalFailure = err;
  while (
    (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) &&
    current.cause instanceof TemporalFailure
  ) {
    current = current.cause;
  }
  return current;
}

export function blockedReasonOf(err: TemporalFailure): BlockedReason {
  const root = rootApplicationFailure(err);
  if (!(root instanceof ApplicationFailure)) return { message: root.message };
  const details = (root.details?.[0] ?? {}) as FailureDetails;
  return {
    message: root.message,
    code: details.code ?? root.type ?? undefined,
    fix: details.fix,
  };
}
