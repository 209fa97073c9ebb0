/** `kmsflow campaign list`: campaigns, newest first. */
import type { Command } from 'commander';
import { campaign as campaignWorkflow } from '../../../workflows/campaign';
import { CampaignAttribute } from '../../../workflows/messages';
import { retireVersion } from '../../../workflows/retire-version';
import { ExitCode } from '../../exit-codes';
import { formatTime, table } from '../../output/format';
import { addExamples, addJsonOption } from '../support/options';
import type { CliRuntime } from '../support/runtime';

export function registerList(campaign: Command, runtime: CliRuntime): void {
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
}
