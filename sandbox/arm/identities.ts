/** Microsoft.ManagedIdentity/userAssignedIdentities: GET, list, PUT, DELETE, as @azure/arm-msi sends them. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxContext } from '../context';
import { HttpError, isObject, readJsonObject, sendJson, setLogDetail } from '../http';
import { identityArmId, type IdentityRecord } from '../store';
import { resourceGroupNotFound, resourceNotFound, subscriptionNotFound } from './messages';

const TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';

export interface IdentityRoute {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export function renderIdentity(i: IdentityRecord): Record<string, unknown> {
  return {
    id: identityArmId(i),
    name: i.name,
    type: TYPE,
    location: i.location,
    tags: i.tags ?? {},
    properties: {
      tenantId: i.tenantId,
      principalId: i.principalId,
      clientId: i.clientId,
      isolationScope: 'None',
    },
  };
}

function requireGroup(ctx: SandboxContext, r: Pick<IdentityRoute, 'subscriptionId' | 'resourceGroup'>): void {
  if (!ctx.store.subscription(r.subscriptionId)) throw subscriptionNotFound(r.subscriptionId);
  if (!ctx.store.resourceGroup(r.subscriptionId, r.resourceGroup))
    throw resourceGroupNotFound(r.resourceGroup);
}

export function getIdentity(ctx: SandboxContext, r: IdentityRoute, res: ServerResponse): void {
  requireGroup(ctx, r);
  const identity = ctx.store.identity(r.subscriptionId, r.resourceGroup, r.name);
  if (!identity) throw resourceNotFound(TYPE, r.name, r.resourceGroup);
  sendJson(res, 200, renderIdentity(identity));
}

export function listIdentities(
  ctx: SandboxContext,
  subscriptionId: string,
  resourceGroup: string,
  res: ServerResponse,
): void {
  requireGroup(ctx, { subscriptionId, resourceGroup });
  const value = ctx.store.state.identities
    .filter(
      (i) =>
        i.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
        i.resourceGroup.toLowerCase() === resourceGroup.toLowerCase(),
    )
    .map(renderIdentity);
  sendJson(res, 200, { value });
}

export async function putIdentity(
  ctx: SandboxContext,
  r: IdentityRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  requireGroup(ctx, r);
  const body = await readJsonObject(req);
  const existing = ctx.store.identity(r.subscriptionId, r.resourceGroup, r.name);
  const location = typeof body.location === 'string' ? body.location : existing?.location;
  if (!location)
    throw new HttpError(400, 'LocationRequired', 'The location property is required for this definition.');
  const identity: IdentityRecord = existing ?? {
    subscriptionId: r.subscriptionId,
    resourceGroup: r.resourceGroup,
    name: r.name,
    location,
    tenantId: ctx.store.subscription(r.subscriptionId)?.tenantId ?? '',
    principalId: randomUUID(),
    clientId: randomUUID(),
  };
  if (isObject(body.tags)) identity.tags = body.tags as Record<string, string>;
  if (!existing) ctx.store.state.identities.push(identity);
  ctx.changed();
  setLogDetail(res, `${existing ? 'update' : 'create'} principalId=${identity.principalId}`);
  sendJson(res, existing ? 200 : 201, renderIdentity(identity));
}

/**
 * Deletes the identity for good (managed identities have no soft delete): a cluster that still names it keeps
 * the reference, as AKS does, and its KMS plugin can no longer authenticate.
 */
export function deleteIdentity(ctx: SandboxContext, r: IdentityRoute, res: ServerResponse): void {
  requireGroup(ctx, r);
  const identity = ctx.store.identity(r.subscriptionId, r.resourceGroup, r.name);
  if (!identity) {
    res.writeHead(204).end();
    return;
  }
  ctx.store.state.identities = ctx.store.state.identities.filter((i) => i !== identity);
  ctx.changed();
  setLogDetail(res, `delete principalId=${identity.principalId}`);
  sendJson(res, 200, renderIdentity(identity));
}
