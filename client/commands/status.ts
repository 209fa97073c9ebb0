import type { Command } from 'commander';
import { renderStatus } from '../output/procedure-view';
import { DEFAULT_LIST_LIMIT, printProcedures } from './list';
import {
  addExamples,
  addJsonOption,
  addRunOption,
  workflowIdArgument,
  WORKFLOW_ID_HELP,
} from './support/options';
import { readSnapshot } from './support/procedure-snapshot';
import type { CommandModule } from './support/runtime';

export const statusCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('status')
      .argument('[workflowId]', WORKFLOW_ID_HELP)
      .description(
        "Show one procedure's steps, progress, approvals and what it waits for; without an id, the running procedures.\n" +
          'Exit code: 0 running or completed, 3 waiting for an operator, 4 failed or cancelled, 5 unknown id.',
      );
    addRunOption(command);
    addJsonOption(command);
    addExamples(command, [
      'kmsflow status',
      'kmsflow status "$CLUSTER_ID"',
      'kmsflow status "$CLUSTER_ID" --run "$RUN_ID" --json',
    ]);
    command.action(
      runtime.action(async (ctx, workflowId: string | undefined, opts: { run?: string }) => {
        if (workflowId === undefined) return printProcedures(ctx, { status: 'running' }, DEFAULT_LIST_LIMIT);
        const id = workflowIdArgument(workflowId, 'status');
        const snapshot = await readSnapshot(await ctx.temporal(), id, opts.run);
        if (ctx.out.json) ctx.out.printJson(snapshot);
        else ctx.out.lines(renderStatus(snapshot, ctx.out.style));
        return snapshot.exitCode;
      }),
    );
  },
};
