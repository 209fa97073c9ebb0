import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { renderDeployment } from '../output/deployment-view';
import { readDeployment } from './support/deployment';
import { addExamples, addJsonOption } from './support/options';
import type { CommandModule } from './support/runtime';

export const versionsCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('versions')
      .description(
        "Show the kmsflow worker deployment's versions: which one new procedures start on, and how many running procedures each older one still serves (its workers can stop at 0).",
      );
    addJsonOption(command);
    addExamples(command, ['kmsflow versions', 'kmsflow versions --json']);
    command.action(
      runtime.action(async (ctx) => {
        const view = await readDeployment(await ctx.temporal());
        if (ctx.out.json) ctx.out.printJson(view);
        else ctx.out.lines(renderDeployment(view, ctx.out.style));
        return ExitCode.success;
      }),
    );
  },
};
