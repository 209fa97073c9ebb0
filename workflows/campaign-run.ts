/**
 * One run of a campaign workflow: its progress, the error budget, the clusters being started, and when to hand
 * over to a new run. Every change goes through `publish` (the Web UI's details, the search attributes, and
 * the wake-up of whatever waits for a change); a run continues as new at the first quiet point after its
 * history grew past `ROLL_AT_EVENTS` or the server suggested it, whatever the campaign waits for.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { allowanceOf, budgetSpent, type CampaignStage } from '../model/campaign';
import {
  type CampaignClusterState,
  type CampaignClusterStatus,
  type CampaignInput,
  type CampaignPhase,
  type CampaignProgress,
  FAILURE_STATUSES,
} from './campaign-messages';
import { carryCampaign, resumeCampaign } from './campaign-state';
import { CampaignAttribute, PhaseAttribute, procedureWorkflowId } from './messages';

/** A run hands over well before Temporal's own suggestion (4 K events by default): at most ~2,000 per run. */
export const ROLL_AT_EVENTS = 1_500;

export const now = () => new Date().toISOString();

export class CampaignRun {
  readonly progress: CampaignProgress;
  /** Clusters (lower-case ids) that spent the budget: once each, whatever became of them later. */
  readonly counted: Set<string>;
  /** Clusters whose turn is being taken now (their window and state read, their procedure started). */
  readonly starting = new Set<string>();
  /** Grows with every change; what waits for "anything new" compares it. */
  changes = 0;
  private changesAtStart = 0;
  private draining = false;
  private publishedPhase = '';

  constructor(
    readonly input: CampaignInput,
    readonly campaignId: string,
    fresh: () => CampaignProgress,
  ) {
    const resumed = input.carried ? resumeCampaign(input.carried) : undefined;
    this.progress = resumed?.progress ?? fresh();
    this.counted = resumed?.counted ?? new Set();
    // An earlier release's progress: its failures still count.
    if (resumed && resumed.counted.size === 0)
      for (const c of this.progress.clusters)
        if (FAILURE_STATUSES.includes(c.status)) this.counted.add(c.clusterId.toLowerCase());
    this.progress.retried ??= [];
  }

  get cancelled(): boolean {
    return this.progress.cancel !== undefined;
  }

  /** The campaign's allowance: a share resolves against the clusters in its stages. */
  get allowance(): number {
    return allowanceOf(this.input.errorBudget, this.progress.clusters.filter((c) => c.stage !== null).length);
  }

  budgetSpent(): boolean {
    return budgetSpent(this.allowance, this.counted.size);
  }

  stageBudgetSpent(stage: CampaignStage): boolean {
    if (!stage.maxFailures) return false;
    const members = this.progress.clusters.filter((c) => c.stage === stage.name);
    const spent = members.filter((c) => this.counted.has(c.clusterId.toLowerCase())).length;
    return budgetSpent(allowanceOf(stage.maxFailures, members.length), spent);
  }

  /** No new cluster starts: cancelled, or the campaign's or a stage's budget is spent. */
  stopping(): boolean {
    return this.cancelled || this.budgetSpent() || this.input.stages.some((s) => this.stageBudgetSpent(s));
  }

  clusterNamed(name: string): CampaignClusterState | undefined {
    const n = name.toLowerCase();
    return this.progress.clusters.find((c) => c.clusterId.toLowerCase() === n || c.name.toLowerCase() === n);
  }

  clusterOfProcedure(workflowId: string): CampaignClusterState | undefined {
    return this.progress.clusters.find((c) => c.runId && procedureWorkflowId(c.clusterId) === workflowId);
  }

  /** Sets a cluster's status; a failure, a block or a missing proof spends the budget once. */
  setStatus(c: CampaignClusterState, status: CampaignClusterStatus, reason?: string): void {
    c.status = status;
    if (reason === undefined) delete c.reason;
    else c.reason = reason;
    if (FAILURE_STATUSES.includes(status)) {
      const id = c.clusterId.toLowerCase();
      if (!this.counted.has(id)) {
        this.counted.add(id);
        const stage = this.progress.stages.find((s) => s.name === c.stage);
        if (stage) stage.failures = (stage.failures ?? 0) + 1;
      }
    }
  }

  publish(phase?: CampaignPhase): void {
    if (phase) this.progress.phase = phase;
    const failures = this.counted.size;
    const allowance = this.allowance;
    this.progress.budget = { maxFailures: allowance, failures, left: Math.max(0, allowance - failures) };
    setCurrentDetails(details(this.progress));
    if (this.publishedPhase !== this.progress.phase) {
      upsertSearchAttributes([
        { key: CampaignAttribute, value: this.campaignId },
        { key: PhaseAttribute, value: this.progress.phase },
      ]);
      this.publishedPhase = this.progress.phase;
    }
    this.changes++;
  }

  /** Marks where this run's own work begins: a run hands over only after it changed something. */
  begin(): void {
    this.changesAtStart = this.changes;
  }

  /** Takes no new turn: this run is about to hand over. */
  get handingOver(): boolean {
    return this.draining;
  }

  private dueForNewRun(): boolean {
    if (this.changes === this.changesAtStart) return false;
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= ROLL_AT_EVENTS;
  }

  /**
   * Waits until `done` holds (or `timeoutMs` passed: false); continues as new when due, once the turns being
   * taken finished, even when `done` holds too. Only the campaign's main flow calls it.
   */
  async waitFor(done: () => boolean, timeoutMs?: number): Promise<boolean> {
    const ready = () => done() || this.dueForNewRun();
    const met = timeoutMs === undefined ? (await condition(ready), true) : await condition(ready, timeoutMs);
    // Due wins over done: whatever was awaited is in the progress, and the next run takes it from there.
    await this.handOverIfDue();
    return met;
  }

  /** Hands over to a new run now when due: for long work made of many steps, between two of them. */
  async handOverIfDue(): Promise<void> {
    if (this.dueForNewRun()) await this.handOver();
  }

  /** Waits for any change, or `timeoutMs`. */
  async waitForChange(timeoutMs?: number): Promise<void> {
    const seen = this.changes;
    await this.waitFor(() => this.changes !== seen, timeoutMs);
  }

  private async handOver(): Promise<never> {
    this.draining = true;
    await condition(() => this.starting.size === 0 && allHandlersFinished());
    return continueAsNew<(input: CampaignInput) => Promise<CampaignProgress>>({
      ...this.input,
      campaignId: this.campaignId,
      carried: carryCampaign(this.progress, this.counted),
    });
  }
}

/** The Web UI's current details: stage, counts, budget. */
function details(p: CampaignProgress): string {
  const counts = new Map<string, number>();
  for (const c of p.clusters) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const line = [...counts.entries()].map(([status, n]) => `${status} ${n}`).join(' · ');
  return (
    `**Campaign ${p.campaignId}** (${p.procedure}) — ${p.phase}${p.paused ? ' (paused)' : ''}${p.stage ? `, stage ${p.stage}` : ''}\n\n` +
    `${p.clusters.length} clusters: ${line || 'none yet'}\n\nerror budget: ${p.budget.failures} of ${p.budget.maxFailures} used`
  );
}
