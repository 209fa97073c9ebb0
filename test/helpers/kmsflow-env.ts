/**
 * The whole of kmsflow for end-to-end tests: a real Temporal dev server, the sandbox (ARM, Key Vault,
 * Kubernetes) and a worker running the real workflow bundle and activities built on sandbox clients.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities';
import { createSandboxClients } from '../../worker/sandbox-clients';
import { leakControlActivities } from './leak-controls/activities';
import { bundleWithLeakControl, runLeakControl } from './leak-controls/run';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import { keyVersionIds } from '../sandbox/helpers';
import { buildWorkflowBundle } from '../../worker/bundle';
import { createKmsflowWorker } from '../../worker/create-worker';
import type { WorkerVersion } from '../../worker/versioning';
import { clusterId as formatClusterId } from '../../model/ids';
import { progressQuery } from '../../workflows/messages';
import type { ReencryptSettings } from '../../workflows/reencrypt';
import { startTemporalTestEnv, type TemporalTestEnv } from './temporal-env';

/** Re-encryption settings that keep tests fast while still crossing pages and continue-as-new. */
export const FAST_REENCRYPT: Partial<ReencryptSettings> = {
  pageSize: 50,
  pagesPerRun: 4,
  propagationWaitMs: 0,
  pollIntervalMs: 200,
  keyActiveTimeoutMs: 60_000,
  concurrency: 8,
  pageHeartbeatTimeoutMs: 3_000,
};

export interface KmsflowTestEnv {
  temporal: TemporalTestEnv;
  sandbox: RunningSandbox;
  activities: Activities;
  workflowBundle: { code: string };
  taskQueue: string;
  clusterId(name: string, resourceGroup?: string): string;
  vaultId(name: string, resourceGroup?: string): string;
  /** Versioned key ids of `vault/key`, oldest first. */
  keyVersions(vault: string, key: string): Promise<string[]>;
  /** Mutating sandbox calls so far (ARM, Key Vault, Kubernetes). */
  mutations(): number;
  /** Runs `fn` while a worker polls; with `version`, a versioned worker of that deployment version. */
  withWorker<T>(fn: (worker: Worker) => Promise<T>, options?: { version?: WorkerVersion }): Promise<T>;
  /** Runs the planted-leak control workflow to its end, inside `withWorker` (needs `leakControlCluster`). */
  runLeakControl(): Promise<void>;
  teardown(): Promise<void>;
}

export async function startKmsflowEnv(
  scenario: ScenarioInput,
  options: Omit<StartSandboxOptions, 'scenario'> & {
    temporalUi?: boolean;
    /** The cluster whose scan-seed Secrets the planted-leak control (test/helpers/leak-controls/) leaks; the worker then runs it. */
    leakControlCluster?: string;
  } = {},
): Promise<KmsflowTestEnv> {
  const { temporalUi, leakControlCluster, ...sandboxOptions } = options;
  const temporal = await startTemporalTestEnv({ ui: temporalUi });
  // A scenario that does not load must not leave the dev server running.
  const sandbox = await startSandbox({
    scenario,
    operationDurationMs: 200,
    propagationDelayMs: 200,
    ...sandboxOptions,
  }).catch(async (err: unknown) => {
    await temporal.teardown();
    throw err;
  });
  const subscriptionId = sandbox.subscriptionId;
  const resourceGroup = scenario.subscriptions?.[0]?.resourceGroups?.[0]?.name ?? 'rg';
  const taskQueue = `kmsflow-test-${Date.now()}`;
  const clients = createSandboxClients(sandbox.endpoints, sandbox.operator, {
    tuning: { retryOptions: { maxRetries: 2, retryDelayInMs: 50 } },
  });
  const activities = createActivities({
    clients,
    pollIntervalMs: 100,
    temporal: temporal.env.client,
    taskQueue,
  });
  const workflowBundle = {
    code: leakControlCluster ? await bundleWithLeakControl() : await buildWorkflowBundle(),
  };
  const workerActivities = leakControlCluster
    ? { ...activities, ...leakControlActivities(sandbox.kubeconfig(leakControlCluster, 'admin')) }
    : activities;

  return {
    temporal,
    sandbox,
    activities,
    workflowBundle,
    taskQueue,
    clusterId: (name, rg = resourceGroup) => formatClusterId({ subscriptionId, resourceGroup: rg, name }),
    vaultId: (name, rg = resourceGroup) =>
      `/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${name}`,
    keyVersions: (vault, key) => keyVersionIds(sandbox, vault, key),
    mutations: () => sandbox.oplog.count(),
    async withWorker(fn, options = {}) {
      const worker = await createKmsflowWorker({
        connection: temporal.env.nativeConnection,
        namespace: temporal.server.namespace,
        taskQueue,
        workflowBundle,
        activities: workerActivities,
        ...(options.version ? { version: options.version } : {}),
      });
      return worker.runUntil(() => fn(worker));
    },
    runLeakControl: () => runLeakControl(temporal.env.client, taskQueue),
    async teardown() {
      await sandbox.close();
      await temporal.teardown();
    },
  };
}

/** The procedure's result, or (after `timeoutMs`) a failure that shows where it stands. */
export async function resultWithin<T>(handle: WorkflowHandle, timeoutMs = 45_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const progress = await handle.query(progressQuery).catch((e: unknown) => String(e));
      reject(new Error(`no result within ${timeoutMs} ms; progress: ${JSON.stringify(progress, null, 1)}`));
    }, timeoutMs);
  });
  try {
    return (await Promise.race([handle.result(), timeout])) as T;
  } finally {
    clearTimeout(timer);
  }
}
