/** `kmsflow campaign plan`: which clusters a campaign would run on, in which stage, and which it skips. */
import type { Command } from 'commander';
import { ExitCode } from '../../exit-codes';
import { renderCampaignPlan } from '../../output/campaign-view';
import {
  addInputOptions,
  addSelectionOptions,
  campaignInputs,
  campaignProcedure,
  COMMANDS,
  type InputOptions,
  type SelectionOptions,
  selectionOf,
  stagesOf,
} from '../support/campaign-options';
import { addExamples, addJsonOption, taskQueueOf } from '../support/options';
import type { CliRuntime } from '../support/runtime';
import { refusedByPreflight, runCampaignPlan } from './support';

export function registerPlan(campaign: Command, runtime: CliRuntime): void {
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
}
