/** Drives the kmsflow CLI in-process through `main(argv, io)` and captures what it writes. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { main } from '../../client/cli';
import type { CliIo } from '../../client/commands/support/runtime';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  isTTY?: boolean;
  columns?: number;
  /** Called with a function that simulates Ctrl-C. */
  onStart?: (interrupt: () => void) => void;
  /** Sees every stdout write as it happens. */
  onStdout?: (soFar: string) => void;
}

export async function runCli(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const handlers = new Set<() => void>();
  const io: CliIo = {
    stdout: {
      write: (text: string) => {
        stdout += text;
        options.onStdout?.(stdout);
        return true;
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? { USER: 'tester' },
    isTTY: options.isTTY ?? false,
    columns: options.columns,
    onInterrupt(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
  options.onStart?.(() => handlers.forEach((h) => h()));
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** Runs `./bin/kmsflow` as a real process. */
export function runBinary(argv: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.resolve('bin/kmsflow'), argv, {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
