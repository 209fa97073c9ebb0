import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { loadActivitiesFromEnv, loadWorkerMain } from './support/lazy';
import { type ActivityFlags, addActivityOptions, pollIntervalMs, resolveActivitySource } from './support/activity-options';
import { addExamples, addTaskQueueOption, taskQueueOf } from './support/options';
import type { CommandModule } from './support/runtime';

type WorkerOptions = ActivityFlags & { taskQueue?: string };

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
    addExamples(command, [
      'TEMPORAL_ADDRESS=temporal.internal:7233 kmsflow worker',
      'kmsflow worker --sandbox                       # the sandbox of `kmsflow sandbox start`',
      'KMSFLOW_SANDBOX_ENV=/tmp/sb.env kmsflow --address 127.0.0.1:7233 worker',
    ]);
    command.action(
      runtime.action(async (ctx, opts: WorkerOptions) => {
        const source = resolveActivitySource(opts, ctx.io.env);
        const taskQueue = taskQueueOf(opts.taskQueue, ctx.io.env);
        const { runWorker } = await loadWorkerMain();
        const { buildActivities, describeSource } = await loadActivitiesFromEnv();
        const activities = buildActivities({ source, temporal: await ctx.temporal(), taskQueue, pollIntervalMs: pollIntervalMs(opts) });
        ctx.out.note(`Activities act on ${describeSource(source)}.`);
        await runWorker({ target: ctx.target(), activities, taskQueue });
        return ExitCode.success;
      }),
    );
  },
};
