/**
 * The vault of the key and the cluster identity's path to it: network rules for the mode KMS runs in (L26,
 * L30, L133), tenant (L28), the identity's encrypt/decrypt permission (L90, L94, L241) and, for Private mode,
 * Key Vault Contributor (L176); recoverability (L24, L38).
 */
import { parseKeyId } from '../ids';
import { type PreflightFacts, problemOf, valueOf } from '../preflight-facts';
import { azCluster, clusterName, defineRule, targetMode } from './rule';
import { movesVault } from './kms-state-rules';

/** The vault as read, when it was. */
function vaultOf(f: PreflightFacts) {
  return valueOf(f.vault?.read);
}

/**
 * Public mode on a vault closed to the internet: a firewall, or public access disabled (unless the procedure
 * opens that itself; it never changes the firewall).
 */
export function publicModeBlocked(f: PreflightFacts): boolean {
  const vault = vaultOf(f);
  if (!vault || targetMode(f) !== 'Public') return false;
  return (
    vault.firewallDefaultAction === 'Deny' ||
    (vault.publicNetworkAccess === 'Disabled' && !f.input.opensVaultPublicAccess)
  );
}

function userAssigned(f: PreflightFacts) {
  return f.cluster.identity.userAssigned[0];
}

export const privateNeedsVaultId = defineRule({
  code: 'PrivateNeedsVaultId',
  severity: 'error',
  source: 'L200',
  when: 'Private mode is asked for without the key vault resource id.',
  check: (f) =>
    targetMode(f) === 'Private' && f.input.keyId && !f.input.vaultResourceId
      ? {
          message: 'Private mode needs the key vault resource id.',
          fix: 'Pass --vault-id /subscriptions/…/providers/Microsoft.KeyVault/vaults/<name>.',
        }
      : undefined,
});

export const vaultIdRequired = defineRule({
  code: 'VaultIdRequired',
  severity: 'error',
  source: 'L228',
  when: "The procedure changes the vault's public network access and the vault could not be determined.",
  needs: ['vault'],
  check: (f) =>
    f.vault || f.vaultNotFound
      ? undefined
      : {
          message: "Changing the vault's network access needs the key vault resource id.",
          fix: 'Pass --vault-id /subscriptions/…/providers/Microsoft.KeyVault/vaults/<name>.',
        },
});

export const vaultNotFound = defineRule({
  code: 'VaultNotFound',
  severity: 'error',
  source: 'L24',
  when: 'The key vault does not exist.',
  needs: ['vault'],
  check: (f) => {
    if (problemOf(f.vault?.read)?.kind !== 'not-found') return undefined;
    const name = f.vault!.id.split('/').pop();
    return {
      message: `Key vault ${f.vault!.id} does not exist.`,
      fix: `Check the vault resource id (az keyvault show --name ${name} --query id -o tsv); a vault deleted less than its retention period ago can be recovered (az keyvault recover --name ${name}).`,
    };
  },
});

export const vaultUnreadable = defineRule({
  code: 'VaultUnreadable',
  severity: 'error',
  source: 'kmsflow',
  when: 'kmsflow may not read the key vault: none of its checks can run (cannot verify).',
  needs: ['vault'],
  check: (f) => {
    const problem = problemOf(f.vault?.read);
    if (problem?.kind !== 'forbidden' && problem?.kind !== 'unreachable') return undefined;
    return {
      message: `kmsflow cannot read key vault ${f.vault!.id.split('/').pop()}: ${problem.message}`,
      fix: "Grant the worker's identity Reader on the vault (see docs/permissions.md).",
    };
  },
});

