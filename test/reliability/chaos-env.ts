/**
 * kmsflow with every part restartable, for chaos tests: a Temporal dev server on a SQLite file, a sandbox
 * with persisted state, and workers as their own processes (test/helpers/worker-process.ts) that can be
 * killed with SIGKILL and replaced. Restarts keep ports, so workers and clients reconnect by themselves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { type DevServer, startDevServer } from '../../client/dev-server';
import type { OperationLogEntry } from '../../sandbox/contracts';
import { type RunningSandbox, startSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import { buildWorkflowBundle } from '../../worker/bundle';
import { clusterId as formatClusterId } from '../../model/ids';
import { bundleWithLeakControl, runLeakControl } from '../helpers/leak-controls/run';
import { installQuietRuntime } from '../helpers/temporal-env';

export interface ChaosEnvOptions {
  operationDurationMs?: number;
  propagationDelayMs?: number;
  /** Extra environment for every worker process (e.g. a payload codec key). */
  workerEnv?: Record<string, string>;
  /** Log level of the worker processes' SDK logger; their output is kept for the Secret scan. */
  workerLogLevel?: 'DEBUG' | 'INFO' | 'WARN';
  /** The data converter of the test's own client (e.g. with the workers' payload codec). */
  clientDataConverter?: DataConverter;
  /**
   * The cluster whose scan-seed Secrets the planted-leak control leaks (test/helpers/leak-controls/): the
   * workers then also run the control, and `runLeakControl` starts it.
   */
  leakControlCluster?: string;
}

export interface ChaosEnv {
  readonly dir: string;
  readonly taskQueue: string;
  readonly sandbox: RunningSandbox;
  readonly client: Client;
  readonly devServer: DevServer;
  clusterId(name: string): string;
  vaultId(name: string): string;
  /** Called with every operation-log entry, also after sandbox restarts. */
  onOperation(listener: (entry: OperationLogEntry) => void): void;
  startWorker(): Promise<ChildProcess>;
  /** SIGKILLs the running worker process (no-op without one); synchronous so it can fire inside an oplog listener. */
  killWorker(): boolean;
  /** Waits for the killed worker to be gone, then starts a new one. */
  replaceWorker(): Promise<void>;
  /** Stops the dev server (SIGTERM, it shuts down cleanly) and starts it again on the same database and port. */
  restartDevServer(): Promise<void>;
  /** SIGKILLs the dev server process (no shutdown at all) and starts it again on the same database and port. */
  crashDevServer(): Promise<void>;
  /** Closes the sandbox (saving its state) and starts it again from its state directory on the same port. */
  restartSandbox(): Promise<void>;
  /** Stops the sandbox as a killed process would (unsaved changes lost) and starts it again from its state directory. */
  crashSandbox(): Promise<void>;
  /** Runs the planted-leak control workflow to its end (needs `leakControlCluster`). */
  runLeakControl(): Promise<void>;
  /** Everything the worker processes wrote to stdout and stderr. */
  workerOutput(): string;
  counts: {
    workerStarts: number;
    kills: number;
    devServerRestarts: number;
    devServerKills: number;
    sandboxRestarts: number;
    sandboxCrashes: number;
  };
  teardown(): Promise<void>;
}

