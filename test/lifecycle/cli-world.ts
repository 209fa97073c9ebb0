/**
 * kmsflow as a user runs it, for acceptance tests: a Temporal dev server, `kmsflow sandbox start`, a
 * `kmsflow worker` process, and every command as a real `kmsflow` or `kubectl` process. Nothing here
 * chooses a workflow id or calls kmsflow's code in-process: the CLI does what it does for a user.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDevServer, type DevServer, type DevServerOptions } from '../../client/dev-server';
import type { ClusterInspection } from '../../sandbox/inspect';
import type { RunningSandbox } from '../../sandbox/sandbox';
import type { ScenarioInput } from '../../sandbox/scenario';
import { waitUntil } from '../helpers/wait';

const BIN = path.resolve('bin/kmsflow');

export interface ProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliWorld {
  dir: string;
  envFile: string;
  address: string;
  /** `kmsflow ARGS` as a process, with the Temporal address and the sandbox env file in its environment. */
  kmsflow(args: string[]): Promise<ProcessRun>;
  /** `kmsflow ARGS --json`, parsed; fails with the command's output when it exits with another code than `expectCode`. */
  kmsflowJson<T>(args: string[], expectCode?: number | number[]): Promise<T>;
  /** A `kmsflow` process left running (e.g. `start --watch`); resolves when it exits. */
  kmsflowBackground(args: string[]): { done: Promise<ProcessRun>; process: ChildProcess };
  /** `kubectl ARGS` against a sandbox cluster, with the kubeconfig `kmsflow sandbox kubeconfig` wrote. */
  kubectl(cluster: string, args: string[], stdin?: string): Promise<ProcessRun>;
  /** The article's storage migration, `kubectl get secrets -A -o json | kubectl replace -f -`, with pipefail. */
  seedPipeline(cluster: string): Promise<ProcessRun>;
  /** `kmsflow sandbox inspect --cluster NAME --json --entries`: ARM's view and what etcd stores under which key. */
  inspect(cluster: string): Promise<ClusterInspection>;
  /** What the worker process printed so far (its SDK log at WARN): for failure messages. */
  workerLog(): string;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  /** One more `kmsflow worker` process on the same task queue (several workers share the work); stopped at teardown. */
  startExtraWorker(): Promise<ChildProcess>;
  /** The process ids of the running worker processes (for memory figures). */
  workerPids(): number[];
  teardown(): Promise<void>;
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdin?: string,
): { done: Promise<ProcessRun>; process: ChildProcess } {
  const child = spawn(command, args, {
    env,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (stdin !== undefined) child.stdin!.end(stdin);
  const done = new Promise<ProcessRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
  return { done, process: child };
}

function describeRun(what: string, r: ProcessRun): string {
  return `${what} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

/** Waits until a long-running process prints `marker`; fails with its output when it exits first. */
function untilPrinted(child: ChildProcess, marker: RegExp, what: string, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${what} printed no ${marker} within ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (marker.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code} before printing ${marker}:\n${seen}`));
    });
  });
}

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * The re-encryption flags (`kmsflow start`, `campaign start`) that make procedures quick on small sandbox
 * clusters: small pages, a continue-as-new every few pages, no propagation wait, quick polls.
 */
export function fastReencryptFlags({
  pageSize = 20,
  pagesPerRun = 3,
  concurrency = 4,
  pollInterval = 0.2,
} = {}): string[] {
  return [
    '--page-size',
    String(pageSize),
    '--pages-per-run',
    String(pagesPerRun),
    '--concurrency',
    String(concurrency),
    '--propagation-wait',
    '0',
    '--poll-interval',
    String(pollInterval),
  ];
}

/**
 * `scenario`: the sandbox runs as `kmsflow sandbox start` with it. `sandbox`: a sandbox this process started
 * (the conformance tier attaches a real kube-apiserver to one in-process); the CLI reaches it through its
 * env file all the same.
 */
export type SandboxSource = { scenario: ScenarioInput } | { sandbox: RunningSandbox };

