/**
 * Records the histories of a procedure run (and of its child re-encryptions, every continue-as-new run)
 * as replay fixtures, when KMSFLOW_RECORD_HISTORIES=1, in one folder per kmsflow version (package.json).
 * The replay test replays every version's histories, so procedures started by an older release keep
 * running on the current code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const PROCEDURE_HISTORIES = path.resolve('test/fixtures/histories/procedures');
const VERSION_HISTORIES = path.join(
  PROCEDURE_HISTORIES,
  `v${(JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version}`,
);
const recording = process.env.KMSFLOW_RECORD_HISTORIES === '1';

export async function recordProcedureHistories(
  client: Client,
  handle: WorkflowHandle,
  name: string,
): Promise<void> {
  if (!recording) return;
  fs.mkdirSync(VERSION_HISTORIES, { recursive: true });
  const write = async (file: string, workflowId: string, runId?: string) => {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    // The workflow id is kept with the history: child workflow ids derive from it, so replay needs it.
    const fixture = { workflowId, history: JSON.parse(historyToJSON(history)) };
    fs.writeFileSync(path.join(VERSION_HISTORIES, `${file}.json`), JSON.stringify(fixture));
  };
  await write(name, handle.workflowId);
  let n = 0;
  for await (const child of client.workflow.list({ query: `ParentWorkflowId = '${handle.workflowId}'` })) {
    // The first run of each child; its continue-as-new successors replay the same code path.
    if (n >= 2) break;
    await write(`${name}--child-${++n}`, child.workflowId, child.runId);
  }
}
