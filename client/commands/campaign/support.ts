/** What the campaign commands share: reading a campaign, starting one, planning one, and printing the outcome. */
import type { Client } from '@temporalio/client';
import {
  type CampaignProgress,
  campaignProgressQuery,
  campaignWorkflowId,
} from '../../../workflows/campaign-messages';
import { type CampaignPlan, planCampaign } from '../../../workflows/campaign-plan';
import { CampaignAttribute } from '../../../workflows/messages';
import { ExitCode } from '../../exit-codes';
import { CliError, usageError } from '../support/errors';
import type { CommandContext } from '../support/runtime';

type PlanRequest = Parameters<typeof planCampaign>[0];

/** Runs the `planCampaign` workflow; with `preflight`, refuses a plan the workers ran without it. */
export async function runCampaignPlan(
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
export const refusedByPreflight = (plan: CampaignPlan) =>
  plan.members.filter((m) => m.preflight && !m.preflight.ok);

export const defaultCampaignId = (command: string) =>
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

export async function campaignHandle(ctx: CommandContext, campaignId: string) {
  const client = await ctx.temporal();
  return client.workflow.getHandle(campaignWorkflowId(campaignId.trim()));
}

/** A campaign's workflow is started under `kmsflow-campaign:<id>`, findable by its KmsCampaign attribute. */
export function startOptions<I>(campaignId: string, taskQueue: string, input: I) {
  return {
    taskQueue,
    workflowId: campaignWorkflowId(campaignId),
    args: [input] as [I],
    typedSearchAttributes: [{ key: CampaignAttribute, value: campaignId }],
  };
}

export function started(
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

export function checkedCampaignId(campaignId: string): string {
  if (!/^[A-Za-z0-9][-_.A-Za-z0-9]{0,99}$/.test(campaignId))
    throw usageError(`--id ${campaignId}: use letters, digits, '-', '_' and '.', up to 100 characters.`);
  return campaignId;
}

export function done(ctx: CommandContext, result: Record<string, unknown>, message: string): number {
  if (ctx.out.json) ctx.out.printJson(result);
  else ctx.out.line(message);
  return ExitCode.success;
}
