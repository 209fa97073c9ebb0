import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { loadActivitiesFromEnv, loadWorkerMain } from './support/lazy';
import { type ActivityFlags, addActivityOptions, pollIntervalMs, resolveActivitySource } from './support/activity-options';
import { parseListenAddress } from '../../worker/health';
import { usageError } from './support/errors';
import { addExamples, addTaskQueueOption, nonEmptyText, taskQueueOf } from './support/options';
import type { CommandModule } from './support/runtime';

type WorkerOptions = ActivityFlags & { taskQueue?: string; healthListen?: string };

export const HEALTH_LISTEN_VARIABLE = 'KMSFLOW_HEALTH_LISTEN';

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
    command.option('--health-listen <[host:]port>', `serve GET /healthz (200 while the worker runs) for liveness probes (default: $${HEALTH_LISTEN_VARIABLE}, else off)`, nonEmptyText('listen address'));
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
        const { runWorker } = await loadWorkerMain();
        const { buildActivities, describeSource } = await loadActivitiesFromEnv();
        const activities = buildActivities({ source, temporal: await ctx.temporal(), taskQueue, pollIntervalMs: pollIntervalMs(opts) });
        ctx.out.note(`Activities act on ${describeSource(source)}.`);
        await runWorker({ target: ctx.target(), activities, taskQueue, healthListen });
        return ExitCode.success;
      }),
    );
  },
};
