import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { loadActivitiesFromEnv, loadWorkerMain } from './support/lazy';
import {
  type ActivityFlags,
  addActivityOptions,
  pollIntervalMs,
  resolveActivitySource,
} from './support/activity-options';
import { parseListenAddress } from '../../worker/health';
import { VERSIONING_MODES, type VersioningMode } from '../../worker/versioning';
import { usageError } from './support/errors';
import { addExamples, addTaskQueueOption, nonEmptyText, taskQueueOf } from './support/options';
import type { CommandModule } from './support/runtime';

type WorkerOptions = ActivityFlags & { taskQueue?: string; healthListen?: string; versioning?: string };

export const HEALTH_LISTEN_VARIABLE = 'KMSFLOW_HEALTH_LISTEN';
export const VERSIONING_VARIABLE = 'KMSFLOW_WORKER_VERSIONING';

export const workerCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('worker')
      .description(
        'Run a kmsflow worker against the Temporal service named by --address / --namespace / --profile or TEMPORAL_*.\n' +
          'Its activities act on Azure through DefaultAzureCredential (AZURE_* settings), or on the sandbox with --sandbox / --sandbox-env.',
      );
    addActivityOptions(command);
    addTaskQueueOption(command);
    command.option(
      '--health-listen <[host:]port>',
      `serve GET /healthz (200 while the worker runs) for liveness probes (default: $${HEALTH_LISTEN_VARIABLE}, else off)`,
      nonEmptyText('listen address'),
    );
    command.option(
      '--versioning <auto|manual|off>',
      `Worker Versioning: procedures stay on the version that started them. auto: this version becomes current at start; manual: the operator makes it current; off: unversioned (default: $${VERSIONING_VARIABLE}, else auto)`,
      nonEmptyText('versioning mode'),
    );
    addExamples(command, [
      'kmsflow worker --health-listen 0.0.0.0:8080            # in a pod: liveness and readiness probes',
      'TEMPORAL_ADDRESS=temporal.internal:7233 kmsflow worker',
      'kmsflow worker --sandbox                       # the sandbox of `kmsflow sandbox start`',
      'KMSFLOW_SANDBOX_ENV=/tmp/sb.env kmsflow --address 127.0.0.1:7233 worker',
    ]);
    command.action(
      runtime.action(async (ctx, opts: WorkerOptions) => {
        const source = resolveActivitySource(opts, ctx.io.env);
        const taskQueue = taskQueueOf(opts.taskQueue, ctx.io.env);
        const healthListen = opts.healthListen ?? (ctx.io.env[HEALTH_LISTEN_VARIABLE]?.trim() || undefined);
        if (healthListen) {
          try {
            parseListenAddress(healthListen);
          } catch (err) {
            throw usageError((err as Error).message);
          }
        }
        const versioning = (opts.versioning ?? ctx.io.env[VERSIONING_VARIABLE] ?? 'auto')
          .trim()
          .toLowerCase();
        if (!(VERSIONING_MODES as readonly string[]).includes(versioning)) {
          throw usageError(`--versioning "${versioning}" is not a versioning mode: use auto, manual or off.`);
        }
        const { runWorker } = await loadWorkerMain();
        const { buildActivities, describeSource } = await loadActivitiesFromEnv();
        const activities = buildActivities({
          source,
          temporal: await ctx.temporal(),
          taskQueue,
          pollIntervalMs: pollIntervalMs(opts),
        });
        ctx.out.note(`Activities act on ${describeSource(source)}.`);
        const temporal = await ctx.temporal();
        await runWorker({
          target: ctx.target(),
          activities,
          taskQueue,
          healthListen,
          versioning: versioning as VersioningMode,
          client: temporal,
        });
        return ExitCode.success;
      }),
    );
  },
};
