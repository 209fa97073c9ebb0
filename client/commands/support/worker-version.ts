/** Which worker version (Worker Versioning) a procedure runs on, read from what Temporal returns for it. */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { WorkerVersionView } from '../../output/shapes';

type VersioningInfo = temporal.api.workflow.v1.IWorkflowExecutionVersioningInfo | null | undefined;

/** From a description's or a listing's versioning info; null for a run no versioned worker has taken. */
export function workerVersionOf(info: VersioningInfo): WorkerVersionView | null {
  const version = info?.deploymentVersion;
  if (!version?.buildId) return null;
  return {
    deploymentName: version.deploymentName ?? '',
    buildId: version.buildId,
    behavior: behaviorOf(info?.behavior),
  };
}

/**
 * A listed run's version: from its versioning info when the server fills it in, else from the system search
 * attributes Temporal sets on versioned runs (`deploymentName:buildId`, `Pinned` / `AutoUpgrade`).
 */
export function listedWorkerVersionOf(info: WorkflowExecutionInfo): WorkerVersionView | null {
  const fromInfo = workerVersionOf(info.raw.versioningInfo);
  if (fromInfo) return fromInfo;
  const attrs = info.searchAttributes as Record<string, unknown[] | undefined>;
  const version = attrs.TemporalWorkerDeploymentVersion?.[0];
  if (typeof version !== 'string' || !version.includes(':')) return null;
  const separator = version.indexOf(':');
  return {
    deploymentName: version.slice(0, separator),
    buildId: version.slice(separator + 1),
    behavior: behaviorOf(attrs.TemporalWorkflowVersioningBehavior?.[0]),
  };
}

// The behavior arrives as the enum's number, its name, or (search attribute) a word.
function behaviorOf(value: unknown): WorkerVersionView['behavior'] {
  const text = String(value);
  if (/^(1|VERSIONING_BEHAVIOR_PINNED|Pinned)$/.test(text)) return 'pinned';
  if (/^(2|VERSIONING_BEHAVIOR_AUTO_UPGRADE|AutoUpgrade)$/.test(text)) return 'auto-upgrade';
  return null;
}
