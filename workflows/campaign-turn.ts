/**
 * A cluster's turn in a campaign: read it (one activity), wait for its maintenance window or for ARM to be
 * free, or start its procedure as a child; then follow the procedure to its end. A child never receives a
 * cancel from the campaign (abandoned at close and at cancel): a campaign stopped in any way leaves every
 * procedure to finish or to its operator. Procedures started by an earlier run are followed by an activity.
 */
import {
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  busyInArm,
  type ClusterOutcome,
  DEFAULT_RECHECK_SECONDS,
  notApplicable,
  outcomeOfProcedure,
} from '../model/campaign';
import { keyId as versionedKeyId, parseKeyId } from '../model/ids';
import { awaiting, quick } from './activity-proxies';
import { clusterInput, derivesKey, messageOf } from './campaign-inputs';
import { type CampaignClusterState, WAITING_STATUSES } from './campaign-messages';
import { type CampaignRun, now } from './campaign-run';
import { GOING_STATUSES } from './campaign-state';
import { CampaignAttribute, procedureWorkflowId } from './messages';
import { procedureNamed } from './procedures';

export class ClusterTurns {
  /** rotate: one new version per key the clusters use, created once for the whole campaign (idempotent by key). */
  private readonly newVersions = new Map<string, Promise<string>>();

  constructor(private readonly run: CampaignRun) {}

  /** Starts the cluster's turn; the run counts it as starting until its procedure started or it waits. */
  take(c: CampaignClusterState): void {
    this.run.starting.add(c.clusterId);
    void this.turn(c).finally(() => {
      this.run.starting.delete(c.clusterId);
      this.forgetRetry(c);
      this.run.publish();
    });
  }

  /** Follows the procedures an earlier run started and that had not ended when it handed over. */
  followCarried(): void {
    for (const c of this.run.progress.clusters)
      if (GOING_STATUSES.includes(c.status) && c.runId)
        this.follow(
          c,
          awaiting.awaitProcedureOutcome({ workflowId: procedureWorkflowId(c.clusterId), runId: c.runId }),
        );
  }

  private forgetRetry(c: CampaignClusterState): void {
    if (WAITING_STATUSES.includes(c.status)) return;
    const retried = this.run.progress.retried!;
    const i = retried.indexOf(c.clusterId);
    if (i >= 0) retried.splice(i, 1);
  }

  private async turn(c: CampaignClusterState): Promise<void> {
    const { input } = this.run;
    delete c.waitUntil;
    const workflowId = procedureWorkflowId(c.clusterId);
    try {
      const turn = await quick.clusterTurn({
        clusterId: c.clusterId,
        windows: input.maintenanceWindows !== 'ignore',
      });
      if (c.status !== 'pending') return; // skipped while it was read
      if (turn.window && !turn.window.open) {
        const until =
          turn.window.opensAt ?? 'a window opens (none within a year: change the configuration or skip it)';
        return this.wait(
          c,
          'waiting-window',
          `outside its maintenance window (${turn.window.configurations.join(', ')}): waits until ${until}`,
          turn.window.opensAt,
        );
      }
      const gone = notApplicable(input.procedure, {
        ...c,
        resourceGroup: '',
        tags: {},
        kmsEnabled: turn.kmsEnabled,
        ...(turn.keyId ? { keyId: turn.keyId } : {}),
        provisioningState: turn.provisioningState,
      });
      if (gone) return this.skip(c, `${gone} (now)`);
      const busy = busyInArm(turn);
      if (busy) return this.busy(c, busy);
      const derived =
        derivesKey(input, c) && input.procedure === 'rotate-key' && turn.keyId
          ? await this.newVersionOf(turn.keyId)
          : undefined;
      const procedureInput = clusterInput(input, c, derived);
      if (typeof procedureInput === 'string') return this.skip(c, procedureInput);
      const child = await startChild(procedureNamed(input.procedure)!.workflow, {
        workflowId,
        args: [procedureInput],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [{ key: CampaignAttribute, value: this.run.campaignId }],
      });
      c.runId = child.firstExecutionRunId;
      c.startedAt = now();
      delete c.endedAt;
      const keyId = (procedureInput as { keyId?: string }).keyId;
      if (keyId) c.keyId = keyId;
      this.run.setStatus(c, 'running');
      this.follow(
        c,
        child.result().then(outcomeOfProcedure, (err): ClusterOutcome => ({
          status: 'failed',
          reason: messageOf(err),
        })),
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        return this.busy(c, `another procedure runs on it (kmsflow status ${c.clusterId})`);
      this.run.setStatus(c, 'failed', `did not start: ${messageOf(err)}`);
      c.endedAt = now();
    }
  }

  /** Records the procedure's end, unless the cluster moved on meanwhile. */
  private follow(c: CampaignClusterState, outcome: Promise<ClusterOutcome>): void {
    const runId = c.runId;
    const settle = (o: ClusterOutcome) => {
      if (c.runId !== runId || !GOING_STATUSES.includes(c.status)) return;
      this.run.setStatus(c, o.status, o.reason);
      c.endedAt = now();
      this.run.publish();
    };
    outcome.then(settle, (err) =>
      settle({ status: 'failed', reason: `its procedure could not be followed: ${messageOf(err)}` }),
    );
  }

  /** A cluster ARM cannot change now, or that another procedure holds: waits (--busy wait), or is skipped. */
  private busy(c: CampaignClusterState, why: string): void {
    if (this.run.input.busyClusters !== 'wait')
      return this.skip(
        c,
        `busy: ${why}; retry it in this campaign once it is free, or start campaigns with --busy wait`,
      );
    const seconds = this.run.input.recheckSeconds ?? DEFAULT_RECHECK_SECONDS;
    const until = new Date(Date.now() + seconds * 1000).toISOString();
    this.wait(c, 'waiting-busy', `busy: ${why}; looked at again at ${until}`, until);
  }

  private wait(
    c: CampaignClusterState,
    status: 'waiting-window' | 'waiting-busy',
    reason: string,
    until: string | undefined,
  ): void {
    this.run.setStatus(c, status, reason);
    if (until) c.waitUntil = until;
  }

  private skip(c: CampaignClusterState, reason: string): void {
    this.run.setStatus(c, 'skipped', reason);
    c.endedAt = now();
  }

  private newVersionOf(keyId: string): Promise<string> {
    const ref = parseKeyId(keyId);
    const id = `${ref.vaultUrl}/keys/${ref.name}`.toLowerCase();
    if (!this.newVersions.has(id))
      this.newVersions.set(
        id,
        quick
          .createKeyVersion({
            vaultUrl: ref.vaultUrl,
            name: ref.name,
            operationKey: `campaign:${this.run.campaignId}:${ref.name}`,
          })
          .then((v) => versionedKeyId({ ...ref, version: v.version })),
      );
    return this.newVersions.get(id)!;
  }
}
