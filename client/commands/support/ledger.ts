/** Reading a cluster's key ledger from the CLI, and the proof of each procedure run it knows. */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { parseClusterId } from '../../../model/ids';
import { ledgerQuery } from '../../../workflows/ledger';
import { emptyLedger, type LedgerView, ledgerView, proofOfRun } from '../../../model/ledger-model';
import { ledgerWorkflowId, PROCEDURE_WORKFLOW_PREFIX } from '../../../workflows/messages';
import { ExitCode } from '../../exit-codes';
import type { ProcedureRow } from '../../output/shapes';
import { CliError } from './errors';

const QUERY_TIMEOUT_MS = 10_000;

/** The ledger view of a cluster; an unknown cluster has an empty ledger. */
export async function readLedger(
  client: Client,
  clusterId: string,
): Promise<{ view: LedgerView; known: boolean }> {
  const handle = client.workflow.getHandle(ledgerWorkflowId(clusterId));
  try {
    const view = await client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
      handle.query(ledgerQuery),
    );
    return { view, known: true };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      return { view: ledgerView(emptyLedger(parseClusterId(clusterId).name)), known: false };
    throw new CliError(
      ExitCode.error,
      `The key ledger of ${parseClusterId(clusterId).name} did not answer (${(err as Error).message}): is a kmsflow worker running (\`kmsflow worker\`)?`,
    );
  }
}

/**
 * Each row's proof, from the ledger of its cluster (one query per cluster among the rows). A row whose
 * cluster's ledger cannot be read keeps `proof: null`: the list still shows what visibility knows.
 */
export async function withProofs(client: Client, rows: ProcedureRow[]): Promise<ProcedureRow[]> {
  const clusters = new Map<string, Promise<LedgerView | undefined>>();
  const ledgerOf = (clusterId: string) => {
    if (!clusters.has(clusterId))
      clusters.set(
        clusterId,
        readLedger(client, clusterId).then(
          (l) => (l.known ? l.view : undefined),
          () => undefined,
        ),
      );
    return clusters.get(clusterId)!;
  };
  return Promise.all(
    rows.map(async (row) => {
      if (!row.workflowId.startsWith(PROCEDURE_WORKFLOW_PREFIX)) return row;
      const view = await ledgerOf(row.workflowId.slice(PROCEDURE_WORKFLOW_PREFIX.length));
      return { ...row, proof: view ? proofOfRun(view, row.firstRunId) : null };
    }),
  );
}