export const vaultUnverified = defineRule({
  code: 'VaultUnverified',
  severity: 'error',
  source: 'kmsflow',
  when: 'The key names a vault no subscription in scope holds: its firewall, tenant, permissions and recoverability cannot be verified (a warning with --accept-unverified).',
  needs: ['vault'],
  check: (f) => {
    if (!f.vaultNotFound) return undefined;
    const { vaultName, subscriptions } = f.vaultNotFound;
    return {
      severity: f.input.estate?.acceptUnverified ? 'warning' : 'error',
      message: `Cannot verify key vault ${vaultName}: it is in none of the subscriptions in scope (${subscriptions.join(', ')}), so its firewall, tenant, the cluster identity's permissions and its recoverability were not checked.`,
      fix: `Pass --vault-id with the vault's resource id (az keyvault show --name ${vaultName} --query id -o tsv) or --estate-subscription with its subscription, so preflight can check it; or --accept-unverified to go ahead unchecked (recorded).`,
    };
  },
});

export const foreignTenantVault = defineRule({
  code: 'ForeignTenantVault',
  severity: 'error',
  source: 'L28',
  when: "The vault belongs to another tenant than the cluster identity's.",
  needs: ['vault'],
  check: (f) => {
    const problem = problemOf(f.vault?.read);
    if (problem?.kind === 'foreign-tenant')
      return {
        message: `Key vault ${f.vault!.id.split('/').pop()} belongs to another tenant than the cluster's (${problem.message})`,
        fix: "Use a vault in the cluster identity's tenant.",
      };
    const vault = vaultOf(f);
    const tenant = valueOf(f.identityTenant);
    if (!vault || !tenant || tenant.toLowerCase() === vault.tenantId.toLowerCase()) return undefined;
    return {
      message: `Key vault ${vault.name} belongs to tenant ${vault.tenantId}, the cluster identity to ${tenant}; KMS does not support a vault of another tenant.`,
      fix: "Use a vault in the cluster identity's tenant.",
    };
  },
});

export const publicModeWithFirewall = defineRule({
  code: 'PublicModeWithFirewall',
  severity: 'error',
  source: 'L26',
  when: 'KMS runs (or will run) in Public mode on a vault with a firewall or public access disabled.',
  needs: ['vault'],
  check: (f) => {
    if (!publicModeBlocked(f)) return undefined;
    const vault = vaultOf(f)!;
    if (vault.firewallDefaultAction === 'Deny') {
      return f.input.opensVaultPublicAccess
        ? {
            message: `Key vault ${vault.name} has a firewall (selected networks): the switch opens its public network access, not its firewall, and KMS in Public mode needs a vault open to all networks.`,
            fix: `Allow all networks before the switch (az keyvault update --name ${vault.name} --default-action Allow), or stay in Private mode.`,
          }
        : {
            message: `Key vault ${vault.name} has a firewall (selected networks); KMS in Public mode needs a vault open to all networks.`,
            fix: `Open it (az keyvault update --name ${vault.name} --public-network-access Enabled --default-action Allow) or use Private mode.`,
          };
    }
    return {
      message: `Key vault ${vault.name} has public network access disabled; KMS in Public mode needs a vault open to all networks.`,
      fix: `Open it (az keyvault update --name ${vault.name} --public-network-access Enabled --default-action Allow) or use Private mode.`,
    };
  },
});

/**
 * The article's Konnectivity exception (L14): clusters that already used a private vault over Konnectivity
 * keep working (rotations included) until Kubernetes 1.30's end of support; any new Private configuration
 * (enable, a switch, the re-enable after a v2 migration, a move to another vault) needs VNet integration.
 */
function keepsKonnectivity(f: PreflightFacts): boolean {
  const kms = f.cluster.kms;
  return kms.enabled && kms.networkAccess === 'Private' && !f.input.disablesKms && !movesVault(f);
}

export const privateNeedsVnetIntegration = defineRule({
  code: 'PrivateNeedsVnetIntegration',
  severity: 'error',
  source: 'L30',
  when: 'A new Private configuration (enable, switch, the re-enable of a v2 migration, a move) on a cluster without API server VNet integration.',
  check: (f) =>
    targetMode(f) === 'Private' && !f.cluster.apiServerVnetIntegration && !keepsKonnectivity(f)
      ? {
          message: f.input.disablesKms
            ? 'Private mode needs API server VNet integration: this procedure disables KMS and enables it again, and a new private vault configuration is refused over Konnectivity, which would leave the cluster without KMS.'
            : 'Private mode needs API server VNet integration (Konnectivity is not supported for a new private vault configuration).',
          fix: `Enable it first: az aks update ${azCluster(f)} --enable-apiserver-vnet-integration --apiserver-subnet-id <subnet id>.`,
        }
      : undefined,
});

