import { NativeConnection } from '@temporalio/worker';
import { temporalTargetFromEnvironment, type TemporalTarget } from '../temporal/connection';
import { loadWorkflowBundle } from './bundle';
import { createKmsflowWorker, installWorkerRuntime } from './create-worker';
import { startHealthServer } from './health';

export interface RunWorkerOptions {
  target?: TemporalTarget;
  activities: object;
  taskQueue?: string;
  /** Serve GET /healthz on this HOST:PORT (or PORT) while the worker runs. */
  healthListen?: string;
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
    const worker = await createKmsflowWorker({
      connection,
      namespace: target.namespace,
      activities: options.activities,
      workflowBundle,
      taskQueue: options.taskQueue,
    });
    const health = options.healthListen ? await startHealthServer(options.healthListen, () => worker.getState()) : undefined;
    if (health) log(`health endpoint on ${options.healthListen}: GET /healthz`);
    log(`kmsflow worker polling task queue "${worker.options.taskQueue}" on ${target.connectionOptions.address} (namespace ${target.namespace}; workflow bundle ${describe})`);
    try {
      await worker.run();
    } finally {
      health?.close();
    }
  } finally {
    await connection.close();
  }
}
