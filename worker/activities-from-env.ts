/**
 * The one place that turns configuration into the worker's activities (used by `kmsflow worker`,
 * `kmsflow dev` and the demo): sandbox or production clients (see activity-source.ts) plus the Temporal
 * client the key ledger needs.
 */
import type { Client } from '@temporalio/client';
import { createActivities, type Activities } from '../activities';
import { type ClientFactory, createProductionClients } from '../activities/clients';
import { createSandboxClients } from './sandbox-clients';
import { readSandboxEnv } from '../sandbox/env-file';
import { TASK_QUEUE } from '../workflows/messages';
import { procedureNamed } from '../workflows/procedures';
import { ActivityConfigError, type ActivitySource } from './activity-source';

export {
  activitySource,
  ActivityConfigError,
  DEFAULT_SANDBOX_ENV_FILE,
  describeSource,
  SANDBOX_ENV_FILE_VARIABLE,
} from './activity-source';
export type { ActivitySource, ActivitySourceOptions } from './activity-source';

export function clientsFor(source: ActivitySource): ClientFactory {
  if (source.kind === 'azure') return createProductionClients();
  const sandbox = readSandboxEnv({ file: source.envFile });
  if (!sandbox)
    throw new ActivityConfigError(`${source.envFile} is not a complete sandbox env file any more.`);
  return createSandboxClients(sandbox.endpoints, sandbox.principal);
}

export interface BuildActivitiesOptions {
  source: ActivitySource;
  /** The Temporal client of the key ledger (an entity workflow per cluster); same target as the worker. */
  temporal: Client;
  taskQueue?: string;
  /** How often running ARM operations are polled (default 5 s). */
  pollIntervalMs?: number;
}

export function buildActivities(options: BuildActivitiesOptions): Activities {
  return createActivities({
    clients: clientsFor(options.source),
    temporal: options.temporal,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    pollIntervalMs: options.pollIntervalMs,
    preflight: {
      estateSubscriptions: estateSubscriptionsFromEnv(process.env),
      procedureRules: (name) => procedureNamed(name)?.definition.rules,
    },
  });
}

/** `KMSFLOW_ESTATE_SUBSCRIPTIONS`: subscriptions (comma-separated) whose clusters every safety check includes. */
export const ESTATE_SUBSCRIPTIONS_VARIABLE = 'KMSFLOW_ESTATE_SUBSCRIPTIONS';

export function estateSubscriptionsFromEnv(env: NodeJS.ProcessEnv): string[] {
  return (env[ESTATE_SUBSCRIPTIONS_VARIABLE] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
