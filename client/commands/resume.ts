import type { Command } from 'commander';
import { resumeSignal } from '../../workflows/messages';
import {
  addExamples,
  addJsonOption,
  addRequesterOption,
  requesterOf,
  workflowIdArgument,
  WORKFLOW_ID_HELP,
} from './support/options';
import { followHint, notWaitingFor, printActionResult, runningProcedure } from './support/operator';
import type { CommandModule } from './support/runtime';

export const resumeCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('resume')
      .argument('<workflowId>', WORKFLOW_ID_HELP)
      .description('Resume a paused procedure where it stopped.');
    addRequesterOption(command);
    addJsonOption(command);
    addExamples(command, ['kmsflow resume "$CLUSTER_ID"']);
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
