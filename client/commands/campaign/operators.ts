/**
 * The commands that steer a running campaign: each is one description of its arguments, the update or
 * signal it sends and the line it prints, registered by `registerOperator`.
 */
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { Command } from 'commander';
import {
  approveStageUpdate,
  cancelCampaignUpdate,
  type CampaignOperatorRequest,
  type CampaignProgress,
  pauseCampaignSignal,
  recheckWaitingUpdate,
  resumeCampaignSignal,
  retryClusterUpdate,
  skipClusterUpdate,
  skipSoakUpdate,
  skipStageUpdate,
} from '../../../workflows/campaign-messages';
import { shellWord } from '../../../workflows/engine/details';
import { type CliError, usageError } from '../support/errors';
import { sendUpdate } from '../support/operator';
import {
  addExamples,
  addJsonOption,
  addRequesterOption,
  nonEmptyText,
  requesterOf,
} from '../support/options';
import type { CliRuntime, CommandContext } from '../support/runtime';
import { campaignHandle, done, readCampaign } from './support';

/** One invocation: the campaign, the arguments after its id (trimmed, undefined when left out), the options. */
interface OperatorCall {
  ctx: CommandContext;
  campaignId: string;
  args: (string | undefined)[];
  reason?: string;
  requestedBy: string;
}

interface OperatorCommand<Req extends CampaignOperatorRequest, Res extends object> {
  verb: string;
  /** The arguments after `<campaignId>`, as commander spells them (`<cluster>`, `[cluster]`), with their help. */
  args?: readonly (readonly [string, string])[];
  /** The usage line, when it must show an argument as required that the command checks itself. */
  usage?: string;
  description: string;
  /** The `--as` help: who does it. */
  who?: string;
  /** The help of a required `--reason`, when the command takes one. */
  reason?: string;
  examples: string[];
  /** The request; may throw a usage error. */
  request(call: OperatorCall): Req | Promise<Req>;
  /** An update, refused with the campaign's reason (`refusal` says what was refused); or a signal, which answers nothing. */
  send:
    | { update: UpdateDefinition<Res, [Req]>; refusal(call: OperatorCall): string }
    | { signal: SignalDefinition<[Req]>; result: Res };
  success(result: Res, call: OperatorCall): string;
}

function registerOperator<Req extends CampaignOperatorRequest, Res extends object>(
  campaign: Command,
  runtime: CliRuntime,
  spec: OperatorCommand<Req, Res>,
): void {
  const command = campaign.command(spec.verb).argument('<campaignId>');
  for (const [name, help] of spec.args ?? []) command.argument(name, help);
  if (spec.usage) command.usage(spec.usage);
  if (spec.reason) command.requiredOption('--reason <text>', spec.reason, nonEmptyText('reason'));
  command.description(spec.description);
  addRequesterOption(command, spec.who, 'the campaign');
  addJsonOption(command);
  addExamples(command, spec.examples);
  command.action(
    runtime.action(async (ctx, id: string, ...rest: unknown[]) => {
      const opts = rest.pop() as { as?: string; reason?: string };
      const call: OperatorCall = {
        ctx,
        campaignId: id.trim(),
        args: (rest as (string | undefined)[]).map((a) => a?.trim() || undefined),
        ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        requestedBy: requesterOf(opts.as, ctx.io.env),
      };
      const request = await spec.request(call);
      const handle = await campaignHandle(ctx, call.campaignId);
      // An update or signal to a campaign that ended would be lost or refused by the server without a reason.
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') {
        const ended =
          status.name === 'COMPLETED'
            ? ((await handle.result()) as CampaignProgress).phase
            : status.name.toLowerCase();
        throw usageError(
          `Campaign ${call.campaignId} has already ended (${ended}): there is nothing to ${spec.verb}.`,
        );
      }
      let result: Res;
      if ('update' in spec.send)
        result = await sendUpdate(handle, spec.send.update, request, spec.send.refusal(call));
      else {
        await handle.signal(spec.send.signal, request);
        result = spec.send.result;
      }
      return done(ctx, { campaignId: call.campaignId, ...result }, spec.success(result, call));
    }),
  );
}

const CLUSTER_HELP = 'the cluster: its name or resource id';
const EXAMPLE_ID = 'rotate-20261201-090000';

