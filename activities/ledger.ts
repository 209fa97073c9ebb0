/** Records to and reads from a cluster's key ledger workflow (started on first use). */
import { type Client, WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { keyLedger, ledgerQuery, recordLedgerEventUpdate } from '../workflows/ledger';
import { emptyLedger, type LedgerEvent, type LedgerView, ledgerView } from '../workflows/ledger-model';
import { ledgerWorkflowId, TASK_QUEUE } from '../workflows/messages';
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

  return { recordLedgerEvent, readKeyLedger };
}
