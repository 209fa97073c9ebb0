import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { kmsflowCacheDir } from './cache-dir';

const execFileAsync = promisify(execFile);

/** The newest CLI tag that `go install` accepts (later tags carry a `replace` directive). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export const TEMPORAL_CLI_INSTALL_HINT =
  `No Temporal CLI found: set TEMPORAL_CLI_PATH to a 'temporal' binary, put 'temporal' on PATH, ` +
  `or install Go >= 1.25 so kmsflow can build it with 'go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}'.`;

export class TemporalCliNotFoundError extends Error {
  constructor(message = TEMPORAL_CLI_INSTALL_HINT) {
    super(message);
    this.name = 'TemporalCliNotFoundError';
  }
}

export function cachedTemporalCliPath(): string {
  return path.join(kmsflowCacheDir(), 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, binary))) return path.join(dir, binary);
  }
  return undefined;
}

/**
 * Finds a `temporal` CLI: TEMPORAL_CLI_PATH, then PATH, then the kmsflow cache; builds it into the
 * cache with Go when none is found. Throws TemporalCliNotFoundError with the install sentence otherwise.
 */
export async function findOrBuildTemporalCli(log: (line: string) => void = () => {}): Promise<string> {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new TemporalCliNotFoundError(
      `TEMPORAL_CLI_PATH=${explicit} is not an executable file: fix the path or unset it.`,
    );
  }
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;
  const cached = cachedTemporalCliPath();
  if (isExecutable(cached)) return cached;
  const go = findOnPath('go');
  if (!go) throw new TemporalCliNotFoundError();
  await buildTemporalCli(go, cached, log);
  return cached;
}

async function buildTemporalCli(go: string, target: string, log: (line: string) => void): Promise<void> {
  // Build into a private directory and rename, so two processes building at once never see half a binary.
  const staging = `${path.dirname(target)}.build-${process.pid}`;
  fs.mkdirSync(staging, { recursive: true });
  log(
    `Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go (once; cached in ${path.dirname(target)}) ...`,
  );
  const started = Date.now();
  try {
    await execFileAsync(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0' },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    const stderr =
      (err as { stderr?: string }).stderr?.trim().split('\n').slice(-5).join('\n') ?? String(err);
    throw new TemporalCliNotFoundError(
      `Building the Temporal CLI with Go failed:\n${stderr}\n${TEMPORAL_CLI_INSTALL_HINT}`,
    );
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.renameSync(path.join(staging, 'temporal'), target);
  fs.rmSync(staging, { recursive: true, force: true });
  log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)} s.`);
}
