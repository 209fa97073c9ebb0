/**
 * Microsoft.ContainerService/managedClusters: GET, list, PUT (create or update as a long-running
 * operation, with eTag/If-Match, 409 while an operation runs, upgrade and KMS rules), upgrade profiles,
 * agent pools, credentials and abort.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { SandboxContext } from '../context';
import { HttpError, isObject, readJsonObject, sendJson, setLogDetail } from '../http';
import { newETag, type ClusterRecord, type OperationRecord } from '../store';
import {
  poolProfiles,
  renderAgentPool,
  renderCluster,
  renderPoolUpgradeProfile,
  renderUpgradeProfile,
  stripClusterReadOnly,
  stripPoolReadOnly,
} from './cluster-view';
import { credentialResults } from './kubeconfig';
import { assertKmsRules, kmsOf } from './kms-rules';
import {
  operationInProgress,
  resourceGroupNotFound,
  resourceNotFound,
  subscriptionNotFound,
} from './messages';
import { abortOperation, activeOperation, operationUrl, startOperation } from './operations';
import {
  assertControlPlaneUpgrade,
  assertPoolVersion,
  compareVersions,
  resolveVersion,
  SUPPORTED_VERSIONS,
} from './versions';

const TYPE = 'Microsoft.ContainerService/managedClusters';
export const DEFAULT_KUBERNETES_VERSION = '1.31.9';
const NAME_PATTERN = /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/;

export interface ClusterRoute {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  apiVersion: string;
}

function requireResourceGroup(
  ctx: SandboxContext,
  r: Pick<ClusterRoute, 'subscriptionId' | 'resourceGroup'>,
): void {
  if (!ctx.store.subscription(r.subscriptionId)) throw subscriptionNotFound(r.subscriptionId);
  if (!ctx.store.resourceGroup(r.subscriptionId, r.resourceGroup))
    throw resourceGroupNotFound(r.resourceGroup);
}

export function requireCluster(ctx: SandboxContext, r: ClusterRoute): ClusterRecord {
  requireResourceGroup(ctx, r);
  const cluster = ctx.store.cluster(r.subscriptionId, r.resourceGroup, r.name);
  if (!cluster) throw resourceNotFound(TYPE, r.name, r.resourceGroup);
  return cluster;
}

export function getCluster(ctx: SandboxContext, r: ClusterRoute, res: ServerResponse): void {
  sendJson(res, 200, renderCluster(ctx, requireCluster(ctx, r)));
}

export function listClusters(
  ctx: SandboxContext,
  subscriptionId: string,
  resourceGroup: string | undefined,
  res: ServerResponse,
): void {
  if (!ctx.store.subscription(subscriptionId)) throw subscriptionNotFound(subscriptionId);
  if (resourceGroup !== undefined) requireResourceGroup(ctx, { subscriptionId, resourceGroup });
  const value = ctx.store.state.clusters
    .filter((c) => c.subscriptionId.toLowerCase() === subscriptionId.toLowerCase())
    .filter(
      (c) => resourceGroup === undefined || c.resourceGroup.toLowerCase() === resourceGroup.toLowerCase(),
    )
    .map((c) => renderCluster(ctx, c));
  sendJson(res, 200, { value });
}

/** If-Match / If-None-Match against the stored eTag (ARM's 412 PreconditionFailed). */
export function assertPreconditions(req: IncomingMessage, eTag: string | undefined): void {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  const unquote = (v: string) => v.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  if (typeof ifMatch === 'string' && ifMatch) {
    const wanted = ifMatch.split(',').map(unquote);
    if (eTag === undefined || !(wanted.includes('*') || wanted.includes(eTag))) {
      throw new HttpError(
        412,
        'PreconditionFailed',
        eTag === undefined
          ? `The resource does not exist but the request's If-Match header is '${ifMatch}'.`
          : `Operation failed because the resource's eTag '${eTag}' does not match the request's If-Match header '${ifMatch}'.`,
      );
    }
  }
  if (typeof ifNoneMatch === 'string' && ifNoneMatch && eTag !== undefined) {
    const unwanted = ifNoneMatch.split(',').map(unquote);
    if (unwanted.includes('*') || unwanted.includes(eTag)) {
      throw new HttpError(
        412,
        'PreconditionFailed',
        `Operation failed because the resource exists and the request's If-None-Match header is '${ifNoneMatch}'.`,
      );
    }
  }
}

