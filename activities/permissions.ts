/**
 * Whether a cluster's KMS identity can use the vault: encrypt/decrypt on the keys (the role Key Vault
 * Crypto User on RBAC vaults, an access policy otherwise), and Key Vault Contributor for private vaults.
 */
import { parseVaultId } from '../model/ids';
import type { ClientFactory } from './clients';
import { mapErrors } from './errors';
import type { PermissionReport } from '../model/azure-digests';

/** Built-in role definition GUIDs (identical in every tenant). */
export const BuiltInRoles = {
  keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  keyVaultCryptoOfficer: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424',
  keyVaultContributor: 'f25e0fa2-a7c8-4377-a976-54943a77a395',
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
} as const;

const CRYPTO_ROLES = new Set<string>([
  BuiltInRoles.keyVaultAdministrator,
  BuiltInRoles.keyVaultCryptoOfficer,
  BuiltInRoles.keyVaultCryptoUser,
]);
const CONTRIBUTOR_ROLES = new Set<string>([
  BuiltInRoles.keyVaultContributor,
  BuiltInRoles.owner,
  BuiltInRoles.contributor,
]);

export type { PermissionReport };

function roleGuid(roleDefinitionId: string | undefined): string {
  return (roleDefinitionId ?? '').split('/').pop()?.toLowerCase() ?? '';
}

/** A scope applies to the vault when it is the vault itself or one of its parents. */
function coversScope(assignmentScope: string | undefined, vaultResourceId: string): boolean {
  if (!assignmentScope) return false;
  const scope = assignmentScope.replace(/\/+$/, '').toLowerCase();
  const target = vaultResourceId.toLowerCase();
  return target === scope || target.startsWith(`${scope}/`);
}

export function createPermissionActivities(clients: ClientFactory) {
  async function checkKmsPermissions(input: {
    vaultResourceId: string;
    principalId: string;
    enableRbacAuthorization: boolean;
    accessPolicyCryptoPrincipals: string[];
  }): Promise<PermissionReport> {
    const ref = parseVaultId(input.vaultResourceId);
    const roles = await mapErrors(`List role assignments on key vault ${ref.name}`, async () => {
      const found: string[] = [];
      const pages = clients
        .authorization(ref.subscriptionId)
        .roleAssignments.listForScope(input.vaultResourceId, {
          filter: 'atScope()',
        });
      for await (const assignment of pages) {
        if (assignment.principalId?.toLowerCase() !== input.principalId.toLowerCase()) continue;
        if (!coversScope(assignment.scope, input.vaultResourceId)) continue;
        found.push(roleGuid(assignment.roleDefinitionId));
      }
      return found;
    });
    const viaPolicy = input.accessPolicyCryptoPrincipals.some(
      (p) => p.toLowerCase() === input.principalId.toLowerCase(),
    );
    const crypto = input.enableRbacAuthorization
      ? roles.some((r) => CRYPTO_ROLES.has(r))
        ? 'rbac-role'
        : 'missing'
      : viaPolicy
        ? 'access-policy'
        : 'missing';
    return {
      principalId: input.principalId,
      crypto,
      contributor: roles.some((r) => CONTRIBUTOR_ROLES.has(r)),
    };
  }

  return { checkKmsPermissions };
}
