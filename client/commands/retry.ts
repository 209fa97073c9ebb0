import type { Command } from 'commander';
import { retryUpdate } from '../../workflows/messages';
import {
  addExamples,
  addJsonOption,
  addRequesterOption,
  requesterOf,
  workflowIdArgument,
  WORKFLOW_ID_HELP,
} from './support/options';
import { followHint, printActionResult, runningProcedure, sendUpdate } from './support/operator';
import type { CommandModule } from './support/runtime';

export const retryCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('retry')
      .argument('<workflowId>', WORKFLOW_ID_HELP)
      .description(
        'Run the blocked step again, after its cause was fixed (`kmsflow status` shows the cause and the fix).',
      );
    addRequesterOption(command);
    addJsonOption(command);
    addExamples(command, ['kmsflow retry "$CLUSTER_ID"', 'kmsflow retry "$CLUSTER_ID" --as alice --json']);
    command.action(
      runtime.action(async (ctx, workflowId: string, opts: { as?: string }) => {
        const id = workflowIdArgument(workflowId, 'retry');
        const requestedBy = requesterOf(opts.as, ctx.io.env);
        const { handle } = await runningProcedure(ctx, id, 'retry');
        const retried = await sendUpdate(handle, retryUpdate, { requestedBy }, 'retry');
        return printActionResult(ctx, {
          workflowId: id,
          action: 'retry',
          requestedBy,
          result: retried,
          message: `Retrying step "${retried.step}" of ${id} (attempt ${retried.attempt}). ${followHint(id)}`,
        });
      }),
    );
  },
};
