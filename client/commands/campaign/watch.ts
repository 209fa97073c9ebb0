/** `kmsflow campaign watch`: a line whenever a campaign's phase, stage or counts change, until it ends. */
import type { Command } from 'commander';
import { ExitCode } from '../../exit-codes';
import { campaignLine } from '../../output/campaign-view';
import { formatTime } from '../../output/format';
import { addExamples, addJsonOption, seconds } from '../support/options';
import type { CliRuntime } from '../support/runtime';
import { readCampaign } from './support';

export function registerWatch(campaign: Command, runtime: CliRuntime): void {
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
}
