/** Microsoft.KeyVault/vaults on ARM: GET, list, PUT (create or full update) and PATCH, as @azure/arm-keyvault sends them. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxContext } from '../context';
import { HttpError, isObject, readJsonObject, sendJson, setLogDetail } from '../http';
import { vaultArmId, type VaultRecord } from '../store';
import { resourceGroupNotFound, resourceNotFound, subscriptionNotFound } from './messages';

const TYPE = 'Microsoft.KeyVault/vaults';
const READ_ONLY = ['provisioningState', 'vaultUri', 'hsmPoolResourceId', 'privateEndpointConnections'];

export interface VaultRoute {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export function renderVault(ctx: SandboxContext, v: VaultRecord): Record<string, unknown> {
  return {
    id: vaultArmId(v),
    name: v.name,
    type: TYPE,
    location: v.location,
    tags: v.tags ?? {},
    properties: {
      enableSoftDelete: true,
      softDeleteRetentionInDays: 90,
      enableRbacAuthorization: false,
      publicNetworkAccess: 'Enabled',
      accessPolicies: [],
      ...v.properties,
      vaultUri: `${ctx.vaultBaseUrl(v.name)}/`,
      provisioningState: 'Succeeded',
    },
  };
}

function requireGroup(ctx: SandboxContext, r: Pick<VaultRoute, 'subscriptionId' | 'resourceGroup'>): void {
  if (!ctx.store.subscription(r.subscriptionId)) throw subscriptionNotFound(r.subscriptionId);
  if (!ctx.store.resourceGroup(r.subscriptionId, r.resourceGroup))
    throw resourceGroupNotFound(r.resourceGroup);
}

function requireVault(ctx: SandboxContext, r: VaultRoute): VaultRecord {
  requireGroup(ctx, r);
  const vault = ctx.store.vault(r.subscriptionId, r.resourceGroup, r.name);
  if (!vault) throw resourceNotFound(TYPE, r.name, r.resourceGroup);
  return vault;
}

export function getVault(ctx: SandboxContext, r: VaultRoute, res: ServerResponse): void {
  sendJson(res, 200, renderVault(ctx, requireVault(ctx, r)));
}

export function listVaults(
  ctx: SandboxContext,
  subscriptionId: string,
  resourceGroup: string | undefined,
  res: ServerResponse,
): void {
  if (resourceGroup !== undefined) requireGroup(ctx, { subscriptionId, resourceGroup });
  else if (!ctx.store.subscription(subscriptionId)) throw subscriptionNotFound(subscriptionId);
  const value = ctx.store.state.vaults
    .filter((v) => v.subscriptionId.toLowerCase() === subscriptionId.toLowerCase())
    .filter(
      (v) => resourceGroup === undefined || v.resourceGroup.toLowerCase() === resourceGroup.toLowerCase(),
    )
    .map((v) => renderVault(ctx, v));
  sendJson(res, 200, { value });
}

/** Settings that cannot be turned back once on (Key Vault's irreversible switches). */
function assertIrreversible(before: Record<string, unknown>, after: Record<string, unknown>): void {
  if (before.enablePurgeProtection === true && after.enablePurgeProtection === false) {
    throw new HttpError(
      400,
      'BadRequest',
      'The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.',
    );
  }
  if (before.enableSoftDelete !== false && after.enableSoftDelete === false) {
    throw new HttpError(
      400,
      'BadRequest',
      'The property "enableSoftDelete" cannot be set to false. Enabling soft delete for a vault is an irreversible action.',
    );
  }
}

function cleanProperties(p: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p).filter(([k, v]) => !READ_ONLY.includes(k) && v !== undefined));
}

function describe(p: Record<string, unknown>): string {
  const acls = isObject(p.networkAcls) ? `defaultAction=${String(p.networkAcls.defaultAction ?? '')}` : '';
  return [
    `publicNetworkAccess=${String(p.publicNetworkAccess ?? 'Enabled')}`,
    acls,
    `rbac=${String(p.enableRbacAuthorization ?? false)}`,
  ]
    .filter(Boolean)
    .join(' ');
}

export async function putVault(
  ctx: SandboxContext,
  r: VaultRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  requireGroup(ctx, r);
  const body = await readJsonObject(req);
  const existing = ctx.store.vault(r.subscriptionId, r.resourceGroup, r.name);
  const other = ctx.store.vaultByName(r.name);
  if (!existing && other)
    throw new HttpError(
      409,
      'VaultAlreadyExists',
      `The vault name '${r.name}' is already in use. Vault names are globally unique so it is possible that the name is already taken.`,
    );
  const props = isObject(body.properties) ? cleanProperties(body.properties) : {};
  if (typeof props.tenantId !== 'string' || !props.tenantId)
    throw new HttpError(400, 'BadRequest', 'The parameter properties.tenantId is required.');
  if (!isObject(props.sku))
    throw new HttpError(400, 'BadRequest', 'The parameter properties.sku is required.');
  const location = typeof body.location === 'string' ? body.location : existing?.location;
  if (!location)
    throw new HttpError(400, 'LocationRequired', 'The location property is required for this definition.');
  if (existing) assertIrreversible(existing.properties, props);
  const vault: VaultRecord = existing ?? {
    subscriptionId: r.subscriptionId,
    resourceGroup: r.resourceGroup,
    name: r.name,
    location,
    properties: {},
    keys: {},
  };
  vault.properties = props;
  if (isObject(body.tags)) vault.tags = body.tags as Record<string, string>;
  if (!existing) ctx.store.state.vaults.push(vault);
  ctx.changed();
  setLogDetail(res, `${existing ? 'update' : 'create'} ${describe(props)}`);
  sendJson(res, 200, renderVault(ctx, vault));
}

export async function patchVault(
  ctx: SandboxContext,
  r: VaultRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const vault = requireVault(ctx, r);
  const body = await readJsonObject(req);
  const patch = isObject(body.properties) ? cleanProperties(body.properties) : {};
  const next = { ...vault.properties, ...patch };
  assertIrreversible(vault.properties, next);
  vault.properties = next;
  if (isObject(body.tags)) vault.tags = body.tags as Record<string, string>;
  ctx.changed();
  setLogDetail(res, `patch ${describe(next)}`);
  sendJson(res, 200, renderVault(ctx, vault));
}
