import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { addExamples } from './support/options';
import type { CommandModule } from './support/runtime';

export const workerCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('worker')
      .description('Run a kmsflow worker against the Temporal service named by --address / --namespace / --profile or TEMPORAL_*.');
    addExamples(command, ['TEMPORAL_ADDRESS=temporal.internal:7233 kmsflow worker', 'kmsflow --address 127.0.0.1:7233 worker']);
    command.action(
      runtime.action(async (ctx) => {
        // Loaded on demand: the worker SDK (native core, bundler) is not needed by the other commands.
        const { runWorker } = await import('../../worker/main');
        await runWorker({ target: ctx.target(), activities: {} });
        return ExitCode.success;
      }),
    );
  },
};
