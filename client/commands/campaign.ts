import * as fs from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { CAMPAIGN_PROCEDURES, type CampaignProcedure, DEFAULT_WINDOW_CHECK_SECONDS, type CampaignStage, CampaignInputError, checkStages, type ClusterSelection, parseFleetId, parseStage } from '../../model/campaign';
import { clusterId, parseClusterId } from '../../model/ids';
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
import type { CampaignPlan } from '../../workflows/campaign';
import { CampaignAttribute } from '../../workflows/messages';
import { procedureByCommand } from '../../workflows/procedures';
import { ExitCode } from '../exit-codes';
import { renderCampaign, renderCampaignPlan } from '../output/campaign-view';
import { formatTime, table } from '../output/format';
import { CliError, usageError } from './support/errors';
import { sendUpdate } from './support/operator';
import { addReencryptOptions, type ReencryptFlags, reencryptSettingsOf } from './support/procedure-request';
import { addExamples, addJsonOption, addRequesterOption, addTaskQueueOption, nonEmptyText, requesterOf, seconds, taskQueueOf, wholeNumber } from './support/options';
import type { CommandContext, CommandModule } from './support/runtime';

/** Without --stage: one canary, then the rest five at a time after an approval. */
export const DEFAULT_STAGES = ['canary size=1', 'rest concurrency=5 approval'];

interface SelectionOptions {
  subscription: string[];
  resourceGroup?: string;
  tag: string[];
  clustersFile?: string;
  fleet?: string;
  stage: string[];
  taskQueue?: string;
}

interface StartOptions extends SelectionOptions, ReencryptFlags {
  id?: string;
  maxFailures: number;
  approveStages?: string;
  autoApprove?: boolean;
  ignoreMaintenanceWindows?: boolean;
  windowCheck?: number;
  as?: string;
}

const COMMANDS = CAMPAIGN_PROCEDURES.map((name) => procedureNamedCommand(name));

function procedureNamedCommand(name: CampaignProcedure): string {
  return name === 'rotate-key' ? 'rotate' : 'retire';
}

/** The procedure a command word names, if campaigns run it. */
function campaignProcedure(command: string): CampaignProcedure {
  const procedure = procedureByCommand(command.trim())?.definition.name;
  if (!procedure || !(CAMPAIGN_PROCEDURES as readonly string[]).includes(procedure)) {
    throw usageError(`A campaign runs ${COMMANDS.join(' or ')}, not "${command}": the other procedures need a key or vault per cluster; start them per cluster with kmsflow start.`);
  }
  return procedure as CampaignProcedure;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function addSelectionOptions(command: Command): Command {
  command
    .option('--subscription <id>', 'a subscription whose clusters are selected (repeat for several)', collect, [])
    .option('--resource-group <name>', 'only clusters in this resource group', nonEmptyText('resource group'))
    .option('--tag <key=value>', 'only clusters with this tag (repeat: every tag must match)', collect, [])
    .option('--clusters-file <file>', 'only these clusters: a file with one AKS resource id per line (# comments)')
    .option('--fleet <resourceId>', "only the member clusters of this Azure Kubernetes Fleet Manager fleet (az fleet show -g RG -n NAME --query id -o tsv)", nonEmptyText('fleet id'))
    .option('--stage <spec>', `a stage, in order (repeat): "NAME [size=N|N%|rest] [concurrency=N|N%] [soak=10m] [approval]" (default: ${DEFAULT_STAGES.map((s) => `"${s}"`).join(' ')})`, collect, []);
  return addTaskQueueOption(command);
}

function selectionOf(opts: SelectionOptions): ClusterSelection {
  const tags: Record<string, string> = {};
  for (const tag of opts.tag) {
    const [key, value] = tag.split('=', 2);
    if (!key || value === undefined) throw usageError(`--tag ${tag}: write it as key=value, e.g. --tag env=prod.`);
    tags[key] = value;
  }
  const clusterIds = opts.clustersFile ? clustersFromFile(opts.clustersFile) : undefined;
  if (opts.fleet) {
    try {
      parseFleetId(opts.fleet);
    } catch (err) {
      throw usageError(`--fleet ${(err as Error).message}`);
    }
  }
  if (opts.subscription.length === 0 && !clusterIds && !opts.fleet) {
    throw usageError('Select clusters with --subscription <id> (and --resource-group, --tag to narrow), --fleet <fleet resource id> or --clusters-file <file>.');
  }
  return {
    subscriptions: opts.subscription,
    ...(opts.resourceGroup ? { resourceGroup: opts.resourceGroup } : {}),
    ...(opts.tag.length ? { tags } : {}),
    ...(clusterIds ? { clusterIds } : {}),
    ...(opts.fleet ? { fleet: opts.fleet.trim() } : {}),
  };
}

function clustersFromFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`Cannot read --clusters-file ${file}: ${(err as Error).message}.`);
  }
  const ids = text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
  if (ids.length === 0) throw usageError(`--clusters-file ${file} names no cluster: put one AKS resource id per line.`);
  return ids.map((id, i) => {
    try {
      return clusterId(parseClusterId(id));
    } catch (err) {
      throw usageError(`--clusters-file ${file} line ${i + 1}: ${(err as Error).message}`);
    }
  });
}

