import type { Command } from 'commander';
import { resumeSignal } from '../../workflows/messages';
import { addExamples, addJsonOption, addRequesterOption, requesterOf, workflowIdArgument } from './support/options';
import { followHint, notWaitingFor, printActionResult, runningProcedure } from './support/operator';
import type { CommandModule } from './support/runtime';

export const resumeCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program.command('resume <workflowId>').description('Resume a paused procedure where it stopped.');
    addRequesterOption(command);
    addJsonOption(command);
    addExamples(command, ['kmsflow resume kmsflow-rotate-aks-prod-1']);
    command.action(
      runtime.action(async (ctx, workflowId: string, opts: { as?: string }) => {
        const id = workflowIdArgument(workflowId, 'resume');
        const requestedBy = requesterOf(opts.as, ctx.io.env);
        const { handle, snapshot } = await runningProcedure(ctx, id, 'resume');
        if (!snapshot.paused) throw notWaitingFor(snapshot, 'a resume');
        await handle.signal(resumeSignal, { requestedBy });
        return printActionResult(ctx, {
          workflowId: id,
          action: 'resume',
          requestedBy,
          result: null,
          message: `Resumed ${id}. ${followHint(id)}`,
        });
      }),
    );
  },
};
