import {
  type ScheduleOptionsAction,
  type ScheduleOptionsStartWorkflowAction,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { Command } from 'commander';
import {
  CAMPAIGN_WORKFLOW_PREFIX,
  type CampaignInput,
  EXPIRY_GUARD_WORKFLOW_PREFIX,
  type ExpiryGuardInput,
} from '../../workflows/campaign-messages';
import { campaign } from '../../workflows/campaign';
import { expiryGuard } from '../../workflows/expiry-guard';
import { ExitCode } from '../exit-codes';
import { formatDuration, formatTime, table } from '../output/format';
import {
  addCampaignRunOptions,
  addSelectionOptions,
  type CampaignRunOptions,
  campaignProcedure,
  campaignRunInput,
  COMMANDS,
} from './support/campaign-options';
import { usageError } from './support/errors';
import { addExamples, addJsonOption, nonEmptyText, taskQueueOf, wholeNumber } from './support/options';
import type { CommandContext, CommandModule } from './support/runtime';

/** Every kmsflow schedule's id starts so: `schedule list` shows these only. */
const SCHEDULE_PREFIX = 'kmsflow-schedule:';
const EXPIRY_GUARD = 'expiry-guard';

interface CreateOptions extends CampaignRunOptions {
  name: string;
  every: number;
  withinDays: number;
  catchup: number;
  paused?: boolean;
}

/** `90d`, `12h`, `30m`: at least a minute; the interval in seconds. */
function interval(value: string): number {
  const m = /^(\d+)(m|h|d)$/.exec(value.trim());
  const secondsOf = m ? Number(m[1]) * { m: 60, h: 3600, d: 86_400 }[m[2] as 'm' | 'h' | 'd'] : 0;
  if (secondsOf < 60)
    throw usageError(`--every ${value}: give a duration of at least a minute, e.g. 90d, 12h or 30m.`);
  return secondsOf;
}

const scheduleName = (value: string) => {
  const name = value.trim();
  if (!/^[A-Za-z0-9][-_.A-Za-z0-9]{0,79}$/.test(name))
    throw usageError(`--name ${name}: use letters, digits, '-', '_' and '.', up to 80 characters.`);
  return name;
};

async function scheduleHandle(ctx: CommandContext, name: string) {
  return (await ctx.temporal()).schedule.getHandle(`${SCHEDULE_PREFIX}${name.trim()}`);
}

export const scheduleCommand: CommandModule = {
  register(program: Command, runtime) {
    const schedule = program
      .command('schedule')
      .description(
        'Start campaigns on a schedule (Temporal Schedules, overlap: skip), and guard keys that are about to expire.',
      );
    addExamples(schedule, [
      'kmsflow schedule create rotate --name quarterly --every 90d --subscription "$SUB" --tag env=prod',
      'kmsflow schedule create expiry-guard --name guard --every 1d --within-days 30 --subscription "$SUB"',
      'kmsflow schedule list',
    ]);

    const create = addCampaignRunOptions(
      addSelectionOptions(
        schedule
          .command('create')
          .argument('<what>', `${COMMANDS.join(' | ')} | ${EXPIRY_GUARD}`)
          .description(
            `Create a schedule: a campaign of rotate or retire every interval, or the ${EXPIRY_GUARD}, which rotates the selected clusters whose key in AKS's current or previous slot expires within --within-days.`,
          ),
      ),
    )
      .requiredOption('--name <name>', 'the schedule name (its campaigns are named <name>-<time>)')
      .requiredOption('--every <interval>', 'how often: 90d, 12h, 30m …', interval)
      .option(
        '--within-days <n>',
        `${EXPIRY_GUARD}: a key expiring within n days counts (default 30)`,
        wholeNumber(1, 3650),
        30,
      )
      .option(
        '--catchup <interval>',
        'a run missed while Temporal was unavailable still starts when it comes back within this long (default 1d)',
        interval,
        86_400,
      )
      .option('--paused', 'create it paused (schedule unpause starts it)');
    addJsonOption(create);
    addExamples(create, [
      'kmsflow schedule create rotate --name quarterly --every 90d --subscription "$SUB" --stage "canary size=1 soak=1h" --stage "rest concurrency=10 approval"',
      'kmsflow schedule create expiry-guard --name guard --every 1d --within-days 30 --fleet "$FLEET_ID"',
    ]);
    create.action(
      runtime.action(async (ctx, what: string, opts: CreateOptions) => {
        const name = scheduleName(opts.name);
        const taskQueue = taskQueueOf(opts.taskQueue, ctx.io.env);
        const guard = what.trim() === EXPIRY_GUARD;
        const run = campaignRunInput(guard ? 'rotate-key' : campaignProcedure(what), opts, ctx.io.env);
        const action: ScheduleOptionsAction = guard
          ? ({
              type: 'startWorkflow',
              workflowType: expiryGuard,
              workflowId: `${EXPIRY_GUARD_WORKFLOW_PREFIX}${name}`,
              taskQueue,
              args: [
                {
                  selection: run.selection,
                  withinDays: opts.withinDays,
                  campaign: withoutSelection(run),
                },
              ],
            } satisfies ScheduleOptionsStartWorkflowAction<typeof expiryGuard>)
          : ({
              type: 'startWorkflow',
              workflowType: campaign,
              // Temporal appends each run's time: every campaign of the schedule has its own id.
              workflowId: `${CAMPAIGN_WORKFLOW_PREFIX}${name}`,
              taskQueue,
              args: [run],
            } satisfies ScheduleOptionsStartWorkflowAction<typeof campaign>);
        const client = await ctx.temporal();
        await client.schedule.create({
          scheduleId: `${SCHEDULE_PREFIX}${name}`,
          spec: { intervals: [{ every: `${opts.every}s` }] },
          action,
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${opts.catchup}s` },
          state: { paused: opts.paused === true, note: `created by ${run.requestedBy}` },
        });
        const result = {
          name,
          what: guard ? EXPIRY_GUARD : run.procedure,
          everySeconds: opts.every,
          paused: opts.paused === true,
        };
        if (ctx.out.json) ctx.out.printJson(result);
        else
          ctx.out.line(
            `Created schedule ${name}: ${result.what} every ${formatDuration(opts.every)}${result.paused ? ' (paused)' : ''}; \`kmsflow schedule list\` shows its next run.`,
          );
        return ExitCode.success;
      }),
    );

    const list = schedule
      .command('list')
      .description("kmsflow's schedules: what each starts, how often, paused or not, its next and last run.");
    addJsonOption(list);
    addExamples(list, ['kmsflow schedule list --json']);
    list.action(
      runtime.action(async (ctx) => {
        const client = await ctx.temporal();
        const rows: {
          name: string;
          workflowType: string;
          everySeconds: number | null;
          paused: boolean;
          nextRun: string | null;
          lastRun: string | null;
          lastWorkflowId: string | null;
        }[] = [];
        for await (const s of client.schedule.list()) {
          if (!s.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
          const last = s.info.recentActions[s.info.recentActions.length - 1];
          rows.push({
            name: s.scheduleId.slice(SCHEDULE_PREFIX.length),
            workflowType: s.action?.workflowType ?? '',
            everySeconds: s.spec?.intervals?.[0] ? s.spec.intervals[0].every / 1000 : null,
            paused: s.state.paused,
            nextRun: s.info.nextActionTimes[0]?.toISOString() ?? null,
            lastRun: last?.takenAt.toISOString() ?? null,
            lastWorkflowId: last?.action.workflow.workflowId ?? null,
          });
        }
        rows.sort((a, b) => a.name.localeCompare(b.name));
        if (ctx.out.json) ctx.out.printJson({ schedules: rows });
        else
          ctx.out.lines(
            rows.length === 0
              ? ['No kmsflow schedules.']
              : table(
                  ['NAME', 'STARTS', 'EVERY', 'PAUSED', 'NEXT RUN', 'LAST RUN'],
                  rows.map((r) => [
                    r.name,
                    r.workflowType,
                    r.everySeconds ? formatDuration(r.everySeconds) : '-',
                    r.paused ? 'yes' : 'no',
                    formatTime(r.nextRun),
                    formatTime(r.lastRun),
                  ]),
                ),
          );
        return ExitCode.success;
      }),
    );

    const describe = schedule
      .command('describe')
      .argument('<name>')
      .description(
        'One schedule: what it starts, its last runs, the run still going (while it runs, a due run is skipped), and how many runs were skipped or missed.',
      );
    addJsonOption(describe);
    addExamples(describe, ['kmsflow schedule describe guard --json']);
    describe.action(
      runtime.action(async (ctx, name: string) => {
        const d = await (await scheduleHandle(ctx, name)).describe();
        const result = {
          name,
          workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : '',
          everySeconds: d.spec.intervals?.[0] ? d.spec.intervals[0].every / 1000 : null,
          paused: d.state.paused,
          note: d.state.note ?? null,
          catchupWindowSeconds: d.policies.catchupWindow / 1000,
          nextRun: d.info.nextActionTimes[0]?.toISOString() ?? null,
          running: d.info.runningActions.map((a) => a.workflow.workflowId),
          recentRuns: d.info.recentActions.map((a) => ({
            at: a.takenAt.toISOString(),
            workflowId: a.action.workflow.workflowId,
          })),
          skippedWhileRunning: d.info.numActionsSkippedOverlap,
          missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
        };
        if (ctx.out.json) ctx.out.printJson(result);
        else
          ctx.out.lines([
            `schedule  ${name}: ${result.workflowType} every ${result.everySeconds ? formatDuration(result.everySeconds) : '-'}${result.paused ? ` (paused${result.note ? `: ${result.note}` : ''})` : ''}`,
            `next run  ${formatTime(result.nextRun)}`,
            `running   ${result.running.join(', ') || 'none'}`,
            `skipped   ${result.skippedWhileRunning} run(s) while the previous one still ran; ${result.missedCatchupWindow} missed past the catch-up window (${formatDuration(result.catchupWindowSeconds)})`,
            'last runs',
            ...(result.recentRuns.length
              ? result.recentRuns.map((r) => `  ${formatTime(r.at)}  ${r.workflowId}`)
              : ['  none yet']),
          ]);
        return ExitCode.success;
      }),
    );

    const trigger = schedule
      .command('trigger')
      .argument('<name>')
      .description(
        "Start the schedule's campaign (or guard) now; not while its previous run still runs (exit 3, naming it).",
      );
    addJsonOption(trigger);
    addExamples(trigger, ['kmsflow schedule trigger quarterly']);
    trigger.action(
      runtime.action(async (ctx, name: string) => {
        const handle = await scheduleHandle(ctx, name);
        // The overlap policy drops a run triggered while another runs: say so rather than "triggered".
        const running = (await handle.describe()).info.runningActions.map((a) => a.workflow.workflowId);
        if (running.length === 0) await handle.trigger(ScheduleOverlapPolicy.SKIP);
        if (ctx.out.json)
          ctx.out.printJson({ name, action: 'trigger', triggered: running.length === 0, running });
        else
          ctx.out.line(
            running.length === 0
              ? `Schedule ${name}: triggered.`
              : `Schedule ${name}: not triggered: its run ${running.join(', ')} still runs (overlap: skip); trigger again once it ended.`,
          );
        return running.length === 0 ? ExitCode.success : ExitCode.waiting;
      }),
    );

    for (const [verb, what] of [
      ['pause', 'Pause a schedule: it starts nothing until unpaused (running campaigns go on).'],
      ['unpause', 'Unpause a schedule.'],
      ['delete', 'Delete a schedule (its campaigns go on).'],
    ] as const) {
      const command = schedule.command(verb).argument('<name>').description(what);
      if (verb === 'pause' || verb === 'unpause')
        command.option('--note <text>', 'why, recorded on the schedule', nonEmptyText('note'));
      addJsonOption(command);
      addExamples(command, [`kmsflow schedule ${verb} quarterly`]);
      command.action(
        runtime.action(async (ctx, name: string, opts: { note?: string }) => {
          const handle = await scheduleHandle(ctx, name);
          if (verb === 'pause') await handle.pause(opts.note);
          else if (verb === 'unpause') await handle.unpause(opts.note);
          else await handle.delete();
          if (ctx.out.json) ctx.out.printJson({ name, action: verb });
          else ctx.out.line(`Schedule ${name}: ${verb}d.`);
          return ExitCode.success;
        }),
      );
    }
  },
};

function withoutSelection(run: Omit<CampaignInput, 'campaignId'>): ExpiryGuardInput['campaign'] {
  const { procedure: _procedure, selection: _selection, ...rest } = run;
  return rest;
}
