import {
  DefaultLogger,
  type NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { TASK_QUEUE } from '../workflows/messages';
import { dataConverterFromEnvironment } from '../temporal/payload-codec';
import { deploymentOptions, type WorkerVersion } from './versioning';

export interface KmsflowWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  activities: object;
  workflowBundle: WorkflowBundleOption;
  taskQueue?: string;
  identity?: string;
  /** Default: the payload codec the environment configures (KMSFLOW_CODEC_KEY / _FILE), if any. */
  dataConverter?: DataConverter;
  /** This worker's version of the kmsflow deployment (Worker Versioning); unversioned without it. */
  version?: WorkerVersion;
}

/**
 * The one place worker settings live. Grace and force times are set because the SDK's defaults
 * (0 and unset) cancel in-flight activities at once and can leave `run()` hanging on shutdown.
 */
export function createKmsflowWorker(options: KmsflowWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowBundle: options.workflowBundle,
    activities: options.activities,
    ...(options.identity ? { identity: options.identity } : {}),
    dataConverter: options.dataConverter ?? dataConverterFromEnvironment(),
    ...(options.version ? { workerDeploymentOptions: deploymentOptions(options.version) } : {}),
    shutdownGraceTime: '10s',
    shutdownForceTime: '30s',
  });
}

let runtimeInstalled = false;

/** Keeps the SDK's INFO chatter (worker state changes) off the operator's terminal; once per process. */
export function installWorkerRuntime(): void {
  if (runtimeInstalled) return;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by the embedding process (e.g. a test runner): keep its settings.
  }
  runtimeInstalled = true;
}
