/** Records to and reads from a cluster's key ledger workflow (started on first use). */
import { type Client, WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { keyLedger, ledgerQuery, recordLedgerEventUpdate } from '../workflows/ledger';
import {
  emptyLedger,
  type LedgerEvent,
  type LedgerView,
  ledgerView,
  type OperationKind,
} from '../model/ledger-model';
import { ledgerWorkflowId, quoteValue, TASK_QUEUE } from '../workflows/messages';
import { toApplicationFailure } from './errors';

export function createLedgerActivities(temporal: Client | undefined, taskQueue = TASK_QUEUE) {
  const client = () => {
    if (!temporal) throw new Error('the worker has no Temporal client for the key ledger');
    return temporal;
  };

  async function recordLedgerEvent(input: { clusterId: string; event: LedgerEvent }): Promise<LedgerView> {
    try {
      return await client().workflow.executeUpdateWithStart(recordLedgerEventUpdate, {
        args: [input.event],
        startWorkflowOperation: new WithStartWorkflowOperation(keyLedger, {
          workflowId: ledgerWorkflowId(input.clusterId),
          taskQueue,
          args: [{ clusterId: input.clusterId }],
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          staticSummary: `Key ledger of ${input.clusterId.split('/').pop()}`,
        }),
      });
    } catch (err) {
      throw toApplicationFailure(err, 'Record in the key ledger');
    }
  }

  async function readKeyLedger(clusterId: string): Promise<LedgerView> {
    try {
      return await client().workflow.getHandle(ledgerWorkflowId(clusterId)).query(ledgerQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return ledgerView(emptyLedger(clusterId));
      throw toApplicationFailure(err, 'Read the key ledger');
    }
  }

  /**
   * Measured ARM operation durations for a plan: this cluster's own, else those of every cluster of its
   * subscription whose ledger kmsflow keeps (ARM's pace is a property of the service and region, not of one
   * cluster), else none.
   */
  async function armOperationTimings(clusterId: string): Promise<OperationTimings> {
    const own = (await readKeyLedger(clusterId)).operationSeconds;
    if (own && Object.values(own).some((t) => t && t.length > 0)) return { ...own, measuredOn: 'cluster' };
    const subscription = ledgerWorkflowId(clusterId).split('/resourcegroups/')[0]!;
    const merged: Partial<Record<OperationKind, number[]>> = {};
    try {
      let read = 0;
      const query = `WorkflowType = 'keyLedger' AND WorkflowId STARTS_WITH ${quoteValue(`${subscription}/`)} AND ExecutionStatus = 'Running'`;
      for await (const ledger of client().workflow.list({ query })) {
        if (++read > MAX_LEDGERS_READ) break;
        const view = await client().workflow.getHandle(ledger.workflowId).query(ledgerQuery);
        for (const [kind, seconds] of Object.entries(view.operationSeconds ?? {}))
          (merged[kind as OperationKind] ??= []).push(...(seconds ?? []));
      }
    } catch (err) {
      throw toApplicationFailure(err, 'Read the ARM operation timings of the subscription');
    }
    return Object.values(merged).some((t) => t && t.length > 0)
      ? { ...merged, measuredOn: 'subscription' }
      : { measuredOn: 'none' };
  }

  return { recordLedgerEvent, readKeyLedger, armOperationTimings };
}

/** How many other clusters' ledgers a plan reads for the subscription's ARM timings. */
const MAX_LEDGERS_READ = 20;

export type OperationTimings = Partial<Record<OperationKind, number[]>> & {
  measuredOn: 'cluster' | 'subscription' | 'none';
};