function newClusterTokens(): ClusterRecord['tokens'] {
  return { user: randomBytes(24).toString('hex'), admin: randomBytes(24).toString('hex') };
}

/** Target version of every pool in the goal state, validated against AKS's rules. */
function targetPoolVersions(
  existing: ClusterRecord | undefined,
  pools: Record<string, unknown>[],
  controlPlane: string,
  location: string,
): Record<string, string> {
  const targets: Record<string, string> = {};
  for (const pool of pools) {
    const name = typeof pool.name === 'string' ? pool.name : '';
    if (!name)
      throw new HttpError(
        400,
        'InvalidParameter',
        'The value of parameter agentPoolProfile.name is invalid.',
      );
    const current = existing?.agentPools[name]?.currentOrchestratorVersion;
    const requested =
      typeof pool.orchestratorVersion === 'string' && pool.orchestratorVersion
        ? resolveVersion(pool.orchestratorVersion, location)
        : (current ?? controlPlane);
    assertPoolVersion(name, current ?? requested, requested, controlPlane);
    targets[name] = requested;
  }
  return targets;
}

export async function putCluster(
  ctx: SandboxContext,
  r: ClusterRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  requireResourceGroup(ctx, r);
  if (!NAME_PATTERN.test(r.name))
    throw new HttpError(
      400,
      'InvalidParameter',
      `The value of parameter resourceName is invalid: ${r.name}.`,
    );
  const existing = ctx.store.cluster(r.subscriptionId, r.resourceGroup, r.name);
  assertPreconditions(req, existing?.eTag);
  const body = await readJsonObject(req);
  if (existing && activeOperation(ctx, existing)) throw operationInProgress(existing.name);
  const clash = ctx.store.clusterByName(r.name);
  if (!existing && clash) {
    throw new HttpError(
      409,
      'Conflict',
      `The sandbox already has a cluster named '${r.name}' (resource group '${clash.resourceGroup}'); cluster names are its URL segments and must be unique.`,
    );
  }

  const location = typeof body.location === 'string' ? body.location : existing?.location;
  if (!location)
    throw new HttpError(400, 'LocationRequired', 'The location property is required for this definition.');
  const properties = stripClusterReadOnly(isObject(body.properties) ? body.properties : {});
  const identity = isObject(body.identity) ? stripIdentity(body.identity) : undefined;

  const requestedVersion =
    typeof properties.kubernetesVersion === 'string' && properties.kubernetesVersion
      ? properties.kubernetesVersion
      : undefined;
  const target = requestedVersion
    ? resolveVersion(requestedVersion, location)
    : (existing?.currentKubernetesVersion ?? DEFAULT_KUBERNETES_VERSION);
  if (existing) assertControlPlaneUpgrade(existing.currentKubernetesVersion, target);
  if (!Array.isArray(properties.agentPoolProfiles) || properties.agentPoolProfiles.length === 0) {
    if (existing) properties.agentPoolProfiles = poolProfiles(existing);
    else
      properties.agentPoolProfiles = [
        { name: 'nodepool1', count: 3, vmSize: 'Standard_D4ds_v5', mode: 'System' },
      ];
  }
  const pools = (properties.agentPoolProfiles as unknown[]).filter(isObject);
  const poolTargets = targetPoolVersions(existing, pools, target, location);

  const targetKms = kmsOf(properties);
  assertKmsRules(ctx, {
    current: existing && {
      kubernetesVersion: existing.currentKubernetesVersion,
      ...(existing.appliedKms ? { kms: existing.appliedKms } : {}),
    },
    target: { kubernetesVersion: target, ...(targetKms ? { kms: targetKms } : {}), properties, identity },
  });

  const record: ClusterRecord = existing ?? {
    subscriptionId: r.subscriptionId,
    resourceGroup: r.resourceGroup,
    name: r.name,
    location,
    properties: {},
    eTag: newETag(),
    provisioningState: 'Creating',
    currentKubernetesVersion: target,
    agentPools: {},
    keySlots: {},
    tokens: newClusterTokens(),
  };
  record.properties = properties;
  if (identity) record.identity = identity;
  else delete record.identity;
  if (isObject(body.tags)) record.tags = body.tags as Record<string, string>;
  if (body.sku !== undefined) record.sku = body.sku;
  record.eTag = newETag();
  const upgrading = !!existing && compareVersions(target, existing.currentKubernetesVersion) !== 0;
  record.provisioningState = existing ? (upgrading ? 'Upgrading' : 'Updating') : 'Creating';
  delete record.provisioningError;
  for (const [name, version] of Object.entries(poolTargets)) {
    const state = record.agentPools[name];
    record.agentPools[name] = {
      currentOrchestratorVersion: state?.currentOrchestratorVersion ?? version,
      provisioningState: record.provisioningState,
    };
  }
  if (!existing) ctx.store.state.clusters.push(record);

  const op = beginOperation(ctx, req, record, {
    kind: existing ? (upgrading ? 'upgrade' : 'update') : 'create',
    resourceLabel: record.name,
    targetKubernetesVersion: target,
    targetPoolVersions: poolTargets,
    ...(targetKms ? { targetKms } : {}),
  });
  setLogDetail(res, describeChange(existing, target, targetKms, op));
  sendJson(res, existing ? 200 : 201, renderCluster(ctx, record), {
    'Azure-AsyncOperation': operationUrl(ctx, op, r.apiVersion),
  });
}

