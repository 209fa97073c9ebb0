/** `kmsflow campaign report`: every cluster's proof in one place, for auditors. */
import type { Command } from 'commander';
import { renderCampaignReport } from '../../output/campaign-view';
import { campaignReport } from '../support/campaign-report';
import { addExamples, addJsonOption } from '../support/options';
import type { CliRuntime } from '../support/runtime';
import { readCampaign } from './support';

export function registerReport(campaign: Command, runtime: CliRuntime): void {
  const report = campaign
    .command('report')
    .argument('<campaignId>')
    .description(
      "Every cluster's proof in one place, for auditors: its state, the key it was moved to, and its procedure's re-encryption evidence (as kmsflow report shows it).\n" +
        "Exit code: 0 every cluster of the campaign's stages is proven, 4 one is not (failed, blocked, not proven, skipped after selection, not started), 3 the campaign still runs.",
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
}
