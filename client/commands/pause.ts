import type { Command } from 'commander';
import { pauseSignal } from '../../workflows/messages';
import {
  addExamples,
  addJsonOption,
  addRequesterOption,
  requesterOf,
  workflowIdArgument,
  WORKFLOW_ID_HELP,
} from './support/options';
import { printActionResult, runningProcedure } from './support/operator';
import { shellWord } from '../../workflows/engine/details';
import type { CommandModule } from './support/runtime';

export const pauseCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('pause')
      .argument('<workflowId>', WORKFLOW_ID_HELP)
      .description(
        'Pause a procedure at its next checkpoint (between steps, or between batches of a long step).',
      );
    addRequesterOption(command);
    addJsonOption(command);
    addExamples(command, ['kmsflow pause "$CLUSTER_ID"', 'kmsflow pause "$CLUSTER_ID" --as alice --json']);
    command.action(
      runtime.action(async (ctx, workflowId: string, opts: { as?: string }) => {
        const id = workflowIdArgument(workflowId, 'pause');
        const requestedBy = requesterOf(opts.as, ctx.io.env);
        const { handle, snapshot } = await runningProcedure(ctx, id, 'pause');
        const resume = `\`kmsflow resume ${shellWord(id)}\` continues it.`;
        if (!snapshot.paused) await handle.signal(pauseSignal, { requestedBy });
        return printActionResult(ctx, {
          workflowId: id,
          action: 'pause',
          requestedBy,
          result: null,
          message: snapshot.paused
            ? `${id} is already paused; ${resume}`
            : `Pause requested: ${id} stops at its next checkpoint; ${resume}`,
        });
      }),
    );
  },
};
