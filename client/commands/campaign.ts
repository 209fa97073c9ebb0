import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import {
  approveStageUpdate,
  type CampaignInput,
  type CampaignProgress,
  campaignProgressQuery,
  campaignWorkflowId,
  cancelCampaignUpdate,
  pauseCampaignSignal,
  resumeCampaignSignal,
  retryClusterUpdate,
  skipClusterUpdate,
} from '../../workflows/campaign-messages';
import { campaign as campaignWorkflow, type CampaignPlan, planCampaign } from '../../workflows/campaign';
import { CampaignAttribute } from '../../workflows/messages';
import { RETIRE_STAGE, retireVersion } from '../../workflows/retire-version';
import { ExitCode } from '../exit-codes';
import {
  campaignLine,
  renderCampaign,
  renderCampaignPlan,
  renderCampaignReport,
} from '../output/campaign-view';
import { formatTime, table } from '../output/format';
import { CliError, usageError } from './support/errors';
import { sendUpdate } from './support/operator';
import {
  addCampaignRunOptions,
  addInputOptions,
  addSelectionOptions,
  campaignInputs,
  type InputOptions,
  type CampaignRunOptions,
  campaignProcedure,
  campaignRunInput,
  COMMANDS,
  procedureNamedCommand,
  RETIRE_VERSION,
  retireVersionInput,
  type SelectionOptions,
  selectionOf,
  stagesOf,
} from './support/campaign-options';
import {
  addExamples,
  addJsonOption,
  addRequesterOption,
  nonEmptyText,
  requesterOf,
  seconds,
  taskQueueOf,
} from './support/options';
import { campaignReport } from './support/campaign-report';
import type { CommandContext, CommandModule } from './support/runtime';

interface StartOptions extends CampaignRunOptions {
  id?: string;
  preflight?: boolean;
}

type PlanRequest = Parameters<typeof planCampaign>[0];

/** Runs the `planCampaign` workflow; with `preflight`, refuses a plan the workers ran without it. */
async function runCampaignPlan(
  ctx: CommandContext,
  request: PlanRequest,
  taskQueue: string,
): Promise<CampaignPlan> {
  const client = await ctx.temporal();
  const plan = await client.workflow.execute(planCampaign, {
    taskQueue,
    workflowId: `kmsflow-campaign-plan:${Date.now()}`,
    args: [request],
    // A preflight per cluster reads ARM, Key Vault and the cluster: a large fleet takes minutes.
    workflowExecutionTimeout: request.preflight ? '30 minutes' : '2 minutes',
  });
  if (request.preflight && plan.members.some((m) => !m.skipReason && !m.preflight))
    throw new CliError(
      ExitCode.error,
      'The workers serving this task queue ran no preflight: they predate campaign plan --preflight. Upgrade them (kmsflow versions shows which version serves), then plan again.',
    );
  return plan;
}

/** The selected clusters whose preflight would refuse the procedure. */
const refusedByPreflight = (plan: CampaignPlan) => plan.members.filter((m) => m.preflight && !m.preflight.ok);