export const konnectivityPrivateVault = defineRule({
  code: 'KonnectivityPrivateVault',
  severity: 'warning',
  source: 'L14',
  when: 'KMS keeps a private vault over Konnectivity: supported only for earlier users and only until 1.30 ends.',
  check: (f) =>
    targetMode(f) === 'Private' && !f.cluster.apiServerVnetIntegration && keepsKonnectivity(f)
      ? {
          message: `Cluster ${clusterName(f)} uses KMS with a private vault over Konnectivity: supported only where it was in use before 15 September 2024, and only until Kubernetes 1.30's end of community support.`,
          fix: `Move to API server VNet integration before then: az aks update ${azCluster(f)} --enable-apiserver-vnet-integration --apiserver-subnet-id <subnet id>.`,
        }
      : undefined,
});

export const vaultRecoverability = defineRule({
  code: 'VaultRecoverability',
  severity: 'warning',
  source: 'L38',
  when: 'The vault has soft delete or purge protection off.',
  needs: ['vault'],
  check: (f) => {
    const vault = vaultOf(f);
    if (!vault || (vault.enableSoftDelete && vault.enablePurgeProtection)) return undefined;
    return {
      message: `Key vault ${vault.name} has ${!vault.enableSoftDelete ? 'soft delete' : 'purge protection'} off: a deleted key would make every Secret unreadable for good.`,
      fix: `Turn it on: az keyvault update --name ${vault.name} --enable-purge-protection true.`,
    };
  },
});

export const identityNotFound = defineRule({
  code: 'IdentityNotFound',
  severity: 'error',
  source: 'L24',
  when: "The cluster's user-assigned identity was deleted.",
  needs: ['vault'],
  check: (f) => {
    if (problemOf(f.identityTenant)?.kind !== 'not-found') return undefined;
    const identity = userAssigned(f)?.id.split('/').pop();
    return {
      message: `The cluster's user-assigned identity ${identity} no longer exists: the KMS plugin authenticates to the vault with it, so KMS cannot work.`,
      fix: `A deleted managed identity cannot be recovered: create one (az identity create), assign it to the cluster (az aks update ${azCluster(f)} --enable-managed-identity --assign-identity <its resource id>), grant it Key Vault Crypto User on the vault, then start again.`,
    };
  },
});

export const identityLacksCryptoPermission = defineRule({
  code: 'IdentityLacksCryptoPermission',
  severity: 'error',
  source: 'L241',
  when: "The cluster identity may not encrypt/decrypt with the vault's keys (needed while KMS is on and after it is disabled, until Secrets left the key).",
  needs: ['vault'],
  check: (f) => {
    const vault = vaultOf(f);
    const principal = userAssigned(f)?.principalId;
    if (!vault || !principal || f.permissions?.crypto !== 'missing') return undefined;
    return {
      message: `The cluster identity (${principal}) cannot encrypt/decrypt with keys of vault ${vault.name}.`,
      fix: vault.enableRbacAuthorization
        ? `az role assignment create --role "Key Vault Crypto User" --assignee-object-id ${principal} --assignee-principal-type ServicePrincipal --scope ${f.vault!.id}`
        : `az keyvault set-policy --name ${vault.name} --object-id ${principal} --key-permissions encrypt decrypt`,
    };
  },
});

