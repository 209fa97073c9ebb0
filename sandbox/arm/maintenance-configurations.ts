/**
 * Microsoft.ContainerService/managedClusters/maintenanceConfigurations: list, GET, PUT and DELETE, stored on
 * the cluster as sent (AKS validates the schedule; the sandbox keeps what it is given).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxContext } from '../context';
import { HttpError, isObject, readJsonObject, sendJson } from '../http';
import type { ClusterRecord } from '../store';
import { type ClusterRoute, requireCluster } from './managed-clusters';

const TYPE = 'Microsoft.ContainerService/managedClusters/maintenanceConfigurations';

function render(cluster: ClusterRecord, r: ClusterRoute, name: string): Record<string, unknown> {
  return {
    id: `/subscriptions/${cluster.subscriptionId}/resourceGroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}/maintenanceConfigurations/${name}`,
    name,
    type: TYPE,
    properties: cluster.maintenanceConfigurations?.[name] ?? {},
  };
}

export function listMaintenanceConfigurations(
  ctx: SandboxContext,
  r: ClusterRoute,
  res: ServerResponse,
): void {
  const cluster = requireCluster(ctx, r);
  sendJson(res, 200, {
    value: Object.keys(cluster.maintenanceConfigurations ?? {}).map((name) => render(cluster, r, name)),
  });
}

export function getMaintenanceConfiguration(
  ctx: SandboxContext,
  r: ClusterRoute,
  name: string,
  res: ServerResponse,
): void {
  const cluster = requireCluster(ctx, r);
  if (!cluster.maintenanceConfigurations?.[name])
    throw new HttpError(
      404,
      'NotFound',
      `Maintenance configuration ${name} of cluster ${cluster.name} was not found.`,
    );
  sendJson(res, 200, render(cluster, r, name));
}

export async function putMaintenanceConfiguration(
  ctx: SandboxContext,
  r: ClusterRoute,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const cluster = requireCluster(ctx, r);
  const body = await readJsonObject(req);
  if (!isObject(body.properties))
    throw new HttpError(400, 'InvalidParameter', 'A maintenance configuration needs properties.');
  cluster.maintenanceConfigurations = { ...cluster.maintenanceConfigurations, [name]: body.properties };
  sendJson(res, 200, render(cluster, r, name));
}

export function deleteMaintenanceConfiguration(
  ctx: SandboxContext,
  r: ClusterRoute,
  name: string,
  res: ServerResponse,
): void {
  const cluster = requireCluster(ctx, r);
  const existed = !!cluster.maintenanceConfigurations?.[name];
  if (cluster.maintenanceConfigurations) delete cluster.maintenanceConfigurations[name];
  res.writeHead(existed ? 200 : 204).end();
}