const defaultCampaignId = (command: string) =>
  `${command}-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;

/** The campaign's progress: from the campaign while it runs (a worker answers), from its result once ended. */
export async function readCampaign(client: Client, campaignId: string): Promise<CampaignProgress> {
  const handle = client.workflow.getHandle(campaignWorkflowId(campaignId));
  const { status } = await handle.describe();
  if (status.name === 'COMPLETED') return (await handle.result()) as CampaignProgress;
  if (status.name !== 'RUNNING')
    throw new CliError(
      ExitCode.error,
      `Campaign ${campaignId} ended ${status.name.toLowerCase()}: see it in the Web UI (workflow ${handle.workflowId}).`,
    );
  return handle.query(campaignProgressQuery);
}

function printCampaign(ctx: CommandContext, progress: CampaignProgress): number {
  if (ctx.out.json) ctx.out.printJson(progress);
  else ctx.out.lines(renderCampaign(progress, ctx.out.style));
  return ExitCode.success;
}

async function campaignHandle(ctx: CommandContext, campaignId: string) {
  const client = await ctx.temporal();
  return client.workflow.getHandle(campaignWorkflowId(campaignId.trim()));
}

export const campaignCommand: CommandModule = {
  register(program: Command, runtime) {
    const campaign = program
      .command('campaign')
      .description(
        'Run a procedure across many clusters (selected by subscription, resource group, tag, fleet or list; inputs per cluster or one for all), in stages with concurrency, soak, approvals and an error budget.',
      );
    addExamples(campaign, [
      'kmsflow campaign plan rotate --subscription "$SUB" --tag env=prod',
      'kmsflow campaign start rotate --subscription "$SUB" --stage "canary size=1 soak=30m" --stage "rest concurrency=10% approval" --max-failures 2',
      'kmsflow campaign status rotate-20261201-090000',
      'kmsflow campaign approve rotate-20261201-090000',
    ]);

    const plan = addInputOptions(
      addSelectionOptions(
        campaign
          .command('plan')
          .argument('<procedure>', COMMANDS.join(' | '))
          .description(
            'Show which clusters a campaign would run on, in which stage, and which are skipped and why. Changes nothing.',
          ),
      ),
    );
    plan.option(
      '--preflight',
      "also run each selected cluster's preflight (reads only; exit 2 when one would refuse its procedure)",
    );
    addJsonOption(plan);
    addExamples(plan, [
      'kmsflow campaign plan rotate --subscription "$SUB" --resource-group rg-prod',
      'kmsflow campaign plan rotate --tag env=prod --preflight',
      'kmsflow campaign plan retire --clusters-file clusters.txt --json',
    ]);
    plan.action(
      runtime.action(
        async (ctx, command: string, opts: SelectionOptions & InputOptions & { preflight?: boolean }) => {
          const procedure = campaignProcedure(command);
          const result = await runCampaignPlan(
            ctx,
            {
              procedure,
              selection: selectionOf(opts),
              stages: stagesOf(opts.stage),
              ...campaignInputs(procedure, opts),
              ...(opts.preflight ? { preflight: true } : {}),
            },
            taskQueueOf(opts.taskQueue, ctx.io.env),
          );
          if (ctx.out.json) ctx.out.printJson(result);
          else ctx.out.lines(renderCampaignPlan(result, ctx.out.style));
          return refusedByPreflight(result).length > 0 ? ExitCode.usage : ExitCode.success;
        },
      ),
    );

    const start = addCampaignRunOptions(
      addSelectionOptions(
        campaign
          .command('start')
          .argument('<procedure>', [...COMMANDS, RETIRE_VERSION].join(' | '))
          .description(
            `Start a campaign; it runs on the workers and survives their restarts. ${RETIRE_VERSION} --key-id V: rotate every cluster of the subscriptions given off V (twice where it is current), prove each, then disable or expire V once after the "${RETIRE_STAGE}" approval.`,
          ),
      ),
    )
      .option(
        '--id <campaignId>',
        'the campaign id (default: <procedure>-<UTC date-time>)',
        nonEmptyText('campaign id'),
      )
      .option(
        '--preflight',
        "first run each selected cluster's preflight, as campaign plan --preflight does; start nothing when one would refuse (exit 2)",
      );
    addJsonOption(start);
    addExamples(start, [
      'kmsflow campaign start rotate --subscription "$SUB" --tag env=prod --max-failures 1',
      'kmsflow campaign start retire --clusters-file clusters.txt --stage "all concurrency=3" --auto-approve',
    ]);
    start.action(
      runtime.action(async (ctx, command: string, opts: StartOptions) => {
        if (command.trim() === RETIRE_VERSION) return startRetireVersion(ctx, opts);
        const procedure = campaignProcedure(command);
        const campaignId = checkedCampaignId(opts.id ?? defaultCampaignId(procedureNamedCommand(procedure)));
        const input: CampaignInput = { campaignId, ...campaignRunInput(procedure, opts, ctx.io.env) };
        const taskQueue = taskQueueOf(opts.taskQueue, ctx.io.env);
        if (opts.preflight) {
          const { selection, stages, flags, clusterFlags } = input;
          const plan = await runCampaignPlan(
            ctx,
            { procedure, selection, stages, flags, clusterFlags, preflight: true },
            taskQueue,
          );
          const refused = refusedByPreflight(plan);
          if (refused.length > 0) {
            if (ctx.out.json) ctx.out.printJson(plan);
            else
              ctx.out.lines([
                ...renderCampaignPlan(plan, ctx.out.style),
                '',
                `Nothing started: the preflight of ${refused.map((m) => m.name).join(', ')} would refuse ${procedure}.`,
              ]);
            return ExitCode.usage;
          }
        }
        const handle = await (
          await ctx.temporal()
        ).workflow.start(campaignWorkflow, startOptions(campaignId, taskQueue, input));
        return started(ctx, handle, campaignId, `${procedure}`);
      }),
    );

    const status = campaign
      .command('status')
      .argument('<campaignId>')
      .description("A campaign's stages, every cluster's state and why, and the error budget left.");
    addJsonOption(status);
    addExamples(status, ['kmsflow campaign status rotate-20261201-090000 --json']);
    status.action(
      runtime.action(async (ctx, id: string) =>
        printCampaign(ctx, await readCampaign(await ctx.temporal(), id.trim())),
      ),
    );

    const report = campaign
      .command('report')
      .argument('<campaignId>')
      .description(
        "Every cluster's proof in one place, for auditors: its state, the key it was moved to, and its procedure's re-encryption evidence (as kmsflow report shows it).\n" +
          'Exit code: 0 every cluster the campaign ran is proven, 4 one is not (failed, blocked, not proven, not started), 3 the campaign still runs.',
      );
    addJsonOption(report);
    addExamples(report, [
      'kmsflow campaign report rotate-20261201-090000',
      'kmsflow campaign report rotate-20261201-090000 --json > evidence.json',
    ]);
    report.action(
      runtime.action(async (ctx, id: string) => {
        const client = await ctx.temporal();
        const progress = await readCampaign(client, id.trim());
        const result = await campaignReport(client, progress);
        if (ctx.out.json) ctx.out.printJson(result);
        else ctx.out.lines(renderCampaignReport(result, ctx.out.style));
        return result.exitCode;
      }),
    );

    const watch = campaign
      .command('watch')
      .argument('<campaignId>')
      .option('--interval <seconds>', 'how often to look (default 5)', seconds(0.5, 600), 5)
      .description(
        'Follow a campaign: a line (or JSON object with --json) whenever its phase, stage or counts change, until it ends (exit 0 completed, 4 halted or cancelled).',
      );
    addJsonOption(watch);
    addExamples(watch, [
      'kmsflow campaign watch rotate-20261201-090000',
      'kmsflow campaign watch rotate-20261201-090000 --json | jq -c .budget',
    ]);
    watch.action(
      runtime.action(async (ctx, id: string, opts: { interval: number }) => {
        const client = await ctx.temporal();
        let last = '';
        for (;;) {
          const progress = await readCampaign(client, id.trim());
          // With --json every change counts (a reason, an approver); the line shows phase, stage and counts.
          const seen = ctx.out.json ? JSON.stringify(progress) : campaignLine(progress);
          if (seen !== last) {
            if (ctx.out.json) ctx.out.printJson(progress, { stream: true });
            else ctx.out.line(`${formatTime(new Date())}  ${seen}`);
          }
          last = seen;
          if (progress.endedAt) return progress.phase === 'completed' ? ExitCode.success : ExitCode.failed;
          await new Promise((resolve) => setTimeout(resolve, opts.interval * 1000));
        }
      }),
    );

    const list = campaign.command('list').description('Campaigns, newest first.');
    addJsonOption(list);
    addExamples(list, ['kmsflow campaign list']);
    list.action(
      runtime.action(async (ctx) => {
        const client = await ctx.temporal();
        const rows: { campaignId: string; status: string; startedAt: string }[] = [];
        for await (const info of client.workflow.list({
          query: `WorkflowType IN ('${campaignWorkflow.name}', '${retireVersion.name}')`,
          pageSize: 50,
        })) {
          rows.push({
            campaignId: info.typedSearchAttributes.get(CampaignAttribute) ?? info.workflowId,
            status: info.status.name.toLowerCase(),
            startedAt: info.startTime.toISOString(),
          });
          if (rows.length >= 50) break;
        }
        if (ctx.out.json) ctx.out.printJson({ campaigns: rows });
        else
          ctx.out.lines(
            rows.length
              ? table(
                  ['CAMPAIGN', 'STATUS', 'STARTED'],
                  rows.map((r) => [r.campaignId, r.status, formatTime(r.startedAt)]),
                )
              : ['No campaigns.'],
          );
        return ExitCode.success;
      }),
    );

    const approve = campaign
      .command('approve')
      .argument('<campaignId>')
      .argument('[stage]', 'the stage (default: the one waiting)')
      .description('Approve the stage a campaign waits for.');
    addRequesterOption(approve, 'who approves');
    addJsonOption(approve);
    addExamples(approve, ['kmsflow campaign approve rotate-20261201-090000 --as alice']);
    approve.action(
      runtime.action(async (ctx, id: string, stage: string | undefined, opts: { as?: string }) => {
        const handle = await campaignHandle(ctx, id);
        const result = await sendUpdate(
          handle,
          approveStageUpdate,
          { requestedBy: requesterOf(opts.as, ctx.io.env), ...(stage ? { stage } : {}) },
          'approve a stage',
        );
        return done(
          ctx,
          { campaignId: id, ...result },
          `Approved stage ${result.stage} of campaign ${id}; its clusters start now.`,
        );
      }),
    );

    for (const [verb, what] of [
      ['skip', 'Skip one cluster that has not started yet.'],
      [
        'retry',
        'Run a failed, not-proven, skipped or not-started cluster again in the stage that runs now or next.',
      ],
    ] as const) {
      const command = campaign
        .command(verb)
        .argument('<campaignId>')
        .argument('<cluster>', 'the cluster: its name or resource id')
        .description(what);
      addRequesterOption(command);
      addJsonOption(command);
      addExamples(command, [`kmsflow campaign ${verb} rotate-20261201-090000 aks-prod-7`]);
      command.action(
        runtime.action(async (ctx, id: string, cluster: string, opts: { as?: string }) => {
          const handle = await campaignHandle(ctx, id);
          const update = verb === 'skip' ? skipClusterUpdate : retryClusterUpdate;
          const result = await sendUpdate(
            handle,
            update,
            { cluster: cluster.trim(), requestedBy: requesterOf(opts.as, ctx.io.env) },
            `${verb} ${cluster}`,
          );
          return done(
            ctx,
            { campaignId: id, ...result },
            verb === 'skip'
              ? `Skipped ${cluster} in campaign ${id}.`
              : `${cluster} runs again in campaign ${id}.`,
          );
        }),
      );
    }

    for (const [verb, signal, what] of [
      ['pause', pauseCampaignSignal, 'Start no new clusters until resumed (running procedures go on).'],
      ['resume', resumeCampaignSignal, 'Start clusters again after a pause.'],
    ] as const) {
      const command = campaign.command(verb).argument('<campaignId>').description(what);
      addRequesterOption(command);
      addJsonOption(command);
      addExamples(command, [`kmsflow campaign ${verb} rotate-20261201-090000`]);
      command.action(
        runtime.action(async (ctx, id: string, opts: { as?: string }) => {
          const handle = await campaignHandle(ctx, id);
          await handle.signal(signal, { requestedBy: requesterOf(opts.as, ctx.io.env) });
          return done(
            ctx,
            { campaignId: id, [verb === 'pause' ? 'paused' : 'resumed']: true },
            verb === 'pause'
              ? `Campaign ${id} starts no new clusters until resumed.`
              : `Campaign ${id} starts clusters again.`,
          );
        }),
      );
    }

    const cancel = campaign
      .command('cancel')
      .argument('<campaignId>')
      .requiredOption('--reason <text>', 'why, recorded in the campaign', nonEmptyText('reason'))
      .description(
        'Start no more clusters and end the campaign once the running procedures ended (each goes on to its end; kmsflow cancel stops one).',
      );
    addRequesterOption(cancel);
    addJsonOption(cancel);
    addExamples(cancel, ['kmsflow campaign cancel rotate-20261201-090000 --reason "freeze"']);
    cancel.action(
      runtime.action(async (ctx, id: string, opts: { as?: string; reason: string }) => {
        const handle = await campaignHandle(ctx, id);
        const result = await sendUpdate(
          handle,
          cancelCampaignUpdate,
          { reason: opts.reason, requestedBy: requesterOf(opts.as, ctx.io.env) },
          'cancel',
        );
        return done(
          ctx,
          { campaignId: id, ...result },
          `Campaign ${id} starts no more clusters; it ends once its running procedures have.`,
        );
      }),
    );
  },
};

async function startRetireVersion(ctx: CommandContext, opts: StartOptions): Promise<number> {
  const campaignId = checkedCampaignId(opts.id ?? defaultCampaignId(RETIRE_VERSION));
  if (opts.preflight)
    throw usageError(
      `${RETIRE_VERSION} has no --preflight: it finds the clusters holding the version itself, and each round's procedures run their own.`,
    );
  const input = retireVersionInput(campaignId, opts, ctx.io.env);
  const handle = await (
    await ctx.temporal()
  ).workflow.start(retireVersion, startOptions(campaignId, taskQueueOf(opts.taskQueue, ctx.io.env), input));
  return started(
    ctx,
    handle,
    campaignId,
    `${RETIRE_VERSION} ${input.keyId}; each round is campaign ${campaignId}-round-N`,
  );
}

