/** Turns anything a command throws into one sentence and a documented exit code. */
import { NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ExitCode } from '../../exit-codes';

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(ExitCode.usage, message);
}

export function workflowNotFound(
  workflowId: string,
  where: { address: string; namespace: string },
): CliError {
  return new CliError(
    ExitCode.notFound,
    `No workflow "${workflowId}" in namespace ${where.namespace} at ${where.address}: check the id with \`kmsflow list\`.`,
  );
}

/** The reason a procedure's validator gave for rejecting an update, as the sentence to show. */
export function rejectionReason(err: WorkflowUpdateFailedError): string {
  const reason = (err.cause?.message ?? err.message).trim();
  return reason.endsWith('.') ? reason : `${reason}.`;
}

export function toCliError(err: unknown, where: { address: string; namespace: string }): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowNotFoundError) return workflowNotFound(err.workflowId, where);
  if (err instanceof NamespaceNotFoundError) {
    return new CliError(
      ExitCode.notFound,
      `Namespace "${err.namespace}" does not exist at ${where.address}: pass --namespace or set TEMPORAL_NAMESPACE to an existing one.`,
    );
  }
  if (err instanceof WorkflowUpdateFailedError)
    return usageError(`The procedure rejected the request: ${rejectionReason(err)}`);
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(ExitCode.error, message);
}
