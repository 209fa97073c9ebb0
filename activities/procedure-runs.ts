/**
 * A campaign that continued as new no longer has its running procedures as children of this run: it awaits
 * each one's end through the Temporal client instead, by workflow id and run id.
 */
import { Context, heartbeat } from '@temporalio/activity';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { type ClusterOutcome, outcomeOfProcedure, type ProcedureEnding } from '../model/campaign';

/** Heartbeats while waiting, so that a worker that went away is noticed and the wait resumes elsewhere. */
const HEARTBEAT_MS = 20_000;

export function createProcedureRunActivities(temporal: Client | undefined) {
  /** How the procedure run ended, as its campaign records it; returns only once it ended. */
  async function awaitProcedureOutcome(run: { workflowId: string; runId: string }): Promise<ClusterOutcome> {
    if (!temporal) throw new Error('the worker has no Temporal client to follow procedures with');
    const handle = temporal.workflow.getHandle(run.workflowId, run.runId, { followRuns: false });
    const beat = setInterval(() => heartbeat(), HEARTBEAT_MS);
    try {
      const ending = (await Promise.race([handle.result(), Context.current().cancelled])) as ProcedureEnding;
      return outcomeOfProcedure(ending);
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      if (err.cause instanceof CancelledFailure)
        return { status: 'cancelled', reason: 'its workflow was cancelled (temporal workflow cancel)' };
      if (err.cause instanceof TerminatedFailure)
        return { status: 'failed', reason: `its workflow was terminated: ${err.cause.message}` };
      const inner = err.cause?.cause as Error | undefined;
      return { status: 'failed', reason: inner?.message ?? err.cause?.message ?? err.message };
    } finally {
      clearInterval(beat);
    }
  }

  return { awaitProcedureOutcome };
}
