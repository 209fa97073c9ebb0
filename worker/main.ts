import { NativeConnection } from '@temporalio/worker';
import { temporalTargetFromEnvironment, type TemporalTarget } from '../client/temporal-connection';
import { loadWorkflowBundle } from './bundle';
import { createKmsflowWorker, installWorkerRuntime } from './create-worker';

export interface RunWorkerOptions {
  target?: TemporalTarget;
  activities: object;
  taskQueue?: string;
  log?: (line: string) => void;
}

/** Runs a worker until SIGINT/SIGTERM (the Runtime's default shutdown signals), then drains it. */
export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const log = options.log ?? console.log;
  const target = options.target ?? temporalTargetFromEnvironment();
  installWorkerRuntime();
  const connection = await NativeConnection.connect(target.connectionOptions);
  try {
    const worker = await createKmsflowWorker({
      connection,
      namespace: target.namespace,
      activities: options.activities,
      workflowBundle: await loadWorkflowBundle(),
      taskQueue: options.taskQueue,
    });
    log(`kmsflow worker polling task queue "${worker.options.taskQueue}" on ${target.connectionOptions.address} (namespace ${target.namespace})`);
    await worker.run();
  } finally {
    await connection.close();
  }
}