export const privateNeedsContributor = defineRule({
  code: 'PrivateNeedsContributor',
  severity: 'error',
  source: 'L176',
  when: 'Private mode and the cluster identity lacks Key Vault Contributor on the vault (the private link).',
  needs: ['vault'],
  check: (f) => {
    const vault = vaultOf(f);
    const principal = userAssigned(f)?.principalId;
    if (!vault || !principal || !f.permissions || targetMode(f) !== 'Private' || f.permissions.contributor)
      return undefined;
    return {
      message: `Private mode needs the cluster identity to hold Key Vault Contributor on vault ${vault.name} (for the private link).`,
      fix: `az role assignment create --role "Key Vault Contributor" --assignee-object-id ${principal} --assignee-principal-type ServicePrincipal --scope ${f.vault!.id}`,
    };
  },
});

/** The key the procedure works with: the one it names, else the key in use. */
export function subjectKeyId(f: Pick<PreflightFacts, 'input' | 'cluster'>): string | undefined {
  return f.input.keyId ?? f.cluster.kms.keyId;
}

/** The vault of that key. */
export function subjectVaultName(f: Pick<PreflightFacts, 'input' | 'cluster'>): string | undefined {
  const key = subjectKeyId(f);
  return key ? parseKeyId(key).vaultName : undefined;
}

export const leavingVaultUnreachable = defineRule({
  code: 'LeavingVaultUnreachable',
  severity: 'error',
  source: 'L218',
  when: "A rotation moves KMS to another vault while the vault it leaves, which every Secret still needs until the re-encryption is proven, is gone, closed to the plugin's path, refused to the cluster identity, or cannot be verified.",
  needs: ['leaving-vault'],
  check: (f) => {
    const leaving = f.leavingVault;
    if (!leaving || !movesVault(f)) return undefined;
    const mode = f.cluster.kms.networkAccess ?? 'Public';
    const why = (reason: string, fix: string, severity?: 'warning') => ({
      ...(severity ? { severity } : {}),
      message: `The rotation moves KMS off vault ${leaving.vaultName}, and every Secret stays under its key until the re-encryption is proven, but ${reason}: the cluster could read none of them after its next API server restart.`,
      fix,
    });
    const problem = problemOf(leaving.read);
    if (!leaving.read)
      return why(
        `kmsflow cannot verify it: it is in none of the subscriptions in scope`,
        `Pass --estate-subscription with the vault's subscription so it can be checked, or --accept-unverified (recorded).`,
        f.input.estate?.acceptUnverified ? 'warning' : undefined,
      );
    if (problem?.kind === 'not-found')
      return why(
        'it no longer exists (its private endpoint, if any, with it)',
        `Recover it while it is soft-deleted (az keyvault recover --name ${leaving.vaultName}), then start again.`,
      );
    if (problem) return undefined;
    const vault = valueOf(leaving.read)!;
    if (
      mode === 'Public' &&
      (vault.firewallDefaultAction === 'Deny' || vault.publicNetworkAccess === 'Disabled')
    )
      return why(
        'the cluster reaches it in Public mode and it is closed to the internet',
        `Open it until the move is proven (az keyvault update --name ${vault.name} --public-network-access Enabled --default-action Allow).`,
      );
    const principal = userAssigned(f)?.principalId;
    if (principal && leaving.permissions?.crypto === 'missing')
      return why(
        `the cluster identity (${principal}) may not encrypt/decrypt with its keys`,
        vault.enableRbacAuthorization
          ? `az role assignment create --role "Key Vault Crypto User" --assignee-object-id ${principal} --assignee-principal-type ServicePrincipal --scope ${leaving.id}`
          : `az keyvault set-policy --name ${vault.name} --object-id ${principal} --key-permissions encrypt decrypt`,
      );
    return undefined;
  },
});

export const VAULT_RULES = [
  privateNeedsVaultId,
  vaultIdRequired,
  vaultNotFound,
  vaultUnreadable,
  vaultUnverified,
  foreignTenantVault,
  publicModeWithFirewall,
  privateNeedsVnetIntegration,
  konnectivityPrivateVault,
  vaultRecoverability,
  identityNotFound,
  identityLacksCryptoPermission,
  privateNeedsContributor,
  leavingVaultUnreachable,
] as const;
