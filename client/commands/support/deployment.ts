/**
 * The kmsflow worker deployment as an operator upgrading it needs to see it: each version, whether new
 * procedures start on it, and how many running procedures still need its workers (pinned to it).
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DEPLOYMENT_NAME } from '../../../worker/versioning';
import { CampaignAttribute, ProcedureAttribute, quoteValue } from '../../../workflows/messages';
import type { DeploymentVersionView, DeploymentView } from '../../output/shapes';

const Status = temporal.api.enums.v1.WorkerDeploymentVersionStatus;
const STATUS_WORDS: Record<number, DeploymentVersionView['status']> = {
  [Status.WORKER_DEPLOYMENT_VERSION_STATUS_CURRENT]: 'current',
  [Status.WORKER_DEPLOYMENT_VERSION_STATUS_RAMPING]: 'ramping',
  [Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINING]: 'draining',
  [Status.WORKER_DEPLOYMENT_VERSION_STATUS_DRAINED]: 'drained',
  [Status.WORKER_DEPLOYMENT_VERSION_STATUS_INACTIVE]: 'inactive',
  [Status.WORKER_DEPLOYMENT_VERSION_STATUS_CREATED]: 'inactive',
};

/** Running procedures and campaigns on one version (Temporal's own search attribute for it): both are pinned there. */
export function runningOnVersionQuery(buildId: string, deploymentName = DEPLOYMENT_NAME): string {
  return `(${ProcedureAttribute.name} IS NOT NULL OR ${CampaignAttribute.name} IS NOT NULL) AND ExecutionStatus = 'Running' AND TemporalWorkerDeploymentVersion = ${quoteValue(`${deploymentName}:${buildId}`)}`;
}

/** Null when no versioned kmsflow worker ever polled this namespace. */
export async function readDeployment(
  client: Client,
  deploymentName = DEPLOYMENT_NAME,
): Promise<DeploymentView | null> {
  let info: temporal.api.deployment.v1.IWorkerDeploymentInfo | null | undefined;
  try {
    info = (
      await client.workflowService.describeWorkerDeployment({
        namespace: client.options.namespace,
        deploymentName,
      })
    ).workerDeploymentInfo;
  } catch (err) {
    if ((err as { code?: number }).code === 5) return null; // NOT_FOUND
    throw err;
  }
  const versions: DeploymentVersionView[] = [];
  for (const summary of info?.versionSummaries ?? []) {
    const buildId = summary.deploymentVersion?.buildId;
    if (!buildId) continue;
    const status = STATUS_WORDS[Number(summary.status)] ?? 'inactive';
    const { count } = await client.workflow.count(runningOnVersionQuery(buildId, deploymentName));
    const runningProcedures = Number(count);
    versions.push({
      buildId,
      status,
      runningProcedures,
      // Temporal's drainage status lags by minutes; the live count decides when its workers may stop.
      workersNeeded: status === 'current' || status === 'ramping' || runningProcedures > 0,
      createdAt: timestampToIso(summary.createTime),
    });
  }
  versions.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  const current = info?.routingConfig?.currentDeploymentVersion?.buildId || null;
  return { deploymentName, current, versions };
}

function timestampToIso(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!ts?.seconds) return null;
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}
