import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { renderPlan } from '../output/plan-view';
import { addExamples, addJsonOption, addTaskQueueOption, taskQueueOf } from './support/options';
import {
  addProcedureOptions,
  PROCEDURE_ARGUMENT_HELP,
  type ProcedureFlags,
  procedureRequest,
} from './support/procedure-request';
import { planResult, runPlan } from './support/procedure-runs';
import type { CommandModule } from './support/runtime';

export const planCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('plan')
      .argument('<procedure>', PROCEDURE_ARGUMENT_HELP)
      .description(
        'Show what a procedure would do, without changing anything: preflight findings with fixes, the ordered steps with\n' +
          'their gates and equivalent az/kubectl commands, Secrets in scope, estimated duration, key slots before and after.\n' +
          'Needs a running worker. Exit code: 0 preflight passes, 2 preflight found errors (or bad arguments), 5 no such cluster.',
      );
    addProcedureOptions(command);
    addTaskQueueOption(command);
    addJsonOption(command);
    addExamples(command, [
      'kmsflow plan enable --cluster "$CLUSTER_ID" --key-id "$KEY_ID"',
      'kmsflow plan enable --resource-group rg-prod --name aks-prod-1 --key-id "$KEY_ID" --mode Private --vault-id "$VAULT_ID"',
      'kmsflow plan retire --cluster "$CLUSTER_ID" --json | jq .slots',
      'kmsflow plan migrate-v2 --cluster "$CLUSTER_ID" --target-version 1.29',
    ]);
    command.action(
      runtime.action(async (ctx, procedure: string, opts: ProcedureFlags & { taskQueue?: string }) => {
        const request = procedureRequest(procedure, opts, ctx.io.env);
        const { plan, workflowId } = await runPlan(
          await ctx.temporal(),
          request,
          taskQueueOf(opts.taskQueue, ctx.io.env),
        );
        const result = planResult(plan, workflowId);
        if (ctx.out.json) ctx.out.printJson(result);
        else ctx.out.lines(renderPlan(result, ctx.out.style));
        return result.ok ? ExitCode.success : ExitCode.usage;
      }),
    );
  },
};
