import type { Command } from 'commander';
import { approveUpdate } from '../../workflows/messages';
import { usageError } from './support/errors';
import {
  addExamples,
  addJsonOption,
  addRequesterOption,
  nonEmptyText,
  requesterOf,
  workflowIdArgument,
  WORKFLOW_ID_HELP,
} from './support/options';
import {
  followHint,
  notWaitingFor,
  printActionResult,
  runningProcedure,
  sendUpdate,
} from './support/operator';
import type { CommandModule } from './support/runtime';

interface ApproveOptions {
  as?: string;
  comment?: string;
}

export const approveCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('approve')
      .argument('<workflowId>', WORKFLOW_ID_HELP)
      .argument('[gate]', 'the gate to approve (default: the one the procedure waits at)')
      .description('Approve the gate a procedure waits at (the gate defaults to the one waiting).')
      .option('--comment <text>', 'why it is approved, recorded with the approval', nonEmptyText('comment'));
    addRequesterOption(command, 'who approves');
    addJsonOption(command);
    addExamples(command, [
      'kmsflow approve "$CLUSTER_ID"',
      'kmsflow approve "$CLUSTER_ID" disable-kms --as alice --comment "change CHG-1234"',
    ]);
    command.action(
      runtime.action(async (ctx, workflowId: string, gate: string | undefined, opts: ApproveOptions) => {
        const id = workflowIdArgument(workflowId, 'approve');
        const approver = requesterOf(opts.as, ctx.io.env);
        if (gate !== undefined && gate.trim() === '')
          throw usageError('The gate must not be empty: leave it out to approve the gate that waits.');
        const { handle, snapshot } = await runningProcedure(ctx, id, 'approve');
        const waiting = snapshot.waitingFor?.kind === 'approval' ? snapshot.waitingFor.gate : null;
        const gateId = gate?.trim() ?? waiting;
        if (!gateId) throw notWaitingFor(snapshot, 'an approval');
        const approval = await sendUpdate(
          handle,
          approveUpdate,
          { gate: gateId, approver, comment: opts.comment },
          `approve gate "${gateId}"`,
        );
        return printActionResult(ctx, {
          workflowId: id,
          action: 'approve',
          requestedBy: approver,
          result: approval,
          message: `Approved gate "${gateId}" of ${id} as ${approver}; the procedure goes on. ${followHint(id)}`,
        });
      }),
    );
  },
};