export async function startChaosEnv(
  scenario: ScenarioInput,
  options: ChaosEnvOptions = {},
): Promise<ChaosEnv> {
  installQuietRuntime();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-chaos-'));
  const dbFile = path.join(dir, 'temporal.db');
  const stateDir = path.join(dir, 'sandbox');
  const envFile = path.join(dir, 'sandbox.env');
  const bundleFile = path.join(dir, 'bundle.js');
  const sandboxTiming = {
    operationDurationMs: options.operationDurationMs ?? 300,
    propagationDelayMs: options.propagationDelayMs ?? 200,
  };
  const taskQueue = `kmsflow-chaos-${Date.now()}`;

  let devServer = await startDevServer({ dbFile });
  const port = Number(devServer.address.split(':').pop());
  let sandbox = await startSandbox({
    scenario,
    stateDir,
    ...sandboxTiming,
    persistDebounceMs: 200,
    persistKubeDebounceMs: 2_000,
  });
  await sandbox.writeEnvFile(envFile);
  const controlKubeconfig = path.join(dir, 'leak-control.kubeconfig');
  if (options.leakControlCluster)
    fs.writeFileSync(controlKubeconfig, sandbox.kubeconfig(options.leakControlCluster, 'admin'));
  fs.writeFileSync(
    bundleFile,
    options.leakControlCluster ? await bundleWithLeakControl() : await buildWorkflowBundle(),
  );
  const client = new Client({
    connection: await Connection.connect({ address: devServer.address }),
    namespace: devServer.namespace,
    dataConverter: options.clientDataConverter,
  });

  const listeners: ((entry: OperationLogEntry) => void)[] = [];
  const attach = (s: RunningSandbox) => s.oplog.onRecord((entry) => listeners.forEach((l) => l(entry)));
  attach(sandbox);

  let worker: ChildProcess | undefined;
  const output: string[] = [];
  const counts = {
    workerStarts: 0,
    kills: 0,
    devServerRestarts: 0,
    devServerKills: 0,
    sandboxRestarts: 0,
    sandboxCrashes: 0,
  };
  const subscriptionId = sandbox.subscriptionId;
  const resourceGroup = scenario.subscriptions?.[0]?.resourceGroups?.[0]?.name ?? 'rg';

  async function startWorker(): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), path.resolve(__dirname, '../helpers/worker-process.ts')],
      {
        env: {
          ...process.env,
          ...options.workerEnv,
          TEMPORAL_ADDRESS: devServer.address,
          KMSFLOW_TASK_QUEUE: taskQueue,
          KMSFLOW_SANDBOX_ENV: envFile,
          KMSFLOW_WORKFLOW_BUNDLE: bundleFile,
          KMSFLOW_WORKER_LOG_LEVEL: options.workerLogLevel ?? 'INFO',
          ...(options.leakControlCluster ? { KMSFLOW_LEAK_CONTROLS_KUBECONFIG: controlKubeconfig } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    worker = child;
    counts.workerStarts++;
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => chunk.toString().includes('worker ready') && resolve();
      child.stdout!.on('data', onData);
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `worker process exited (${code ?? signal}) before it was ready:\n${output.slice(-5).join('')}`,
          ),
        ),
      );
    });
    return child;
  }

  function killWorker(): boolean {
    if (!worker || worker.exitCode !== null || worker.signalCode !== null) return false;
    worker.kill('SIGKILL');
    counts.kills++;
    return true;
  }

  async function replaceWorker(): Promise<void> {
    const old = worker;
    if (old && old.exitCode === null && old.signalCode === null)
      await new Promise((resolve) => old.once('exit', resolve));
    await startWorker();
  }

  return {
    dir,
    taskQueue,
    get sandbox() {
      return sandbox;
    },
    get devServer() {
      return devServer;
    },
    client,
    clusterId: (name) => formatClusterId({ subscriptionId, resourceGroup, name }),
    vaultId: (name) =>
      `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.KeyVault/vaults/${name}`,
    onOperation: (listener) => void listeners.push(listener),
    startWorker,
    killWorker,
    replaceWorker,
    async restartDevServer() {
      await devServer.stop();
      devServer = await startDevServer({ dbFile, port });
      counts.devServerRestarts++;
    },
    async crashDevServer() {
      // The server's own pid (not its guard's): the guard writes it next to the database.
      process.kill(Number(fs.readFileSync(`${dbFile}.pid`, 'utf8').trim()), 'SIGKILL');
      await devServer.stop();
      devServer = await startDevServer({ dbFile, port });
      counts.devServerKills++;
    },
    async restartSandbox() {
      await sandbox.close();
      sandbox = await startSandbox({
        stateDir,
        port: sandbox.port,
        ...sandboxTiming,
        persistDebounceMs: 200,
        persistKubeDebounceMs: 2_000,
      });
      attach(sandbox);
      counts.sandboxRestarts++;
    },
    async crashSandbox() {
      await sandbox.crash();
      sandbox = await startSandbox({
        stateDir,
        port: sandbox.port,
        ...sandboxTiming,
        persistDebounceMs: 200,
        persistKubeDebounceMs: 2_000,
      });
      attach(sandbox);
      counts.sandboxCrashes++;
    },
    runLeakControl: () => runLeakControl(client, taskQueue, (handle) => outcomeOf(handle, 120_000)),
    workerOutput: () => output.join(''),
    counts,
    async teardown() {
      if (worker && worker.exitCode === null) worker.kill('SIGKILL');
      await client.connection.close().catch(() => undefined);
      await sandbox.close();
      await devServer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The workflow's result, waiting through dev server restarts (the long poll fails while the server is
 * down); a workflow failure is thrown as is.
 */
export async function outcomeOf<T>(handle: WorkflowHandle, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await handle.result()) as T;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'WorkflowFailedError' || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/** The seeded choices of a chaos run (same seed, same schedule): the sandbox's own generator. */
export { seededRandom } from '../../sandbox/faults';
