/**
 * A campaign: one procedure across the clusters a selection names, stage after stage. Each cluster's
 * procedure is a child under the cluster's own workflow id, so the one-procedure-per-cluster rule and every
 * per-cluster view keep working. A stage may wait for an approval before it and after its soak; the error
 * budget (the campaign's, and a stage's own) stops new starts once too many clusters failed, were blocked or
 * were not proven, and the campaign then ends halted, once the procedures it started have ended (a blocked one
 * waits for its operator, and the campaign with it). The campaign continues as new whenever its history grows
 * long, whatever it waits for, carrying its state compactly (campaign-state.ts).
 *
 * After a stage's soak, each of its proven clusters is checked again before the next stage (campaign-health.ts).
 *
 * Modules: campaign-run.ts (state, budget, hand-over), campaign-operators.ts (updates and signals),
 * campaign-stage.ts (a stage's clusters, concurrency, waits), campaign-turn.ts (one cluster's turn),
 * campaign-health.ts (the check after a stage).
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { CampaignStage } from '../model/campaign';
import { formFromSelection } from './campaign-inputs';
import {
  CAMPAIGN_WORKFLOW_PREFIX,
  type CampaignInput,
  type CampaignProgress,
  type CampaignStageState,
  WAITING_STATUSES,
} from './campaign-messages';
import { handleOperators } from './campaign-operators';
import { CampaignRun, now } from './campaign-run';
import { GOING_STATUSES } from './campaign-state';
import { checkStageHealth } from './campaign-health';
import { runStage } from './campaign-stage';
import { ClusterTurns } from './campaign-turn';
import { procedureNamed } from './procedures';

export async function campaign(input: CampaignInput): Promise<CampaignProgress> {
  // A scheduled campaign has no id of its own: Temporal names each run's workflow id after the schedule and its time.
  const campaignId = input.campaignId ?? workflowInfo().workflowId.replace(CAMPAIGN_WORKFLOW_PREFIX, '');
  if (!procedureNamed(input.procedure))
    throw ApplicationFailure.nonRetryable(`Unknown procedure ${input.procedure}.`);
  const run = new CampaignRun(input, campaignId, () => ({
    campaignId,
    procedure: input.procedure,
    phase: 'selecting',
    paused: false,
    stage: null,
    stages: input.stages.map((s) => ({ name: s.name, clusters: 0, status: 'pending' })),
    clusters: [],
    budget: { maxFailures: input.errorBudget.maxFailures, failures: 0, left: input.errorBudget.maxFailures },
    startedAt: now(),
  }));
  const { progress } = run;
  handleOperators(run);
  const turns = new ClusterTurns(run);

  run.publish();
  if (!input.carried) {
    const { members, stageSizes } = await formFromSelection(input);
    progress.clusters = members.map((m) => ({
      clusterId: m.clusterId,
      name: m.name,
      stage: m.stage,
      status: m.skipReason ? 'skipped' : 'pending',
      ...(m.skipReason ? { reason: m.skipReason } : {}),
    }));
    stageSizes.forEach((size, i) => (progress.stages[i]!.clusters = size));
    run.publish('running');
  }
  turns.followCarried();
  run.begin();

  for (const [index, stage] of input.stages.entries()) {
    const state = progress.stages[index]!;
    if (['done', 'skipped', 'not-started'].includes(state.status)) continue;
    if (run.stopping()) break;
    progress.stage = stage.name;
    const last = index === input.stages.length - 1;
    if (state.status === 'pending' || (state.status === 'waiting-approval' && state.gate === 'before')) {
      if (stage.approval && !autoApproved(input, stage) && !state.approvedBy)
        if (!(await gate(run, state, 'before'))) break;
      if (skippedMeanwhile(state)) continue;
      state.status = 'running';
      run.publish('running');
    }
    if (state.status === 'running') {
      await runStage(run, turns, stage, state);
      if (run.stopping()) break;
      if (stage.soakSeconds > 0 && !last) {
        state.status = 'soaking';
        state.soakUntil = new Date(Date.now() + stage.soakSeconds * 1000).toISOString();
        run.publish('soaking');
      }
    }
    if (state.status === 'soaking') {
      const soakOver = () => Date.parse(state.soakUntil!) <= Date.now();
      while (!soakOver() && !run.stopping())
        await run.waitFor(
          () => soakOver() || run.stopping(),
          Math.max(0, Date.parse(state.soakUntil!) - Date.now()),
        );
      if (run.stopping()) break;
    }
    if (state.status === 'soaking' || state.status === 'running') {
      state.status = 'checking';
      run.publish('running');
    }
    if (state.status === 'checking' && !last && input.healthChecks !== false) {
      await checkStageHealth(run, stage, state);
      if (run.stopping()) break;
    }
    if (stage.approvalAfter && !last && !autoApproved(input, stage) && !state.approvedAfterBy)
      if (!(await gate(run, state, 'after'))) break;
    state.status = 'done';
    run.publish('running');
  }

  // The campaign ends when every procedure it started has: its record is then final. A blocked one waits for its
  // operator (kmsflow retry after the fix, or kmsflow cancel), and the campaign with it.
  await run.waitFor(
    () => run.starting.size === 0 && !progress.clusters.some((c) => GOING_STATUSES.includes(c.status)),
  );
  return finish(run);
}

/** Waits at the stage's gate; false when the campaign stops meanwhile. */
async function gate(run: CampaignRun, state: CampaignStageState, at: 'before' | 'after'): Promise<boolean> {
  state.status = 'waiting-approval';
  state.gate = at;
  run.publish('waiting-approval');
  await run.waitFor(() => state.status !== 'waiting-approval' || run.stopping());
  return !run.stopping();
}

function finish(run: CampaignRun): CampaignProgress {
  const { progress } = run;
  const why = run.cancelled
    ? 'the campaign was cancelled before its turn'
    : run.budgetSpent() || run.input.stages.some((s) => run.stageBudgetSpent(s))
      ? 'the error budget was spent before its turn'
      : undefined;
  progress.retried = [];
  for (const c of progress.clusters)
    if (WAITING_STATUSES.includes(c.status)) {
      c.status = 'not-started';
      c.reason = why ?? c.reason ?? 'its stage did not run';
      delete c.waitUntil;
    }
  for (const s of progress.stages)
    if (s.status === 'pending' || s.status === 'waiting-approval') {
      s.status = 'not-started';
      delete s.gate;
    }
  if (!run.cancelled && why) {
    const spent = run.input.stages.find((s) => run.stageBudgetSpent(s));
    progress.haltReason = spent
      ? `stage ${spent.name}: ${progress.stages.find((s) => s.name === spent.name)!.failures} cluster(s) failed, were blocked or were not proven: more than its budget.`
      : `${run.counted.size} cluster(s) failed, were blocked or were not proven: more than the error budget of ${run.allowance}.`;
  }
  progress.stage = null;
  progress.endedAt = now();
  run.publish(run.cancelled ? 'cancelled' : progress.haltReason ? 'halted' : 'completed');
  return progress;
}

/** An operator may skip the stage while it waits at its gate. */
const skippedMeanwhile = (state: CampaignStageState) => state.status === 'skipped';

function autoApproved(input: CampaignInput, stage: CampaignStage): boolean {
  return input.autoApprove === 'all' || (input.autoApprove ?? []).includes(stage.name);
}
