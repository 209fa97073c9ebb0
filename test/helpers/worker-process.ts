/**
 * A kmsflow worker as its own process, for tests that kill it (SIGKILL) and start another. Settings come
 * from the environment: TEMPORAL_ADDRESS, KMSFLOW_TASK_QUEUE, KMSFLOW_SANDBOX_ENV (the sandbox env file), and
 * optionally KMSFLOW_WORKFLOW_BUNDLE (a prebuilt bundle file, so a restart does not bundle again) and
 * KMSFLOW_WORKER_LOG_LEVEL (the SDK logger's level, default WARN), and KMSFLOW_LEAK_CONTROLS_KUBECONFIG (a
 * kubeconfig file: also run the planted-leak control's activity, test/helpers/leak-controls/, against that
 * cluster; its workflow must be in the bundle).
 */
import * as fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createSandboxClients } from '../../worker/sandbox-clients';
import { readSandboxEnv } from '../../sandbox/env-file';
import { loadWorkflowBundle } from '../../worker/bundle';
import { createKmsflowWorker } from '../../worker/create-worker';
import { dataConverterFromEnvironment } from '../../temporal/payload-codec';
import { leakControlActivities } from './leak-controls/activities';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS!;
  const taskQueue = process.env.KMSFLOW_TASK_QUEUE!;
  const sandbox = readSandboxEnv({ file: process.env.KMSFLOW_SANDBOX_ENV! });
  if (!sandbox) throw new Error('KMSFLOW_SANDBOX_ENV names no sandbox env file');
  Runtime.install({
    logger: new DefaultLogger(
      (process.env.KMSFLOW_WORKER_LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | undefined) ?? 'WARN',
    ),
  });
  const temporal = new Client({
    connection: await Connection.connect({ address }),
    dataConverter: dataConverterFromEnvironment(),
  });
  const clients = createSandboxClients(sandbox.endpoints, sandbox.principal, {
    tuning: { retryOptions: { maxRetries: 2, retryDelayInMs: 50 } },
  });
  const worker = await createKmsflowWorker({
    connection: await NativeConnection.connect({ address }),
    namespace: 'default',
    taskQueue,
    workflowBundle: process.env.KMSFLOW_WORKFLOW_BUNDLE
      ? { codePath: process.env.KMSFLOW_WORKFLOW_BUNDLE }
      : (await loadWorkflowBundle()).bundle,
    activities: {
      ...createActivities({ clients, pollIntervalMs: 100, temporal, taskQueue }),
      ...(process.env.KMSFLOW_LEAK_CONTROLS_KUBECONFIG
        ? leakControlActivities(fs.readFileSync(process.env.KMSFLOW_LEAK_CONTROLS_KUBECONFIG, 'utf8'))
        : {}),
    },
  });
  console.log('worker ready');
  await worker.run();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