function stagesOf(specs: string[]): CampaignStage[] {
  try {
    const stages = (specs.length ? specs : DEFAULT_STAGES).map(parseStage);
    checkStages(stages);
    return stages;
  } catch (err) {
    if (err instanceof CampaignInputError) throw usageError(err.message);
    throw err;
  }
}

const defaultCampaignId = (command: string) => `${command}-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;

/** The campaign's progress: from the campaign while it runs (a worker answers), from its result once ended. */
export async function readCampaign(client: Client, campaignId: string): Promise<CampaignProgress> {
  const handle = client.workflow.getHandle(campaignWorkflowId(campaignId));
  const { status } = await handle.describe();
  if (status.name === 'COMPLETED') return (await handle.result()) as CampaignProgress;
  if (status.name !== 'RUNNING') throw new CliError(ExitCode.error, `Campaign ${campaignId} ended ${status.name.toLowerCase()}: see it in the Web UI (workflow ${handle.workflowId}).`);
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
      .description('Run rotate or retire across many clusters: selected by subscription, resource group, tag or list, in stages with concurrency, soak, approvals and an error budget.');
    addExamples(campaign, [
      'kmsflow campaign plan rotate --subscription "$SUB" --tag env=prod',
      'kmsflow campaign start rotate --subscription "$SUB" --stage "canary size=1 soak=30m" --stage "rest concurrency=10% approval" --max-failures 2',
      'kmsflow campaign status rotate-20261201-090000',
      'kmsflow campaign approve rotate-20261201-090000',
    ]);

    const plan = addSelectionOptions(campaign.command('plan').argument('<procedure>', COMMANDS.join(' | ')).description('Show which clusters a campaign would run on, in which stage, and which are skipped and why. Changes nothing.'));
    addJsonOption(plan);
    addExamples(plan, ['kmsflow campaign plan rotate --subscription "$SUB" --resource-group rg-prod', 'kmsflow campaign plan retire --clusters-file clusters.txt --json']);
    plan.action(
      runtime.action(async (ctx, command: string, opts: SelectionOptions) => {
        const procedure = campaignProcedure(command);
        const request = { procedure, selection: selectionOf(opts), stages: stagesOf(opts.stage) };
        const client = await ctx.temporal();
        const result = (await client.workflow.execute('planCampaign', {
          taskQueue: taskQueueOf(opts.taskQueue, ctx.io.env),
          workflowId: `kmsflow-campaign-plan:${Date.now()}`,
          args: [request],
          workflowExecutionTimeout: '2 minutes',
        })) as CampaignPlan;
        if (ctx.out.json) ctx.out.printJson(result);
        else ctx.out.lines(renderCampaignPlan(result, ctx.out.style));
        return ExitCode.success;
      }),
    );

    const start = addSelectionOptions(campaign.command('start').argument('<procedure>', COMMANDS.join(' | ')).description('Start a campaign; it runs on the workers and survives their restarts.'))
      .option('--id <campaignId>', 'the campaign id (default: <procedure>-<UTC date-time>)', nonEmptyText('campaign id'))
      .option('--max-failures <n>', 'the error budget: stop starting clusters once more than n failed, were blocked or not proven (default 0)', wholeNumber(0, 100_000), 0)
      .option('--approve-stages <names>', "stage approvals given now: comma-separated stage names, or 'all'")
      .option('--auto-approve', "approve every cluster procedure's own gates at start (retire's key retirement)")
      .option('--ignore-maintenance-windows', "start clusters outside their AKS maintenance window too (default: a cluster waits for its window)")
      .option('--window-check <seconds>', `how often a cluster waiting for its maintenance window is looked at again (default ${DEFAULT_WINDOW_CHECK_SECONDS})`, seconds(1, 86_400));
    addReencryptOptions(start);
    addRequesterOption(start, 'who starts it');
    addJsonOption(start);
    addExamples(start, ['kmsflow campaign start rotate --subscription "$SUB" --tag env=prod --max-failures 1', 'kmsflow campaign start retire --clusters-file clusters.txt --stage "all concurrency=3" --auto-approve']);
    start.action(
      runtime.action(async (ctx, command: string, opts: StartOptions) => {
        const procedure = campaignProcedure(command);
        const requestedBy = requesterOf(opts.as, ctx.io.env);
        const campaignId = opts.id ?? defaultCampaignId(procedureNamedCommand(procedure));
        if (!/^[A-Za-z0-9][-_.A-Za-z0-9]{0,99}$/.test(campaignId)) throw usageError(`--id ${campaignId}: use letters, digits, '-', '_' and '.', up to 100 characters.`);
        const stages = stagesOf(opts.stage);
        const approveStages = opts.approveStages === 'all' ? 'all' : opts.approveStages?.split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = Array.isArray(approveStages) ? approveStages.filter((name) => !stages.some((s) => s.name === name)) : [];
        if (unknown.length) throw usageError(`--approve-stages names no stage ${unknown.join(', ')}: the stages are ${stages.map((s) => s.name).join(', ')}.`);
        const reencrypt = reencryptSettingsOf(opts);
        const input: CampaignInput = {
          campaignId,
          procedure,
          selection: selectionOf(opts),
          stages,
          errorBudget: { maxFailures: opts.maxFailures },
          requestedBy,
          ...(approveStages ? { autoApprove: approveStages } : {}),
          ...(opts.ignoreMaintenanceWindows ? { maintenanceWindows: 'ignore' as const } : {}),
          ...(opts.windowCheck !== undefined ? { windowCheckSeconds: opts.windowCheck } : {}),
          procedureOptions: { ...(opts.autoApprove ? { autoApprove: 'all' as const } : {}), ...(reencrypt ? { reencrypt } : {}) },
        };
        const client = await ctx.temporal();
        const handle = await client.workflow.start('campaign', {
          taskQueue: taskQueueOf(opts.taskQueue, ctx.io.env),
          workflowId: campaignWorkflowId(campaignId),
          args: [input],
          typedSearchAttributes: [{ key: CampaignAttribute, value: campaignId }],
        });
        if (ctx.out.json) ctx.out.printJson({ campaignId, workflowId: handle.workflowId, runId: handle.firstExecutionRunId });
        else ctx.out.line(`Started campaign ${campaignId} (${procedure}); \`kmsflow campaign status ${campaignId}\` shows it.`);
        return ExitCode.success;
      }),
    );

    const status = campaign.command('status').argument('<campaignId>').description("A campaign's stages, every cluster's state and why, and the error budget left.");
    addJsonOption(status);
    addExamples(status, ['kmsflow campaign status rotate-20261201-090000 --json']);
    status.action(runtime.action(async (ctx, id: string) => printCampaign(ctx, await readCampaign(await ctx.temporal(), id.trim()))));

    const list = campaign.command('list').description('Campaigns, newest first.');
    addJsonOption(list);
    addExamples(list, ['kmsflow campaign list']);
    list.action(
      runtime.action(async (ctx) => {
        const client = await ctx.temporal();
        const rows: { campaignId: string; status: string; startedAt: string }[] = [];
        for await (const info of client.workflow.list({ query: "WorkflowType = 'campaign'", pageSize: 50 })) {
          rows.push({ campaignId: info.typedSearchAttributes.get(CampaignAttribute) ?? info.workflowId, status: info.status.name.toLowerCase(), startedAt: info.startTime.toISOString() });
          if (rows.length >= 50) break;
        }
        if (ctx.out.json) ctx.out.printJson({ campaigns: rows });
        else ctx.out.lines(rows.length ? table(['CAMPAIGN', 'STATUS', 'STARTED'], rows.map((r) => [r.campaignId, r.status, formatTime(r.startedAt)])) : ['No campaigns.']);
        return ExitCode.success;
      }),
    );

    const approve = campaign.command('approve').argument('<campaignId>').argument('[stage]', 'the stage (default: the one waiting)').description('Approve the stage a campaign waits for.');
    addRequesterOption(approve, 'who approves');
    addJsonOption(approve);
    addExamples(approve, ['kmsflow campaign approve rotate-20261201-090000 --as alice']);
    approve.action(
      runtime.action(async (ctx, id: string, stage: string | undefined, opts: { as?: string }) => {
        const handle = await campaignHandle(ctx, id);
        const result = await sendUpdate(handle, approveStageUpdate, { requestedBy: requesterOf(opts.as, ctx.io.env), ...(stage ? { stage } : {}) }, 'approve a stage');
        return done(ctx, { campaignId: id, ...result }, `Approved stage ${result.stage} of campaign ${id}; its clusters start now.`);
      }),
    );

    for (const [verb, what] of [
      ['skip', 'Skip one cluster that has not started yet.'],
      ['retry', 'Run a failed, not-proven, skipped or not-started cluster again in the stage that runs now or next.'],
    ] as const) {
      const command = campaign.command(verb).argument('<campaignId>').argument('<cluster>', 'the cluster: its name or resource id').description(what);
      addRequesterOption(command);
      addJsonOption(command);
      addExamples(command, [`kmsflow campaign ${verb} rotate-20261201-090000 aks-prod-7`]);
      command.action(
        runtime.action(async (ctx, id: string, cluster: string, opts: { as?: string }) => {
          const handle = await campaignHandle(ctx, id);
          const update = verb === 'skip' ? skipClusterUpdate : retryClusterUpdate;
          const result = await sendUpdate(handle, update, { cluster: cluster.trim(), requestedBy: requesterOf(opts.as, ctx.io.env) }, `${verb} ${cluster}`);
          return done(ctx, { campaignId: id, ...result }, verb === 'skip' ? `Skipped ${cluster} in campaign ${id}.` : `${cluster} runs again in campaign ${id}.`);
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
          return done(ctx, { campaignId: id, [verb === 'pause' ? 'paused' : 'resumed']: true }, verb === 'pause' ? `Campaign ${id} starts no new clusters until resumed.` : `Campaign ${id} starts clusters again.`);
        }),
      );
    }

    const cancel = campaign
      .command('cancel')
      .argument('<campaignId>')
      .requiredOption('--reason <text>', 'why, recorded in the campaign', nonEmptyText('reason'))
      .description('Start no more clusters and end the campaign once the running procedures ended (each goes on to its end; kmsflow cancel stops one).');
    addRequesterOption(cancel);
    addJsonOption(cancel);
    addExamples(cancel, ['kmsflow campaign cancel rotate-20261201-090000 --reason "freeze"']);
    cancel.action(
      runtime.action(async (ctx, id: string, opts: { as?: string; reason: string }) => {
        const handle = await campaignHandle(ctx, id);
        const result = await sendUpdate(handle, cancelCampaignUpdate, { reason: opts.reason, requestedBy: requesterOf(opts.as, ctx.io.env) }, 'cancel');
        return done(ctx, { campaignId: id, ...result }, `Campaign ${id} starts no more clusters; it ends once its running procedures have.`);
      }),
    );
  },
};

function done(ctx: CommandContext, result: Record<string, unknown>, message: string): number {
  if (ctx.out.json) ctx.out.printJson(result);
  else ctx.out.line(message);
  return ExitCode.success;
}
