/** A long-running child process with its output in a log file, a readiness wait and a reliable stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** If the test process dies without stopping its children, do not leave an apiserver or etcd behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export class ManagedProcess {
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    running.add(child);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        running.delete(child);
        this.exitCode = code ?? (signal ? null : -1);
        resolve(this.exitCode);
      }),
    );
  }

  static spawn(name: string, binary: string, args: string[], logFile: string): ManagedProcess {
    installExitHook();
    const log = fs.openSync(logFile, 'a');
    const child = spawn(binary, args, {
      stdio: ['ignore', log, log],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
    });
    fs.closeSync(log);
    return new ManagedProcess(name, child, logFile);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  /** The last lines of the log, for error messages when startup fails. */
  logTail(lines = 20): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Polls `probe` until it returns true; fails early with the log tail if the process exits. */
  async waitUntil(
    what: string,
    probe: () => Promise<boolean>,
    timeoutMs: number,
    intervalMs = 250,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (this.hasExited)
        throw new Error(`${this.name} exited (code ${this.exitCode}) before ${what}:\n${this.logTail()}`);
      try {
        if (await probe()) return;
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw new Error(
      `${this.name} not ${what} within ${timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}:\n${this.logTail()}`,
    );
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A free TCP port on 127.0.0.1 (released again before use; the race is acceptable on loopback tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