/** A campaign's workflow is started under `kmsflow-campaign:<id>`, findable by its KmsCampaign attribute. */
function startOptions<I>(campaignId: string, taskQueue: string, input: I) {
  return {
    taskQueue,
    workflowId: campaignWorkflowId(campaignId),
    args: [input] as [I],
    typedSearchAttributes: [{ key: CampaignAttribute, value: campaignId }],
  };
}

function started(
  ctx: CommandContext,
  handle: { workflowId: string; firstExecutionRunId: string },
  campaignId: string,
  what: string,
): number {
  if (ctx.out.json)
    ctx.out.printJson({ campaignId, workflowId: handle.workflowId, runId: handle.firstExecutionRunId });
  else
    ctx.out.line(
      `Started campaign ${campaignId} (${what}); \`kmsflow campaign status ${campaignId}\` shows it.`,
    );
  return ExitCode.success;
}

function checkedCampaignId(campaignId: string): string {
  if (!/^[A-Za-z0-9][-_.A-Za-z0-9]{0,99}$/.test(campaignId))
    throw usageError(`--id ${campaignId}: use letters, digits, '-', '_' and '.', up to 100 characters.`);
  return campaignId;
}

function done(ctx: CommandContext, result: Record<string, unknown>, message: string): number {
  if (ctx.out.json) ctx.out.printJson(result);
  else ctx.out.line(message);
  return ExitCode.success;
}
