/** Bundling and running the planted-leak control, for both test environments (in-process and worker processes). */
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/** kmsflow's workflows and the control workflow, in one bundle. */
export async function bundleWithLeakControl(): Promise<string> {
  return (
    await bundleWorkflowCode({
      workflowsPath: path.resolve(__dirname, 'workflows.ts'),
      logger: new DefaultLogger('WARN'),
    })
  ).code;
}

/** Starts the control workflow and waits for its end (about five seconds: long enough for live polls to see it). */
export async function runLeakControl(
  client: Client,
  taskQueue: string,
  result: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<unknown> = (h) => h.result(),
): Promise<void> {
  const handle = await client.workflow.start('leakControl', {
    taskQueue,
    workflowId: `leak-control-${Date.now()}`,
  });
  await result(handle);
}
