/** `kmsflow campaign status`: a campaign's stages, its clusters and the error budget left. */
import type { Command } from 'commander';
import { ExitCode } from '../../exit-codes';
import { renderCampaign } from '../../output/campaign-view';
import { addExamples, addJsonOption } from '../support/options';
import type { CliRuntime } from '../support/runtime';
import { readCampaign } from './support';

export function registerStatus(campaign: Command, runtime: CliRuntime): void {
  const status = campaign
    .command('status')
    .argument('<campaignId>')
    .description("A campaign's stages, every cluster's state and why, and the error budget left.");
  addJsonOption(status);
  addExamples(status, ['kmsflow campaign status rotate-20261201-090000 --json']);
  status.action(
    runtime.action(async (ctx, id: string) => {
      const progress = await readCampaign(await ctx.temporal(), id.trim());
      if (ctx.out.json) ctx.out.printJson(progress);
      else ctx.out.lines(renderCampaign(progress, ctx.out.style));
      return ExitCode.success;
    }),
  );
}
