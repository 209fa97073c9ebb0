/** Routes requests for management.azure.com to the resource providers the sandbox emulates. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBearerToken } from '../auth';
import type { SandboxContext } from '../context';
import { HttpError, sendJson } from '../http';
import * as authz from './authorization';
import * as identities from './identities';
import * as clusters from './managed-clusters';
import { settleDueOperations, renderOperation } from './operations';
import * as fleets from './fleets';
import * as maintenance from './maintenance-configurations';
import * as vaults from './vaults';

const SUB = '/subscriptions/([^/]+)';
const RG = `${SUB}/resourceGroups/([^/]+)`;
const MC = `${RG}/providers/Microsoft\\.ContainerService/managedClusters`;
const re = (pattern: string) => new RegExp(`^${pattern}/?$`, 'i');

const ROUTES = {
  operation: re(`${SUB}/providers/Microsoft\\.ContainerService/locations/([^/]+)/operations/([^/]+)`),
  clustersInSubscription: re(`${SUB}/providers/Microsoft\\.ContainerService/managedClusters`),
  clustersInGroup: re(MC),
  cluster: re(`${MC}/([^/]+)`),
  fleetMembers: re(`${RG}/providers/Microsoft\\.ContainerService/fleets/([^/]+)/members`),
  fleetMember: re(`${RG}/providers/Microsoft\\.ContainerService/fleets/([^/]+)/members/([^/]+)`),
  maintenanceConfigurations: re(`${MC}/([^/]+)/maintenanceConfigurations`),
  maintenanceConfiguration: re(`${MC}/([^/]+)/maintenanceConfigurations/([^/]+)`),
  clusterAction: re(
    `${MC}/([^/]+)/(upgradeProfiles/default|listClusterUserCredential|listClusterAdminCredential|abort|agentPools|availableAgentPoolVersions)`,
  ),
  agentPool: re(`${MC}/([^/]+)/agentPools/([^/]+)`),
  agentPoolUpgradeProfile: re(`${MC}/([^/]+)/agentPools/([^/]+)/upgradeProfiles/default`),
  vaultsInSubscription: re(`${SUB}/providers/Microsoft\\.KeyVault/vaults`),
  vaultsInGroup: re(`${RG}/providers/Microsoft\\.KeyVault/vaults`),
  vault: re(`${RG}/providers/Microsoft\\.KeyVault/vaults/([^/]+)`),
  identitiesInGroup: re(`${RG}/providers/Microsoft\\.ManagedIdentity/userAssignedIdentities`),
  identity: re(`${RG}/providers/Microsoft\\.ManagedIdentity/userAssignedIdentities/([^/]+)`),
  authorization:
    /^(.*?)\/providers\/Microsoft\.Authorization\/(roleAssignments|roleDefinitions)(?:\/([^/]+))?\/?$/i,
};

function g(m: RegExpExecArray, i: number): string {
  return decodeURIComponent(m[i] ?? '');
}

function authenticate(ctx: SandboxContext, req: IncomingMessage, path: string): void {
  if (!req.headers.authorization) {
    throw new HttpError(
      401,
      'AuthenticationFailed',
      "Authentication failed. The 'Authorization' header is missing.",
      {},
      {
        'WWW-Authenticate':
          'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."',
      },
    );
  }
  const caller = readBearerToken(req.headers.authorization, ctx.now());
  if (!caller) throw new HttpError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
  if (caller.audience !== 'management') {
    throw new HttpError(
      401,
      'InvalidAuthenticationTokenAudience',
      "The access token has been obtained for wrong audience or resource. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
    );
  }
  const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1];
  const subscription = subscriptionId ? ctx.store.subscription(subscriptionId) : undefined;
  if (subscription && subscription.tenantId.toLowerCase() !== caller.principal.tenantId.toLowerCase()) {
    throw new HttpError(
      401,
      'InvalidAuthenticationTokenTenant',
      `The access token is from the wrong issuer 'https://sts.windows.net/${caller.principal.tenantId}/'. It must match the tenant 'https://sts.windows.net/${subscription.tenantId}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${subscription.tenantId}' to get the token.`,
    );
  }
}

export async function handleArmRequest(
  ctx: SandboxContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;
  const apiVersion = url.searchParams.get('api-version');
  if (!apiVersion)
    throw new HttpError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  authenticate(ctx, req, path);
  settleDueOperations(ctx);

  let m: RegExpExecArray | null;
  if ((m = ROUTES.operation.exec(path)) && method === 'GET') {
    const op = ctx.store.operation(g(m, 3));
    if (!op) throw new HttpError(404, 'NotFound', `Operation ${g(m, 3)} was not found.`);
    sendJson(res, 200, renderOperation(op));
    return;
  }
  if ((m = ROUTES.clustersInSubscription.exec(path)) && method === 'GET')
    return clusters.listClusters(ctx, g(m, 1), undefined, res);
  if ((m = ROUTES.clustersInGroup.exec(path)) && method === 'GET')
    return clusters.listClusters(ctx, g(m, 1), g(m, 2), res);
  if ((m = ROUTES.agentPoolUpgradeProfile.exec(path)) && method === 'GET') {
    return clusters.getAgentPoolUpgradeProfile(ctx, clusterRoute(m, apiVersion), g(m, 4), res);
  }
  if ((m = ROUTES.agentPool.exec(path))) {
    const r = clusterRoute(m, apiVersion);
    if (method === 'GET') return clusters.getAgentPool(ctx, r, g(m, 4), res);
    if (method === 'PUT') return clusters.putAgentPool(ctx, r, g(m, 4), req, res);
  }
  if ((m = ROUTES.fleetMembers.exec(path)) && method === 'GET')
    return fleets.listMembers(ctx, fleetRoute(m), res);
  if ((m = ROUTES.fleetMember.exec(path))) {
    if (method === 'GET') return fleets.getMember(ctx, fleetRoute(m), g(m, 4), res);
    if (method === 'PUT') return fleets.putMember(ctx, fleetRoute(m), g(m, 4), req, res);
  }
  if ((m = ROUTES.maintenanceConfigurations.exec(path)) && method === 'GET')
    return maintenance.listMaintenanceConfigurations(ctx, clusterRoute(m, apiVersion), res);
  if ((m = ROUTES.maintenanceConfiguration.exec(path))) {
    const r = clusterRoute(m, apiVersion);
    if (method === 'GET') return maintenance.getMaintenanceConfiguration(ctx, r, g(m, 4), res);
    if (method === 'PUT') return maintenance.putMaintenanceConfiguration(ctx, r, g(m, 4), req, res);
    if (method === 'DELETE') return maintenance.deleteMaintenanceConfiguration(ctx, r, g(m, 4), res);
  }
  if ((m = ROUTES.clusterAction.exec(path))) {
    const r = clusterRoute(m, apiVersion);
    const action = g(m, 4).toLowerCase();
    if (action === 'upgradeprofiles/default' && method === 'GET')
      return clusters.getUpgradeProfile(ctx, r, res);
    if (action === 'listclusterusercredential' && method === 'POST')
      return clusters.listCredentials(ctx, r, 'user', res);
    if (action === 'listclusteradmincredential' && method === 'POST')
      return clusters.listCredentials(ctx, r, 'admin', res);
    if (action === 'abort' && method === 'POST') return clusters.abortLatestOperation(ctx, r, res);
    if (action === 'agentpools' && method === 'GET') return clusters.listAgentPools(ctx, r, res);
    if (action === 'availableagentpoolversions' && method === 'GET')
      return clusters.getAvailableAgentPoolVersions(ctx, r, res);
  }
  if ((m = ROUTES.cluster.exec(path))) {
    const r = clusterRoute(m, apiVersion);
    if (method === 'GET') return clusters.getCluster(ctx, r, res);
    if (method === 'PUT') return clusters.putCluster(ctx, r, req, res);
  }
  if ((m = ROUTES.vaultsInSubscription.exec(path)) && method === 'GET')
    return vaults.listVaults(ctx, g(m, 1), undefined, res);
  if ((m = ROUTES.vaultsInGroup.exec(path)) && method === 'GET')
    return vaults.listVaults(ctx, g(m, 1), g(m, 2), res);
  if ((m = ROUTES.vault.exec(path))) {
    const r = { subscriptionId: g(m, 1), resourceGroup: g(m, 2), name: g(m, 3) };
    if (method === 'GET') return vaults.getVault(ctx, r, res);
    if (method === 'PUT') return vaults.putVault(ctx, r, req, res);
    if (method === 'PATCH') return vaults.patchVault(ctx, r, req, res);
  }
  if ((m = ROUTES.identitiesInGroup.exec(path)) && method === 'GET')
    return identities.listIdentities(ctx, g(m, 1), g(m, 2), res);
  if ((m = ROUTES.identity.exec(path))) {
    const r = { subscriptionId: g(m, 1), resourceGroup: g(m, 2), name: g(m, 3) };
    if (method === 'GET') return identities.getIdentity(ctx, r, res);
    if (method === 'PUT') return identities.putIdentity(ctx, r, req, res);
    if (method === 'DELETE') return identities.deleteIdentity(ctx, r, res);
  }
  if ((m = ROUTES.authorization.exec(path))) {
    const scope = g(m, 1) || '/';
    const kind = g(m, 2).toLowerCase();
    const name = m[3] ? g(m, 3) : undefined;
    if (kind === 'roleassignments') {
      if (!name && method === 'GET') return authz.listRoleAssignments(ctx, scope, url.searchParams, res);
      if (name && method === 'GET') return authz.getRoleAssignment(ctx, scope, name, res);
      if (name && method === 'PUT') return authz.createRoleAssignment(ctx, scope, name, req, res);
      if (name && method === 'DELETE') return authz.deleteRoleAssignment(ctx, scope, name, res);
    } else {
      if (!name && method === 'GET') return authz.listRoleDefinitions(scope, url.searchParams, res);
      if (name && method === 'GET') return authz.getRoleDefinition(scope, name, res);
    }
  }
  throw new HttpError(404, 'NotFound', `The sandbox does not emulate ${method} ${path}.`);
}

function fleetRoute(m: RegExpExecArray): fleets.FleetRoute {
  return { subscriptionId: g(m, 1), resourceGroup: g(m, 2), fleet: g(m, 3) };
}

function clusterRoute(m: RegExpExecArray, apiVersion: string): clusters.ClusterRoute {
  return { subscriptionId: g(m, 1), resourceGroup: g(m, 2), name: g(m, 3), apiVersion };
}
