/**
 * Retire one key version across the estate (`kmsflow campaign start retire-version --key-id V`): every cluster
 * of the subscriptions in scope that holds V in either of AKS's key slots (or whose previous slot kmsflow cannot
 * see while it uses the same key) is rotated off it in a rotate campaign and proven; clusters that still hold it
 * (V moved from their current slot to their previous one) go through a second round; only when no cluster in
 * scope holds V any more, and after the `retire` approval, is V disabled or expired, once. It answers the
 * campaign's query and operator updates, so `kmsflow campaign status|approve|cancel` work on it.
 */
import {
  ChildWorkflowCancellationType,
  condition,
  executeChild,
  ParentClosePolicy,
  setHandler,
} from '@temporalio/workflow';
import { allowanceOf } from '../model/campaign';
import type { EstateSnapshot } from '../model/estate';
import { mustLeaveKey } from '../model/estate';
import { quick } from './activity-proxies';
import { campaign } from './campaign';
import {
  approveStageUpdate,
  type CampaignClusterState,
  type CampaignInput,
  type CampaignProgress,
  campaignProgressQuery,
  campaignWorkflowId,
  cancelCampaignUpdate,
} from './campaign-messages';
import { CampaignAttribute } from './messages';

/** The stage whose approval lets the version be disabled or expired. */
export const RETIRE_STAGE = 'retire';
/** Clusters in the current slot need two rotations; a third round means something else keeps putting it back. */
const MAX_ROUNDS = 3;

export interface RetireVersionInput {
  campaignId: string;
  keyId: string;
  how: 'disable' | 'expire';
  /** Every subscription whose clusters are searched for the version. */
  subscriptions: string[];
  /** The `retire` stage approved at start (`--approve-stages retire` or `all`). */
  approveRetirement?: boolean;
  /** Each round is a rotate campaign with these stages, budget and options. */
  rounds: Omit<
    CampaignInput,
    'campaignId' | 'procedure' | 'selection' | 'carried' | 'flags' | 'clusterFlags'
  >;
  requestedBy?: string;
}

