/** How a workflow that must not be pinned says so under Worker Versioning. */
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';

/**
 * Lets `fn` follow the deployment's current version (AUTO_UPGRADE) when a versioned worker runs it. Decided
 * per execution: the server refuses a versioning behavior from an unversioned worker (`kmsflow worker
 * --versioning off`, a plain namespace), and that refusal would stall the workflow's every task.
 */
export function followCurrentVersion(fn: (...args: never[]) => Promise<unknown>): void {
  // An unversioned worker still reports a build id (the SDK's default), never a deployment name.
  setWorkflowOptions(
    () =>
      workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: 'AUTO_UPGRADE' } : {},
    fn,
  );
}
