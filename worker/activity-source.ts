/**
 * Which clients kmsflow's activities use, decided from configuration without touching the network:
 * the sandbox when a sandbox env file is named (`--sandbox-env FILE`, `--sandbox`, or KMSFLOW_SANDBOX_ENV),
 * otherwise Azure with DefaultAzureCredential (which reads the usual AZURE_* settings). Kept free of the
 * Azure and Kubernetes SDKs so the CLI can check it cheaply; `activities-from-env.ts` builds the clients.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { readSandboxEnv } from '../sandbox/env-file';

/** Where `kmsflow sandbox start` writes its env file unless told otherwise. */
export const DEFAULT_SANDBOX_ENV_FILE = path.join('.kmsflow', 'sandbox.env');
export const SANDBOX_ENV_FILE_VARIABLE = 'KMSFLOW_SANDBOX_ENV';

export interface ActivitySourceOptions {
  /** `--sandbox`: use the sandbox env file (KMSFLOW_SANDBOX_ENV, else the default path). */
  sandbox?: boolean;
  /** `--sandbox-env FILE`: use this sandbox env file. */
  sandboxEnvFile?: string;
  env: Record<string, string | undefined>;
}

export type ActivitySource = { kind: 'sandbox'; envFile: string } | { kind: 'azure' };

export class ActivityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActivityConfigError';
  }
}

/** Which clients the activities use; decided without touching the network. */
export function activitySource(options: ActivitySourceOptions): ActivitySource {
  const fromEnv = options.env[SANDBOX_ENV_FILE_VARIABLE]?.trim();
  const file =
    options.sandboxEnvFile?.trim() || (options.sandbox ? fromEnv || DEFAULT_SANDBOX_ENV_FILE : fromEnv);
  if (!file) return { kind: 'azure' };
  if (!existsSync(file)) {
    throw new ActivityConfigError(
      `No sandbox env file at ${file}: start a sandbox with \`kmsflow sandbox start --sandbox-env ${file}\`, or leave out --sandbox and ${SANDBOX_ENV_FILE_VARIABLE} to use Azure.`,
    );
  }
  let complete = false;
  try {
    complete = readSandboxEnv({ file }) !== undefined;
  } catch {
    // unreadable file or CA: reported below
  }
  if (!complete) {
    throw new ActivityConfigError(
      `${file} is not a complete sandbox env file: write it again with \`kmsflow sandbox start --sandbox-env ${file}\`.`,
    );
  }
  return { kind: 'sandbox', envFile: path.resolve(file) };
}

/** One line for the worker's start-up message. */
export function describeSource(source: ActivitySource): string {
  return source.kind === 'sandbox' ? `sandbox (${source.envFile})` : 'Azure (DefaultAzureCredential)';
}
