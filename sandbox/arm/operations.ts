/**
 * AKS long-running operations: accepted by a PUT, InProgress for the configured duration, then Succeeded
 * (the goal state is applied and handed to the emulated API server after the propagation delay) or
 * Failed (provisioningState Failed, `status.provisioningError`). Served at the Azure-AsyncOperation URL.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxContext } from '../context';
import { newETag, type ClusterRecord, type OperationRecord } from '../store';
import { clusterEncryption, shiftKeySlots, shiftSlotPaths, slotPathOf } from './kms-encryption';

const timers = new WeakMap<SandboxContext, Map<string, NodeJS.Timeout>>();

function timersOf(ctx: SandboxContext): Map<string, NodeJS.Timeout> {
  let t = timers.get(ctx);
  if (!t) {
    t = new Map();
    timers.set(ctx, t);
  }
  return t;
}

export function operationUrl(ctx: SandboxContext, op: OperationRecord, apiVersion: string): string {
  return `${ctx.armBaseUrl}/subscriptions/${op.subscriptionId}/providers/Microsoft.ContainerService/locations/${op.location}/operations/${op.id}?api-version=${encodeURIComponent(apiVersion)}`;
}

export function activeOperation(ctx: SandboxContext, cluster: ClusterRecord): OperationRecord | undefined {
  const op = cluster.activeOperationId ? ctx.store.operation(cluster.activeOperationId) : undefined;
  return op?.status === 'InProgress' ? op : undefined;
}

export type NewOperation = Omit<OperationRecord, 'id' | 'status' | 'startTime' | 'completesAt'>;

export function startOperation(
  ctx: SandboxContext,
  cluster: ClusterRecord,
  spec: NewOperation,
): OperationRecord {
  const now = ctx.now();
  const op: OperationRecord = {
    ...spec,
    id: randomUUID(),
    status: 'InProgress',
    startTime: new Date(now).toISOString(),
    completesAt: now + ctx.timing.operationDurationMs,
  };
  ctx.store.state.operations.push(op);
  cluster.activeOperationId = op.id;
  scheduleCompletion(ctx, op);
  return op;
}

export function scheduleCompletion(ctx: SandboxContext, op: OperationRecord): void {
  const delay = Math.max(0, op.completesAt - ctx.now());
  const timer = setTimeout(() => completeOperation(ctx, op.id), delay);
  timer.unref();
  timersOf(ctx).set(op.id, timer);
}

/** Completes every InProgress operation whose time has come (called before serving ARM requests). */
export function settleDueOperations(ctx: SandboxContext): void {
  const now = ctx.now();
  for (const op of ctx.store.state.operations) {
    if (op.status === 'InProgress' && op.completesAt <= now) completeOperation(ctx, op.id);
  }
}

export function completeOperation(ctx: SandboxContext, operationId: string): void {
  const op = ctx.store.operation(operationId);
  const timer = timersOf(ctx).get(operationId);
  if (timer) clearTimeout(timer);
  timersOf(ctx).delete(operationId);
  if (!op || op.status !== 'InProgress') return;
  op.endTime = new Date(ctx.now()).toISOString();
  const cluster = ctx.store.cluster(op.subscriptionId, op.resourceGroup, op.clusterName);
  if (!cluster) {
    op.status = 'Failed';
    op.error = {
      code: 'ResourceNotFound',
      message: `The managed cluster '${op.clusterName}' no longer exists.`,
    };
    ctx.changed();
    return;
  }
  if (cluster.activeOperationId === op.id) delete cluster.activeOperationId;
  cluster.eTag = newETag();
  const failure = op.plannedFailure;
  if (failure) {
    op.status = 'Failed';
    op.error = failure;
    cluster.provisioningState = 'Failed';
    cluster.provisioningError = failure;
    for (const name of Object.keys(op.targetPoolVersions)) {
      const pool = cluster.agentPools[name];
      if (pool) pool.provisioningState = 'Failed';
    }
    ctx.changed();
    return;
  }
  applyGoalState(ctx, cluster, op);
  op.status = 'Succeeded';
  ctx.changed();
}

function applyGoalState(ctx: SandboxContext, cluster: ClusterRecord, op: OperationRecord): void {
  const versionChanged = cluster.currentKubernetesVersion !== op.targetKubernetesVersion;
  cluster.currentKubernetesVersion = op.targetKubernetesVersion;
  for (const [name, version] of Object.entries(op.targetPoolVersions)) {
    cluster.agentPools[name] = { currentOrchestratorVersion: version, provisioningState: 'Succeeded' };
  }
  for (const pool of Object.values(cluster.agentPools)) pool.provisioningState = 'Succeeded';
  cluster.provisioningState = 'Succeeded';
  delete cluster.provisioningError;
  const kms = op.targetKms;
  const kmsChanged = JSON.stringify(kms ?? null) !== JSON.stringify(cluster.appliedKms ?? null);
  cluster.slotPaths = shiftSlotPaths(
    cluster.keySlots,
    cluster.slotPaths,
    kms,
    slotPathOf(cluster.appliedKms ?? {}),
  );
  cluster.keySlots = shiftKeySlots(cluster.keySlots, kms);
  if (kms) cluster.appliedKms = kms;
  else delete cluster.appliedKms;
  const encryption = clusterEncryption(kms, cluster.keySlots, cluster.currentKubernetesVersion);
  if (!ctx.kube.has(cluster.name)) {
    ctx.kube.create(cluster.name, cluster.currentKubernetesVersion, encryption, cluster.tokens);
    return;
  }
  if (versionChanged || kmsChanged) {
    ctx.kube.schedule(
      {
        cluster: cluster.name,
        encryption,
        ...(versionChanged ? { kubernetesVersion: cluster.currentKubernetesVersion } : {}),
      },
      ctx.timing.propagationDelayMs,
    );
  }
}

/** Cancels the running operation of a cluster (POST .../abort). */
export function abortOperation(ctx: SandboxContext, cluster: ClusterRecord): boolean {
  const op = activeOperation(ctx, cluster);
  if (!op) return false;
  const timer = timersOf(ctx).get(op.id);
  if (timer) clearTimeout(timer);
  timersOf(ctx).delete(op.id);
  op.status = 'Canceled';
  op.endTime = new Date(ctx.now()).toISOString();
  op.error = {
    code: 'OperationCanceled',
    message: 'The operation was canceled by the latest operation abort request.',
  };
  delete cluster.activeOperationId;
  cluster.provisioningState = 'Canceled';
  cluster.eTag = newETag();
  ctx.changed();
  return true;
}

/** Re-arms timers of operations that were InProgress when the state was saved. */
export function resumeOperations(ctx: SandboxContext): void {
  for (const op of ctx.store.state.operations) if (op.status === 'InProgress') scheduleCompletion(ctx, op);
}

export function stopOperationTimers(ctx: SandboxContext): void {
  for (const t of timersOf(ctx).values()) clearTimeout(t);
  timersOf(ctx).clear();
}

export function renderOperation(op: OperationRecord): Record<string, unknown> {
  return {
    id: `/subscriptions/${op.subscriptionId}/providers/Microsoft.ContainerService/locations/${op.location}/operations/${op.id}`,
    name: op.id,
    status: op.status,
    startTime: op.startTime,
    ...(op.endTime ? { endTime: op.endTime, percentComplete: 100 } : {}),
    ...(op.error ? { error: op.error } : {}),
  };
}
