/**
 * Cluster activities. A change is split into submit (one PUT at most) and await (wait for the operation),
 * so a worker crash between the two never sends a second PUT: the retried submit finds its own operation
 * key on the cluster (tag `kmsflow-operation`), or the change already done, and sends nothing.
 */
import { restorePoller, type ManagedCluster, type ContainerServiceClient } from '@azure/arm-containerservice';
import { Context, heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { minorVersion, parseClusterId, sameKeyId, upgradeHops, type ClusterRef } from '../model/ids';
import type { ClientFactory } from './clients';
import {
  changeHolds,
  type ClusterChange,
  type ClusterDigest,
  describeChange,
  desiredCluster,
  digestOf,
  isTerminal,
} from '../model/cluster-model';
import { classifyError, ErrorType, fixFor, mapErrors, toApplicationFailure } from './errors';

export type ClusterSubmission =
  /** The cluster was already as wanted: nothing was sent. */
  | { kind: 'already-done' }
  /** This activity sent the PUT; the serialized poller lets await resume it anywhere. */
  | { kind: 'submitted'; pollerState: string }
  /**
   * An operation (ours from an earlier attempt, or someone else's) is running; await watches the cluster.
   * With someone else's, `operationKey` lets await send the change once that operation has ended.
   */
  | { kind: 'in-flight'; by: 'kmsflow' | 'other'; operationKey?: string };

export interface SubmitClusterChangeInput {
  clusterId: string;
  change: ClusterChange;
  /** Unique per logical attempt (workflow id + step + attempt): a retry of the same attempt never PUTs twice. */
  operationKey: string;
}

export interface AwaitClusterChangeInput {
  clusterId: string;
  change: ClusterChange;
  submission: ClusterSubmission;
}

/** What to do about a failed cluster operation whose code has no fix of its own. */
const PROVISIONING_FIX = 'Fix the cause in the message, then retry (the step re-sends the change).';

export interface ClusterActivityTuning {
  /** How often a running operation is polled. */
  pollIntervalMs: number;
}

export function createClusterActivities(clients: ClientFactory, tuning: ClusterActivityTuning) {
  const arm = (ref: ClusterRef) => clients.containerService(ref.subscriptionId);

  async function readCluster(ref: ClusterRef): Promise<ManagedCluster> {
    return mapErrors(`Read cluster ${ref.name}`, () =>
      arm(ref).managedClusters.get(ref.resourceGroup, ref.name),
    );
  }

  async function getClusterDigest(clusterId: string): Promise<ClusterDigest> {
    return digestOf(await readCluster(parseClusterId(clusterId)));
  }

  async function submitClusterChange(input: SubmitClusterChangeInput): Promise<ClusterSubmission> {
    const ref = parseClusterId(input.clusterId);
    const current = await readCluster(ref);
    const digest = digestOf(current);
    if (!isTerminal(digest.provisioningState)) {
      return digest.lastOperationKey === input.operationKey
        ? { kind: 'in-flight', by: 'kmsflow' }
        : { kind: 'in-flight', by: 'other', operationKey: input.operationKey };
    }
    if (digest.lastOperationKey === input.operationKey) {
      // Our PUT of this very attempt landed and finished (well or not); await reports how.
      return { kind: 'in-flight', by: 'kmsflow' };
    }
    if (changeHolds(digest, input.change) && digest.provisioningState.toLowerCase() === 'succeeded') {
      return { kind: 'already-done' };
    }
    const body = desiredCluster(current, input.change, input.operationKey);
    const action = `${describeChange(input.change)} on cluster ${ref.name}`;
    try {
      const poller = arm(ref).managedClusters.createOrUpdate(ref.resourceGroup, ref.name, body, {
        ifMatch: current.eTag,
        updateIntervalInMs: tuning.pollIntervalMs,
      });
      await poller.submitted();
      return { kind: 'submitted', pollerState: await poller.serialize() };
    } catch (err) {
      const failure = classifyError(err);
      if (failure.type === ErrorType.operationInProgress)
        return { kind: 'in-flight', by: 'other', operationKey: input.operationKey };
      throw toApplicationFailure(err, action);
    }
  }

  async function awaitClusterChange(input: AwaitClusterChangeInput): Promise<ClusterDigest> {
    const ref = parseClusterId(input.clusterId);
    const action = `${describeChange(input.change)} on cluster ${ref.name}`;
    const signal = Context.current().cancellationSignal;
    let submission = input.submission;
    let digest: ClusterDigest;
    for (;;) {
      if (submission.kind === 'submitted') {
        const client: ContainerServiceClient = arm(ref);
        const poller = restorePoller(client, submission.pollerState, client.managedClusters.createOrUpdate, {
          updateIntervalInMs: tuning.pollIntervalMs,
          abortSignal: signal,
        });
        poller.onProgress((state) => heartbeat({ status: state.status }));
        try {
          await poller.pollUntilDone({ abortSignal: signal });
        } catch (err) {
          if (signal.aborted) throw err;
          throw await failureWithProvisioningError(ref, err, action);
        }
      } else if (submission.kind === 'in-flight') {
        for (;;) {
          const current = digestOf(await readCluster(ref));
          heartbeat({ provisioningState: current.provisioningState });
          if (isTerminal(current.provisioningState)) break;
          await sleep(tuning.pollIntervalMs);
        }
      }
      digest = digestOf(await readCluster(ref));
      const sendAs =
        submission.kind === 'in-flight' && submission.by === 'other' ? submission.operationKey : undefined;
      if (
        !sendAs ||
        digest.provisioningState.toLowerCase() !== 'succeeded' ||
        changeHolds(digest, input.change)
      )
        break;
      // Someone else's operation has ended and ours was never sent: send it now. Submit is idempotent by the
      // operation key, so a retry of this activity after a crash finds the PUT it sent and sends nothing.
      submission = await submitClusterChange({
        clusterId: input.clusterId,
        change: input.change,
        operationKey: sendAs,
      });
      heartbeat({ resubmitted: submission.kind });
    }
    if (digest.provisioningState.toLowerCase() !== 'succeeded') {
      const code = digest.provisioningError?.code ?? 'OperationFailed';
      throw ApplicationFailure.create({
        message: `${action}: the cluster is ${digest.provisioningState}: ${digest.provisioningError?.message ?? 'no error given'}`,
        type: ErrorType.operationFailed,
        nonRetryable: true,
        details: [{ code, fix: fixFor(code) ?? PROVISIONING_FIX }],
      });
    }
    if (!changeHolds(digest, input.change)) {
      if (submission.kind === 'in-flight' && submission.by === 'other') {
        // Only a submission recorded without its operation key gets here (retrying this activity would wait
        // forever): block, and the step's retry submits the change again.
        throw ApplicationFailure.create({
          message: `${action}: another operation ran on the cluster and this change was never sent`,
          type: ErrorType.operationInProgress,
          nonRetryable: true,
          details: [{ code: 'ChangeNotSent', fix: 'Retry: the step submits the change again.' }],
        });
      }
      throw ApplicationFailure.create({
        message: `${action}: the operation succeeded but the cluster does not show the change`,
        type: ErrorType.operationFailed,
        nonRetryable: true,
        details: [{ code: 'ChangeNotApplied', fix: 'Inspect the cluster (az aks show) and retry.' }],
      });
    }
    return digest;
  }

  async function failureWithProvisioningError(
    ref: ClusterRef,
    err: unknown,
    action: string,
  ): Promise<ApplicationFailure> {
    // A failed LRO only carries a message; the cluster's status.provisioningError has the precise code.
    const mapped = toApplicationFailure(err, action);
    try {
      const digest = digestOf(await readCluster(ref));
      const code = digest.provisioningError?.code;
      if (!code || !mapped.nonRetryable) return mapped;
      return ApplicationFailure.create({
        message: `${action}: ${digest.provisioningError?.message ?? mapped.message}`,
        type: ErrorType.operationFailed,
        nonRetryable: true,
        details: [{ code, fix: fixFor(code) ?? PROVISIONING_FIX }],
      });
    } catch {
      return mapped;
    }
  }

  /**
   * The next hop toward `targetVersion`, one minor version at a time, from the cluster's upgrade profile;
   * undefined when the control plane and every node pool are there.
   */
  async function nextUpgradeHop(input: {
    clusterId: string;
    targetVersion: string;
  }): Promise<string | undefined> {
    const ref = parseClusterId(input.clusterId);
    const digest = digestOf(await readCluster(ref));
    const [, currentMinor] = minorVersion(digest.kubernetesVersion);
    const [, targetMinor] = minorVersion(input.targetVersion);
    if (currentMinor > targetMinor) {
      throw ApplicationFailure.create({
        message: `Cluster ${ref.name} runs ${digest.kubernetesVersion}, newer than the target ${input.targetVersion}; AKS cannot downgrade.`,
        type: ErrorType.validation,
        nonRetryable: true,
        details: [
          { code: 'TargetVersionTooOld', fix: `Choose a target version ≥ ${digest.kubernetesVersion}.` },
        ],
      });
    }
    if (currentMinor === targetMinor) {
      const lagging = digest.nodePools.filter((p) => minorVersion(p.version)[1] < targetMinor);
      return lagging.length > 0 ? digest.kubernetesVersion : undefined;
    }
    const profile = await mapErrors(`Read the upgrade profile of cluster ${ref.name}`, () =>
      arm(ref).managedClusters.getUpgradeProfile(ref.resourceGroup, ref.name),
    );
    const hop = upgradeHops(digest.kubernetesVersion, input.targetVersion)[0]!;
    const candidates = (profile.controlPlaneProfile.upgrades ?? [])
      .map((u) => u.kubernetesVersion)
      .filter((v): v is string => !!v && minorVersion(v)[1] === minorVersion(hop)[1] && v.startsWith(hop));
    const best = candidates.sort(comparePatch).at(-1);
    if (!best) {
      throw ApplicationFailure.create({
        message: `Cluster ${ref.name} (${digest.kubernetesVersion}) has no upgrade to 1.${currentMinor + 1} on the way to ${input.targetVersion}; available: ${(profile.controlPlaneProfile.upgrades ?? []).map((u) => u.kubernetesVersion).join(', ') || 'none'}.`,
        type: ErrorType.validation,
        nonRetryable: true,
        details: [
          {
            code: 'NoUpgradePath',
            fix: 'Check az aks get-upgrades for this cluster and choose a reachable target version.',
          },
        ],
      });
    }
    return best;
  }

  /** Other clusters of the subscription whose KMS uses `keyId` now: retiring it would break them. */
  async function clustersUsingKey(input: { clusterId: string; keyId: string }): Promise<string[]> {
    const ref = parseClusterId(input.clusterId);
    return mapErrors(`List the clusters of subscription ${ref.subscriptionId}`, async () => {
      const users: string[] = [];
      for await (const mc of arm(ref).managedClusters.list()) {
        const digest = digestOf(mc);
        if (digest.id.toLowerCase() === input.clusterId.toLowerCase()) continue;
        if (sameKeyId(digest.kms.keyId, input.keyId)) users.push(digest.id);
      }
      return users;
    });
  }

  return { getClusterDigest, submitClusterChange, awaitClusterChange, nextUpgradeHop, clustersUsingKey };
}

function comparePatch(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
