/**
 * The documented AKS rules for Azure Key Vault KMS, checked when a managed-cluster PUT is accepted
 * (reference/azure.md §10, use-kms-etcd-encryption.md). Each rule throws the real 400.
 */
import type { SandboxContext } from '../context';
import { isObject } from '../http';
import { principalMay } from '../keyvault/access';
import { parseKeyId } from '../keyvault/key-ids';
import { findVersion } from '../keyvault/keys';
import type { AzureKeyVaultKms, ClusterRecord } from '../store';
import { KMS_V2_MIN_MINOR } from './kms-encryption';
import { kmsErrors, kmsV1UpgradeBlocked } from './messages';
import { minorOf } from './versions';

const NETWORK_ACCESS = ['Public', 'Private'];

export function kmsOf(properties: Record<string, unknown>): AzureKeyVaultKms | undefined {
  const security = properties.securityProfile;
  if (!isObject(security) || !isObject(security.azureKeyVaultKms)) return undefined;
  const k = security.azureKeyVaultKms;
  return {
    ...(typeof k.enabled === 'boolean' ? { enabled: k.enabled } : {}),
    ...(typeof k.keyId === 'string' ? { keyId: k.keyId } : {}),
    ...(typeof k.keyVaultNetworkAccess === 'string'
      ? { keyVaultNetworkAccess: k.keyVaultNetworkAccess }
      : {}),
    ...(typeof k.keyVaultResourceId === 'string' ? { keyVaultResourceId: k.keyVaultResourceId } : {}),
  };
}

function vnetIntegration(properties: Record<string, unknown>): boolean {
  const p = properties.apiServerAccessProfile;
  return isObject(p) && p.enableVnetIntegration === true;
}

/** The ARM id of the cluster's (single) user-assigned identity. */
export function userAssignedIdentityId(identity: ClusterRecord['identity']): string | undefined {
  return Object.keys(identity?.userAssignedIdentities ?? {})[0];
}

export interface KmsChange {
  current: { kubernetesVersion: string; kms?: AzureKeyVaultKms } | undefined;
  target: {
    kubernetesVersion: string;
    kms?: AzureKeyVaultKms;
    properties: Record<string, unknown>;
    identity: ClusterRecord['identity'];
  };
}

export function assertKmsRules(ctx: SandboxContext, change: KmsChange): void {
  const { current, target } = change;
  const applied = current?.kms;

  if (
    applied?.enabled &&
    current &&
    minorOf(current.kubernetesVersion) < KMS_V2_MIN_MINOR &&
    minorOf(target.kubernetesVersion) >= KMS_V2_MIN_MINOR
  ) {
    throw kmsV1UpgradeBlocked(current.kubernetesVersion, target.kubernetesVersion);
  }

  const kms = target.kms;
  if (!kms?.enabled) return;

  const identityType = target.identity?.type ?? 'SystemAssigned';
  if (identityType.toLowerCase() !== 'userassigned') throw kmsErrors.systemAssignedIdentity(identityType);

  const keyId = kms.keyId ?? '';
  const parsed = parseKeyId(keyId);
  if (!parsed?.version) throw kmsErrors.keyIdInvalid(keyId);

  const access = kms.keyVaultNetworkAccess;
  if (!access) throw kmsErrors.networkAccessUnspecified();
  if (!NETWORK_ACCESS.includes(access)) throw kmsErrors.invalidNetworkAccess(access);

  // The attached vault's mode cannot change while KMS is on; moving to a key of another vault, in either
  // mode, is one update.
  const otherVault =
    !!applied?.keyId &&
    parseKeyId(applied.keyId)?.vaultName?.toLowerCase() !== parsed.vaultName?.toLowerCase();
  if (
    applied?.enabled &&
    applied.keyVaultNetworkAccess &&
    applied.keyVaultNetworkAccess !== access &&
    !otherVault
  ) {
    throw kmsErrors.modeChangeWhileEnabled(applied.keyVaultNetworkAccess, access);
  }

  if (access === 'Private') {
    if (!kms.keyVaultResourceId) throw kmsErrors.privateResourceIdEmpty();
    // Konnectivity exception: a cluster already running KMS with a private vault over Konnectivity keeps
    // doing so (rotations included); a new Private configuration needs VNet integration.
    const konnectivityBefore = applied?.enabled && applied.keyVaultNetworkAccess === 'Private' && !otherVault;
    if (!vnetIntegration(target.properties) && !konnectivityBefore)
      throw kmsErrors.privateNeedsVnetIntegration();
    // AKS cannot validate key permissions through a private endpoint; neither does the sandbox.
    return;
  }

  assertIdentityCanUseKey(ctx, target.identity, keyId);
}

function assertIdentityCanUseKey(
  ctx: SandboxContext,
  identity: ClusterRecord['identity'],
  keyId: string,
): void {
  const parsed = parseKeyId(keyId);
  const identityId = userAssignedIdentityId(identity);
  const principal = identityId ? ctx.store.identityByArmId(identityId) : undefined;
  if (!identityId || !principal) throw kmsErrors.identityNotFound(identityId ?? '');
  const vault = parsed && ctx.store.vaultByName(parsed.vaultName);
  const key = vault && parsed ? vault.keys[parsed.keyName] : undefined;
  if (!vault || !key || !findVersion(key, parsed?.version)) throw kmsErrors.keyNotFound(keyId);
  const may = (op: 'encrypt' | 'decrypt') =>
    principalMay(ctx.store, vault, principal.principalId, key.name, op);
  if (!may('encrypt') || !may('decrypt'))
    throw kmsErrors.identityPermission(`https://${vault.name}.vault.azure.net`);
}
