/**
 * The small, serializable views of Azure resources that activities read and workflows and rules reason
 * over: a key vault, a key version, a cluster identity's permissions on a vault. Never whole SDK objects.
 */

export interface VaultDigest {
  id: string;
  name: string;
  tenantId: string;
  vaultUri?: string;
  publicNetworkAccess: 'Enabled' | 'Disabled';
  /** `Deny` means a firewall ("selected networks"): unsupported for KMS in Public mode. */
  firewallDefaultAction: 'Allow' | 'Deny';
  enableRbacAuthorization: boolean;
  enableSoftDelete: boolean;
  enablePurgeProtection: boolean;
  /** Object ids with both encrypt and decrypt key permissions in the access policies (non-RBAC vaults). */
  accessPolicyCryptoPrincipals: string[];
}

export interface KeyVersionDigest {
  id: string;
  name: string;
  version: string;
  enabled: boolean;
  expiresOn?: string;
  createdOn?: string;
}

export interface KeyDigest extends KeyVersionDigest {
  keyType: string;
  keyOps: string[];
}

export interface PermissionReport {
  principalId: string;
  /** How the identity may encrypt/decrypt with the vault's keys, if at all. */
  crypto: 'rbac-role' | 'access-policy' | 'missing';
  /** Whether the identity holds Key Vault Contributor (or Owner/Contributor) on the vault or above. */
  contributor: boolean;
}
