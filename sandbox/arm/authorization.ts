/** Microsoft.Authorization role assignments and role definitions at any scope, as @azure/arm-authorization sends them. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxContext } from '../context';
import { HttpError, isObject, readJsonObject, sendJson, setLogDetail } from '../http';
import {
  findRoleDefinition,
  normalizeScope,
  roleDefinitionGuid,
  ROLE_DEFINITIONS,
  scopeCovers,
  type RoleDefinition,
} from '../rbac';
import type { RoleAssignmentRecord } from '../store';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function subscriptionOfScope(scope: string): string | undefined {
  return /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
}

export function roleDefinitionArmId(scope: string, guid: string): string {
  const sub = subscriptionOfScope(scope);
  return `${sub ? `/subscriptions/${sub}` : ''}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

export function renderRoleAssignment(a: RoleAssignmentRecord): Record<string, unknown> {
  return {
    id: `${a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.name}`,
    name: a.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: roleDefinitionArmId(a.scope, roleDefinitionGuid(a.roleDefinitionId)),
      principalId: a.principalId,
      principalType: a.principalType ?? 'ServicePrincipal',
      scope: a.scope,
      ...(a.description ? { description: a.description } : {}),
      condition: null,
      conditionVersion: null,
      createdOn: a.createdOn,
      updatedOn: a.createdOn,
      createdBy: null,
      updatedBy: null,
      delegatedManagedIdentityResourceId: null,
    },
  };
}

function renderRoleDefinition(scope: string, r: RoleDefinition): Record<string, unknown> {
  return {
    id: roleDefinitionArmId(scope, r.id),
    name: r.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: r.roleName,
      type: 'BuiltInRole',
      description: r.description,
      assignableScopes: ['/'],
      permissions: [{ actions: r.actions, notActions: [], dataActions: r.dataActions, notDataActions: [] }],
    },
  };
}

/** `$filter` values the SDK and az send: atScope(), principalId eq '…', assignedTo('…'). */
function assignmentFilter(filter: string | null, scope: string): (a: RoleAssignmentRecord) => boolean {
  const f = (filter ?? '').trim();
  const principal = /principalId\s+eq\s+'([^']+)'/i.exec(f)?.[1] ?? /assignedTo\('([^']+)'\)/i.exec(f)?.[1];
  const atScope = /atScope\(\)/i.test(f);
  return (a) => {
    if (principal && a.principalId.toLowerCase() !== principal.toLowerCase()) return false;
    if (atScope) return scopeCovers(a.scope, scope);
    return scopeCovers(a.scope, scope) || scopeCovers(scope, a.scope);
  };
}

export function listRoleAssignments(
  ctx: SandboxContext,
  scope: string,
  query: URLSearchParams,
  res: ServerResponse,
): void {
  const keep = assignmentFilter(query.get('$filter'), scope);
  sendJson(res, 200, { value: ctx.store.state.roleAssignments.filter(keep).map(renderRoleAssignment) });
}

function findAssignment(ctx: SandboxContext, scope: string, name: string): RoleAssignmentRecord | undefined {
  return ctx.store.state.roleAssignments.find(
    (a) => a.name.toLowerCase() === name.toLowerCase() && normalizeScope(a.scope) === normalizeScope(scope),
  );
}

function notFound(name: string): HttpError {
  return new HttpError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`);
}

export function getRoleAssignment(
  ctx: SandboxContext,
  scope: string,
  name: string,
  res: ServerResponse,
): void {
  const a = findAssignment(ctx, scope, name);
  if (!a) throw notFound(name);
  sendJson(res, 200, renderRoleAssignment(a));
}

export function deleteRoleAssignment(
  ctx: SandboxContext,
  scope: string,
  name: string,
  res: ServerResponse,
): void {
  const a = findAssignment(ctx, scope, name);
  if (!a) {
    res.writeHead(204).end();
    return;
  }
  ctx.store.state.roleAssignments = ctx.store.state.roleAssignments.filter((x) => x !== a);
  ctx.changed();
  setLogDetail(res, `deleted role=${roleDefinitionGuid(a.roleDefinitionId)} principal=${a.principalId}`);
  sendJson(res, 200, renderRoleAssignment(a));
}

export async function createRoleAssignment(
  ctx: SandboxContext,
  scope: string,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readJsonObject(req);
  const props = isObject(body.properties) ? body.properties : {};
  if (!GUID.test(name))
    throw new HttpError(
      400,
      'InvalidRoleAssignmentId',
      `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
    );
  const roleDefinitionId = typeof props.roleDefinitionId === 'string' ? props.roleDefinitionId : '';
  const principalId = typeof props.principalId === 'string' ? props.principalId : '';
  const principalType = typeof props.principalType === 'string' ? props.principalType : undefined;
  const role = findRoleDefinition(roleDefinitionGuid(roleDefinitionId));
  if (!role) {
    throw new HttpError(
      400,
      'RoleDefinitionDoesNotExist',
      `The specified role definition with ID '${roleDefinitionGuid(roleDefinitionId)}' does not exist.`,
    );
  }
  if (!ctx.store.principalExists(principalId) && !principalType) {
    const tenant = ctx.store.subscription(subscriptionOfScope(scope) ?? '')?.tenantId ?? '';
    throw new HttpError(
      400,
      'PrincipalNotFound',
      `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${tenant}. Check that you have the correct principal ID. ` +
        'If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. ' +
        'In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype',
    );
  }
  const sameName = findAssignment(ctx, scope, name);
  const duplicate = ctx.store.state.roleAssignments.find(
    (a) =>
      normalizeScope(a.scope) === normalizeScope(scope) &&
      a.principalId.toLowerCase() === principalId.toLowerCase() &&
      roleDefinitionGuid(a.roleDefinitionId) === role.id,
  );
  if (duplicate) throw new HttpError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
  if (sameName)
    throw new HttpError(
      400,
      'RoleAssignmentUpdateNotPermitted',
      'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
    );
  const record: RoleAssignmentRecord = {
    name,
    scope,
    roleDefinitionId: role.id,
    principalId,
    ...(principalType ? { principalType } : {}),
    ...(typeof props.description === 'string' ? { description: props.description } : {}),
    createdOn: new Date(ctx.now()).toISOString(),
  };
  ctx.store.state.roleAssignments.push(record);
  ctx.changed();
  setLogDetail(res, `role=${role.roleName} principal=${principalId}`);
  sendJson(res, 201, renderRoleAssignment(record));
}

export function listRoleDefinitions(scope: string, query: URLSearchParams, res: ServerResponse): void {
  const name = /roleName\s+eq\s+'([^']+)'/i.exec(query.get('$filter') ?? '')?.[1];
  const roles = ROLE_DEFINITIONS.filter((r) => !name || r.roleName.toLowerCase() === name.toLowerCase());
  sendJson(res, 200, { value: roles.map((r) => renderRoleDefinition(scope, r)) });
}

export function getRoleDefinition(scope: string, id: string, res: ServerResponse): void {
  const role = findRoleDefinition(id);
  if (!role || role.id !== roleDefinitionGuid(id))
    throw new HttpError(404, 'RoleDefinitionDoesNotExist', `The role definition '${id}' could not be found.`);
  sendJson(res, 200, renderRoleDefinition(scope, role));
}
