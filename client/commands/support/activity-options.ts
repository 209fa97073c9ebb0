/** The options of the commands that run a worker (`worker`, `dev`): which clients the activities use, and the task queue. */
import type { Command } from 'commander';
import {
  ActivityConfigError,
  type ActivitySource,
  activitySource,
  DEFAULT_SANDBOX_ENV_FILE,
  SANDBOX_ENV_FILE_VARIABLE,
} from '../../../worker/activity-source';
import { usageError } from './errors';
import { seconds } from './options';

export interface ActivityFlags {
  sandbox?: boolean;
  sandboxEnv?: string;
  armPollInterval?: number;
}

export function addActivityOptions(command: Command): Command {
  return command
    .option(
      '--sandbox',
      `act on the local sandbox (env file from $${SANDBOX_ENV_FILE_VARIABLE}, else ${DEFAULT_SANDBOX_ENV_FILE}) instead of Azure`,
    )
    .option(
      '--sandbox-env <file>',
      `act on the sandbox described by this env file (written by \`kmsflow sandbox start\`)`,
    )
    .option(
      '--arm-poll-interval <seconds>',
      'how often running ARM operations are polled (default 5)',
      seconds(0.05, 300),
    );
}

/** Sandbox or Azure, checked before anything connects; a missing env file is a usage error. */
export function resolveActivitySource(
  flags: ActivityFlags,
  env: Record<string, string | undefined>,
): ActivitySource {
  try {
    return activitySource({ sandbox: flags.sandbox, sandboxEnvFile: flags.sandboxEnv, env });
  } catch (err) {
    if (err instanceof ActivityConfigError) throw usageError(err.message);
    throw err;
  }
}

export function pollIntervalMs(flags: ActivityFlags): number | undefined {
  return flags.armPollInterval === undefined ? undefined : Math.round(flags.armPollInterval * 1000);
}
