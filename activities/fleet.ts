/** Finding a campaign's clusters in ARM: every managed cluster of the selection's subscriptions, filtered. */
import { parseClusterId } from '../model/ids';
import { type ClusterDigest, digestOf } from '../model/cluster-model';
import { type ClusterSelection, parseFleetId, type SelectedCluster, selects } from '../model/campaign';
import {
  type MaintenanceConfigurationShape,
  type WindowState,
  windowState,
} from '../model/maintenance-window';
import type { ClientFactory } from './clients';
import { mapErrors } from './errors';

export interface ClusterTurn {
  kmsEnabled: boolean;
  keyId?: string;
  provisioningState: string;
  powerState: string;
  window?: WindowState;
}

export function createFleetActivities(
  clients: ClientFactory,
  cluster: { getClusterDigest(clusterId: string): Promise<ClusterDigest> },
) {
  /** The selected clusters, sorted by resource id so that stages are the same on every plan. */
  async function selectClusters(selection: ClusterSelection): Promise<SelectedCluster[]> {
    const subscriptions = new Set(selection.subscriptions.map((s) => s.toLowerCase()));
    for (const id of selection.clusterIds ?? [])
      subscriptions.add(parseClusterId(id).subscriptionId.toLowerCase());
    const members = selection.fleet ? await fleetMembers(selection.fleet) : undefined;
    for (const m of members ?? [])
      subscriptions.add(parseClusterId(m.clusterId).subscriptionId.toLowerCase());
    const found: SelectedCluster[] = [];
    for (const subscription of subscriptions) {
      await mapErrors(`List the clusters of subscription ${subscription}`, async () => {
        for await (const mc of clients.containerService(subscription).managedClusters.list()) {
          const digest = digestOf(mc);
          const cluster: SelectedCluster = {
            clusterId: digest.id,
            name: digest.name,
            resourceGroup: parseClusterId(digest.id).resourceGroup,
            tags: { ...(mc.tags ?? {}) },
            kmsEnabled: digest.kms.enabled,
            ...(digest.kms.keyId ? { keyId: digest.kms.keyId } : {}),
            provisioningState: digest.provisioningState,
          };
          const member = members?.find((m) => m.clusterId.toLowerCase() === cluster.clusterId.toLowerCase());
          if ((!members || member) && selects(selection, cluster))
            found.push({ ...cluster, ...(member?.group ? { fleetGroup: member.group } : {}) });
        }
      });
    }
    return found.sort((a, b) => a.clusterId.toLowerCase().localeCompare(b.clusterId.toLowerCase()));
  }

  /** A Fleet Manager fleet's member clusters with their update groups. */
  async function fleetMembers(fleetId: string): Promise<{ clusterId: string; group?: string }[]> {
    const ref = parseFleetId(fleetId);
    return mapErrors(`List the members of fleet ${ref.name}`, async () => {
      const members: { clusterId: string; group?: string }[] = [];
      for await (const m of clients
        .fleets(ref.subscriptionId)
        .fleetMembers.listByFleet(ref.resourceGroup, ref.name)) {
        if (m.properties?.clusterResourceId)
          members.push({
            clusterId: m.properties.clusterResourceId,
            ...(m.properties.group ? { group: m.properties.group } : {}),
          });
      }
      return members;
    });
  }

  /** Whether the cluster's maintenance window lets a change start now (computed at the worker's clock). */
  async function maintenanceWindowOf(clusterId: string): Promise<WindowState> {
    const ref = parseClusterId(clusterId);
    const configs = await mapErrors(
      `Read the maintenance configurations of cluster ${ref.name}`,
      async () => {
        const found: MaintenanceConfigurationShape[] = [];
        for await (const c of clients
          .containerService(ref.subscriptionId)
          .maintenanceConfigurations.listByManagedCluster(ref.resourceGroup, ref.name))
          found.push(c);
        return found;
      },
    );
    return windowState(configs, new Date());
  }

  /**
   * What a campaign reads when a cluster's turn comes, in one activity: its KMS state, whether ARM can take a
   * change now (stopped, an operation running), and with `windows` its maintenance window.
   */
  async function clusterTurn(input: { clusterId: string; windows: boolean }): Promise<ClusterTurn> {
    const digest = await cluster.getClusterDigest(input.clusterId);
    return {
      kmsEnabled: digest.kms.enabled,
      ...(digest.kms.keyId ? { keyId: digest.kms.keyId } : {}),
      provisioningState: digest.provisioningState,
      powerState: digest.powerState,
      ...(input.windows ? { window: await maintenanceWindowOf(input.clusterId) } : {}),
    };
  }

  return { selectClusters, maintenanceWindowOf, clusterTurn };
}
