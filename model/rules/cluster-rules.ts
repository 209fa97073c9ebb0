/** The cluster itself: its ARM state, power, node pools and identity (the article's limits, L24–L31). */
import { parseClusterId } from '../ids';
import { azCluster, clusterName, defineRule } from './rule';

export const clusterFailed = defineRule({
  code: 'ClusterFailed',
  severity: 'error',
  source: 'kmsflow',
  when: "ARM reports the cluster's provisioning state as Failed.",
  check: (f) => {
    if (f.cluster.provisioningState.toLowerCase() !== 'failed') return undefined;
    const why = f.cluster.provisioningError ? `: ${f.cluster.provisioningError.message}` : '';
    return {
      message: `Cluster ${clusterName(f)} is in state Failed${why}.`,
      fix: `Reconcile it first (az aks update ${azCluster(f)}) until its provisioning state is Succeeded.`,
    };
  },
});

export const operationInProgress = defineRule({
  code: 'OperationInProgress',
  severity: 'error',
  source: 'kmsflow',
  when: 'Another ARM operation runs on the cluster (provisioning state neither Succeeded nor Failed).',
  check: (f) => {
    const state = f.cluster.provisioningState.toLowerCase();
    if (state === 'succeeded' || state === 'failed') return undefined;
    return {
      message: `Cluster ${clusterName(f)} is ${f.cluster.provisioningState}: another operation is running.`,
      fix: 'Wait for it to finish (az aks wait --updated), then start again.',
    };
  },
});

export const clusterStopped = defineRule({
  code: 'ClusterStopped',
  severity: 'error',
  source: 'kmsflow',
  when: 'The cluster is stopped (az aks stop): no API server answers.',
  check: (f) =>
    f.cluster.powerState.toLowerCase() === 'stopped'
      ? {
          message: `Cluster ${clusterName(f)} is stopped: no API server answers, so nothing could be re-encrypted or checked.`,
          fix: `Start it (az aks start ${azCluster(f)}), then start the procedure again.`,
        }
      : undefined,
});

export const nodePoolAtZero = defineRule({
  code: 'NodePoolAtZero',
  severity: 'warning',
  source: 'L31',
  when: 'A node pool has 0 nodes: with KMS on, scaling to zero through the VMSS API can leave the cluster unrecoverable.',
  check: (f) => {
    const { resourceGroup, name } = parseClusterId(f.input.clusterId);
    return f.cluster.nodePools
      .filter((p) => p.count === 0)
      .map((pool) => ({
        message: `Node pool ${pool.name} has 0 nodes. With KMS on, node pools must never be scaled to zero through the VMSS API (the cluster may not recover).`,
        fix: `Scale through AKS only (az aks nodepool scale --resource-group ${resourceGroup} --cluster-name ${name} --name ${pool.name} --node-count <n>); see docs/procedures.md.`,
      }));
  },
});

export const systemAssignedIdentity = defineRule({
  code: 'SystemAssignedIdentity',
  severity: 'error',
  source: 'L25',
  when: 'The cluster has no user-assigned identity (KMS does not work with a system-assigned one).',
  check: (f) =>
    /userassigned/i.test(f.cluster.identity.type) && f.cluster.identity.userAssigned[0]
      ? undefined
      : {
          message: `Cluster ${clusterName(f)} uses a ${f.cluster.identity.type} identity; KMS supports only a user-assigned identity.`,
          fix: `Switch to one: az aks update ${azCluster(f)} --enable-managed-identity --assign-identity <user-assigned identity resource id>.`,
        },
});

export const CLUSTER_RULES = [
  clusterFailed,
  operationInProgress,
  clusterStopped,
  nodePoolAtZero,
  systemAssignedIdentity,
] as const;
