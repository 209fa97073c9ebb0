/**
 * `describeClusterKeys`: what Azure says about a cluster's keys, for `kmsflow keys`: the key in AKS's
 * current slot (ARM) and the state of every key asked about (Key Vault). Read-only. AKS's previous slot is
 * not in ARM's model: only kmsflow's key ledger knows it, so the caller passes the keys the ledger needs.
 */
import type { KmsState } from '../model/cluster-model';
import type { KeyState } from '../activities/keyvault';
import { quick } from './activity-proxies';
import { sameKeyId } from '../model/ids';
import { followCurrentVersion } from './versioning-behavior';

export interface ClusterKeys {
  kms: KmsState;
  keys: KeyState[];
}

export async function describeClusterKeys(input: {
  clusterId: string;
  keyIds: string[];
}): Promise<ClusterKeys> {
  const cluster = await quick.getClusterDigest(input.clusterId);
  const keyIds = [
    ...(cluster.kms.keyId ? [cluster.kms.keyId] : []),
    ...input.keyIds.filter((k) => !sameKeyId(k, cluster.kms.keyId)),
  ];
  return { kms: cluster.kms, keys: keyIds.length > 0 ? await quick.keyStates(keyIds) : [] };
}

// Read-only and over in seconds: it runs on the current version, like a fresh start.
followCurrentVersion(describeClusterKeys);