function stripIdentity(identity: Record<string, unknown>): ClusterRecord['identity'] {
  const out: NonNullable<ClusterRecord['identity']> = {};
  if (typeof identity.type === 'string') out.type = identity.type;
  if (isObject(identity.userAssignedIdentities)) {
    out.userAssignedIdentities = Object.fromEntries(
      Object.keys(identity.userAssignedIdentities).map((id) => [id, {}]),
    );
  }
  return out;
}

function beginOperation(
  ctx: SandboxContext,
  req: IncomingMessage,
  record: ClusterRecord,
  spec: Pick<
    OperationRecord,
    'kind' | 'resourceLabel' | 'targetKubernetesVersion' | 'targetPoolVersions' | 'targetKms'
  >,
): OperationRecord {
  const path = (req.url ?? '').split('?')[0]?.replace(/^\/+/, '/') ?? '';
  const plannedFailure = ctx.faults.takeLroFailure({ service: 'arm', method: req.method ?? 'PUT', path });
  const op = startOperation(ctx, record, {
    ...spec,
    subscriptionId: record.subscriptionId,
    resourceGroup: record.resourceGroup,
    clusterName: record.name,
    location: record.location,
    ...(plannedFailure ? { plannedFailure } : {}),
  });
  ctx.changed();
  return op;
}

function describeChange(
  existing: ClusterRecord | undefined,
  target: string,
  kms: ReturnType<typeof kmsOf>,
  op: OperationRecord,
): string {
  const parts = [`${existing ? op.kind : 'create'} operation=${op.id}`];
  if (existing && existing.currentKubernetesVersion !== target)
    parts.push(`kubernetesVersion ${existing.currentKubernetesVersion}->${target}`);
  if (kms)
    parts.push(
      kms.enabled
        ? `kms enabled key=${kms.keyId ?? ''} access=${kms.keyVaultNetworkAccess ?? ''}`
        : 'kms disabled',
    );
  if (op.plannedFailure) parts.push(`will fail ${op.plannedFailure.code}`);
  return parts.join(' ');
}

export function getUpgradeProfile(ctx: SandboxContext, r: ClusterRoute, res: ServerResponse): void {
  sendJson(res, 200, renderUpgradeProfile(requireCluster(ctx, r)));
}

export function listCredentials(
  ctx: SandboxContext,
  r: ClusterRoute,
  kind: 'user' | 'admin',
  res: ServerResponse,
): void {
  const cluster = requireCluster(ctx, r);
  if (kind === 'admin' && cluster.properties.disableLocalAccounts === true) {
    throw new HttpError(
      400,
      'BadRequest',
      'Getting static credential is not allowed because this cluster is set to disable local accounts.',
    );
  }
  if (!ctx.kube.has(cluster.name)) {
    throw new HttpError(
      400,
      'BadRequest',
      `The managed cluster '${cluster.name}' has no API server yet (its create operation has not succeeded).`,
    );
  }
  setLogDetail(res, `list ${kind} credential`);
  sendJson(res, 200, credentialResults(ctx, cluster, kind));
}

