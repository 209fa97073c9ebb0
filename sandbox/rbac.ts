/**
 * Azure RBAC as the sandbox evaluates it: built-in role definitions (real GUIDs), and the question "does
 * this principal hold a role granting this data action at this scope or above?".
 */

export interface RoleDefinition {
  id: string;
  roleName: string;
  description: string;
  actions: string[];
  dataActions: string[];
}

const KEY_DATA = 'Microsoft.KeyVault/vaults/keys';

export const ROLE_DEFINITIONS: readonly RoleDefinition[] = [
  {
    id: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
    roleName: 'Key Vault Administrator',
    description: 'Perform all data plane operations on a key vault and all objects in it.',
    actions: ['Microsoft.Authorization/*/read', 'Microsoft.KeyVault/*/read'],
    dataActions: ['Microsoft.KeyVault/vaults/*'],
  },
  {
    id: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
    roleName: 'Key Vault Crypto Officer',
    description: 'Perform any action on the keys of a key vault, except manage permissions.',
    actions: ['Microsoft.Authorization/*/read', 'Microsoft.KeyVault/*/read'],
    dataActions: [`${KEY_DATA}/*`, 'Microsoft.KeyVault/vaults/keyrotationpolicies/*'],
  },
  {
    id: '12338af0-0e69-4776-bea7-57ae8d297424',
    roleName: 'Key Vault Crypto User',
    description: 'Perform cryptographic operations using keys.',
    actions: [],
    dataActions: [
      `${KEY_DATA}/read`,
      `${KEY_DATA}/update/action`,
      `${KEY_DATA}/backup/action`,
      `${KEY_DATA}/encrypt/action`,
      `${KEY_DATA}/decrypt/action`,
      `${KEY_DATA}/wrap/action`,
      `${KEY_DATA}/unwrap/action`,
      `${KEY_DATA}/sign/action`,
      `${KEY_DATA}/verify/action`,
    ],
  },
  {
    id: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
    roleName: 'Key Vault Crypto Service Encryption User',
    description: 'Read metadata of keys and perform wrap/unwrap operations.',
    actions: [],
    dataActions: [`${KEY_DATA}/read`, `${KEY_DATA}/wrap/action`, `${KEY_DATA}/unwrap/action`],
  },
  {
    id: 'f25e0fa2-a7c8-4377-a976-54943a77a395',
    roleName: 'Key Vault Contributor',
    description: 'Manage key vaults, but does not allow access to the data in them.',
    actions: ['Microsoft.Authorization/*/read', 'Microsoft.KeyVault/*', 'Microsoft.Resources/deployments/*'],
    dataActions: [],
  },
  {
    id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    roleName: 'Owner',
    description: 'Grants full access to manage all resources, including the ability to assign roles.',
    actions: ['*'],
    dataActions: [],
  },
  {
    id: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    roleName: 'Contributor',
    description: 'Grants full access to manage all resources, but does not allow you to assign roles.',
    actions: ['*'],
    dataActions: [],
  },
];

export const ROLE_IDS = {
  keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  keyVaultCryptoOfficer: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424',
  keyVaultCryptoServiceEncryptionUser: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
  keyVaultContributor: 'f25e0fa2-a7c8-4377-a976-54943a77a395',
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
} as const;

/** The trailing GUID of a role definition id in any of its forms (bare, subscription- or tenant-scoped). */
export function roleDefinitionGuid(roleDefinitionId: string): string {
  return (roleDefinitionId.split('/').pop() ?? '').toLowerCase();
}

export function findRoleDefinition(idOrName: string): RoleDefinition | undefined {
  const guid = roleDefinitionGuid(idOrName);
  return ROLE_DEFINITIONS.find((r) => r.id === guid || r.roleName.toLowerCase() === idOrName.toLowerCase());
}

function permissionMatches(pattern: string, action: string): boolean {
  const p = pattern.toLowerCase();
  const a = action.toLowerCase();
  if (p === '*' || p === a) return true;
  if (p.endsWith('/*')) return a.startsWith(p.slice(0, -1));
  if (p.includes('*')) {
    const re = new RegExp(
      `^${p
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}$`,
    );
    return re.test(a);
  }
  return false;
}

export function roleGrantsDataAction(role: RoleDefinition, dataAction: string): boolean {
  return role.dataActions.some((p) => permissionMatches(p, dataAction));
}

export function roleGrantsAction(role: RoleDefinition, action: string): boolean {
  return role.actions.some((p) => permissionMatches(p, action));
}

/** Normalised ARM scope for comparisons: lower case, no trailing slash. */
export function normalizeScope(scope: string): string {
  return scope.replace(/\/+$/, '').toLowerCase();
}

/** True when `ancestor` is `scope` itself or one of its parents (subscription, resource group, resource). */
export function scopeCovers(ancestor: string, scope: string): boolean {
  const a = normalizeScope(ancestor);
  const s = normalizeScope(scope);
  return a === '' || s === a || s.startsWith(`${a}/`);
}

export interface RoleAssignmentLike {
  scope: string;
  roleDefinitionId: string;
  principalId: string;
}

/** Does `principalId` hold, at `scope` or above, a role granting `dataAction`? */
export function hasDataAction(
  assignments: Iterable<RoleAssignmentLike>,
  principalId: string,
  scope: string,
  dataAction: string,
): boolean {
  for (const a of assignments) {
    if (a.principalId.toLowerCase() !== principalId.toLowerCase()) continue;
    if (!scopeCovers(a.scope, scope)) continue;
    const role = findRoleDefinition(a.roleDefinitionId);
    if (role && roleGrantsDataAction(role, dataAction)) return true;
  }
  return false;
}

export function keyDataAction(operation: KeyOperationName): string {
  const action = KEY_OPERATION_RBAC[operation];
  return action.startsWith('Microsoft.') ? action : `${KEY_DATA}/${action}`;
}

/** Key Vault key operations the sandbox serves, with their RBAC data action and access-policy permission. */
export type KeyOperationName =
  | 'create'
  | 'get'
  | 'list'
  | 'update'
  | 'rotate'
  | 'wrapKey'
  | 'unwrapKey'
  | 'encrypt'
  | 'decrypt'
  | 'delete'
  | 'recover'
  | 'getRotationPolicy'
  | 'setRotationPolicy';

const KEY_OPERATION_RBAC: Record<KeyOperationName, string> = {
  create: 'create/action',
  get: 'read',
  list: 'read',
  update: 'update/action',
  rotate: 'rotate/action',
  wrapKey: 'wrap/action',
  unwrapKey: 'unwrap/action',
  encrypt: 'encrypt/action',
  decrypt: 'decrypt/action',
  delete: 'delete',
  recover: 'recover/action',
  getRotationPolicy: 'Microsoft.KeyVault/vaults/keyrotationpolicies/read',
  setRotationPolicy: 'Microsoft.KeyVault/vaults/keyrotationpolicies/write',
};

/** Access-policy permission names (`az keyvault set-policy --key-permissions`). */
export const KEY_OPERATION_POLICY: Record<KeyOperationName, string> = {
  create: 'create',
  get: 'get',
  list: 'list',
  update: 'update',
  rotate: 'rotate',
  wrapKey: 'wrapKey',
  unwrapKey: 'unwrapKey',
  encrypt: 'encrypt',
  decrypt: 'decrypt',
  delete: 'delete',
  recover: 'recover',
  getRotationPolicy: 'getrotationpolicy',
  setRotationPolicy: 'setrotationpolicy',
};
