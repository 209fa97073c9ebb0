/**
 * Request/response over Node's IPC channel, so each part of the benchmark (sandbox server, Temporal
 * worker, raw client) runs in its own process: contenders do not share the server's event loop, and
 * each process reports its own peak RSS.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

type Handlers = Record<string, (arg: never) => Promise<unknown>>;

interface RequestMessage {
  id: number;
  op: string;
  arg: unknown;
}

type ReplyMessage = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Peak resident set size of a process so far (the kernel's high-water mark), in MB; this one by default. */
export function peakRssMb(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb) return Math.round(Number(kb) / 1024);
  if (pid === 'self') return Math.round(process.memoryUsage().rss / 1e6);
  throw new Error(`/proc/${pid}/status has no VmHWM`);
}

/** User + system CPU seconds of another process so far (/proc counts in USER_HZ, 100 per second on Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) " (comm may hold spaces and parentheses), utime and stime are the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The CPU seconds of a process and all its descendants alive now (e.g. a server under a shell guard). */
export function treeCpuSecondsOf(pid: number): number {
  const read = <T>(what: () => T, gone: T): T => {
    try {
      return what();
    } catch (err) {
      // A process or thread that ended meanwhile; anything else (no /proc children file) must not pass as 0.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH')
        return gone;
      throw err;
    }
  };
  const children = read(() => readdirSync(`/proc/${pid}/task`), []).flatMap((task) =>
    read(() => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8'), '')
      .split(' ')
      .filter(Boolean)
      .map(Number),
  );
  return read(() => cpuSecondsOf(pid), 0) + children.reduce((sum, child) => sum + treeCpuSecondsOf(child), 0);
}

/** What a process has spent so far; CPU and GC are cumulative, so a measurement subtracts a reading taken before it. */
export interface RuntimeStats {
  peakRssMb: number;
  /** User + system CPU time. */
  cpuS: number;
  /** Time the main thread spent in garbage collection, and how many collections. */
  gcS: number;
  gcCount: number;
  /** Largest V8 heap in use seen by a 250 ms sampler. */
  peakHeapMb: number;
}

/** The part of `after` spent since `before` (peaks stay peaks). */
export const statsSince = (before: RuntimeStats, after: RuntimeStats): RuntimeStats => ({
  ...after,
  cpuS: after.cpuS - before.cpuS,
  gcS: after.gcS - before.gcS,
  gcCount: after.gcCount - before.gcCount,
});

/** Starts counting this process's GC time and sampling its heap; returns the reader. */
function watchRuntime(): () => RuntimeStats {
  const gc = { ms: 0, count: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.ms += entry.duration;
      gc.count++;
    }
  }).observe({ entryTypes: ['gc'] });
  let peakHeap = 0;
  const sample = () => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  setInterval(sample, 250).unref();
  return () => {
    sample();
    const cpu = process.cpuUsage();
    return {
      peakRssMb: peakRssMb(),
      cpuS: (cpu.user + cpu.system) / 1e6,
      gcS: gc.ms / 1000,
      gcCount: gc.count,
      peakHeapMb: Math.round(peakHeap / 2 ** 20),
    };
  };
}

/** Child side: answers requests with the given handlers; `peakRss` and `runtimeStats` are always available. */
export function serveRequests(handlers: Handlers): void {
  const runtimeStats = watchRuntime();
  const all: Handlers = {
    ...handlers,
    peakRss: async () => peakRssMb(),
    runtimeStats: async () => runtimeStats(),
  };
  process.on('message', (m: RequestMessage) => {
    const handler = all[m.op];
    const reply = (r: ReplyMessage) => process.send?.(r);
    if (!handler) return reply({ id: m.id, ok: false, error: `unknown request '${m.op}'` });
    handler(m.arg as never).then(
      (result) => reply({ id: m.id, ok: true, result }),
      (err: unknown) =>
        reply({
          id: m.id,
          ok: false,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

export interface BenchChild<H extends Handlers> {
  pid: number;
  call<K extends keyof H & string>(op: K, arg: Parameters<H[K]>[0]): Promise<Awaited<ReturnType<H[K]>>>;
  peakRssMb(): Promise<number>;
  runtimeStats(): Promise<RuntimeStats>;
  stop(): Promise<void>;
}

/** Parent side: forks `file` (a TypeScript module run through the same loader as this process). */
export function startChild<H extends Handlers>(file: string, execArgv: string[] = []): BenchChild<H> {
  const child: ChildProcess = fork(file, ['--child'], {
    execArgv: [...process.execArgv, ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on('message', (m: ReplyMessage) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values())
      p.reject(new Error(`${file} exited (${code ?? signal}) with a request pending`));
    pending.clear();
  });
  const call = (op: string, arg: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, arg } satisfies RequestMessage);
    });
  return {
    pid: child.pid ?? 0,
    call: call as BenchChild<H>['call'],
    peakRssMb: () => call('peakRss', undefined) as Promise<number>,
    runtimeStats: () => call('runtimeStats', undefined) as Promise<RuntimeStats>,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const isChild = () => process.argv.includes('--child');