export async function startCliWorld(
  source: SandboxSource,
  options: { dynamicConfig?: DevServerOptions['dynamicConfig'] } = {},
): Promise<CliWorld> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmsflow-life-'));
  const envFile = path.join(dir, 'sandbox.env');
  const server: DevServer = await startDevServer({ log: () => undefined, ...options });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    USER: 'operator',
    NO_COLOR: '1',
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    KMSFLOW_SANDBOX_ENV: envFile,
  };
  let sandbox: ReturnType<typeof run> | undefined;
  if ('scenario' in source) {
    const scenarioFile = path.join(dir, 'scenario.json');
    fs.writeFileSync(scenarioFile, JSON.stringify(source.scenario));
    sandbox = run(BIN, ['sandbox', 'start', '--scenario', scenarioFile, '--sandbox-env', envFile], env);
  } else {
    await source.sandbox.writeEnvFile(envFile);
  }
  let worker: ChildProcess | undefined;
  let workerLog = '';
  const extraWorkers: ChildProcess[] = [];
  const workerArgs = ['worker', '--sandbox-env', envFile, '--arm-poll-interval', '0.2'];
  const kubeconfigs = new Map<string, string>();
  /** The kubeconfig `kmsflow sandbox kubeconfig` writes for a cluster, fetched once. */
  const kubeconfigOf = async (cluster: string): Promise<string> => {
    let file = kubeconfigs.get(cluster);
    if (!file) {
      file = path.join(dir, `${cluster}.kubeconfig`);
      const r = await run(BIN, ['sandbox', 'kubeconfig', '--cluster', cluster, '--file', file], env).done;
      if (r.code !== 0) throw new Error(describeRun(`kmsflow sandbox kubeconfig --cluster ${cluster}`, r));
      kubeconfigs.set(cluster, file);
    }
    return file;
  };

  const world: CliWorld = {
    dir,
    envFile,
    address: server.address,
    kmsflow: (args) => run(BIN, args, env).done,
    async kmsflowJson<T>(args: string[], expectCode: number | number[] = 0): Promise<T> {
      const r = await run(BIN, [...args, '--json'], env).done;
      const codes = Array.isArray(expectCode) ? expectCode : [expectCode];
      if (!codes.includes(r.code)) throw new Error(describeRun(`kmsflow ${args.join(' ')} --json`, r));
      try {
        return JSON.parse(r.stdout) as T;
      } catch {
        throw new Error(describeRun(`kmsflow ${args.join(' ')} --json (not JSON)`, r));
      }
    },
    kmsflowBackground: (args) => run(BIN, args, env),
    async kubectl(cluster, args, stdin) {
      return run('kubectl', args, { ...env, KUBECONFIG: await kubeconfigOf(cluster) }, stdin).done;
    },
    async seedPipeline(cluster) {
      const kubeconfig = await kubeconfigOf(cluster);
      return run(
        'bash',
        [
          '-o',
          'pipefail',
          '-c',
          'kubectl get secrets --all-namespaces -o json | kubectl replace -f - >/dev/null',
        ],
        { ...env, KUBECONFIG: kubeconfig },
      ).done;
    },
    workerLog: () => workerLog,
    inspect: (cluster) =>
      world.kmsflowJson<ClusterInspection>(['sandbox', 'inspect', '--cluster', cluster, '--entries']),
    async startWorker() {
      if (worker && worker.exitCode === null && worker.signalCode === null)
        throw new Error('a kmsflow worker process already runs in this world: stopWorker() first');
      const child = run(BIN, workerArgs, env);
      worker = child.process;
      child.process.stdout!.on('data', (c: Buffer) => (workerLog += c.toString()));
      child.process.stderr!.on('data', (c: Buffer) => (workerLog += c.toString()));
      await untilPrinted(child.process, /polling task queue/, 'kmsflow worker');
    },
    async stopWorker() {
      await stop(worker, 'SIGTERM');
      worker = undefined;
    },
    workerPids: () =>
      [worker, ...extraWorkers]
        .filter((w): w is ChildProcess => !!w && w.exitCode === null && w.signalCode === null)
        .map((w) => w.pid!),
    async startExtraWorker() {
      const child = run(BIN, workerArgs, env);
      extraWorkers.push(child.process);
      await untilPrinted(child.process, /polling task queue/, 'kmsflow worker');
      return child.process;
    },
    async teardown() {
      for (const extra of extraWorkers) await stop(extra, 'SIGTERM');
      await stop(worker, 'SIGTERM');
      await stop(sandbox?.process);
      await server.stop();
      if (process.env.KMSFLOW_KEEP_TEST_DIRS !== '1') fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (sandbox) await untilPrinted(sandbox.process, /Press Ctrl-C to stop/, 'kmsflow sandbox start');
    await waitUntil(
      async () => fs.existsSync(envFile),
      (exists) => exists,
      { what: 'the sandbox env file', timeoutMs: 10_000 },
    );
    await world.startWorker();
  } catch (err) {
    await world.teardown();
    throw err;
  }
  return world;
}
