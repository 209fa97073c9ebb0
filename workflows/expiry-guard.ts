/**
 * The expiry guard, run by a schedule: finds the selected clusters whose key in AKS's current or previous slot
 * expires within N days (an expired key in either slot makes Secrets unreadable), and starts a rotate campaign
 * over exactly those clusters. The campaign's stages carry their approvals, so the guard's run says who must
 * approve; with none, the rotations start at once. The guard ends when its campaign has.
 */
import {
  ChildWorkflowCancellationType,
  executeChild,
  ParentClosePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { sameKeyId } from '../model/ids';
import { quick } from './activity-proxies';
import { campaign } from './campaign';
import {
  CAMPAIGN_WORKFLOW_PREFIX,
  EXPIRY_GUARD_WORKFLOW_PREFIX,
  type ExpiringKey,
  type ExpiryGuardInput,
  type ExpiryGuardResult,
  type UncheckedSlot,
} from './campaign-messages';
import { CampaignAttribute } from './messages';
import { followCurrentVersion } from './versioning-behavior';

export async function expiryGuard(input: ExpiryGuardInput): Promise<ExpiryGuardResult> {
  const clusters = (await quick.selectClusters(input.selection)).filter((c) => c.kmsEnabled && c.keyId);
  const slots: { clusterId: string; slot: ExpiringKey['slot']; keyId: string }[] = [];
  const unchecked: UncheckedSlot[] = [];
  for (const c of clusters) {
    slots.push({ clusterId: c.clusterId, slot: 'current', keyId: c.keyId! });
    // AKS's previous slot is not in ARM's model: kmsflow's key ledger knows it, when it saw the key change.
    const ledger = await quick.readKeyLedger(c.clusterId);
    const previous = ledger.slots.previous;
    if (previous && !sameKeyId(previous, c.keyId))
      slots.push({ clusterId: c.clusterId, slot: 'previous', keyId: previous });
    else if (!previous || !sameKeyId(ledger.slots.current, c.keyId))
      unchecked.push({
        clusterId: c.clusterId,
        slot: 'previous',
        reason: !sameKeyId(ledger.slots.current, c.keyId)
          ? 'kmsflow did not see the last key change of this cluster, so its previous key slot is unknown'
          : 'kmsflow has seen one key on this cluster only, so its previous key slot is unknown',
      });
  }
  const keyIds = [...new Set(slots.map((s) => s.keyId))];
  const states = keyIds.length > 0 ? await quick.keyStates(keyIds) : [];
  const deadline = Date.now() + input.withinDays * 86_400_000;
  const expiring: ExpiringKey[] = [];
  for (const s of slots) {
    const state = states.find((k) => sameKeyId(k.keyId, s.keyId));
    // A key that cannot be read, or is disabled, is never counted as healthy: it is reported.
    if (!state || state.problem !== null) {
      unchecked.push({ ...s, reason: `its key could not be read: ${state?.problem ?? 'no answer'}` });
      continue;
    }
    if (state.enabled === false) {
      unchecked.push({ ...s, reason: 'its key version is disabled: the KMS plugin fails on it' });
      continue;
    }
    if (state.expiresOn && Date.parse(state.expiresOn) <= deadline)
      expiring.push({ ...s, expiresOn: state.expiresOn });
  }
  if (expiring.length === 0) return { checked: clusters.length, expiring, unchecked, campaignId: null };

  const campaignId = `expiry-${workflowInfo().workflowId.replace(EXPIRY_GUARD_WORKFLOW_PREFIX, '')}`;
  // The guard waits for its campaign: while it runs, the schedule's overlap policy (skip) starts no second one
  // over the same clusters.
  const result = await executeChild(campaign, {
    workflowId: `${CAMPAIGN_WORKFLOW_PREFIX}${campaignId}`,
    args: [
      {
        ...input.campaign,
        campaignId,
        procedure: 'rotate-key',
        selection: { subscriptions: [], clusterIds: [...new Set(expiring.map((e) => e.clusterId))] },
      },
    ],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    cancellationType: ChildWorkflowCancellationType.ABANDON,
    typedSearchAttributes: [{ key: CampaignAttribute, value: campaignId }],
  });
  return { checked: clusters.length, expiring, unchecked, campaignId, campaignPhase: result.phase };
}

followCurrentVersion(expiryGuard);
