import * as fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { temporalTargetFromEnvironment, type TemporalTarget } from '../temporal/connection';
import { loadWorkflowBundle } from './bundle';
import { createKmsflowWorker, installWorkerRuntime } from './create-worker';
import { startHealthServer } from './health';
import {
  buildIdOf,
  DEPLOYMENT_NAME,
  promoteToCurrent,
  versionLabel,
  type VersioningMode,
  type WorkerVersion,
} from './versioning';

export interface RunWorkerOptions {
  target?: TemporalTarget;
  activities: object;
  taskQueue?: string;
  /** Serve GET /healthz on this HOST:PORT (or PORT) while the worker runs. */
  healthListen?: string;
  /** Worker Versioning (default auto: this worker's version becomes current when it starts). */
  versioning?: VersioningMode;
  /** The Temporal client `auto` promotes the version with; needed unless versioning is off. */
  client?: Client;
  log?: (line: string) => void;
}

/** Runs a worker until SIGINT/SIGTERM (the Runtime's default shutdown signals), then drains it. */
export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const log = options.log ?? console.log;
  const target = options.target ?? temporalTargetFromEnvironment();
  installWorkerRuntime();
  const connection = await NativeConnection.connect(target.connectionOptions);
  try {
    const { bundle: workflowBundle, describe } = await loadWorkflowBundle();
    const versioning = options.versioning ?? 'auto';
    const version: WorkerVersion | undefined =
      versioning === 'off'
        ? undefined
        : { deploymentName: DEPLOYMENT_NAME, buildId: buildIdOf(bundleCode(workflowBundle)) };
    const worker = await createKmsflowWorker({
      connection,
      namespace: target.namespace,
      activities: options.activities,
      workflowBundle,
      taskQueue: options.taskQueue,
      ...(version ? { version } : {}),
    });
    const health = options.healthListen
      ? await startHealthServer(options.healthListen, () => worker.getState())
      : undefined;
    if (health) log(`health endpoint on ${options.healthListen}: GET /healthz`);
    const running = worker.run();
    try {
      // Said once new work can reach this worker: with versioning, after its version became current.
      const versionLine = version ? await announceVersion(version, versioning, options.client) : undefined;
      log(
        `kmsflow worker polling task queue "${worker.options.taskQueue}" on ${target.connectionOptions.address} (namespace ${target.namespace}; workflow bundle ${describe})`,
      );
      if (versionLine) log(versionLine);
      await running;
    } catch (err) {
      worker.shutdown();
      await running.catch(() => undefined);
      throw err;
    } finally {
      health?.close();
    }
  } finally {
    await connection.close();
  }
}

function bundleCode(bundle: WorkflowBundleOption): string {
  return 'code' in bundle ? bundle.code : fs.readFileSync(bundle.codePath, 'utf8');
}

/** Promotes the version when asked to, and says which version this worker is and whether it takes new procedures. */
async function announceVersion(
  version: WorkerVersion,
  versioning: VersioningMode,
  client: Client | undefined,
): Promise<string> {
  const label = versionLabel(version);
  if (versioning === 'manual') {
    return `worker version ${label}: new procedures start on it once it is current (temporal worker deployment set-current-version --deployment-name ${version.deploymentName} --build-id ${version.buildId}); procedures pinned to it run here.`;
  }
  if (!client)
    throw new Error('Worker Versioning in auto mode needs a Temporal client to promote the version.');
  const outcome = await promoteToCurrent(client, version);
  return `worker version ${label} is current${outcome === 'promoted' ? ' (promoted now)' : ''}: new procedures start on it; procedures pinned to an earlier version finish on theirs.`;
}
