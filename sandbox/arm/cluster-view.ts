/** Renders stored managed clusters as the ARM wire JSON (read-only fields filled in), and strips them from PUT bodies. */
import { createHash } from 'node:crypto';
import type { SandboxContext } from '../context';
import { isObject } from '../http';
import { clusterArmId, type ClusterRecord } from '../store';
import { availableUpgrades, compareVersions } from './versions';

const CLUSTER_READ_ONLY = [
  'provisioningState',
  'powerState',
  'currentKubernetesVersion',
  'fqdn',
  'azurePortalFqdn',
  'privateFqdn',
  'maxAgentPools',
  'status',
  'resourceUID',
];
const POOL_READ_ONLY = ['provisioningState', 'currentOrchestratorVersion', 'nodeImageVersion', 'powerState'];

/** A stable GUID derived from a string (ids AKS would assign, e.g. a system-assigned principal). */
export function derivedGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function stripPoolReadOnly(pool: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(pool).filter(([k]) => !POOL_READ_ONLY.includes(k)));
}

export function stripClusterReadOnly(properties: Record<string, unknown>): Record<string, unknown> {
  const out = Object.fromEntries(Object.entries(properties).filter(([k]) => !CLUSTER_READ_ONLY.includes(k)));
  if (Array.isArray(out.agentPoolProfiles))
    out.agentPoolProfiles = out.agentPoolProfiles.filter(isObject).map(stripPoolReadOnly);
  return out;
}

export function poolProfiles(record: ClusterRecord): Record<string, unknown>[] {
  return Array.isArray(record.properties.agentPoolProfiles)
    ? record.properties.agentPoolProfiles.filter(isObject)
    : [];
}

function renderIdentity(ctx: SandboxContext, record: ClusterRecord) {
  const identity = record.identity;
  if (!identity) return undefined;
  const type = identity.type ?? 'SystemAssigned';
  const tenantId = ctx.store.subscription(record.subscriptionId)?.tenantId;
  if (type.toLowerCase() === 'systemassigned') {
    return { type, principalId: derivedGuid(`${clusterArmId(record)}/identity`), tenantId };
  }
  const userAssignedIdentities: Record<string, { principalId?: string; clientId?: string }> = {};
  for (const id of Object.keys(identity.userAssignedIdentities ?? {})) {
    const known = ctx.store.identityByArmId(id);
    userAssignedIdentities[id] = known ? { principalId: known.principalId, clientId: known.clientId } : {};
  }
  return { type, userAssignedIdentities };
}

export function renderAgentPoolProperties(
  record: ClusterRecord,
  pool: Record<string, unknown>,
): Record<string, unknown> {
  const name = String(pool.name ?? '');
  const state = record.agentPools[name];
  return {
    ...pool,
    orchestratorVersion: pool.orchestratorVersion ?? state?.currentOrchestratorVersion,
    currentOrchestratorVersion: state?.currentOrchestratorVersion ?? record.currentKubernetesVersion,
    provisioningState: state?.provisioningState ?? record.provisioningState,
    powerState: { code: record.powerState ?? 'Running' },
  };
}

export function renderCluster(ctx: SandboxContext, record: ClusterRecord): Record<string, unknown> {
  const p = record.properties;
  const dnsPrefix = typeof p.dnsPrefix === 'string' ? p.dnsPrefix : record.name;
  const id = clusterArmId(record);
  const identity = renderIdentity(ctx, record);
  return {
    id,
    name: record.name,
    type: 'Microsoft.ContainerService/ManagedClusters',
    location: record.location,
    ...(record.tags ? { tags: record.tags } : {}),
    eTag: record.eTag,
    sku: record.sku ?? { name: 'Base', tier: 'Free' },
    ...(identity ? { identity } : {}),
    properties: {
      ...p,
      provisioningState: record.provisioningState,
      powerState: { code: record.powerState ?? 'Running' },
      kubernetesVersion: p.kubernetesVersion ?? record.currentKubernetesVersion,
      currentKubernetesVersion: record.currentKubernetesVersion,
      dnsPrefix,
      fqdn: `${dnsPrefix}-${derivedGuid(id).slice(0, 8)}.hcp.${record.location}.azmk8s.io`,
      azurePortalFqdn: `${dnsPrefix}-${derivedGuid(id).slice(0, 8)}.portal.hcp.${record.location}.azmk8s.io`,
      maxAgentPools: 100,
      nodeResourceGroup:
        p.nodeResourceGroup ?? `MC_${record.resourceGroup}_${record.name}_${record.location}`,
      agentPoolProfiles: poolProfiles(record).map((pool) => renderAgentPoolProperties(record, pool)),
      resourceUID: derivedGuid(`${id}/uid`).replace(/-/g, '').slice(0, 24),
      ...(record.provisioningError ? { status: { provisioningError: record.provisioningError } } : {}),
    },
  };
}

export function renderAgentPool(
  record: ClusterRecord,
  pool: Record<string, unknown>,
): Record<string, unknown> {
  const { name, ...rest } = renderAgentPoolProperties(record, pool);
  return {
    id: `${clusterArmId(record)}/agentPools/${String(name)}`,
    name,
    type: 'Microsoft.ContainerService/managedClusters/agentPools',
    properties: rest,
  };
}

export function renderUpgradeProfile(record: ClusterRecord): Record<string, unknown> {
  const upgrades = (v: string) => availableUpgrades(v).map((kubernetesVersion) => ({ kubernetesVersion }));
  return {
    id: `${clusterArmId(record)}/upgradeProfiles/default`,
    name: 'default',
    type: 'Microsoft.ContainerService/managedClusters/upgradeProfiles',
    properties: {
      controlPlaneProfile: {
        kubernetesVersion: record.currentKubernetesVersion,
        osType: 'Linux',
        upgrades: upgrades(record.currentKubernetesVersion),
      },
      agentPoolProfiles: poolProfiles(record).map((pool) => {
        const name = String(pool.name ?? '');
        const current =
          record.agentPools[name]?.currentOrchestratorVersion ?? record.currentKubernetesVersion;
        return { name, kubernetesVersion: current, osType: 'Linux', upgrades: upgrades(current) };
      }),
    },
  };
}

export function renderPoolUpgradeProfile(record: ClusterRecord, poolName: string): Record<string, unknown> {
  const current = record.agentPools[poolName]?.currentOrchestratorVersion ?? record.currentKubernetesVersion;
  return {
    id: `${clusterArmId(record)}/agentPools/${poolName}/upgradeProfiles/default`,
    name: 'default',
    type: 'Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles',
    properties: {
      kubernetesVersion: current,
      osType: 'Linux',
      // a pool never goes past its control plane
      upgrades: availableUpgrades(current)
        .filter((v) => compareVersions(v, record.currentKubernetesVersion) <= 0)
        .map((kubernetesVersion) => ({ kubernetesVersion })),
    },
  };
}
