import type { Command } from 'commander';
import { ExitCode } from '../exit-codes';
import { renderPlan, renderStart } from '../output/plan-view';
import type { PlanResult } from '../output/shapes';
import {
  addExamples,
  addJsonOption,
  addRequesterOption,
  addTaskQueueOption,
  requesterOf,
  seconds,
  taskQueueOf,
} from './support/options';
import {
  addProcedureOptions,
  PROCEDURE_ARGUMENT_HELP,
  type ProcedureFlags,
  procedureRequest,
} from './support/procedure-request';
import { planResult, runPlan, startProcedure } from './support/procedure-runs';
import type { CommandModule } from './support/runtime';
import { watchProcedure } from './watch';

type StartOptions = ProcedureFlags & {
  taskQueue?: string;
  as?: string;
  uiUrl?: string;
  preflight?: boolean;
  watch?: boolean;
  interval: number;
  exitOnWait?: boolean;
};

export const UI_URL_VARIABLE = 'KMSFLOW_UI_URL';

export const startCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('start')
      .argument('<procedure>', PROCEDURE_ARGUMENT_HELP)
      .description(
        'Start a procedure on a cluster (one per cluster at a time) and print its workflow id and the commands to follow it.\n' +
          'Exit code: 0 started (with --watch: the outcome, as `watch`), 2 bad arguments or a procedure already runs on the cluster.',
      );
    addProcedureOptions(command);
    command
      .option(
        '--preflight',
        'plan first (needs a worker): refuse to start when preflight finds errors, and record the planned steps in the workflow details',
      )
      .option('--watch', 'follow the procedure until it ends, like `kmsflow watch`')
      .option('--interval <seconds>', 'with --watch: how often to poll (default 1)', seconds(0.1, 60), 1)
      .option(
        '--exit-on-wait',
        'with --watch: stop with exit code 3 when the procedure waits for an operator',
      )
      .option(
        '--ui-url <url>',
        `the Temporal Web UI, to print a link to the workflow (default: $${UI_URL_VARIABLE})`,
      );
    addRequesterOption(command, 'who starts it');
    addTaskQueueOption(command);
    addJsonOption(command);
    addExamples(command, [
      'kmsflow start enable --cluster "$CLUSTER_ID" --key-id "$KEY_ID" --watch',
      'kmsflow start rotate --cluster "$CLUSTER_ID" --key-id "$NEW_KEY_ID" --preflight',
      'kmsflow start disable --cluster "$CLUSTER_ID" --approve disable-kms --as alice',
      'kmsflow start switch-mode --cluster "$CLUSTER_ID" --mode Private --vault-id "$VAULT_ID" --approve all',
      'kmsflow start retire --cluster "$CLUSTER_ID" --how expire --json',
    ]);
    command.action(
      runtime.action(async (ctx, procedure: string, opts: StartOptions) => {
        const requestedBy = requesterOf(opts.as, ctx.io.env);
        const request = procedureRequest(procedure, opts, ctx.io.env, requestedBy);
        const taskQueue = taskQueueOf(opts.taskQueue, ctx.io.env);
        const client = await ctx.temporal();
        let plan: PlanResult | undefined;
        if (opts.preflight) {
          const planned = await runPlan(client, request, taskQueue);
          plan = planResult(planned.plan, planned.workflowId);
          if (!plan.ok) {
            if (ctx.out.json) ctx.out.printJson(plan);
            else ctx.out.lines(renderPlan(plan, ctx.out.style));
            ctx.out.note(`kmsflow: preflight found errors; ${request.key} was not started.`);
            return ExitCode.usage;
          }
        }
        const uiUrl = opts.uiUrl ?? (ctx.io.env[UI_URL_VARIABLE]?.trim() || undefined);
        const started = await startProcedure(client, request, { taskQueue, requestedBy, plan, uiUrl });
        if (ctx.out.json) ctx.out.printJson(started, { stream: opts.watch === true });
        else ctx.out.lines(renderStart(started, ctx.out.style));
        if (!opts.watch) return ExitCode.success;
        if (!ctx.out.json) ctx.out.line();
        return watchProcedure(ctx, started.workflowId, {
          interval: opts.interval,
          exitOnWait: opts.exitOnWait,
        });
      }),
    );
  },
};
