/**
 * Who may reach and use a vault: the network gate (public network access, firewall rules, private link)
 * and the permission gate (Azure RBAC or access policies), with Key Vault's real 403 bodies.
 */
import type { SandboxPrincipal } from '../auth';
import { HttpError, isObject } from '../http';
import { hasDataAction, keyDataAction, KEY_OPERATION_POLICY, type KeyOperationName } from '../rbac';
import { vaultArmId, type AzureStore, type VaultRecord } from '../store';

type Caller = Required<SandboxPrincipal>;

function callerLabel(c: Caller): string {
  return `appid=${c.clientId};oid=${c.objectId};iss=https://sts.windows.net/${c.tenantId}/`;
}

function vaultLabel(v: VaultRecord): string {
  return `${v.name};location=${v.location}`;
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** `ipRules[].value` is an address or IPv4 CIDR range. */
export function ipRuleMatches(rule: string, address: string): boolean {
  const [base, bitsText] = rule.split('/');
  const a = ipv4ToInt(address);
  const b = ipv4ToInt(base ?? '');
  if (a === undefined || b === undefined) return rule === address;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

/** Does the vault's firewall let a caller from `network`/`clientAddress` through? */
export function networkAllows(
  vault: VaultRecord,
  network: Caller['network'],
  clientAddress: string,
): boolean {
  if (network === 'private-link') return true;
  const p = vault.properties;
  if (typeof p.publicNetworkAccess === 'string' && p.publicNetworkAccess.toLowerCase() === 'disabled')
    return false;
  const acls = isObject(p.networkAcls) ? p.networkAcls : undefined;
  if (acls && typeof acls.defaultAction === 'string' && acls.defaultAction.toLowerCase() === 'deny') {
    const rules = Array.isArray(acls.ipRules) ? acls.ipRules : [];
    return rules.some(
      (r) => isObject(r) && typeof r.value === 'string' && ipRuleMatches(r.value, clientAddress),
    );
  }
  return true;
}

export function assertNetworkAccess(vault: VaultRecord, caller: Caller): void {
  if (networkAllows(vault, caller.network, caller.clientAddress)) return;
  throw new HttpError(
    403,
    'Forbidden',
    `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${caller.clientAddress}\r\n` +
      `Caller: ${callerLabel(caller)}\r\nVault: ${vaultLabel(vault)}`,
    { innererror: { code: 'ForbiddenByFirewall' } },
  );
}

export function usesRbac(vault: VaultRecord): boolean {
  return vault.properties.enableRbacAuthorization === true;
}

function accessPolicyAllows(vault: VaultRecord, objectId: string, permission: string): boolean {
  const policies = Array.isArray(vault.properties.accessPolicies) ? vault.properties.accessPolicies : [];
  return policies.some((p) => {
    if (!isObject(p) || typeof p.objectId !== 'string' || p.objectId.toLowerCase() !== objectId.toLowerCase())
      return false;
    const keys = isObject(p.permissions) && Array.isArray(p.permissions.keys) ? p.permissions.keys : [];
    return keys.some(
      (k) =>
        typeof k === 'string' && (k.toLowerCase() === permission.toLowerCase() || k.toLowerCase() === 'all'),
    );
  });
}

/** Is `principalId` allowed `operation` on key `keyName` by the vault's permission model? */
export function principalMay(
  store: AzureStore,
  vault: VaultRecord,
  principalId: string,
  keyName: string,
  operation: KeyOperationName,
): boolean {
  if (usesRbac(vault)) {
    return hasDataAction(
      store.state.roleAssignments,
      principalId,
      `${vaultArmId(vault)}/keys/${keyName}`,
      keyDataAction(operation),
    );
  }
  return accessPolicyAllows(vault, principalId, KEY_OPERATION_POLICY[operation]);
}

export function assertPermission(
  store: AzureStore,
  vault: VaultRecord,
  caller: Caller,
  keyName: string,
  operation: KeyOperationName,
): void {
  if (principalMay(store, vault, caller.objectId, keyName, operation)) return;
  if (usesRbac(vault)) {
    const resource = `${vaultArmId(vault)}${keyName ? `/keys/${keyName}` : ''}`.toLowerCase();
    throw new HttpError(
      403,
      'Forbidden',
      'Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
        `Caller: ${callerLabel(caller)}\r\nAction: '${keyDataAction(operation)}'\r\nResource: '${resource}'\r\n` +
        `Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: ${vaultLabel(vault)}\r\n`,
      { innererror: { code: 'ForbiddenByRbac' } },
    );
  }
  throw new HttpError(
    403,
    'Forbidden',
    `The user, group or application '${callerLabel(caller)}' does not have keys ${KEY_OPERATION_POLICY[operation]} permission on key vault '${vaultLabel(vault)}'. ` +
      'For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287',
    { innererror: { code: 'AccessDenied' } },
  );
}
