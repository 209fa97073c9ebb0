/**
 * Worker Versioning: every kmsflow worker is a version of the `kmsflow` worker deployment, named after the
 * package version and its workflow code. Procedures are pinned to the version that started them (a step
 * list never changes under a running procedure); the short and replay-safe workflows (the key ledger, plans,
 * key views) follow the current version. A worker promotes its own version to current when it starts
 * (`auto`), or leaves that to the operator (`manual`); `off` runs an unversioned worker.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { version as packageVersion } from '../package.json';

export const DEPLOYMENT_NAME = 'kmsflow';

export const VERSIONING_MODES = ['auto', 'manual', 'off'] as const;
export type VersioningMode = (typeof VERSIONING_MODES)[number];

export interface WorkerVersion {
  deploymentName: string;
  buildId: string;
}

/** `<package version>-<first 12 hex of the workflow bundle's SHA-256>`: a new build id whenever workflow code changes. */
export function buildIdOf(workflowCode: string, version = packageVersion): string {
  return `${version}-${createHash('sha256').update(workflowCode).digest('hex').slice(0, 12)}`;
}

export function deploymentOptions(version: WorkerVersion): WorkerDeploymentOptions {
  return { version, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' };
}

export const versionLabel = (v: WorkerVersion) => `${v.deploymentName}/${v.buildId}`;

/**
 * Makes `version` the deployment's current version unless it already is: new procedures then start on it,
 * while pinned ones finish on the version that started them. The server accepts it only once this
 * version polls the task queue, so it is retried for a while after the worker starts.
 */
export async function promoteToCurrent(
  client: Client,
  version: WorkerVersion,
  options: { timeoutMs?: number; identity?: string } = {},
): Promise<'promoted' | 'already-current'> {
  const { namespace } = client.options;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const current = await currentVersion(client, version.deploymentName);
    if (current === version.buildId) return 'already-current';
    try {
      await client.workflowService.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: options.identity ?? 'kmsflow worker',
      });
      return 'promoted';
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(
          `Could not make ${versionLabel(version)} the current version of deployment ${version.deploymentName}: ${(err as Error).message}. ` +
            'On a Temporal service without Worker Versioning (before 1.28), run the worker with --versioning off.',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The deployment's current build id; undefined when none is set or the deployment does not exist yet. */
export async function currentVersion(
  client: Client,
  deploymentName = DEPLOYMENT_NAME,
): Promise<string | undefined> {
  try {
    const res = await client.workflowService.describeWorkerDeployment({
      namespace: client.options.namespace,
      deploymentName,
    });
    return res.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId || undefined;
  } catch (err) {
    if ((err as { code?: number }).code === 5) return undefined; // NOT_FOUND: no version of it ever polled
    throw err;
  }
}
