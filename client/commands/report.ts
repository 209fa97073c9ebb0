import type { Command } from 'commander';
import { renderReport } from '../output/report-view';
import { readEvidence } from './support/evidence';
import {
  addExamples,
  addJsonOption,
  addRunOption,
  workflowIdArgument,
  WORKFLOW_ID_HELP,
} from './support/options';
import type { CommandModule } from './support/runtime';

export const reportCommand: CommandModule = {
  register(program: Command, runtime) {
    const command = program
      .command('report')
      .argument('<workflowId>', WORKFLOW_ID_HELP)
      .description(
        "Show a procedure's re-encryption evidence: per re-encryption, proven or not (and why), the watermark, Secrets per\n" +
          'outcome in the rewrite and verification passes, the digest, duration, Secrets/s and the Secrets that failed.\n' +
          'Exit code: 0 proven, 4 not proven, 5 unknown (no finished re-encryption, or no such procedure).',
      );
    addRunOption(command);
    addJsonOption(command);
    addExamples(command, [
      'kmsflow report "$CLUSTER_ID"',
      'kmsflow report "$CLUSTER_ID" --run "$RUN_ID"        # an earlier procedure on the cluster (kmsflow list --cluster shows the runs)',
      'kmsflow report "$CLUSTER_ID" --json | jq ".reencryptions[] | {proven, watermark}"',
    ]);
    command.action(
      runtime.action(async (ctx, workflowId: string, opts: { run?: string }) => {
        const id = workflowIdArgument(workflowId, 'report');
        const report = await readEvidence(await ctx.temporal(), id, opts.run);
        if (ctx.out.json) ctx.out.printJson(report);
        else ctx.out.lines(renderReport(report, ctx.out.style));
        return report.exitCode;
      }),
    );
  },
};
