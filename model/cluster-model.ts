/**
 * Pure functions over the ARM ManagedCluster model: the small digest kmsflow passes around (never whole
 * ARM objects), and the desired body of each change, computed the way `az aks update` / `az aks upgrade` do.
 */
import type { ManagedCluster } from '@azure/arm-containerservice';
import { sameKeyId } from './ids';
import { kmsProfile, type KmsSettings, type NetworkAccess } from './kms-settings';

export type { NetworkAccess };

export type ClusterChange =
  ({ kind: 'enable-kms' } & KmsSettings) | { kind: 'disable-kms' } | { kind: 'upgrade'; version: string };

export interface KmsState {
  enabled: boolean;
  keyId?: string;
  networkAccess?: NetworkAccess;
  vaultResourceId?: string;
}

export interface ClusterDigest {
  id: string;
  name: string;
  location: string;
  kubernetesVersion: string;
  provisioningState: string;
  provisioningError?: { code?: string; message?: string };
  identity: {
    type: string;
    /** Resource ids of the user-assigned identities. */
    userAssigned: { id: string; principalId?: string; clientId?: string }[];
  };
  kms: KmsState;
  apiServerVnetIntegration: boolean;
  /** `Running`, or `Stopped` after `az aks stop`. */
  powerState: string;
  nodePools: { name: string; version: string; count: number; mode?: string }[];
  eTag?: string;
  /** The idempotency key of the last change kmsflow sent (tag `kmsflow-operation`). */
  lastOperationKey?: string;
}

/** The tag through which a retried submit recognises that its own PUT already reached ARM. */
export const OPERATION_TAG = 'kmsflow-operation';

const TERMINAL_STATES = new Set(['succeeded', 'failed', 'canceled', 'cancelled']);

export function isTerminal(provisioningState: string | undefined): boolean {
  return TERMINAL_STATES.has((provisioningState ?? 'succeeded').toLowerCase());
}

export function digestOf(mc: ManagedCluster): ClusterDigest {
  const kms = mc.securityProfile?.azureKeyVaultKms;
  const error = mc.status?.provisioningError;
  return {
    id: mc.id ?? '',
    name: mc.name ?? '',
    location: mc.location,
    kubernetesVersion: mc.currentKubernetesVersion ?? mc.kubernetesVersion ?? 'unknown',
    provisioningState: mc.provisioningState ?? 'Unknown',
    ...(error ? { provisioningError: { code: error.code, message: error.message } } : {}),
    identity: {
      type: mc.identity?.type ?? 'None',
      userAssigned: Object.entries(mc.identity?.userAssignedIdentities ?? {}).map(([id, v]) => ({
        id,
        principalId: v?.principalId,
        clientId: v?.clientId,
      })),
    },
    kms: {
      enabled: kms?.enabled === true,
      ...(kms?.keyId ? { keyId: kms.keyId } : {}),
      ...(kms?.keyVaultNetworkAccess ? { networkAccess: kms.keyVaultNetworkAccess as NetworkAccess } : {}),
      ...(kms?.keyVaultResourceId ? { vaultResourceId: kms.keyVaultResourceId } : {}),
    },
    apiServerVnetIntegration: mc.apiServerAccessProfile?.enableVnetIntegration === true,
    powerState: mc.powerState?.code ?? 'Running',
    nodePools: (mc.agentPoolProfiles ?? []).map((p) => ({
      name: p.name,
      version: p.currentOrchestratorVersion ?? p.orchestratorVersion ?? mc.kubernetesVersion ?? 'unknown',
      count: p.count ?? 0,
      mode: p.mode,
    })),
    eTag: mc.eTag,
    lastOperationKey: mc.tags?.[OPERATION_TAG],
  };
}

function sameVersion(actual: string, wanted: string): boolean {
  // "1.28" asks for the latest 1.28 patch; "1.28.5" for exactly that one.
  return actual === wanted || actual.startsWith(`${wanted}.`);
}

/** True when the cluster already is as the change would leave it. */
export function changeHolds(digest: ClusterDigest, change: ClusterChange): boolean {
  switch (change.kind) {
    case 'enable-kms':
      return (
        digest.kms.enabled &&
        sameKeyId(digest.kms.keyId, change.keyId) &&
        (digest.kms.networkAccess ?? 'Public') === change.networkAccess &&
        (change.networkAccess === 'Public' ||
          (digest.kms.vaultResourceId ?? '').toLowerCase() === (change.vaultResourceId ?? '').toLowerCase())
      );
    case 'disable-kms':
      return !digest.kms.enabled;
    case 'upgrade':
      return (
        sameVersion(digest.kubernetesVersion, change.version) &&
        digest.nodePools.every((p) => sameVersion(p.version, change.version))
      );
  }
}

/** The PUT body for a change, like `az aks update` / `az aks upgrade` build it from the current cluster. */
export function desiredCluster(
  mc: ManagedCluster,
  change: ClusterChange,
  operationKey: string,
): ManagedCluster {
  const tags = { ...(mc.tags ?? {}), [OPERATION_TAG]: operationKey };
  const base: ManagedCluster = { ...mc, tags, servicePrincipalProfile: undefined };
  switch (change.kind) {
    case 'enable-kms':
      return {
        ...base,
        securityProfile: {
          ...mc.securityProfile,
          azureKeyVaultKms: kmsProfile(change),
        },
      };
    case 'disable-kms':
      return {
        ...base,
        securityProfile: {
          ...mc.securityProfile,
          azureKeyVaultKms: { ...mc.securityProfile?.azureKeyVaultKms, enabled: false },
        },
      };
    case 'upgrade':
      return {
        ...base,
        kubernetesVersion: change.version,
        agentPoolProfiles: (mc.agentPoolProfiles ?? []).map((p) => ({
          ...p,
          orchestratorVersion: change.version,
        })),
      };
  }
}

export function describeChange(change: ClusterChange): string {
  switch (change.kind) {
    case 'enable-kms':
      return `enable KMS with ${change.keyId} (${change.networkAccess})`;
    case 'disable-kms':
      return 'disable KMS';
    case 'upgrade':
      return `upgrade to Kubernetes ${change.version}`;
  }
}
