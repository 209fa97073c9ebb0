import type { Command } from 'commander';
import { cancelUpdate } from '../../workflows/messages';
import { usageError } from './support/errors';
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

export const cancelCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('cancel')
      .argument('<workflowId>', WORKFLOW_ID_HELP)
      .description(
        'Stop a procedure during or after its current step; the reason is recorded in the procedure.',
      )
      .option('--reason <text>', 'why the procedure is stopped (required)');
    addRequesterOption(command);
    addJsonOption(command);
    addExamples(command, ['kmsflow cancel "$CLUSTER_ID" --reason "change window closed"']);
    command.action(
      runtime.action(async (ctx, workflowId: string, opts: { as?: string; reason?: string }) => {
        const id = workflowIdArgument(workflowId, 'cancel');
        const reason = opts.reason?.trim();
        if (!reason)
          throw usageError(
            `Say why: kmsflow cancel ${id} --reason "..." (the reason is recorded in the procedure).`,
          );
        const requestedBy = requesterOf(opts.as, ctx.io.env);
        const { handle } = await runningProcedure(ctx, id, 'cancel');
        const result = await sendUpdate(handle, cancelUpdate, { reason, requestedBy }, 'cancel');
        return printActionResult(ctx, {
          workflowId: id,
          action: 'cancel',
          requestedBy,
          result,
          message: `Cancelling ${id} (${reason}). ${followHint(id)}`,
        });
      }),
    );
  },
};
