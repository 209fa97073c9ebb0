/**
 * Microsoft.ContainerService/fleets/{fleet}/members: list, GET and PUT (Azure Kubernetes Fleet Manager), enough
 * for a campaign to select a fleet's member clusters. A member PUT completes at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxContext } from '../context';
import { HttpError, isObject, readJsonObject, sendJson } from '../http';
import type { FleetRecord } from '../store';

export interface FleetRoute {
  subscriptionId: string;
  resourceGroup: string;
  fleet: string;
}

function requireFleet(ctx: SandboxContext, r: FleetRoute): FleetRecord {
  const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const fleet = (ctx.store.state.fleets ?? []).find(
    (f) =>
      eq(f.subscriptionId, r.subscriptionId) && eq(f.resourceGroup, r.resourceGroup) && eq(f.name, r.fleet),
  );
  if (!fleet)
    throw new HttpError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.ContainerService/fleets/${r.fleet}' under resource group '${r.resourceGroup}' was not found.`,
    );
  return fleet;
}

function render(fleet: FleetRecord, member: FleetRecord['members'][number]): Record<string, unknown> {
  return {
    id: `/subscriptions/${fleet.subscriptionId}/resourceGroups/${fleet.resourceGroup}/providers/Microsoft.ContainerService/fleets/${fleet.name}/members/${member.name}`,
    name: member.name,
    type: 'Microsoft.ContainerService/fleets/members',
    properties: {
      clusterResourceId: member.clusterResourceId,
      ...(member.group ? { group: member.group } : {}),
      provisioningState: 'Succeeded',
    },
  };
}

export function listMembers(ctx: SandboxContext, r: FleetRoute, res: ServerResponse): void {
  const fleet = requireFleet(ctx, r);
  sendJson(res, 200, { value: fleet.members.map((m) => render(fleet, m)) });
}

export function getMember(ctx: SandboxContext, r: FleetRoute, name: string, res: ServerResponse): void {
  const fleet = requireFleet(ctx, r);
  const member = fleet.members.find((m) => m.name.toLowerCase() === name.toLowerCase());
  if (!member)
    throw new HttpError(
      404,
      'ResourceNotFound',
      `Fleet member ${name} of fleet ${fleet.name} was not found.`,
    );
  sendJson(res, 200, render(fleet, member));
}

export async function putMember(
  ctx: SandboxContext,
  r: FleetRoute,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const fleet = requireFleet(ctx, r);
  const body = await readJsonObject(req);
  const props = isObject(body.properties) ? body.properties : {};
  if (typeof props.clusterResourceId !== 'string')
    throw new HttpError(400, 'InvalidParameter', 'A fleet member needs properties.clusterResourceId.');
  const member = {
    name,
    clusterResourceId: props.clusterResourceId,
    ...(typeof props.group === 'string' ? { group: props.group } : {}),
  };
  const index = fleet.members.findIndex((m) => m.name.toLowerCase() === name.toLowerCase());
  if (index >= 0) fleet.members[index] = member;
  else fleet.members.push(member);
  sendJson(res, index >= 0 ? 200 : 201, render(fleet, member));
}
