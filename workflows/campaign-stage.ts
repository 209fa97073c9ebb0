/**
 * A stage's clusters, `concurrency` at a time: retried clusters first, then the stage's own in order. A
 * blocked procedure frees its place (it waits for its operator); a cluster waiting for its window or for ARM
 * sleeps until its time, with one timer for all of them, and an operator's `campaign recheck` wakes it early.
 * The stage ends when none of its clusters waits and no procedure runs (blocked ones stay blocked).
 */
import { type CampaignStage, concurrencyOf } from '../model/campaign';
import {
  type CampaignClusterState,
  type CampaignStageState,
  isSleeping,
  WAITING_STATUSES,
} from './campaign-messages';
import type { CampaignRun } from './campaign-run';
import type { ClusterTurns } from './campaign-turn';

const RUNNING: readonly CampaignClusterState['status'][] = ['running', 'waiting-approval'];

export async function runStage(
  run: CampaignRun,
  turns: ClusterTurns,
  stage: CampaignStage,
  state: CampaignStageState,
): Promise<void> {
  const { progress } = run;
  const members = progress.clusters.filter((c) => c.stage === stage.name);
  const capacity = concurrencyOf(stage, state.clusters);
  const retried = () =>
    progress.retried!.map((id) => progress.clusters.find((c) => c.clusterId === id)!).filter(Boolean);
  const inFlight = () =>
    run.starting.size + progress.clusters.filter((c) => RUNNING.includes(c.status)).length;
  const next = () =>
    [...retried(), ...members].find((c) => c.status === 'pending' && !run.starting.has(c.clusterId));
  const waitingHere = () => [...members, ...retried()].some((c) => WAITING_STATUSES.includes(c.status));

  for (;;) {
    await run.handOverIfDue();
    wakeDue([...members, ...retried()]);
    if (!run.stopping() && !progress.paused && !run.handingOver)
      for (let c = next(); c && inFlight() < capacity; c = next()) turns.take(c);
    if (inFlight() === 0 && (run.stopping() || !waitingHere())) return;
    await run.waitForChange(msUntilWake([...members, ...retried()]));
  }
}

/** Waiting clusters whose time came are pending again. */
function wakeDue(clusters: CampaignClusterState[]): void {
  const at = Date.now();
  for (const c of clusters)
    if (isSleeping(c) && c.waitUntil && Date.parse(c.waitUntil) <= at) {
      c.status = 'pending';
      delete c.reason;
      delete c.waitUntil;
    }
}

/** Until the first waiting cluster's time; undefined when none has one (it waits for an operator). */
function msUntilWake(clusters: CampaignClusterState[]): number | undefined {
  const times = clusters.flatMap((c) => (isSleeping(c) && c.waitUntil ? [Date.parse(c.waitUntil)] : []));
  return times.length ? Math.max(1_000, Math.min(...times) - Date.now()) : undefined;
}