export async function retireVersion(input: RetireVersionInput): Promise<CampaignProgress> {
  const progress: CampaignProgress = {
    campaignId: input.campaignId,
    procedure: 'retire-version',
    phase: 'selecting',
    paused: false,
    stage: null,
    stages: [],
    clusters: [],
    budget: {
      maxFailures: input.rounds.errorBudget.maxFailures,
      failures: 0,
      left: input.rounds.errorBudget.maxFailures,
    },
    startedAt: new Date().toISOString(),
  };
  let approvedBy: string | undefined = input.approveRetirement
    ? (input.requestedBy ?? 'at start')
    : undefined;
  let cancelled: string | undefined;
  setHandler(campaignProgressQuery, () => progress);
  setHandler(
    approveStageUpdate,
    ({ requestedBy }) => {
      approvedBy = requestedBy ?? 'unknown';
      return { stage: RETIRE_STAGE, gate: 'before' as const };
    },
    {
      validator: ({ stage }) => {
        if (stage !== RETIRE_STAGE)
          throw new Error(
            `Only the stage "${RETIRE_STAGE}" of ${input.campaignId} waits here: kmsflow campaign approve ${input.campaignId} ${RETIRE_STAGE}. Each round's stages are approved on the round's campaign (${input.campaignId}-round-N).`,
          );
        if (progress.phase !== 'waiting-approval')
          throw new Error(`${input.campaignId} is ${progress.phase}: nothing waits for approval.`);
      },
    },
  );
  setHandler(
    cancelCampaignUpdate,
    ({ reason }) => {
      cancelled = reason;
      return { cancelled: true };
    },
    {
      validator: (_request) => {
        if (progress.endedAt) throw new Error(`${input.campaignId} already ended (${progress.phase}).`);
      },
    },
  );

  const halt = (reason: string): CampaignProgress => {
    progress.phase = cancelled ? 'cancelled' : 'halted';
    progress.haltReason = reason;
    progress.stage = null;
    progress.endedAt = new Date().toISOString();
    return progress;
  };
  const readEstate = () => quick.readEstate({ subscriptions: input.subscriptions, withSlots: true });
  const holdersOf = (estate: EstateSnapshot) =>
    estate.clusters.flatMap((c) => {
      const why = mustLeaveKey(c, input.keyId);
      return why ? [{ cluster: c, why }] : [];
    });
  const track = (state: CampaignClusterState) => {
    const i = progress.clusters.findIndex((c) => c.clusterId.toLowerCase() === state.clusterId.toLowerCase());
    if (i < 0) progress.clusters.push(state);
    else progress.clusters[i] = state;
  };

  const everHeld = new Set<string>();
  for (let round = 1; ; round++) {
    const estate = await readEstate();
    if (estate.unreadable.length > 0)
      return halt(
        `Cannot verify ${estate.unreadable.map((u) => `${u.what} (${u.reason})`).join('; ')}: a cluster there may hold ${input.keyId}. Grant the worker Reader there, then start again.`,
      );
    const holders = holdersOf(estate);
    for (const h of holders) everHeld.add(h.cluster.id);
    if (holders.length === 0) break;
    if (cancelled) return halt(`Cancelled before round ${round}: ${cancelled}`);
    if (round > MAX_ROUNDS)
      return halt(
        `After ${MAX_ROUNDS} rounds ${holders.map((h) => `${h.cluster.name} (${h.why})`).join(', ')} still hold ${input.keyId}: something outside kmsflow sets it again. Nothing was retired.`,
      );
    const roundId = `${input.campaignId}-round-${round}`;
    progress.phase = 'running';
    progress.stage = roundId;
    progress.stages.push({ name: roundId, clusters: holders.length, status: 'running' });
    for (const h of holders)
      track({
        clusterId: h.cluster.id,
        name: h.cluster.name,
        stage: roundId,
        status: 'running',
        reason: h.why,
      });
    const result = await executeChild(campaign, {
      workflowId: campaignWorkflowId(roundId),
      args: [
        {
          ...input.rounds,
          // Each rotation's preflight looks at the same subscriptions (a cluster's vault may be in another one).
          procedureOptions: {
            ...input.rounds.procedureOptions,
            estate: { ...input.rounds.procedureOptions?.estate, subscriptions: input.subscriptions },
          },
          campaignId: roundId,
          procedure: 'rotate-key',
          selection: { subscriptions: [], clusterIds: holders.map((h) => h.cluster.id) },
          ...(input.requestedBy ? { requestedBy: input.requestedBy } : {}),
        },
      ],
      // A cancel of this workflow never reaches the round (nor, through it, a procedure half-way).
      cancellationType: ChildWorkflowCancellationType.ABANDON,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [{ key: CampaignAttribute, value: roundId }],
    });
    progress.stages.at(-1)!.status = 'done';
    for (const c of result.clusters) track({ ...c, stage: roundId });
    const failed = result.clusters.filter((c) => c.status !== 'proven');
    progress.budget.failures += failed.length;
    progress.budget.maxFailures = allowanceOf(input.rounds.errorBudget, everHeld.size);
    progress.budget.left = Math.max(0, progress.budget.maxFailures - progress.budget.failures);
    if (result.phase !== 'completed' || failed.length > 0)
      return halt(
        `Round ${round} (${roundId}) ended ${result.phase}${failed.length ? `; not proven off ${input.keyId}: ${failed.map((c) => `${c.name} (${c.status})`).join(', ')}` : ''}. Nothing was retired: fix them (kmsflow campaign status ${roundId}), then start again.`,
      );
  }

  progress.stage = RETIRE_STAGE;
  progress.stages.push({ name: RETIRE_STAGE, clusters: 0, status: 'waiting-approval' });
  if (!approvedBy) {
    progress.phase = 'waiting-approval';
    await condition(() => approvedBy !== undefined || cancelled !== undefined);
  }
  if (cancelled) return halt(`Cancelled before the version was retired: ${cancelled}`);
  const retireStage = progress.stages.at(-1)!;
  retireStage.approvedBy = approvedBy;
  retireStage.status = 'running';
  progress.phase = 'running';
  // Read again right before acting: a cluster may have taken the version since the last round.
  const last = await readEstate();
  const holders = holdersOf(last);
  if (last.unreadable.length > 0 || holders.length > 0)
    return halt(
      `${input.keyId} is held again by ${holders.map((h) => `${h.cluster.name} (${h.why})`).join(', ') || 'a cluster kmsflow cannot read'}; nothing was retired. Start again.`,
    );
  await quick.retireKeyVersion({ keyId: input.keyId, how: input.how });
  const at = new Date().toISOString();
  for (const clusterId of everHeld) {
    await quick.recordLedgerEvent({
      clusterId,
      event: {
        kind: 'key-retired',
        keyId: input.keyId,
        how: input.how,
        id: `retire-version/${input.campaignId}/${input.keyId}`,
        at,
        workflowId: campaignWorkflowId(input.campaignId),
      },
    });
  }
  retireStage.status = 'done';
  progress.phase = 'completed';
  progress.stage = null;
  progress.haltReason = undefined;
  progress.endedAt = new Date().toISOString();
  progress.stages.at(-1)!.clusters = everHeld.size;
  return progress;
}
