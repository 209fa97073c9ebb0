/**
 * The Azure answer the emulated API servers need: can this cluster's KMS plugin still use this key version?
 * Like AKS's plugin, it fails when the key is gone, disabled or expired, and when its own path to the key is:
 * the vault's network rules refuse it (Public mode; Private mode goes through the private link), the cluster
 * identity it authenticates with was deleted, lost its encrypt/decrypt permission, or belongs to another tenant.
 * Each key slot keeps the network path it was configured with until its key leaves the slot: after a move from
 * a private vault to a key of a public vault, the previous slot still reaches the old vault by its private link.
 */
import { slotPathOf } from '../arm/kms-encryption';
import { userAssignedIdentityId } from '../arm/kms-rules';
import type { KeyUsability } from '../contracts';
import { vaultArmId, type AzureStore, type ClusterRecord, type KmsSlotPath } from '../store';
import { networkAllows, principalMay } from './access';
import { parseKeyId, sameKeyVersion } from './key-ids';
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
      privateLink: this.viaPrivateLink(keyId, slotPathFor(cluster, keyId)),
    };
    return this.pluginProblem(keyId, plugin);
  }

  /** A Private slot reaches its key's vault through the private link made to that vault, while the vault exists. */
  private viaPrivateLink(keyId: string, path: KmsSlotPath): boolean {
    if (path.networkAccess !== 'Private') return false;
    const vault = this.store.vaultByName(parseKeyId(keyId)?.vaultName ?? '');
    if (!vault) return false;
    return (
      path.vaultResourceId === undefined ||
      path.vaultResourceId.replace(/\/+$/, '').toLowerCase() === vaultArmId(vault).toLowerCase()
    );
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
    // AKS's plugin encrypts and decrypts (RSA-OAEP-256) the data encryption keys: Crypto User or encrypt+decrypt.
    const may = (op: 'encrypt' | 'decrypt') =>
      principalMay(this.store, vault, identity.principalId, parsed!.keyName, op);
    if (!may('encrypt') || !may('decrypt')) {
      return `Key Vault ${parsed!.vaultName} refused the KMS plugin: the cluster identity ${identity.principalId} is not allowed to encrypt and decrypt with ${parsed!.keyName} (Forbidden)`;
    }
    return undefined;
  }
}

/**
 * The path of the slot holding `keyId` (the current slot's for a key in neither); the cluster's mode for old state.
 * The plugin reaches the vault it is configured with the way it is configured now (a previous key of the same vault
 * included: re-enabling in Private mode moves both onto the private link); only a key of another vault keeps the
 * path it had when it was configured.
 */
function slotPathFor(cluster: ClusterRecord, keyId: string): KmsSlotPath {
  const configured = cluster.appliedKms?.enabled ? cluster.appliedKms.keyId : undefined;
  const sameVault =
    !!configured &&
    parseKeyId(configured)?.vaultName.toLowerCase() === parseKeyId(keyId)?.vaultName.toLowerCase();
  if (sameVault) return slotPathOf(cluster.appliedKms!);
  const slot =
    sameKeyVersion(keyId, cluster.keySlots.previous) && !sameKeyVersion(keyId, cluster.keySlots.current)
      ? 'previous'
      : 'current';
  return cluster.slotPaths?.[slot] ?? slotPathOf(cluster.appliedKms ?? {});
}
