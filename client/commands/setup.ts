import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { findOrBuildTemporalCli } from '../temporal-cli';
import { addExamples } from './support/options';
import type { CommandModule } from './support/runtime';

export const setupCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('setup')
      .description(
        'Find or build the tools kmsflow runs locally (the Temporal CLI, built once with Go and cached).',
      );
    addExamples(command, ['kmsflow setup', 'TEMPORAL_CLI_PATH=/opt/temporal/bin/temporal kmsflow setup']);
    command.action(
      runtime.action(async (ctx) => {
        const cli = await findOrBuildTemporalCli((line) => ctx.out.line(line));
        ctx.out.line(`temporal CLI: ${cli}`);
        return ExitCode.success;
      }),
    );
  },
};
