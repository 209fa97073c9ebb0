/**
 * The Azure answer the emulated API servers need: can this cluster's KMS plugin still use this key version?
 * Like AKS's plugin, it fails when the key is gone, disabled or expired, and when its own path to the key is:
 * the vault's network rules refuse it (Public mode; Private mode goes through the private link), the cluster
 * identity it authenticates with was deleted, lost its permission, or belongs to another tenant.
 */
import { userAssignedIdentityId } from '../arm/kms-rules';
import type { KeyUsability } from '../contracts';
import type { AzureStore } from '../store';
import { networkAllows, principalMay } from './access';
import { parseKeyId } from './key-ids';
import { findVersion, unusableReason } from './keys';

/** An address outside every vault firewall rule the scenarios write: the plugin calls from AKS's own network. */
const AKS_EGRESS_ADDRESS = '20.0.0.1';

/** Who the KMS plugin is: the identity it authenticates as, and whether it reaches the vault through a private link. */
export interface KmsPluginIdentity {
  identityArmId: string | undefined;
  privateLink: boolean;
}

export class VaultKeyUsability implements KeyUsability {
  constructor(
    private readonly store: AzureStore,
    private readonly now: () => number = Date.now,
  ) {}

  keyProblem(keyId: string, clusterName?: string): string | undefined {
    const cluster = clusterName ? this.store.clusterByName(clusterName) : undefined;
    const plugin = cluster && {
      identityArmId: userAssignedIdentityId(cluster.identity),
      privateLink: cluster.appliedKms?.keyVaultNetworkAccess === 'Private',
    };
    return this.pluginProblem(keyId, plugin);
  }

  /** Can this plugin use this key version? Without a plugin, only the key version itself is judged. */
  pluginProblem(keyId: string, plugin: KmsPluginIdentity | undefined): string | undefined {
    const parsed = parseKeyId(keyId);
    const vault = parsed && this.store.vaultByName(parsed.vaultName);
    const key = vault && parsed?.version ? vault.keys[parsed.keyName] : undefined;
    const version = key && findVersion(key, parsed!.version!);
    if (!version || unusableReason(version, Math.floor(this.now() / 1000)) !== undefined) {
      return `failed to unwrap the data encryption key with ${keyId}: the key version is disabled, expired or no longer exists in Key Vault`;
    }
    if (!plugin || !vault) return undefined;
    if (!plugin.privateLink && !networkAllows(vault, 'internet', AKS_EGRESS_ADDRESS)) {
      return `Key Vault ${parsed!.vaultName} refused the KMS plugin's address: the vault's firewall or disabled public network access blocks it (Forbidden, ForbiddenByFirewall)`;
    }
    const identityId = plugin.identityArmId;
    const identity = identityId ? this.store.identityByArmId(identityId) : undefined;
    if (!identity)
      return `the KMS plugin cannot authenticate: the cluster identity ${identityId ?? '(none)'} no longer exists`;
    const vaultTenant =
      typeof vault.properties.tenantId === 'string' ? vault.properties.tenantId : identity.tenantId;
    if (identity.tenantId.toLowerCase() !== vaultTenant.toLowerCase()) {
      return `the KMS plugin cannot authenticate to Key Vault ${parsed!.vaultName}: the vault belongs to another tenant than the cluster identity`;
    }
    if (!principalMay(this.store, vault, identity.principalId, parsed!.keyName, 'unwrapKey')) {
      return `Key Vault ${parsed!.vaultName} refused the KMS plugin: the cluster identity ${identity.principalId} is not allowed to unwrap with ${parsed!.keyName} (Forbidden)`;
    }
    return undefined;
  }
}
