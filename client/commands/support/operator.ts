/** The common path of the commands that act on one running procedure: approve, pause, resume, retry, cancel. */
import { type Client, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { ExitCode } from '../../exit-codes';
import { stateWords } from '../../output/procedure-view';
import type { ActionResult, ProcedureSnapshot } from '../../output/shapes';
import { CliError, rejectionReason, usageError } from './errors';
import { shellWord } from '../../../workflows/engine/details';
import { readSnapshot } from './procedure-snapshot';
import type { CommandContext } from './runtime';

export interface RunningProcedure {
  client: Client;
  handle: WorkflowHandle;
  snapshot: ProcedureSnapshot;
}

/**
 * The procedure, checked to be running and served by a worker: an update sent to a run without a
 * worker would wait for one indefinitely.
 */
export async function runningProcedure(
  ctx: CommandContext,
  workflowId: string,
  verb: string,
): Promise<RunningProcedure> {
  const client = await ctx.temporal();
  const snapshot = await readSnapshot(client, workflowId);
  if (snapshot.status !== 'running') {
    throw usageError(`${workflowId} has already ended (${snapshot.status}): there is nothing to ${verb}.`);
  }
  if (snapshot.source !== 'query') {
    throw new CliError(
      ExitCode.error,
      `${workflowId} cannot ${verb} now: ${snapshot.note ?? 'no worker answered.'}`,
    );
  }
  return { client, handle: client.workflow.getHandle(workflowId), snapshot };
}

/** Sends an update; a validator's rejection becomes one sentence and the usage exit code. */
export async function sendUpdate<Ret, Arg>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, [Arg]>,
  arg: Arg,
  verb: string,
): Promise<Ret> {
  try {
    return await handle.executeUpdate(update, { args: [arg] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw usageError(`${handle.workflowId} refused to ${verb}: ${rejectionReason(err)}`);
    }
    throw err;
  }
}

export function notWaitingFor(snapshot: ProcedureSnapshot, what: string): CliError {
  return usageError(`${snapshot.workflowId} is not waiting for ${what}: it is ${stateWords(snapshot)}.`);
}

export function printActionResult(ctx: CommandContext, result: ActionResult): number {
  if (ctx.out.json) ctx.out.printJson(result);
  else ctx.out.line(result.message);
  return ExitCode.success;
}

export function followHint(workflowId: string): string {
  return `\`kmsflow watch ${shellWord(workflowId)}\` follows it.`;
}
