/** `kmsflow campaign start`: a campaign of one procedure, or `retire-version`'s rounds and retirement. */
import type { Command } from 'commander';
import type { CampaignInput } from '../../../workflows/campaign-messages';
import { campaign as campaignWorkflow } from '../../../workflows/campaign';
import { RETIRE_STAGE, retireVersion } from '../../../workflows/retire-version';
import { ExitCode } from '../../exit-codes';
import { renderCampaignPlan } from '../../output/campaign-view';
import {
  addCampaignRunOptions,
  addSelectionOptions,
  type CampaignRunOptions,
  campaignProcedure,
  campaignRunInput,
  COMMANDS,
  procedureNamedCommand,
  RETIRE_VERSION,
  retireVersionInput,
} from '../support/campaign-options';
import { usageError } from '../support/errors';
import { addExamples, addJsonOption, nonEmptyText, taskQueueOf } from '../support/options';
import type { CliRuntime, CommandContext } from '../support/runtime';
import {
  checkedCampaignId,
  defaultCampaignId,
  refusedByPreflight,
  runCampaignPlan,
  started,
  startOptions,
} from './support';

interface StartOptions extends CampaignRunOptions {
  id?: string;
  preflight?: boolean;
}

export function registerStart(campaign: Command, runtime: CliRuntime): void {
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
}

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