export function abortLatestOperation(ctx: SandboxContext, r: ClusterRoute, res: ServerResponse): void {
  const cluster = requireCluster(ctx, r);
  const aborted = abortOperation(ctx, cluster);
  setLogDetail(res, aborted ? 'operation aborted' : 'no operation to abort');
  res.writeHead(204).end();
}

function requirePool(cluster: ClusterRecord, poolName: string, r: ClusterRoute): Record<string, unknown> {
  const pool = poolProfiles(cluster).find((p) => String(p.name).toLowerCase() === poolName.toLowerCase());
  if (!pool) throw resourceNotFound(`${TYPE}/agentPools`, `${r.name}/${poolName}`, r.resourceGroup);
  return pool;
}

export function listAgentPools(ctx: SandboxContext, r: ClusterRoute, res: ServerResponse): void {
  const cluster = requireCluster(ctx, r);
  sendJson(res, 200, { value: poolProfiles(cluster).map((p) => renderAgentPool(cluster, p)) });
}

export function getAgentPool(
  ctx: SandboxContext,
  r: ClusterRoute,
  poolName: string,
  res: ServerResponse,
): void {
  const cluster = requireCluster(ctx, r);
  sendJson(res, 200, renderAgentPool(cluster, requirePool(cluster, poolName, r)));
}

export function getAgentPoolUpgradeProfile(
  ctx: SandboxContext,
  r: ClusterRoute,
  poolName: string,
  res: ServerResponse,
): void {
  const cluster = requireCluster(ctx, r);
  requirePool(cluster, poolName, r);
  sendJson(res, 200, renderPoolUpgradeProfile(cluster, poolName));
}

export function getAvailableAgentPoolVersions(
  ctx: SandboxContext,
  r: ClusterRoute,
  res: ServerResponse,
): void {
  const cluster = requireCluster(ctx, r);
  sendJson(res, 200, {
    id: `${renderCluster(ctx, cluster).id as string}/availableAgentPoolVersions`,
    name: 'default',
    type: 'Microsoft.ContainerService/managedClusters/availableAgentPoolVersions',
    properties: {
      agentPoolVersions: SUPPORTED_VERSIONS.map((kubernetesVersion) => ({
        kubernetesVersion,
        default: kubernetesVersion === DEFAULT_KUBERNETES_VERSION,
      })),
    },
  });
}

/** PUT .../agentPools/{pool}: changes one pool (e.g. its orchestratorVersion) as its own long-running operation. */
export async function putAgentPool(
  ctx: SandboxContext,
  r: ClusterRoute,
  poolName: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const cluster = requireCluster(ctx, r);
  const body = await readJsonObject(req);
  if (activeOperation(ctx, cluster)) throw operationInProgress(poolName);
  const pools = poolProfiles(cluster);
  const index = pools.findIndex((p) => String(p.name).toLowerCase() === poolName.toLowerCase());
  const props = stripPoolReadOnly(isObject(body.properties) ? body.properties : {});
  const pool = { ...(index >= 0 ? pools[index] : {}), ...props, name: poolName };
  const targets = targetPoolVersions(cluster, [pool], cluster.currentKubernetesVersion, cluster.location);
  if (index >= 0) pools[index] = pool;
  else pools.push(pool);
  cluster.properties.agentPoolProfiles = pools;
  cluster.eTag = newETag();
  cluster.provisioningState = 'Updating';
  const existingPool = cluster.agentPools[poolName];
  cluster.agentPools[poolName] = {
    currentOrchestratorVersion:
      existingPool?.currentOrchestratorVersion ?? targets[poolName] ?? cluster.currentKubernetesVersion,
    provisioningState:
      existingPool && existingPool.currentOrchestratorVersion !== targets[poolName]
        ? 'Upgrading'
        : 'Updating',
  };
  const op = beginOperation(ctx, req, cluster, {
    kind: 'update',
    resourceLabel: poolName,
    targetKubernetesVersion: cluster.currentKubernetesVersion,
    targetPoolVersions: targets,
    ...(cluster.appliedKms ? { targetKms: cluster.appliedKms } : {}),
  });
  setLogDetail(
    res,
    `agent pool ${poolName} orchestratorVersion=${targets[poolName] ?? ''} operation=${op.id}`,
  );
  sendJson(res, index >= 0 ? 200 : 201, renderAgentPool(cluster, pool), {
    'Azure-AsyncOperation': operationUrl(ctx, op, r.apiVersion),
  });
}
