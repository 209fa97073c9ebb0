/**
 * What operators can do to a running campaign, and what the campaign's procedures tell it. Each update's
 * validator refuses, with the fix, anything that would pass a gate: a stage is approved by name only, a
 * retry runs only in a stage that has started, nothing starts after a cancel.
 */
import { setHandler } from '@temporalio/workflow';
import {
  approveStageUpdate,
  type CampaignClusterState,
  type CampaignStageState,
  campaignProgressQuery,
  cancelCampaignUpdate,
  isSleeping,
  pauseCampaignSignal,
  recheckWaitingUpdate,
  resumeCampaignSignal,
  retryClusterUpdate,
  skipClusterUpdate,
  skipSoakUpdate,
  skipStageUpdate,
  WAITING_STATUSES,
} from './campaign-messages';
import { type CampaignRun, now } from './campaign-run';
import { procedurePhaseSignal } from './messages';

const RETRYABLE = ['failed', 'not-proven', 'skipped', 'not-started', 'cancelled'];
/** A stage whose clusters have had their turn, or have it now. */
const STARTED: readonly CampaignStageState['status'][] = ['running', 'soaking', 'checking', 'done'];

const who = (request: { requestedBy?: string }) => request.requestedBy ?? 'an operator';

export function handleOperators(run: CampaignRun): void {
  const { progress } = run;
  const stageNamed = (name: string) => progress.stages.find((s) => s.name === name);
  const waitingStage = () => progress.stages.find((s) => s.status === 'waiting-approval');
  const ended = () => progress.endedAt !== undefined;
  const clusterIn = (name: string): CampaignClusterState => {
    const c = run.clusterNamed(name);
    if (!c) throw new Error(`cluster ${name} is not in this campaign (kmsflow campaign status lists them).`);
    return c;
  };

  setHandler(campaignProgressQuery, () => progress);
  setHandler(pauseCampaignSignal, () => {
    progress.paused = true;
    run.publish();
  });
  setHandler(resumeCampaignSignal, () => {
    progress.paused = false;
    run.publish();
  });

  setHandler(
    approveStageUpdate,
    (request) => {
      const stage = stageNamed(request.stage)!;
      const gate = stage.gate ?? 'before';
      if (gate === 'after') stage.approvedAfterBy = who(request);
      else stage.approvedBy = who(request);
      stage.status = gate === 'after' ? 'done' : 'running';
      delete stage.gate;
      run.publish('running');
      return { stage: stage.name, gate };
    },
    {
      validator: (request) => {
        const waiting = waitingStage();
        const waits = waiting
          ? `stage ${waiting.name} waits for approval ${waiting.gate === 'after' ? 'after its soak' : 'before it starts'}`
          : `no stage waits for approval (phase: ${progress.phase})`;
        if (!request.stage) throw new Error(`name the stage to approve: ${waits}.`);
        if (!stageNamed(request.stage))
          throw new Error(
            `there is no stage ${request.stage} (stages: ${progress.stages.map((s) => s.name).join(', ')}).`,
          );
        if (waiting?.name !== request.stage)
          throw new Error(`stage ${request.stage} does not wait: ${waits}.`);
      },
    },
  );

  setHandler(
    skipStageUpdate,
    (request) => {
      const stage = stageNamed(request.stage)!;
      stage.status = 'skipped';
      delete stage.gate;
      stage.skippedBy = `${who(request)}: ${request.reason}`;
      let clusters = 0;
      for (const c of progress.clusters)
        if (c.stage === stage.name && WAITING_STATUSES.includes(c.status)) {
          run.setStatus(c, 'skipped', `stage ${stage.name} skipped by ${who(request)}: ${request.reason}`);
          clusters++;
        }
      run.publish();
      return { stage: stage.name, clusters };
    },
    {
      validator: (request) => {
        const stage = stageNamed(request.stage);
        if (!stage) throw new Error(`there is no stage ${request.stage}.`);
        if (!(stage.status === 'pending' || (stage.status === 'waiting-approval' && stage.gate !== 'after')))
          throw new Error(
            `stage ${stage.name} is ${stage.status}: only a stage whose clusters have not started can be skipped (skip one cluster: kmsflow campaign skip; stop the campaign: kmsflow campaign cancel).`,
          );
      },
    },
  );

  setHandler(
    skipSoakUpdate,
    (request) => {
      const stage = progress.stages.find((s) => s.status === 'soaking')!;
      stage.soakUntil = now();
      stage.skippedBy = `soak ended early by ${who(request)}`;
      run.publish();
      return { stage: stage.name };
    },
    {
      validator: (_request) => {
        if (!progress.stages.some((s) => s.status === 'soaking'))
          throw new Error(`no stage soaks now (phase: ${progress.phase}).`);
      },
    },
  );

  setHandler(
    recheckWaitingUpdate,
    (request) => {
      const at = now();
      const waiting = progress.clusters.filter(
        (c) => isSleeping(c) && (!request.cluster || c === run.clusterNamed(request.cluster)),
      );
      for (const c of waiting) c.waitUntil = at;
      run.publish();
      return { clusters: waiting.length };
    },
    {
      validator: (request) => {
        if (!request.cluster) return;
        const c = clusterIn(request.cluster);
        if (!isSleeping(c)) throw new Error(`cluster ${c.name} is ${c.status}: it does not wait.`);
      },
    },
  );

  setHandler(
    skipClusterUpdate,
    (request) => {
      const c = clusterIn(request.cluster);
      run.setStatus(c, 'skipped', `skipped by ${who(request)}`);
      delete c.waitUntil;
      run.publish();
      return { clusterId: c.clusterId };
    },
    {
      validator: (request) => {
        const c = clusterIn(request.cluster);
        if (!WAITING_STATUSES.includes(c.status))
          throw new Error(
            `cluster ${c.name} is ${c.status}: only a cluster not started yet can be skipped (a running one: kmsflow cancel ${c.clusterId}).`,
          );
      },
    },
  );

  setHandler(
    retryClusterUpdate,
    (request) => {
      const c = clusterIn(request.cluster);
      run.setStatus(c, 'pending');
      progress.retried!.push(c.clusterId);
      run.publish();
      return { clusterId: c.clusterId };
    },
    {
      validator: (request) => {
        const c = clusterIn(request.cluster);
        if (!RETRYABLE.includes(c.status)) {
          const hint =
            c.status === 'blocked' ? ` (a blocked procedure goes on with: kmsflow retry ${c.clusterId})` : '';
          throw new Error(
            `cluster ${c.name} is ${c.status}: only a failed, not-proven, cancelled, skipped or not-started cluster can be retried${hint}.`,
          );
        }
        const stage = c.stage === null ? undefined : stageNamed(c.stage);
        if (
          stage &&
          !STARTED.includes(stage.status) &&
          !(stage.status === 'waiting-approval' && stage.gate === 'after')
        )
          throw new Error(
            `cluster ${c.name} is in stage ${stage.name}, which has not started (${stage.status}): it can run only in its stage, once that starts.`,
          );
        if (
          ended() ||
          run.stopping() ||
          !progress.stages.some(
            (s) => s.status !== 'done' && s.status !== 'not-started' && s.status !== 'skipped',
          )
        )
          throw new Error('the campaign starts no more clusters: start a new campaign for it.');
      },
    },
  );

  setHandler(
    cancelCampaignUpdate,
    (request) => {
      progress.cancel = { requestedBy: who(request), reason: request.reason, at: now() };
      progress.haltReason = `cancelled by ${who(request)}: ${request.reason}`;
      run.publish();
      return { cancelled: true };
    },
    {
      validator: (_request) => {
        if (ended() || run.cancelled)
          throw new Error(`the campaign is already ${run.cancelled ? 'cancelled' : progress.phase}.`);
      },
    },
  );

  setHandler(procedurePhaseSignal, (change) => {
    const c = run.clusterOfProcedure(change.workflowId);
    if (!c || !['running', 'waiting-approval', 'blocked'].includes(c.status)) return;
    if (change.phase === 'blocked')
      run.setStatus(
        c,
        'blocked',
        `blocked at step ${change.step}: fix what kmsflow status ${c.clusterId} shows, then kmsflow retry ${c.clusterId} (or kmsflow cancel it)`,
      );
    else if (change.phase === 'waiting-approval')
      run.setStatus(
        c,
        'waiting-approval',
        `waits for approval at step ${change.step}: kmsflow approve ${c.clusterId}`,
      );
    else if (change.phase === 'running' || change.phase === 'paused') run.setStatus(c, 'running');
    else return;
    run.publish();
  });
}
