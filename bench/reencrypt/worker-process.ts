/**
 * Contender (b), worker side: the real kmsflow worker (prebuilt workflow bundle, the real activities on
 * sandbox clients) in its own process, so its peak RSS is its own.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { createSandboxClients } from '../../worker/sandbox-clients';
import type { SandboxEndpoints, SandboxPrincipal } from '../../sandbox/client-options';
import { createKmsflowWorker } from '../../worker/create-worker';
import { isChild, serveRequests } from './child-process';

export interface WorkerRequest {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  bundlePath: string;
  endpoints: SandboxEndpoints;
  operator: SandboxPrincipal;
  /** The cluster's kubeconfig (pointing at the latency proxy when there is one). */
  kubeconfig: string;
}

function serve(): void {
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  serveRequests({
    async start(req: WorkerRequest): Promise<void> {
      const connection = await NativeConnection.connect({ address: req.temporalAddress });
      const kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'bench-worker-')), 'kubeconfig');
      writeFileSync(kubeconfigPath, req.kubeconfig, { mode: 0o600 });
      const clients = createSandboxClients(req.endpoints, req.operator, {
        kubernetesAccess: { kind: 'kubeconfig', path: kubeconfigPath },
      });
      worker = await createKmsflowWorker({
        connection,
        namespace: req.namespace,
        taskQueue: req.taskQueue,
        workflowBundle: { codePath: req.bundlePath },
        activities: createActivities({ clients }),
      });
      running = worker.run();
    },
    async stop(): Promise<void> {
      worker?.shutdown();
      await running;
    },
  });
}

if (isChild()) serve();
