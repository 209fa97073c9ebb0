import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../workflows/messages';
import { findOrBuildTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  /** Serve the Temporal Web UI (demo, `kmsflow dev`); tests run headless. */
  ui?: boolean;
  uiPort?: number;
  /** A payload codec endpoint the Web UI calls to show encrypted payloads (`kmsflow codec-server`). */
  uiCodecEndpoint?: string;
  port?: number;
  /** Keep the server's state in this SQLite file across restarts. */
  dbFile?: string;
  namespace?: string;
  /** How long to wait for the frontend to answer; the SDK's own 5 s is too short on a busy 2-core machine. */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
  /** Server settings (`--dynamic-config-value KEY=VALUE`), e.g. a lower history length at which continue-as-new is suggested. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The conventional port when it is free (so default settings find the server), else any free port. */
export async function portOrFree(preferred: number): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(preferred, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  return free ? preferred : freePort();
}

/** Starts `temporal server start-dev` on loopback with kmsflow's search attributes, and waits until it serves. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const log = options.log ?? (() => {});
  const cli = await findOrBuildTemporalCli(log);
  const namespace = options.namespace ?? 'default';
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace];
  args.push('--log-level', 'warn', '--log-format', 'json');
  let uiUrl: string | undefined;
  if (options.ui) {
    const uiPort = options.uiPort ?? (await freePort());
    args.push('--ui-port', String(uiPort));
    uiUrl = `http://127.0.0.1:${uiPort}`;
    if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  } else {
    args.push('--headless');
  }
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${key.type}`);
  args.push('--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true');
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);

  if (options.dbFile) await stopStaleServer(options.dbFile, log);
  const child = spawnGuarded(cli, args, options.dbFile ? pidFileOf(options.dbFile) : undefined);
  const stderrTail: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail.push(...chunk.toString().split('\n').filter(Boolean));
    stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => killTree(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitUntilServing(address, namespace, options.readyTimeoutMs ?? 120_000, exited, () =>
      stderrTail.join('\n'),
    );
    await ensureSearchAttributes(address, namespace);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`Temporal dev server on ${address}${uiUrl ? `, Web UI at ${uiUrl}` : ''}`);
  return { address, namespace, uiUrl, pid: child.pid ?? -1, stop };
}

/**
 * Runs the server under a small shell guard that holds the read end of a pipe from this process: when this
 * process ends in any way (Ctrl-C, `kill -9`, the OOM killer), the pipe closes, the guard's `cat` returns and
 * it stops the server. `stop()` closes the pipe the same way. The server's pid goes to `pidFile`, so a later
 * start on the same database can find a server that outlived a guard killed on its own.
 */
const GUARD = [
  'trap "" INT',
  '"$@" </dev/null & pid=$!',
  'if [ -n "$KMSFLOW_DEV_SERVER_PIDFILE" ]; then echo "$pid" > "$KMSFLOW_DEV_SERVER_PIDFILE"; fi',
  'cat >/dev/null',
  'kill -TERM "$pid" 2>/dev/null',
  '( sleep 8; kill -KILL "$pid" 2>/dev/null ) </dev/null >/dev/null 2>&1 &',
  'wait "$pid"',
].join('\n');

function spawnGuarded(cli: string, args: string[], pidFile: string | undefined): ChildProcess {
  return spawn('/bin/sh', ['-c', GUARD, 'kmsflow-dev-server', cli, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true,
    env: { ...process.env, KMSFLOW_DEV_SERVER_PIDFILE: pidFile ?? '' },
  });
}

const pidFileOf = (dbFile: string) => `${dbFile}.pid`;

/**
 * A dev server left running on `dbFile` (by a kmsflow dev from before the guard, or whose guard was killed on
 * its own) holds the database and its ports: stop it, so this start takes over cleanly.
 */
async function stopStaleServer(dbFile: string, log: (line: string) => void): Promise<void> {
  const pidFile = pidFileOf(dbFile);
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  const alive = (): boolean => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dbFile);
    } catch {
      return false;
    }
  };
  if (!Number.isInteger(pid) || pid <= 0 || !alive()) return;
  log(
    `Stopping a Temporal dev server (pid ${pid}) left running on ${dbFile} by an earlier kmsflow that ended without stopping it ...`,
  );
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
  while (alive()) await new Promise((resolve) => setTimeout(resolve, 100));
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function waitUntilServing(
  address: string,
  namespace: string,
  timeoutMs: number,
  exited: Promise<number | null>,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`temporal server start-dev exited with code ${exitCode} before serving:\n${stderr()}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(
    `Temporal dev server at ${address} did not serve within ${timeoutMs / 1000} s: ${String(lastError)}`,
  );
}

/**
 * Registers kmsflow's search attributes on an existing namespace. Needed because `--search-attribute`
 * is ignored when the dev server reopens a database whose namespace already exists.
 */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTES.filter((key) => !(key.name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType(key.type)])),
    });
  } finally {
    await connection.close();
  }
}

function indexedValueType(type: string): temporal.api.enums.v1.IndexedValueType {
  const name = `INDEXED_VALUE_TYPE_${type}` as keyof typeof temporal.api.enums.v1.IndexedValueType;
  const value = temporal.api.enums.v1.IndexedValueType[name];
  if (value === undefined) throw new Error(`unknown search attribute type ${type}`);
  return value;
}