export function registerOperators(campaign: Command, runtime: CliRuntime): void {
  registerOperator(campaign, runtime, {
    verb: 'approve',
    args: [['[stage]', 'the stage (kmsflow campaign status shows the one waiting)']],
    usage: '[options] <campaignId> <stage>',
    description:
      "Approve the gate a stage waits at: before its clusters start, or after its soak (the stage spec's approval=before|after|both).",
    who: 'who approves',
    examples: [`kmsflow campaign approve ${EXAMPLE_ID} rest --as alice`],
    request: async ({ ctx, campaignId, args: [stage], requestedBy }) => {
      if (!stage) throw await nameTheStage(ctx, campaignId);
      return { stage, requestedBy };
    },
    send: { update: approveStageUpdate, refusal: () => 'approve a stage' },
    success: ({ stage, gate }, { campaignId }) =>
      gate === 'after'
        ? `Approved stage ${stage} of campaign ${campaignId} (after its soak); the next stage may start.`
        : `Approved stage ${stage} of campaign ${campaignId} (before it starts); its clusters start now.`,
  });

  registerOperator(campaign, runtime, {
    verb: 'skip-stage',
    args: [['<stage>', 'the stage, not started yet']],
    reason: 'why, recorded in the campaign as the reason each of its clusters is skipped',
    description: 'Skip a stage that has not started: each of its clusters is skipped with the reason.',
    examples: [`kmsflow campaign skip-stage ${EXAMPLE_ID} rest --reason "done by hand"`],
    request: ({ args: [stage], reason, requestedBy }) => ({ stage: stage!, reason: reason!, requestedBy }),
    send: { update: skipStageUpdate, refusal: ({ args: [stage] }) => `skip stage ${stage}` },
    success: ({ stage, clusters }, { campaignId }) =>
      `Skipped stage ${stage} of campaign ${campaignId} (${clusters} cluster(s) skipped).`,
  });

  registerOperator(campaign, runtime, {
    verb: 'skip-soak',
    description: 'End the soak of the stage that soaks now; the next stage may start.',
    examples: [`kmsflow campaign skip-soak ${EXAMPLE_ID} --as alice`],
    request: ({ requestedBy }) => ({ requestedBy }),
    send: { update: skipSoakUpdate, refusal: () => 'skip the soak' },
    success: ({ stage }, { campaignId }) =>
      `Ended the soak of stage ${stage} of campaign ${campaignId}; the next stage may start.`,
  });

  registerOperator(campaign, runtime, {
    verb: 'skip',
    args: [['<cluster>', CLUSTER_HELP]],
    description: 'Skip one cluster that has not started yet.',
    examples: [`kmsflow campaign skip ${EXAMPLE_ID} aks-prod-7`],
    request: ({ args: [cluster], requestedBy }) => ({ cluster: cluster!, requestedBy }),
    send: { update: skipClusterUpdate, refusal: ({ args: [cluster] }) => `skip ${cluster}` },
    success: (_result, { campaignId, args: [cluster] }) => `Skipped ${cluster} in campaign ${campaignId}.`,
  });

  registerOperator(campaign, runtime, {
    verb: 'retry',
    args: [['<cluster>', CLUSTER_HELP]],
    description:
      'Run a failed, not-proven, skipped or not-started cluster again, in the stage that runs now (only a cluster of the running stage or of a finished one).',
    examples: [`kmsflow campaign retry ${EXAMPLE_ID} aks-prod-7`],
    request: ({ args: [cluster], requestedBy }) => ({ cluster: cluster!, requestedBy }),
    send: { update: retryClusterUpdate, refusal: ({ args: [cluster] }) => `retry ${cluster}` },
    success: (_result, { campaignId, args: [cluster] }) => `${cluster} runs again in campaign ${campaignId}.`,
  });

  registerOperator(campaign, runtime, {
    verb: 'recheck',
    args: [['[cluster]', `${CLUSTER_HELP} (default: every waiting cluster)`]],
    description:
      'Look at waiting clusters again now (after a maintenance window was changed, or a busy cluster freed): one cluster, or every waiting one.',
    examples: [`kmsflow campaign recheck ${EXAMPLE_ID}`, `kmsflow campaign recheck ${EXAMPLE_ID} aks-prod-7`],
    request: ({ args: [cluster], requestedBy }) => ({ ...(cluster ? { cluster } : {}), requestedBy }),
    send: {
      update: recheckWaitingUpdate,
      refusal: ({ args: [cluster] }) => (cluster ? `recheck ${cluster}` : 'recheck its waiting clusters'),
    },
    success: ({ clusters }, { campaignId }) =>
      `${clusters} waiting cluster(s) of campaign ${campaignId} looked at again now.`,
  });

  registerOperator(campaign, runtime, {
    verb: 'pause',
    description: 'Start no new clusters until resumed (running procedures go on).',
    examples: [`kmsflow campaign pause ${EXAMPLE_ID}`],
    request: ({ requestedBy }) => ({ requestedBy }),
    send: { signal: pauseCampaignSignal, result: { paused: true } },
    success: (_result, { campaignId }) => `Campaign ${campaignId} starts no new clusters until resumed.`,
  });

  registerOperator(campaign, runtime, {
    verb: 'resume',
    description: 'Start clusters again after a pause.',
    examples: [`kmsflow campaign resume ${EXAMPLE_ID}`],
    request: ({ requestedBy }) => ({ requestedBy }),
    send: { signal: resumeCampaignSignal, result: { resumed: true } },
    success: (_result, { campaignId }) => `Campaign ${campaignId} starts clusters again.`,
  });

  registerOperator(campaign, runtime, {
    verb: 'cancel',
    reason: 'why, recorded in the campaign',
    description:
      'Start no more clusters and end the campaign once the running procedures ended (each goes on to its end; kmsflow cancel stops one).',
    examples: [`kmsflow campaign cancel ${EXAMPLE_ID} --reason "freeze"`],
    request: ({ reason, requestedBy }) => ({ reason: reason!, requestedBy }),
    send: { update: cancelCampaignUpdate, refusal: () => 'cancel' },
    success: (_result, { campaignId }) =>
      `Campaign ${campaignId} starts no more clusters; it ends once its running procedures have.`,
  });
}

/** Approving takes the stage by name, so that an approval meant for one gate never opens another. */
async function nameTheStage(ctx: CommandContext, campaignId: string): Promise<CliError> {
  const progress = await readCampaign(await ctx.temporal(), campaignId);
  const waiting = progress.stages.filter((s) => s.status === 'waiting-approval');
  const now = waiting.length
    ? waiting
        .map(
          (s) =>
            `stage "${s.name}" waits for approval ${s.gate === 'after' ? 'after its soak' : 'before it starts'}`,
        )
        .join('; ')
    : `no stage waits for approval now; phase: ${progress.phase}`;
  return usageError(
    `Name the stage to approve: kmsflow campaign approve ${shellWord(campaignId)} <stage> (${now}).`,
  );
}
